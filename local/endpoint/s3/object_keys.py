"""Refuse S3 object keys the endpoint's local mirror cannot represent safely.

A Glue job run reads and writes S3 through a folder per bucket (``mirror.py``), where a key is
a relative path. Keys with ``.`` or ``..`` segments, or that start with ``/``, are legal on S3
but would name a different file, or one outside the bucket's folder. The endpoint refuses them
at upload with an S3-style error, so such a key never exists locally.
"""

from __future__ import annotations

from typing import Any

from moto.s3.exceptions import InvalidArgumentError
from moto.s3.models import S3Backend

from local.endpoint.patching import Patcher


def unsafe_key_reason(key: str) -> str | None:
    """Why ``key`` cannot be mirrored to a file, or None if it can."""
    if key.startswith("/"):
        return "starts with '/'"
    if any(segment in (".", "..") for segment in key.split("/")):
        return "has a '.' or '..' path segment"
    return None


def check_key(key: str) -> None:
    reason = unsafe_key_reason(key)
    if reason is not None:
        raise InvalidArgumentError(
            f"The local AWS endpoint cannot store key {key!r}: it {reason}.", "key", key
        )


def _guarded(original: Any) -> Any:
    def guarded(self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        check_key(key_name)
        return original(self, bucket_name, key_name, *args, **kwargs)

    return guarded


def install(patcher: Patcher) -> None:
    # Every upload path (PutObject, POST form, CopyObject, CompleteMultipartUpload) ends in
    # put_object; refusing at CreateMultipartUpload too fails a multipart upload up front.
    for method in ("put_object", "create_multipart_upload"):
        patcher.setattr(S3Backend, method, _guarded(getattr(S3Backend, method)))
