"""The pipeline's one config source: the Airflow Variable ``sales_etl_config``.

On MWAA it is an Airflow Variable (a JSON object, or a Secrets Manager secret behind Airflow's
secrets backend) that `make deploy` prints from the stack's outputs; locally the runners set
it (``local.stack_config``). The names that belong to one environment (bucket, Glue role,
alert topic) have no defaults: without them the first task fails naming the keys. The
Variable is read when a task runs, never when the DAG file is parsed (``sales_etl.runtime``).

The model is strict: unknown keys are refused, a value must already have its type (JSON
``true`` is not a count, ``"5"`` is not a number), and every error names the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from sales_contract.layout import DEFAULT_COMPLETION_MARKER
from sales_contract.rules import DEFAULT_MAX_QUARANTINE_RATIO, DEFAULT_MIN_ROWS, MAX_MIN_ROWS

CONFIG_VARIABLE = "sales_etl_config"

# S3 bucket naming rules (lowercase, digits, dots, hyphens; 3-63 chars; no IP-like names).
_BUCKET = r"^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
# Glue database, crawler and job names.
_GLUE_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$"
# A plain file name the Glue job's listing skips (Spark's rule: a leading '_' or '.' hides a
# file), so the marker is never read as data; no glob characters, so it names one key.
_MARKER_NAME = r"^[_.][A-Za-z0-9_.-]{1,254}$"
_SNS_TOPIC_ARN = r"^(|arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256})$"


def _key(expectation: str, **constraints: Any) -> Any:
    """A field's constraints and the sentence its error gives ("must be ...")."""
    return Field(json_schema_extra={"expectation": expectation}, **constraints)


GlueName = Annotated[str, _key("must be a valid Glue name", pattern=_GLUE_NAME)]


class ConfigError(ValueError):
    """A config value is missing, unknown or invalid; the message names the key."""


