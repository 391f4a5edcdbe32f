"""The files under a table's or partition's ``Location``, read from the endpoint's own S3.

Objects come straight from moto's S3 backend in the endpoint process (never over DuckDB's
httpfs, which downloads an extension at run time). Each object is copied once to a local
cache file named by its bucket, key and ETag, which DuckDB then reads; a changed object gets
a new file. As Athena (Trino's Hive connector) does, every object below the location is read,
in subfolders too, except those whose name or folder below the location starts with ``_`` or
``.`` (``_SUCCESS``, ``_temporary/``, ``.crc`` files) and folder markers.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from moto.s3.models import FakeDeleteMarker, S3Backend

from local.endpoint.athena.errors import AthenaQueryError, Position
from local.endpoint.s3.mirror import parse_s3_uri

RecordS3 = Callable[[str, str, str, "str | None"], None]  # (IAM action, bucket, key, prefix)


@dataclass(frozen=True)
class DataFile:
    uri: str  # s3://bucket/key
    path: Path  # the local copy DuckDB reads
    size: int


def split_location(location: str, position: Position | None) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix ending in ``/`` unless empty)."""
    parsed = parse_s3_uri(location)
    if parsed is None:
        raise AthenaQueryError(
            "HIVE_METASTORE_ERROR",
            f"Location {location!r} is not an s3:// URI",
            position,
        )
    bucket, prefix = parsed
    return bucket, (prefix.rstrip("/") + "/") if prefix.strip("/") else ""


def is_hidden(relative_key: str) -> bool:
    return any(part.startswith(("_", ".")) for part in relative_key.split("/"))


class ObjectCache:
    """Local copies of S3 objects, one file per (bucket, key, ETag)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()

    def files_under(
        self,
        backend: S3Backend,
        location: str,
        record: RecordS3,
        position: Position | None = None,
        listings: dict[str, list[tuple[str, object]]] | None = None,
    ) -> list[DataFile]:
        """The data files under ``location``; ``listings`` keeps each bucket's keys for the
        rest of a query (a table's partitions are listed in one pass over the bucket)."""
        bucket_name, prefix = split_location(location, position)
        bucket = backend.buckets.get(bucket_name)
        if bucket is None:
            raise AthenaQueryError(
                "HIVE_FILESYSTEM_ERROR",
                f"Failed to list directory: {location} (the bucket {bucket_name} does not exist)",
                position,
            )
        record("s3:ListBucket", bucket_name, "", prefix)
        listings = {} if listings is None else listings
        if bucket_name not in listings:
            listings[bucket_name] = sorted(_latest_keys(bucket, "").items())
        listed = listings[bucket_name]
        start = bisect.bisect_left(listed, (prefix,))
        files = []
        for name, key in listed[start:]:
            if not name.startswith(prefix):
                break
            relative = name[len(prefix) :]
            if not relative or name.endswith("/") or is_hidden(relative):
                continue
            record("s3:GetObject", bucket_name, name, None)
            files.append(self._local_copy(bucket_name, name, key))
        return files

    def _local_copy(self, bucket: str, name: str, key: object) -> DataFile:
        etag = str(getattr(key, "etag", "")).strip('"')
        digest = hashlib.sha256(f"{bucket}\0{name}\0{etag}".encode()).hexdigest()[:32]
        suffix = "".join(Path(name).suffixes[-2:])[:24]
        path = self._root / digest[:2] / f"{digest}{suffix}"
        size = int(getattr(key, "size", 0))
        with self._lock:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.tmp")
                tmp.write_bytes(key.value)  # type: ignore[attr-defined]
                os.replace(tmp, path)
        return DataFile(f"s3://{bucket}/{name}", path, size)


def _latest_keys(bucket: object, prefix: str) -> dict[str, object]:
    """The current version of each key under ``prefix`` (moto's store, read defensively: another
    request thread may write the bucket meanwhile)."""
    for _attempt in range(5):
        try:
            items = list(bucket.keys.items())  # type: ignore[attr-defined]
            break
        except RuntimeError:  # dictionary changed size during iteration
            continue
    else:
        items = list(bucket.keys.items())  # type: ignore[attr-defined]
    return {
        name: key
        for name, key in items
        if name.startswith(prefix) and not isinstance(key, FakeDeleteMarker)
    }
