"""Publish the pipeline's code artifacts: the S3 bucket, the Glue scripts, the Lambda function.

Shared by the local demo (against the local AWS endpoint) and the MWAA deploy command (against
real AWS), so every function takes its boto3 client and explicit arguments, reads no global
config, and is idempotent: running it twice with the same inputs changes nothing the second time.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

import sales_contract
from deploy.errors import DeployError
from deploy.s3_objects import put_if_changed
from deploy.shipping_rule import shippable_files
from deploy.snapshot import snapshot
from sales_contract.layout import GLUE_ENTRY_SCRIPT, GLUE_LIBRARY_ZIP, SCRIPTS_PREFIX

logger = logging.getLogger(__name__)

# Zip entries get this timestamp so the same tree always gives the same bytes (and the same
# CodeSha256: no spurious Lambda update). 1980-01-01 is the earliest date a zip can hold.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_ZIP_FILE_MODE = 0o100644  # regular file, rw-r--r--
# What the DAG, the Glue job and the Lambda agree on. MWAA gets it in plugins.zip (it lives in
# plugins/); the Glue library zip and the Lambda zip carry a copy at their root.
CONTRACT_DIR = Path(sales_contract.__file__).resolve().parent


class ArtifactError(DeployError):
    """An artifact cannot be built or published; the message says which and why."""


# --------------------------------------------------------------------------- S3 bucket


def ensure_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create ``bucket`` in ``region`` unless it exists. Returns True when it was created."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in {"404", "NoSuchBucket", "NotFound"}:
            # 403 means the name exists but belongs to someone else (bucket names are global).
            raise ArtifactError(
                f"cannot use bucket {bucket!r}: HeadBucket returned {code}"
            ) from exc

    kwargs: dict[str, Any] = {"Bucket": bucket}
    # us-east-1 is the default location and rejects an explicit LocationConstraint.
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        # Lost a race with another deploy of ours: the bucket is there, which is all we want.
        if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise
        return False
    s3.get_waiter("bucket_exists").wait(Bucket=bucket)
    logger.info("created bucket s3://%s in %s", bucket, region)
    return True


# --------------------------------------------------------------------------- zip archives


def build_zip(entries: Mapping[str, bytes]) -> bytes:
    """Zip ``{archive name: bytes}``, byte-for-byte reproducibly.

    Sorted entries, fixed timestamps and permissions: the same files give the same bytes, so
    an unchanged artifact is never re-uploaded or redeployed.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # Sort by the archive name so the order does not depend on the filesystem.
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so external_attr is read as a mode everywhere
            info.external_attr = _ZIP_FILE_MODE << 16
            archive.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()


def contract_entries() -> dict[str, bytes]:
    """The contract package as zip entries (``sales_contract/...``), each file read once."""
    files = shippable_files(CONTRACT_DIR)
    named = {f"{CONTRACT_DIR.name}/{p.relative_to(CONTRACT_DIR).as_posix()}": p for p in files}
    return snapshot(named, CONTRACT_DIR)


def zip_with_contract(
    source_dir: Path,
    members: list[Path],
    project_root: Path,
    renamed: Mapping[str, Path] | None = None,
) -> bytes:
    """Zip ``members`` named relative to ``source_dir``, plus the contract package.

    ``renamed`` adds files under the name given to each. Each file is read once
    (``deploy.snapshot``); a member that would shadow another (the contract's copy, a renamed
    file) is refused rather than silently dropped.
    """
    named = {path.relative_to(source_dir).as_posix(): path for path in members}
    for name, path in (renamed or {}).items():
        if name in named:
            raise ArtifactError(
                f"{source_dir / name} has the name the deploy gives {path.name} in the zip: "
                "rename it"
            )
        named[name] = path
    contract = contract_entries()
    clash = sorted(set(named) & set(contract))
    if clash:
        raise ArtifactError(f"{source_dir} has files named like the contract package: {clash}")
    return build_zip({**snapshot(named, project_root), **contract})


def build_lambda_zip(source_dir: Path, project_root: Path | None = None) -> bytes:
    """Zip the files under ``source_dir`` that may ship (``deploy.shipping_rule``) at its root,
    with the contract package beside them.

    Symlinks must resolve inside ``project_root`` (default: ``source_dir``).
    """
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise ArtifactError(f"Lambda source directory not found: {source_dir}")
    project_root = project_root or source_dir
    members = shippable_files(source_dir, project_root)
    if not members:
        raise ArtifactError(f"Lambda source directory has no files to package: {source_dir}")
    return zip_with_contract(source_dir, members, project_root)


