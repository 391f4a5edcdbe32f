"""deploy.s3_objects: when an object already holds some bytes, against moto in-process."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from deploy.s3_objects import (
    CONTENT_HASH_METADATA,
    etag_matches,
    head_has_content,
    object_has_content,
    put_if_changed,
    put_with_hash,
)

BUCKET = "artifacts"
BODY = b"print('hello')\n"
MD5 = hashlib.md5(BODY, usedforsecurity=False).hexdigest()
SHA256 = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def bucket(s3: Any) -> str:
    s3.create_bucket(Bucket=BUCKET)
    return BUCKET


def test_etag_matches_quoted_or_bare_md5_only() -> None:
    assert etag_matches(f'"{MD5}"', BODY)
    assert etag_matches(MD5, BODY)
    assert not etag_matches(f'"{MD5}-2"', BODY)  # multipart: not the MD5 of the bytes
    assert not etag_matches("", BODY)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ({"ETag": f'"{MD5}"'}, True),  # another tool's plain upload
        ({"ETag": '"0123456789abcdef0123456789abcdef"'}, False),
        # KMS or multipart: the ETag says nothing, the hash we recorded decides.
        ({"ETag": '"kms-opaque"', "Metadata": {CONTENT_HASH_METADATA: SHA256}}, True),
        ({"ETag": '"kms-opaque"', "Metadata": {CONTENT_HASH_METADATA: "0" * 64}}, False),
        ({"ETag": f'"{MD5}-3"', "Metadata": {}}, False),
    ],
)
def test_head_has_content(head: dict[str, Any], expected: bool) -> None:
    assert head_has_content(head, BODY) is expected


def test_put_with_hash_records_the_sha256_and_returns_the_version(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    version = put_with_hash(s3, bucket, "a.py", BODY, "text/x-python")

    head = s3.head_object(Bucket=bucket, Key="a.py")
    assert version == head["VersionId"]
    assert head["Metadata"] == {CONTENT_HASH_METADATA: SHA256}
    assert head["ContentType"] == "text/x-python"


def test_put_if_changed_uploads_only_new_or_different_bytes(s3: Any, bucket: str) -> None:
    assert not object_has_content(s3, bucket, "a.py", BODY)
    assert put_if_changed(s3, bucket, "a.py", BODY, "text/x-python") is True
    assert object_has_content(s3, bucket, "a.py", BODY)
    assert put_if_changed(s3, bucket, "a.py", BODY, "text/x-python") is False
    assert put_if_changed(s3, bucket, "a.py", BODY + b"#\n", "text/x-python") is True
    assert not object_has_content(s3, bucket, "a.py", BODY)
