"""A Glue job run's S3 side: its buckets mirrored down before it runs, synced back after.

Local PySpark has no S3 filesystem, so every bucket a run names (its script, its arguments,
its ``--extra-py-files``) is mirrored to a local folder (``s3/mirror.py``) and the script gets
mirror paths in place of ``s3://`` URIs. On Glue the job reads and writes S3 itself, with the
Glue role; here the endpoint does it for the job, and records those calls as the job's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.aws_local import GLUE_ROLE_ACCESS_KEY
from local.endpoint.athena.api import result_keys as athena_result_keys
from local.endpoint.http import iam_arns
from local.endpoint.http.call_log import CallLog
from local.endpoint.logs.log_streams import LogStreamWriter
from local.endpoint.s3 import mirror as s3_mirror

RecordJobS3 = Callable[[str, s3_mirror.SyncReport], None]  # (bucket, what was synced)


@dataclass
class StagedRun:
    argv: list[str]
    python_path: list[str]  # the run's --extra-py-files, put first on the script's sys.path
    mirrors: list[s3_mirror.BucketMirror] = field(default_factory=list)

    def to_s3_uris(self, text: str) -> str:
        """``text`` with the run's mirror paths written back as ``s3://`` URIs."""
        data = text.encode()
        for mirror in self.mirrors:
            data = mirror.to_s3_uris(data)
        return data.decode()


class StagingError(Exception):
    """The run cannot start: its script or buckets are missing."""


def run_buckets(script_location: str, arguments: dict[str, str]) -> list[str]:
    """Every bucket the run's script location and arguments name (also in comma lists)."""
    values = [script_location, *arguments.values()]
    buckets = []
    for value in values:
        for item in str(value).split(","):
            parsed = s3_mirror.parse_s3_uri(item)
            if parsed:
                buckets.append(parsed[0])
    return sorted(set(buckets))


def stage(
    work_dir: Path,
    s3: Any,
    buckets: list[str],
    script_location: str,
    job_name: str,
    job_run_id: str,
    arguments: dict[str, str],
    record: RecordJobS3,
) -> StagedRun:
    """Mirror ``buckets`` down and build the script's argv with mirror paths for ``s3://``."""
    script = s3_mirror.parse_s3_uri(script_location or "")
    if script is None:
        raise StagingError(f"ScriptLocation must be an s3:// URI, got {script_location!r}")
    mirrors = {}
    for bucket in buckets:
        # Query results are Athena's and its caller's: no job reads them, so none is staged
        # (and recorded as a read of the Glue role).
        mirror = s3_mirror.BucketMirror(
            work_dir, bucket, s3, athena_result_keys(bucket).__contains__
        )
        try:
            record(bucket, mirror.sync_down())
        except s3.exceptions.NoSuchBucket as exc:
            raise StagingError(f"cannot stage s3://{bucket}: the bucket does not exist") from exc
        mirrors[bucket] = mirror

    def rewrite(value: str) -> str:
        items = value.split(",")
        parsed = [s3_mirror.parse_s3_uri(item) for item in items]
        if not all(parsed):
            return value
        return ",".join(mirrors[b].rewrite(k) for b, k in parsed)  # type: ignore[misc]

    script_path = mirrors[script[0]].local_path(script[1])
    if not script_path.is_file():
        raise StagingError(f"script {script_location} not found in S3")
    argv = [
        str(script_path),
        "--JOB_NAME",
        job_name,
        "--JOB_RUN_ID",
        job_run_id,
    ]
    python_path: list[str] = []
    for key, value in arguments.items():
        local_value = rewrite(str(value))
        argv += [key, local_value]
        if key == "--extra-py-files":
            for item in local_value.split(","):
                path = Path(item)
                python_path.append(str(path.parent if path.suffix == ".py" else path))
    return StagedRun(argv=argv, python_path=python_path, mirrors=list(mirrors.values()))


def sync_back(staged: StagedRun, log: LogStreamWriter, record: RecordJobS3) -> str | None:
    """Upload what the run wrote, delete what it removed; an error message if that failed."""
    errors = []
    for mirror in staged.mirrors:
        try:
            report = mirror.sync_up()
        except Exception as exc:
            errors.append(f"s3://{mirror.bucket}: {type(exc).__name__}: {exc}")
            continue
        record(mirror.bucket, report)
        log.write(
            [
                f"[local endpoint] synced s3://{mirror.bucket}: "
                f"{len(report.uploaded)} uploaded, {len(report.deleted)} deleted"
            ]
        )
    return f"syncing job output back to S3 failed: {'; '.join(errors)}" if errors else None


def record_job_s3(call_log: CallLog, bucket: str, report: s3_mirror.SyncReport) -> None:
    """Record the staging's S3 reads and the sync-back's writes as the job's own calls.

    On Glue the job reads and writes S3 itself, with the Glue role, listing the folders
    it reads and commits to; here the endpoint does it for the job (with its own key).
    """
    changes = [
        *(("s3:GetObject", key) for key in report.downloaded),
        *(("s3:PutObject", key) for key in report.uploaded),
        *(("s3:DeleteObject", key) for key in report.deleted),
    ]
    for action, key in changes:
        call_log.record(GLUE_ROLE_ACCESS_KEY, action, iam_arns.s3_object(bucket, key))
        folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        prefix = {"s3:prefix": folder}
        call_log.record(GLUE_ROLE_ACCESS_KEY, "s3:ListBucket", iam_arns.s3_bucket(bucket), prefix)