# --------------------------------------------------------------------------- Glue scripts

# The job's entry script travels inside the library zip under this module name, and the job's
# ScriptLocation holds GLUE_LAUNCHER, which only runs it. A deploy then switches the job's code
# by replacing one object, the zip, in one PUT: stopped at any point, it leaves Glue an old or
# a new zip, never a new script beside an old library. The job definition still names the same
# two keys (sales_contract.layout). The name differs from the launcher's own, which Glue runs
# from a folder on sys.path.
GLUE_ENTRY_MODULE = "sales_etl_job_entry"
GLUE_LAUNCHER = f'''"""Glue job entry point, as published by `python -m deploy`.

Runs the job's entry script (glue_scripts/{GLUE_ENTRY_SCRIPT}), which travels in the library
zip of --extra-py-files as the module {GLUE_ENTRY_MODULE}: a deploy changes the job's code by
replacing that one zip. This file never changes.
"""

import runpy

runpy.run_module("{GLUE_ENTRY_MODULE}", run_name="__main__")
'''.encode()


@dataclass(frozen=True)
class GlueScriptLocations:
    """Where the Glue job's code lives after publishing."""

    script_location: str
    """s3:// URI of the entry script (the job's ``Command.ScriptLocation``)."""
    extra_py_files: str
    """s3:// URI of the zip of the entry script's modules and the contract package (the
    ``--extra-py-files`` argument)."""
    uploaded: tuple[str, ...]
    """Keys written by this call (empty when nothing changed)."""
    unchanged: tuple[str, ...]
    """Keys already holding identical content."""


def glue_library_files(scripts_dir: Path, project_root: Path | None = None) -> list[Path]:
    """What the entry script imports: its sibling modules and packages, tests excluded.

    A package (a folder with ``__init__.py``, such as ``sales_job/``) keeps its folder in the
    zip, so with the zip on ``sys.path`` (Glue's ``--extra-py-files``) it imports as on disk.
    """
    scripts_dir = Path(scripts_dir)
    library = []
    for path in shippable_files(scripts_dir, project_root):
        top, *inside = path.relative_to(scripts_dir).parts
        in_package = bool(inside) and (scripts_dir / top / "__init__.py").is_file()
        sibling_module = not inside and top != GLUE_ENTRY_SCRIPT
        if path.suffix == ".py" and (in_package or sibling_module):
            library.append(path)
    return library


def publish_glue_scripts(
    s3: Any, bucket: str, scripts_dir: Path, prefix: str = SCRIPTS_PREFIX
) -> GlueScriptLocations:
    """Upload the Glue launcher and the zip of the entry script and its modules to
    ``s3://bucket/prefix``.

    The code travels as one zip with a fixed name, so the job definition (and the DAG) name
    one object whatever modules the job has; Glue puts ``--extra-py-files`` zips on the
    Python path. Unchanged objects are not re-uploaded.
    """
    objects = glue_script_objects(scripts_dir, prefix)
    uploaded: list[str] = []
    unchanged: list[str] = []
    for key, body, content_type in in_upload_order(objects):
        changed = put_if_changed(s3, bucket, key, body, content_type)
        (uploaded if changed else unchanged).append(key)
    if uploaded:
        logger.info("uploaded Glue scripts to s3://%s: %s", bucket, ", ".join(uploaded))

    (script_key, _, _), (library_key, _, _) = objects
    return GlueScriptLocations(
        script_location=f"s3://{bucket}/{script_key}",
        extra_py_files=f"s3://{bucket}/{library_key}",
        uploaded=tuple(uploaded),
        unchanged=tuple(unchanged),
    )


# --------------------------------------------------------------------------- Lambda function


