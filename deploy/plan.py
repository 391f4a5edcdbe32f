"""What a deploy would change, worked out with read-only calls only.

A dry run prints this plan and stops; a real run prints it and then applies exactly it.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from deploy.artifacts import code_sha256, in_upload_order
from deploy.errors import DeployError
from deploy.mwaa import EnvFileSlot, MwaaEnvironment
from deploy.s3_objects import (
    etag_matches,
    head_has_content,
    head_or_none,
    object_has_content,
    owner_of,
)
from deploy.stack import CodeTargets


class PlanError(DeployError):
    """The plan cannot be made (a target is missing); nothing was changed."""


# --------------------------------------------------------------------------- DAG folder


@dataclass(frozen=True)
class DagSyncPlan:
    prefix: str
    owner: str
    """Recorded on every upload (``deploy.s3_objects.OWNER_METADATA``)."""
    adds: dict[str, bytes]
    """S3 key -> content, for keys not yet in the DAG folder."""
    changes: dict[str, bytes]
    deletes: tuple[str, ...]
    """Keys this deploy's owner uploaded and that left the local DAG folder."""
    not_ours: tuple[str, ...]
    """Keys under the prefix that other owners (or hands) put there: never deleted."""
    env_files: tuple[str, ...]
    """The environment's plugins, requirements or startup objects under the prefix: kept."""
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.adds or self.changes or self.deletes)


