"""The pipeline's one config source: defaults for the local endpoint, overridden per environment.

On MWAA the overrides live in the Airflow Variable ``sales_etl_config`` (a JSON object, or a
Secrets Manager secret behind Airflow's secrets backend); locally they can come from the
environment variable ``AIRFLOW_VAR_SALES_ETL_CONFIG``. The Variable is read when a task runs,
never when the DAG file is parsed (see ``sales_etl.runtime``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from sales_etl.layout import DEFAULT_COMPLETION_MARKER

CONFIG_VARIABLE = "sales_etl_config"

# moto's default account id: the defaults work against the local endpoint out of the box.
LOCAL_ACCOUNT_ID = "123456789012"


class ConfigError(ValueError):
    """A config value is missing, unknown or invalid; the message names the key."""


@dataclass(frozen=True)
class PipelineConfig:
    """Every external name and tunable the pipeline uses. Field names are the Variable's keys."""

    bucket: str = "sales-etl-local"
    glue_database: str = "sales_etl"
    raw_crawler: str = "sales_etl_raw"
    processed_crawler: str = "sales_etl_processed"
    raw_table_prefix: str = "raw_"
    glue_job: str = "sales_etl_job"
    glue_role_arn: str = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/sales-etl-glue"
    glue_version: str = "5.0"
    glue_worker_type: str = "G.1X"
    glue_workers: int = 2
    glue_timeout_minutes: int = 60
    lambda_function: str = "sales_etl_post_process"
    max_quarantine_ratio: float = 0.05
    # A day is complete once its producer writes this file into the day's partition (the
    # Hadoop/Spark convention). None: any CSV starts the run, for producers that cannot write
    # a marker; a day delivered as several files may then be processed half-done.
    completion_marker: str | None = DEFAULT_COMPLETION_MARKER
    # Fewer data rows than this fail the day instead of overwriting it with nothing.
    min_rows: int = 1
    # SNS topic for failure alerts; empty = the reason is only written to the task log.
    alert_topic_arn: str = ""

    def __post_init__(self) -> None:
        for check in _CHECKS:
            check(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_config(overrides: Mapping[str, Any] | str | None) -> PipelineConfig:
    """Build the config from defaults plus ``overrides`` (a mapping or a JSON object string)."""
    if overrides is None or overrides == "":
        return PipelineConfig()
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"Variable {CONFIG_VARIABLE!r} is not valid JSON: {err.msg} at char {err.pos}"
            ) from None
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            f"Variable {CONFIG_VARIABLE!r} must be a JSON object, got {type(overrides).__name__}"
        )
    known = {f.name: f for f in fields(PipelineConfig)}
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {unknown} in Variable {CONFIG_VARIABLE!r}; known keys: {sorted(known)}"
        )
    for key, value in overrides.items():
        _check_type(key, value, known[key].type)
    return PipelineConfig(**overrides)


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "str | None": (str, type(None)),
    "int": (int,),
    "float": (int, float),
}


def _check_type(key: str, value: Any, annotation: Any) -> None:
    expected = _TYPES[str(annotation)]
    # bool is an int subclass; a JSON true/false is never a valid count or ratio.
    if isinstance(value, bool) or not isinstance(value, expected):
        raise ConfigError(
            f"config key {key!r} must be {annotation}, got {type(value).__name__} {value!r}"
        )


def _require(key: str, ok: bool, expectation: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"config key {key!r} {expectation}, got {value!r}")


def _match(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


# S3 bucket naming rules (lowercase, digits, dots, hyphens; 3-63 chars; no IP-like names).
_BUCKET = r"(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
# Glue database, crawler and job names; Lambda function names.
_GLUE_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}"
_LAMBDA_NAME = r"[A-Za-z0-9_-]{1,64}"
# A plain file name the Glue job's listing skips (Spark's rule: a leading '_' or '.' hides a
# file), so the marker is never read as data; no glob characters, so it names one key.
_MARKER_NAME = r"[_.][A-Za-z0-9_.-]{1,254}"


def _check_names(cfg: PipelineConfig) -> None:
    _require("bucket", _match(_BUCKET, cfg.bucket), "must be a valid S3 bucket name", cfg.bucket)
    for key in ("glue_database", "raw_crawler", "processed_crawler", "glue_job"):
        value = getattr(cfg, key)
        _require(key, _match(_GLUE_NAME, value), "must be a valid Glue name", value)
    _require(
        "raw_table_prefix",
        _match(r"[a-z0-9_]*", cfg.raw_table_prefix),
        "must be lowercase letters, digits or underscores",
        cfg.raw_table_prefix,
    )
    _require(
        "lambda_function",
        _match(_LAMBDA_NAME, cfg.lambda_function),
        "must be a valid Lambda function name",
        cfg.lambda_function,
    )
    _require(
        "glue_role_arn",
        _match(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", cfg.glue_role_arn),
        "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
        cfg.glue_role_arn,
    )
    if cfg.completion_marker is not None:
        _require(
            "completion_marker",
            _match(_MARKER_NAME, cfg.completion_marker),
            "must be a file name starting with '_' or '.' (letters, digits, '_', '.', '-'), "
            "or null for any CSV",
            cfg.completion_marker,
        )


def _check_glue_sizing(cfg: PipelineConfig) -> None:
    _require(
        "glue_version",
        _match(r"\d+\.\d+", cfg.glue_version),
        "must look like '5.0'",
        cfg.glue_version,
    )
    _require(
        "glue_worker_type",
        _match(r"[A-Z]\.\d+X", cfg.glue_worker_type),
        "must be a Glue worker type such as 'G.1X'",
        cfg.glue_worker_type,
    )
    # Glue's minimum for Spark jobs is 2 workers (one driver, one executor).
    _require("glue_workers", 2 <= cfg.glue_workers <= 1000, "must be 2..1000", cfg.glue_workers)
    _require(
        "glue_timeout_minutes",
        1 <= cfg.glue_timeout_minutes <= 2880,
        "must be 1..2880 minutes",
        cfg.glue_timeout_minutes,
    )


def _check_thresholds(cfg: PipelineConfig) -> None:
    _require(
        "max_quarantine_ratio",
        0.0 <= cfg.max_quarantine_ratio <= 1.0,
        "must be between 0 and 1",
        cfg.max_quarantine_ratio,
    )
    # 0 would let an empty day overwrite its partitions with nothing again.
    _require("min_rows", cfg.min_rows >= 1, "must be at least 1", cfg.min_rows)


def _check_alert_topic(cfg: PipelineConfig) -> None:
    _require(
        "alert_topic_arn",
        cfg.alert_topic_arn == ""
        or _match(
            r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}", cfg.alert_topic_arn
        ),
        "must be empty or an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
        cfg.alert_topic_arn,
    )


_CHECKS = (_check_names, _check_glue_sizing, _check_thresholds, _check_alert_topic)
