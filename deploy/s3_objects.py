"""The deploy's one rule for S3 objects: whether one already holds some bytes, and uploading.

An object holds ``body`` when its ETag is the MD5 of ``body``, or when the SHA-256 we record
in its metadata on upload is the SHA-256 of ``body``. Either match proves the bytes are the
same; neither mismatch alone proves they differ:

- the ETag is the MD5 of the bytes only for single-part uploads without SSE-KMS or SSE-C
  (multipart ETags end in ``-<parts>``, KMS ones are opaque), so our own hash covers the rest;
- objects other tools uploaded carry no hash of ours, so for them the ETag is all there is;
- a bucket listing returns ETags but no metadata: most objects are settled from the listing,
  and only the others need a HeadObject.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

# Object metadata key holding the SHA-256 of the uploaded content.
CONTENT_HASH_METADATA = "content-sha256"
# Object metadata key naming who uploaded an object: a deploy deletes only its own objects.
OWNER_METADATA = "deployed-by"
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})


def etag_matches(etag: str, body: bytes) -> bool:
    """True when ``etag`` (quoted or not, as S3 returns it) is the MD5 of ``body``."""
    return etag.strip('"') == hashlib.md5(body, usedforsecurity=False).hexdigest()


def head_has_content(head: Mapping[str, Any], body: bytes) -> bool:
    """True when the HeadObject response ``head`` describes exactly ``body``."""
    recorded = head.get("Metadata", {}).get(CONTENT_HASH_METADATA)
    return etag_matches(head.get("ETag", ""), body) or (
        recorded == hashlib.sha256(body).hexdigest()
    )


def head_or_none(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """HeadObject of ``s3://bucket/key``, or None when there is no such object."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return None
        raise


def object_has_content(s3: Any, bucket: str, key: str, body: bytes) -> bool:
    """True when ``s3://bucket/key`` already holds ``body``."""
    head = head_or_none(s3, bucket, key)
    return head is not None and head_has_content(head, body)


def owner_of(head: Mapping[str, Any]) -> str | None:
    """The owner a deploy recorded in the HeadObject response ``head`` (None: not recorded)."""
    return head.get("Metadata", {}).get(OWNER_METADATA)


def put_with_hash(
    s3: Any, bucket: str, key: str, body: bytes, content_type: str, owner: str | None = None
) -> str | None:
    """Upload ``body`` with its SHA-256 (and ``owner``) in the metadata; returns the version."""
    metadata = {CONTENT_HASH_METADATA: hashlib.sha256(body).hexdigest()}
    if owner:
        metadata[OWNER_METADATA] = owner
    response = s3.put_object(
        Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata
    )
    return response.get("VersionId")


def put_if_changed(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> bool:
    """Upload ``body`` unless the object already holds it. True when uploaded."""
    if object_has_content(s3, bucket, key, body):
        return False
    put_with_hash(s3, bucket, key, body, content_type)
    return True
