"""Local mirrors of S3 buckets, so a Glue script's Spark can read and write ``s3://`` paths.

Local PySpark has no S3 filesystem (pyspark ships no hadoop-aws jars), so a job run is staged:

1. ``sync_down``: the bucket's objects are mirrored to ``<work>/s3/<bucket>/<key>``. Objects
   whose ETag and local file are unchanged since the last sync are not downloaded again; local
   files that are not (or no longer) in the bucket are removed, so the mirror equals the bucket.
2. The job runs with every ``s3://bucket/...`` argument rewritten to the mirror path.
3. ``sync_up``: files the job created or changed are uploaded; objects whose files the job
   removed are deleted, which is what Spark's dynamic partition overwrite does (it deletes and
   rewrites the partition folders it writes). A deletion is skipped if the object changed in S3
   during the run (someone else wrote it), so only the job's own removals propagate.

The job only knows the mirror paths it was given, so what it reports names them; on the way
out ``to_s3_uris`` writes them back as the ``s3://`` URIs they stand for: in the small JSON
files a run wrote (its manifest) before they are uploaded, and (through the runner) in its
``ErrorMessage`` and CloudWatch log lines. A job on Glue, given ``s3://`` URIs, reports those.

Litter decision: ``*.crc`` files (checksums of Hadoop's *local* filesystem that never exist on
S3), in-flight committer folders (``_temporary``, ``.spark-staging*``) and other hidden
``.``-files are never uploaded. ``_SUCCESS`` *is* uploaded: Spark's committer writes it on S3
too, so keeping it gives the same objects a real Glue run leaves (crawlers ignore it).

A mirror is shared by all runs, so callers hold ``bucket_locks`` for a run's whole duration:
runs that touch the same bucket run one after the other (the later one stays STARTING).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.endpoint.s3.object_keys import unsafe_key_reason

S3_URI = re.compile(r"^s3[an]?://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,62})(?:/(?P<key>.*))?$")

# JSON documents a run writes (manifests, reports) are small; data files are never rewritten.
MAX_REWRITTEN_JSON_BYTES = 1 << 20
# Staging copies an object's body to its file in pieces of this size.
COPY_CHUNK_BYTES = 1 << 20

_locks_guard = threading.Lock()
_bucket_locks: dict[str, threading.Lock] = {}


@dataclass
class SyncReport:
    downloaded: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped_deletes: list[str] = field(default_factory=list)


def parse_s3_uri(value: str) -> tuple[str, str] | None:
    """``s3://bucket/key`` -> ``(bucket, key)``; ``None`` if ``value`` is not an S3 URI."""
    match = S3_URI.match(value.strip())
    if not match:
        return None
    return match["bucket"], match["key"] or ""


def is_litter(relative_key: str) -> bool:
    """True for local-filesystem and in-flight Spark files that must not reach S3."""
    parts = relative_key.split("/")
    name = parts[-1]
    if name.endswith(".crc") or name.startswith("."):
        return True
    return any(p == "_temporary" or p.startswith(".spark-staging") for p in parts[:-1])


@contextmanager
def bucket_locks(buckets: Iterable[str]) -> Iterator[None]:
    """Hold the mirror lock of every bucket (in sorted order, so runs cannot deadlock)."""
    with ExitStack() as stack:
        for bucket in sorted(set(buckets)):
            with _locks_guard:
                lock = _bucket_locks.setdefault(bucket, threading.Lock())
            stack.enter_context(lock)
        yield


class UnmirrorableKey(ValueError):
    """A key that would name a file outside its bucket's mirror folder."""