def code_sha256(zip_bytes: bytes) -> str:
    """The CodeSha256 Lambda reports for a zip: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")


def _wait(
    lambda_client: Any, waiter_name: str, function_name: str, delay: float, attempts: int
) -> None:
    lambda_client.get_waiter(waiter_name).wait(
        FunctionName=function_name,
        WaiterConfig={"Delay": delay, "MaxAttempts": attempts},
    )


def publish_lambda(
    lambda_client: Any,
    function_name: str,
    role_arn: str,
    zip_bytes: bytes,
    *,
    handler: str = "handler.lambda_handler",
    runtime: str = "python3.12",
    timeout: int = 60,
    memory: int = 256,
    environment: dict[str, str] | None = None,
    description: str = "",
    waiter_delay: float = 5,
    waiter_max_attempts: int = 60,
) -> str:
    """Create the function, or bring its code and configuration up to date. Returns its ARN.

    Code is updated only when the CodeSha256 differs and configuration only when a managed
    setting differs, so a re-run with the same inputs makes no change (and no new revision).
    Waits until the function is Active and its last update Successful, so an invoke right after
    runs the new code.
    """
    desired = {
        "Role": role_arn,
        "Handler": handler,
        "Runtime": runtime,
        "Timeout": timeout,
        "MemorySize": memory,
        "Description": description,
        "Environment": {"Variables": dict(environment or {})},
    }
    try:
        current = lambda_client.get_function(FunctionName=function_name)["Configuration"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        created = lambda_client.create_function(
            FunctionName=function_name,
            Code={"ZipFile": zip_bytes},
            PackageType="Zip",
            Publish=False,
            **desired,
        )
        _wait(lambda_client, "function_active_v2", function_name, waiter_delay, waiter_max_attempts)
        logger.info("created Lambda function %s", function_name)
        return created["FunctionArn"]

    # A function mid-update rejects further updates (ResourceConflictException): wait first.
    _wait(lambda_client, "function_active_v2", function_name, waiter_delay, waiter_max_attempts)
    _wait(lambda_client, "function_updated_v2", function_name, waiter_delay, waiter_max_attempts)

    if current.get("CodeSha256") != code_sha256(zip_bytes):
        lambda_client.update_function_code(FunctionName=function_name, ZipFile=zip_bytes)
        # Code and configuration updates cannot overlap.
        _wait(
            lambda_client, "function_updated_v2", function_name, waiter_delay, waiter_max_attempts
        )
        logger.info("updated code of Lambda function %s", function_name)

    actual = {
        "Role": current.get("Role"),
        "Handler": current.get("Handler"),
        "Runtime": current.get("Runtime"),
        "Timeout": current.get("Timeout"),
        "MemorySize": current.get("MemorySize"),
        "Description": current.get("Description", ""),
        # AWS omits Environment entirely when the function has no variables.
        "Environment": {"Variables": current.get("Environment", {}).get("Variables", {})},
    }
    changed = {k: v for k, v in desired.items() if actual[k] != v}
    if changed:
        lambda_client.update_function_configuration(FunctionName=function_name, **changed)
        _wait(
            lambda_client, "function_updated_v2", function_name, waiter_delay, waiter_max_attempts
        )
        logger.info(
            "updated configuration of Lambda function %s: %s", function_name, ", ".join(changed)
        )
    return current["FunctionArn"]


# --------------------------------------------------------------------------- planning helpers
# Read-only counterparts of the publishers above, so a deploy's dry run can say exactly what
# a real run would upload.


def glue_script_objects(
    scripts_dir: Path, prefix: str = SCRIPTS_PREFIX, project_root: Path | None = None
) -> list[tuple[str, bytes, str]]:
    """The ``(key, body, content type)`` objects ``publish_glue_scripts`` writes: the job's
    ScriptLocation (the launcher), then its ``--extra-py-files`` zip.

    Symlinks must resolve inside ``project_root`` (default: ``scripts_dir``).
    """
    scripts_dir = Path(scripts_dir)
    project_root = project_root or scripts_dir
    entry = scripts_dir / GLUE_ENTRY_SCRIPT
    if not entry.is_file():
        raise ArtifactError(f"Glue entry script not found: {entry}")
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    members = glue_library_files(scripts_dir, project_root)
    library = zip_with_contract(
        scripts_dir, members, project_root, renamed={f"{GLUE_ENTRY_MODULE}.py": entry}
    )
    return [
        (prefix + GLUE_ENTRY_SCRIPT, GLUE_LAUNCHER, "text/x-python"),
        (prefix + GLUE_LIBRARY_ZIP, library, "application/zip"),
    ]


def in_upload_order(objects: list[tuple[str, bytes, str]]) -> list[tuple[str, bytes, str]]:
    """The library zip before the launcher: the deploy that first publishes the launcher must
    not leave it beside an older zip that lacks the entry module."""
    return sorted(objects, key=lambda obj: obj[0].endswith(GLUE_ENTRY_SCRIPT))
