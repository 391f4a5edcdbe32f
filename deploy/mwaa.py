"""The MWAA environment a deploy targets: where its files live and which versions it runs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from deploy.errors import DeployError

# UpdateEnvironment is accepted in these states only; anything else (CREATING, UPDATING, ...)
# would be rejected after the files were already uploaded.
UPDATABLE_STATUSES = frozenset({"AVAILABLE", "UPDATE_FAILED"})

DEFAULT_PLUGINS_KEY = "plugins.zip"
DEFAULT_REQUIREMENTS_KEY = "requirements.txt"
DEFAULT_STARTUP_KEY = "startup.sh"


class MwaaError(DeployError):
    """The environment cannot be read or is not usable; the message says why."""


@dataclass(frozen=True)
class EnvFileSlot:
    """One of the environment's versioned files (plugins, requirements, startup script)."""

    label: str
    path_param: str
    """UpdateEnvironment parameter naming the S3 key, e.g. ``PluginsS3Path``."""
    version_param: str
    key: str
    configured: bool
    """Whether the environment already names this key (else the update must set it)."""
    version: str | None
    """The object version the environment runs now."""


@dataclass(frozen=True)
class MwaaEnvironment:
    name: str
    bucket: str
    airflow_version: str
    status: str
    dags_prefix: str
    """Key prefix of the DAG folder, always ending in ``/``."""
    plugins: EnvFileSlot
    requirements: EnvFileSlot
    startup: EnvFileSlot
    notes: tuple[str, ...] = ()
    """Warnings about overrides that point away from where the environment reads."""


@dataclass(frozen=True)
class EnvironmentOverrides:
    """CLI overrides of what GetEnvironment reports (None: keep the environment's value)."""

    bucket: str | None = None
    dags_path: str | None = None
    plugins_path: str | None = None
    requirements_path: str | None = None
    startup_script_path: str | None = None


def _bucket_from_arn(arn: str) -> str:
    prefix, _, name = arn.partition(":::")
    if not prefix.startswith("arn:") or not name:
        raise MwaaError(f"unexpected SourceBucketArn {arn!r}")
    return name


def _slot(env: dict[str, Any], label: str, stem: str, default_key: str) -> EnvFileSlot:
    key = env.get(f"{stem}S3Path")
    return EnvFileSlot(
        label=label,
        path_param=f"{stem}S3Path",
        version_param=f"{stem}S3ObjectVersion",
        key=(key or default_key).lstrip("/"),
        configured=bool(key),
        version=env.get(f"{stem}S3ObjectVersion"),
    )


def get_environment(mwaa: Any, name: str) -> MwaaEnvironment:
    try:
        env = mwaa.get_environment(Name=name)["Environment"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise MwaaError(f"MWAA environment {name!r} not found") from exc
        raise MwaaError(f"cannot read MWAA environment {name!r}: {exc}") from exc
    return MwaaEnvironment(
        name=name,
        bucket=_bucket_from_arn(env["SourceBucketArn"]),
        airflow_version=env.get("AirflowVersion", ""),
        status=env.get("Status", ""),
        dags_prefix=env["DagS3Path"].strip("/") + "/",
        plugins=_slot(env, "plugins.zip", "Plugins", DEFAULT_PLUGINS_KEY),
        requirements=_slot(env, "requirements.txt", "Requirements", DEFAULT_REQUIREMENTS_KEY),
        startup=_slot(env, "startup script", "StartupScript", DEFAULT_STARTUP_KEY),
    )


def apply_overrides(env: MwaaEnvironment, overrides: EnvironmentOverrides) -> MwaaEnvironment:
    def moved(slot: EnvFileSlot, key: str | None) -> EnvFileSlot:
        if key is None or key.lstrip("/") == slot.key:
            return slot
        # A new key means the environment's recorded version belongs to another object.
        return replace(slot, key=key.lstrip("/"), configured=False, version=None)

    bucket = overrides.bucket or env.bucket
    dags_prefix = overrides.dags_path.strip("/") + "/" if overrides.dags_path else env.dags_prefix
    notes = []
    # UpdateEnvironment does not move these: the environment keeps reading its own folder.
    if (bucket, dags_prefix) != (env.bucket, env.dags_prefix):
        notes.append(
            f"the environment reads DAGs from s3://{env.bucket}/{env.dags_prefix}, "
            f"this deploy writes them to s3://{bucket}/{dags_prefix}"
        )
    if bucket != env.bucket:
        notes.append(f"the environment's plugins and requirements live in s3://{env.bucket}")
    return replace(
        env,
        bucket=bucket,
        dags_prefix=dags_prefix,
        notes=tuple(notes),
        plugins=moved(env.plugins, overrides.plugins_path),
        requirements=moved(env.requirements, overrides.requirements_path),
        startup=moved(env.startup, overrides.startup_script_path),
    )