class BucketMirror:
    """One bucket's local mirror and the sync state that makes re-syncs incremental."""

    def __init__(
        self, root: Path, bucket: str, s3: Any, skip: Callable[[str], bool] | None = None
    ) -> None:
        self.bucket = bucket
        self._skip = skip or (lambda key: False)  # keys left out of the mirror
        self.path = root / "s3" / bucket
        self._state_file = root / "s3-state" / f"{bucket}.json"
        self._s3 = s3
        # key -> [etag, size, mtime_ns] of the local file as last synced
        self._state: dict[str, list[Any]] = {}

    def local_path(self, key: str) -> Path:
        """The key's file in this mirror; never a path outside the bucket's folder."""
        reason = unsafe_key_reason(key)
        if reason is not None:
            raise UnmirrorableKey(f"s3://{self.bucket}/{key} cannot be mirrored: it {reason}")
        return self.path / key

    def rewrite(self, key: str) -> str:
        path = str(self.local_path(key))
        return path + "/" if key.endswith("/") and not path.endswith("/") else path

    def to_s3_uris(self, data: bytes) -> bytes:
        """``data`` with this mirror's paths written as the ``s3://`` URIs they stand for.

        A path shows up as handed to the job (``/<work>/s3/<bucket>/key``), as a ``file://``
        URI (the sales job's own form) or as Hadoop's ``file:/`` form.
        """
        folder = str(self.path).encode() + b"/"
        uri = f"s3://{self.bucket}/".encode()
        for local in (b"file://" + folder, b"file:" + folder, folder):  # longest first
            data = data.replace(local, uri)
        return data

    def sync_down(self) -> SyncReport:
        report = SyncReport()
        self._state = self._load_state()
        remote = self._list_remote()
        self.path.mkdir(parents=True, exist_ok=True)
        for key, (etag, size) in remote.items():
            local = self.local_path(key)
            known = self._state.get(key)
            if known and known[0] == etag and _stat(local) == (known[1], known[2]):
                continue
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f".{local.name}.download")
            # One GET per object: the transfer manager's HEAD first and its threads cost
            # more than the copy for a lake's files on a local endpoint.
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            with body, tmp.open("wb") as file:
                shutil.copyfileobj(body, file, COPY_CHUNK_BYTES)
            os.replace(tmp, local)
            self._state[key] = [etag, size, _stat(local)[1]]
            report.downloaded.append(key)
        for key in set(self._state) - set(remote):
            del self._state[key]
        for key in self._local_keys(include_litter=True):
            if key not in remote:
                self.local_path(key).unlink()
        _remove_empty_dirs(self.path)
        self._save_state()
        return report

    def sync_up(self) -> SyncReport:
        """Push the job's changes; call only after ``sync_down`` on this object."""
        report = SyncReport()
        local_keys = set(self._local_keys(include_litter=False))
        for key in sorted(local_keys):
            local = self.local_path(key)
            known = self._state.get(key)
            if known and (known[1], known[2]) == _stat(local):
                continue
            if key.endswith(".json"):
                self._write_s3_uris(local)
            size, mtime_ns = _stat(local)
            if known and known[1] == size and _md5(local) == known[0]:
                self._state[key] = [known[0], size, mtime_ns]  # touched, same bytes
                continue
            with local.open("rb") as body:
                response = self._s3.put_object(Bucket=self.bucket, Key=key, Body=body)
            self._state[key] = [response["ETag"].strip('"'), size, mtime_ns]
            report.uploaded.append(key)
        removed = [k for k in self._state if k not in local_keys and not is_litter(k)]
        if removed:
            remote = self._list_remote()
            for key in removed:
                if key in remote and remote[key][0] != self._state[key][0]:
                    report.skipped_deletes.append(key)  # changed in S3 meanwhile: keep it
                    continue
                if key in remote:
                    self._s3.delete_object(Bucket=self.bucket, Key=key)
                    report.deleted.append(key)
                del self._state[key]
        self._save_state()
        return report

    def _write_s3_uris(self, local: Path) -> None:
        """Rewrite a small file in place, so the mirror keeps holding what S3 holds."""
        if _stat(local)[0] > MAX_REWRITTEN_JSON_BYTES:
            return
        data = local.read_bytes()
        public = self.to_s3_uris(data)
        if public != data:
            tmp = local.with_name(f".{local.name}.s3-uris")
            tmp.write_bytes(public)
            os.replace(tmp, local)

    def _list_remote(self) -> dict[str, tuple[str, int]]:
        objects: dict[str, tuple[str, int]] = {}
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith("/") or not _safe_key(key) or self._skip(key):
                    continue  # folder markers, keys that cannot be local paths, skipped keys
                objects[key] = (obj["ETag"].strip('"'), obj["Size"])
        # A key that is also a "folder" of other keys cannot be a local file: drop it.
        prefixes = {k.rsplit("/", i)[0] for k in objects for i in range(1, k.count("/") + 1)}
        return {k: v for k, v in objects.items() if k not in prefixes}

    def _local_keys(self, include_litter: bool) -> Iterator[str]:
        if not self.path.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self.path):
            for name in files:
                key = Path(dirpath, name).relative_to(self.path).as_posix()
                if include_litter or not is_litter(key):
                    yield key

    def _load_state(self) -> dict[str, list[Any]]:
        try:
            return json.loads(self._state_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _save_state(self) -> None:
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state, sort_keys=True))
        os.replace(tmp, self._state_file)


def _safe_key(key: str) -> bool:
    parts = key.split("/")
    return not key.startswith("/") and all(p not in ("", ".", "..") for p in parts[:-1])


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_empty_dirs(root: Path) -> None:
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda e: -len(e[0])):
        if Path(dirpath) != root and not os.listdir(dirpath):
            os.rmdir(dirpath)