class PipelineConfig(BaseModel):
    """Every external name and tunable the pipeline uses. Field names are the Variable's keys."""

    # python-re: the bucket rule needs a look-ahead, which the default (Rust) engine lacks.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, regex_engine="python-re")

    bucket: Annotated[str, _key("must be a valid S3 bucket name", pattern=_BUCKET)]
    glue_database: GlueName = "sales_etl"
    raw_crawler: GlueName = "sales_etl_raw"
    raw_table_prefix: Annotated[
        str, _key("must be lowercase letters, digits or underscores", pattern=r"^[a-z0-9_]*$")
    ] = "raw_"
    glue_job: GlueName = "sales_etl_job"
    glue_role_arn: Annotated[
        str,
        _key(
            "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
            pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$",
        ),
    ]
    glue_version: Annotated[str, _key("must look like '5.0'", pattern=r"^\d+\.\d+$")] = "5.0"
    glue_worker_type: Annotated[
        str, _key("must be a Glue worker type such as 'G.1X'", pattern=r"^[A-Z]\.\d+X$")
    ] = "G.1X"
    # Glue's minimum for Spark jobs is 2 workers (one driver, one executor).
    glue_workers: Annotated[int, _key("must be 2..1000", ge=2, le=1000)] = 2
    glue_timeout_minutes: Annotated[int, _key("must be 1..2880 minutes", ge=1, le=2880)] = 60
    lambda_function: Annotated[
        str, _key("must be a valid Lambda function name", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ] = "sales_etl_post_process"
    max_quarantine_ratio: Annotated[float, _key("must be between 0 and 1", ge=0.0, le=1.0)] = (
        DEFAULT_MAX_QUARANTINE_RATIO
    )
    # A day is complete once its producer writes this file into the day's partition (the
    # Hadoop/Spark convention). None: any CSV starts the run, for producers that cannot write
    # a marker; a day delivered as several files may then be processed half-done.
    completion_marker: Annotated[
        str | None,
        _key(
            "must be a file name starting with '_' or '.' (letters, digits, '_', '.', '-'), "
            "or null for any CSV",
            pattern=_MARKER_NAME,
        ),
    ] = DEFAULT_COMPLETION_MARKER
    # Fewer data rows than this fail the day instead of overwriting it with nothing (0 would
    # let an empty day do exactly that); the Glue job takes at most MAX_MIN_ROWS.
    min_rows: Annotated[
        int, _key(f"must be at least 1 and at most {MAX_MIN_ROWS}", ge=1, le=MAX_MIN_ROWS)
    ] = DEFAULT_MIN_ROWS
    # Where check_day's Athena queries run and write their results: the stack's workgroup
    # and a bucket prefix its lifecycle expires (infra/sales-etl.yaml).
    athena_workgroup: Annotated[
        str,
        _key(
            "must be an Athena workgroup name (letters, digits, '.', '_', '-'; 1..128)",
            pattern=r"^[A-Za-z0-9._-]{1,128}$",
        ),
    ] = "primary"
    athena_results_prefix: Annotated[
        str,
        _key(
            "must be a key prefix ending in '/' (letters, digits, '_', '.', '-', '/')",
            pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$",
        ),
    ] = "athena-results/"
    # SNS topic for failure alerts; "" (said explicitly) = the reason is only in the task log.
    alert_topic_arn: Annotated[
        str,
        _key(
            "must be empty or an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
            pattern=_SNS_TOPIC_ARN,
        ),
    ]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


# The keys without a default: each names one environment's own resource.
REQUIRED_KEYS = frozenset(k for k, f in PipelineConfig.model_fields.items() if f.is_required())


def load_config(overrides: Mapping[str, Any] | str | None) -> PipelineConfig:
    """Build the config from defaults plus ``overrides`` (a mapping or a JSON object string)."""
    if overrides is None or overrides == "":
        raise ConfigError(
            f"Variable {CONFIG_VARIABLE!r} is not set; it needs at least the keys "
            f"{sorted(REQUIRED_KEYS)} (`make deploy` prints the whole Variable from the "
            "stack's outputs: docs/configuration.md)"
        )
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
    unknown = sorted(set(overrides) - set(PipelineConfig.model_fields))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {unknown} in Variable {CONFIG_VARIABLE!r}; "
            f"known keys: {sorted(PipelineConfig.model_fields)}"
        )
    try:
        return PipelineConfig.model_validate(dict(overrides))
    except ValidationError as err:
        raise ConfigError("; ".join(_describe(e) for e in _first_per_key(err))) from None


def salvage_alert_topic(overrides: Mapping[str, Any] | str | None) -> str:
    """The alert topic a config names even when the config as a whole is invalid.

    A typo elsewhere in the Variable must not also silence the alert that reports it: the
    topic is used when that one key is itself valid, else "" (no topic).
    """
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except json.JSONDecodeError:
            return ""
    topic = overrides.get("alert_topic_arn") if isinstance(overrides, Mapping) else None
    return topic if isinstance(topic, str) and re.fullmatch(_SNS_TOPIC_ARN, topic) else ""


def field_type_name(key: str) -> str:
    """The key's type as written in the model: ``int``, ``str | None``."""
    annotation = PipelineConfig.model_fields[key].annotation
    return getattr(annotation, "__name__", str(annotation))


def _first_per_key(err: ValidationError) -> list[ErrorDetails]:
    """One error per key: a ``str | None`` field reports each union member's failure."""
    seen: dict[Any, ErrorDetails] = {}
    for error in err.errors():
        seen.setdefault(error["loc"][0], error)
    return list(seen.values())


def _describe(error: ErrorDetails) -> str:
    key = str(error["loc"][0])
    value = error["input"]
    field = PipelineConfig.model_fields[key]
    if error["type"] == "missing":
        return f"config key {key!r} is required (it names this environment's own resource)"
    if error["type"].endswith("_type") or error["type"] == "none_required":
        expected = field_type_name(key)
        return f"config key {key!r} must be {expected}, got {type(value).__name__} {value!r}"
    extra = field.json_schema_extra
    expectation = extra["expectation"] if isinstance(extra, dict) else error["msg"]
    return f"config key {key!r} {expectation}, got {value!r}"