def _remote_dag_objects(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Key -> ETag of every object under ``prefix`` (and nothing outside it)."""
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/"):  # console "folder" markers are not files
                objects[obj["Key"]] = obj.get("ETag", "")
    return objects


def plan_dag_sync(
    s3: Any,
    bucket: str,
    prefix: str,
    local_files: dict[str, bytes],
    *,
    owner: str,
    env_file_keys: frozenset[str],
) -> DagSyncPlan:
    """Sync ``{relative path: content}`` into ``prefix``, deleting only ``owner``'s leftovers.

    An MWAA DAG folder is often shared by several teams, and may hold the environment's own
    files: a key that left our tree is deleted only when its metadata names ``owner``.
    """
    remote = _remote_dag_objects(s3, bucket, prefix)
    adds: dict[str, bytes] = {}
    changes: dict[str, bytes] = {}
    unchanged = 0
    for relative, body in local_files.items():
        key = prefix + relative
        if key not in remote:
            adds[key] = body
        # The listing settles plain uploads by ETag; only the others (KMS, multipart) need a
        # HeadObject for the SHA-256 we recorded.
        elif etag_matches(remote[key], body) or object_has_content(s3, bucket, key, body):
            unchanged += 1
        else:
            changes[key] = body
    wanted = {prefix + relative for relative in local_files}
    deletes, not_ours, env_files = [], [], []
    for key in sorted(key for key in remote if key not in wanted):
        if key in env_file_keys:
            env_files.append(key)
            continue
        head = head_or_none(s3, bucket, key)
        if head is not None and owner_of(head) == owner:
            deletes.append(key)
        else:
            not_ours.append(key)
    return DagSyncPlan(
        prefix, owner, adds, changes, tuple(deletes), tuple(not_ours), tuple(env_files), unchanged
    )


# --------------------------------------------------------------------------- versioned files


@dataclass(frozen=True)
class EnvFilePlan:
    """plugins.zip, requirements.txt or the startup script."""

    slot: EnvFileSlot
    body: bytes
    content_type: str
    upload: bool
    """The object's content differs from ``body`` (or there is no object)."""
    current_version: str | None
    """The S3 version holding ``body`` already, when no upload is needed."""

    @property
    def update_needed(self) -> bool:
        # Also true when the content is already in S3 but the environment runs another
        # version, e.g. after an earlier deploy uploaded it and then failed to update.
        return self.upload or not self.slot.configured or self.current_version != self.slot.version


def plan_env_file(
    s3: Any, bucket: str, slot: EnvFileSlot, body: bytes, content_type: str
) -> EnvFilePlan:
    head = head_or_none(s3, bucket, slot.key)
    if head is None or not head_has_content(head, body):
        return EnvFilePlan(slot, body, content_type, True, None)
    version = head.get("VersionId")
    if slot.configured and slot.version and version != slot.version:
        # Someone re-uploaded the same bytes as a new version: the environment already runs
        # this content, and an update would restart it for nothing.
        try:
            running = s3.head_object(Bucket=bucket, Key=slot.key, VersionId=slot.version)
        except ClientError:
            running = {}  # that version is gone: switch to the one holding the content
        if running and head_has_content(running, body):
            version = slot.version
    return EnvFilePlan(slot, body, content_type, False, version)


# --------------------------------------------------------------------------- Glue and Lambda


@dataclass(frozen=True)
class CodePlan:
    targets: CodeTargets
    glue_uploads: tuple[tuple[str, bytes, str], ...]
    """(key, body, content type) of each Glue object whose content changed."""
    glue_unchanged: tuple[str, ...]
    lambda_zip: bytes
    lambda_code_changed: bool
    lambda_config: dict[str, Any] = field(repr=False)
    """The function's current configuration; the stack owns it, the deploy keeps it."""
    lambda_role_change: tuple[str, str] | None
    """(current role, new role) when the stack's role differs from the function's."""

    @property
    def empty(self) -> bool:
        return not (self.glue_uploads or self.lambda_code_changed or self.lambda_role_change)


def plan_code(
    s3: Any,
    lambda_client: Any,
    targets: CodeTargets,
    glue_objects: list[tuple[str, bytes, str]],
    lambda_zip: bytes,
) -> CodePlan:
    uploads, unchanged = [], []
    for key, body, content_type in in_upload_order(glue_objects):
        if object_has_content(s3, targets.data_bucket, key, body):
            unchanged.append(key)
        else:
            uploads.append((key, body, content_type))
    try:
        config = lambda_client.get_function(FunctionName=targets.lambda_function)["Configuration"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise PlanError(
                f"Lambda function {targets.lambda_function!r} not found: create the "
                "infrastructure stack first (infra/sales-etl.yaml) or pass --lambda-function"
            ) from exc
        raise
    role_change = None
    if targets.lambda_role_arn and targets.lambda_role_arn != config.get("Role"):
        role_change = (str(config.get("Role")), targets.lambda_role_arn)
    return CodePlan(
        targets=targets,
        glue_uploads=tuple(uploads),
        glue_unchanged=tuple(unchanged),
        lambda_zip=lambda_zip,
        lambda_code_changed=config.get("CodeSha256") != code_sha256(lambda_zip),
        lambda_config=config,
        lambda_role_change=role_change,
    )


# --------------------------------------------------------------------------- the whole plan


@dataclass(frozen=True)
class DeployPlan:
    environment: MwaaEnvironment
    dags: DagSyncPlan
    env_files: tuple[EnvFilePlan, ...]
    code: CodePlan | None
    # The project file the environment's requirements.txt comes from (its Airflow picks it).
    requirements_source: str = ""

    @property
    def env_update_needed(self) -> bool:
        return any(f.update_needed for f in self.env_files)

    @property
    def empty(self) -> bool:
        code_empty = self.code is None or self.code.empty
        return self.dags.empty and not self.env_update_needed and code_empty

    def describe(self) -> list[str]:
        env = self.environment
        lines = [
            f"Plan for MWAA environment {env.name!r} (Airflow {env.airflow_version}, "
            f"{env.status}), bucket s3://{env.bucket}",
        ]
        lines += [f"  WARNING: {note}" for note in env.notes]
        if self.requirements_source:
            lines.append(
                f"  target Airflow {env.airflow_version}: requirements.txt from "
                f"{self.requirements_source}"
            )
        lines.append(f"  DAG folder s3://{env.bucket}/{self.dags.prefix}:")
        lines += [f"    + {key}" for key in self.dags.adds]
        lines += [f"    ~ {key}" for key in self.dags.changes]
        lines += [f"    - {key}" for key in self.dags.deletes]
        lines += [f"    = {key} (not ours, kept)" for key in self.dags.not_ours]
        lines += [f"    = {key} (environment file, kept)" for key in self.dags.env_files]
        lines.append(f"    = {self.dags.unchanged} unchanged")
        for item in self.env_files:
            lines.append(f"  {item.slot.label} s3://{env.bucket}/{item.slot.key}: {_state(item)}")
        if self.env_update_needed:
            params = ", ".join(f.slot.version_param for f in self.env_files if f.update_needed)
            lines.append(f"  UpdateEnvironment: yes ({params})")
        else:
            lines.append("  UpdateEnvironment: not needed")
        if self.code is None:
            lines.append("  Glue scripts and Lambda code: skipped (--skip-code)")
        else:
            lines += _describe_code(self.code)
        return lines


def _state(item: EnvFilePlan) -> str:
    if item.upload:
        return "upload (content changed)" if item.slot.version else "upload (new)"
    if item.update_needed:
        running = item.slot.version or "none"
        return f"unchanged in S3; environment runs {running}: switch to {item.current_version}"
    return f"unchanged (version {item.current_version})"


def _describe_code(code: CodePlan) -> list[str]:
    bucket = code.targets.data_bucket
    lines = [f"  Glue scripts s3://{bucket}/:"]
    lines += [f"    ~ {key}" for key, _, _ in code.glue_uploads]
    lines.append(f"    = {len(code.glue_unchanged)} unchanged")
    verdict = "update code" if code.lambda_code_changed else "code unchanged"
    lines.append(f"  Lambda {code.targets.lambda_function}: {verdict}")
    if code.lambda_role_change:
        lines.append(f"    role {code.lambda_role_change[0]} -> {code.lambda_role_change[1]}")
    return lines


# --------------------------------------------------------------------------- offline


def describe_offline(
    airflow_version: str,
    *,
    dags: Mapping[str, bytes],
    plugins: Mapping[str, bytes],
    requirements: tuple[str, str],
    glue_objects: list[tuple[str, bytes, str]] | None,
    lambda_zip: bytes | None,
) -> list[str]:
    """What a deploy to an environment of ``airflow_version`` would upload, from local files.

    No AWS call: every file is listed as if the environment had none of them yet.
    ``requirements`` is (project file, its text).
    """
    source, text = requirements
    lines = [f"Plan only (offline) for an MWAA environment on Airflow {airflow_version}"]
    lines.append(f"  DAG folder: {len(dags)} file(s)")
    lines += [f"    + {name}  {_size_and_digest(body)}" for name, body in sorted(dags.items())]
    lines.append(f"  plugins.zip: {len(plugins)} member(s)")
    lines += [f"    {name}  {_size_and_digest(body)}" for name, body in sorted(plugins.items())]
    lines.append(f"  requirements.txt (from {source}):")
    lines += [f"    {line}" for line in text.splitlines()]
    if glue_objects is None or lambda_zip is None:
        lines.append("  Glue scripts and Lambda code: skipped (--skip-code)")
        return lines
    lines.append("  Glue scripts (to the stack's data bucket):")
    for key, body, _ in glue_objects:
        lines.append(f"    {key}  {_size_and_digest(body)}")
        if key.endswith(".zip"):
            lines += [f"      {member}" for member in _zip_members(body)]
    lines.append(f"  Lambda code zip  {_size_and_digest(lambda_zip)}")
    lines += [f"      {member}" for member in _zip_members(lambda_zip)]
    return lines


def _size_and_digest(body: bytes) -> str:
    return f"{len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()[:12]}"


def _zip_members(body: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return archive.namelist()
