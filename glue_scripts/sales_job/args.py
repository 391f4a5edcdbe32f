"""Job arguments: Glue's `--name value` pairs on Glue, the same parser elsewhere, validated the
same. A name the job does not know fails the run (a misspelt `--max_quarantine_ration` must
not run the day with the default), except the names Glue and Airflow add to every run.

`awsglue` exists only inside Glue, so it is imported only when present.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sales_contract.layout import DEFAULT_COMPLETION_MARKER
from sales_contract.rules import (
    DEFAULT_MAX_QUARANTINE_RATIO,
    DEFAULT_MIN_ROWS,
    parse_run_date,
)
from sales_job.contract import MAX_LINE_BYTES
from sales_job.lake_fs import normalize_base_uri

REQUIRED = ("run_date", "data_uri")
NO_MARKER = "none"
# glue_database: where the run publishes its partitions (required unless a caller, such as a
# test, hands the run a catalog of its own).
OPTIONAL = ("max_quarantine_ratio", "min_rows", "completion_marker", "glue_database")
RUN_ID_KEY = "JOB_RUN_ID"  # set by Glue itself; reserved, so never requested by name

# What Glue itself (AWS Glue: "Using job parameters in AWS Glue jobs", its reserved and
# internal names) and the Airflow provider (GlueJobOperator's task id) put in a run's argv:
# accepted and not used. The one place to add a name Glue starts to pass.
PASSED_BY_GLUE = frozenset(
    {
        "--JOB_ID", "--JOB_NAME", "--JOB_RUN_ID", "--SECURITY_CONFIGURATION",
        "--airflow_task_uuid",
        "--TempDir", "--RedshiftTempDir", "--scriptLocation", "--class", "--job-language",
        "--job-bookmark-option", "--job-bookmark-from", "--job-bookmark-to",
        "--extra-py-files", "--extra-jars", "--extra-files", "--user-jars-first",
        "--additional-python-modules", "--python-modules-installer-option",
        "--datalake-formats", "--conf", "--debug", "--mode", "--encryption-type",
        "--enable-metrics", "--enable-observability-metrics", "--enable-job-insights",
        "--enable-continuous-cloudwatch-log", "--enable-continuous-log-filter",
        "--enable-spark-ui", "--spark-event-logs-path", "--enable-glue-datacatalog",
        "--enable-auto-scaling", "--auto-scale-within-microbatch", "--executor-cores",
        "--enable-s3-parquet-optimized-committer", "--enable-rename-algorithm-v2",
        "--enable-lakeformation-fine-grained-access", "--disable-proxy-v2",
        "--customer-driver-env-vars", "--customer-executor-env-vars",
        "--write-shuffle-files-to-s3", "--write-shuffle-spills-to-s3",
    }
)  # fmt: skip
PASSED_BY_GLUE_PREFIXES = ("--continuous-log-",)  # -logGroup, -logStreamPrefix, ...
# Glue options whose value may itself start with "--" (pip's "--upgrade").
VALUE_MAY_LOOK_LIKE_A_NAME = frozenset({"--python-modules-installer-option", "--conf"})


class JobArgumentError(ValueError):
    """A missing, malformed or unknown job argument; the message names the argument."""


@dataclass(frozen=True)
class JobArgs:
    run_date: date
    data_uri: str  # normalized: s3://bucket or file:///abs/dir, no trailing slash
    max_quarantine_ratio: float = DEFAULT_MAX_QUARANTINE_RATIO
    min_rows: int = DEFAULT_MIN_ROWS
    job_run_id: str | None = None
    # A customer snapshot counts once this file is in its folder; None: no marker rule.
    completion_marker: str | None = DEFAULT_COMPLETION_MARKER
    # Longer lines are quarantined, truncated (no argument: a caller such as a test sets it).
    max_line_bytes: int = MAX_LINE_BYTES
    glue_database: str | None = None


def resolve_job_args(argv: Sequence[str]) -> JobArgs:
    """argv as in sys.argv (program name first). Unknown arguments fail."""
    return validate_job_args(read_raw_args(argv))


def read_raw_args(argv: Sequence[str]) -> dict[str, str | None]:
    values, unknown = named_values(argv[1:])
    if unknown:
        raise JobArgumentError(
            f"unknown argument {', '.join(unknown)}: the job takes "
            + ", ".join(f"--{name}" for name in (*REQUIRED, *OPTIONAL))
        )
    try:
        from awsglue.utils import getResolvedOptions  # only exists on Glue
    except ImportError:
        return {name: values.get(f"--{name}") for name in (*REQUIRED, *OPTIONAL, RUN_ID_KEY)}
    wanted = list(REQUIRED) + [name for name in OPTIONAL if f"--{name}" in argv]
    try:
        resolved = getResolvedOptions(list(argv), wanted)
    except Exception as exc:  # GlueArgumentError: "the following arguments are required: ..."
        raise JobArgumentError(f"invalid job arguments: {exc}") from exc
    return {name: resolved.get(name) for name in (*REQUIRED, *OPTIONAL, RUN_ID_KEY)}


def named_values(args: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """`--name value` (or `--name=value`) pairs, the last of a name winning, and what is not
    the job's or Glue's: unknown names, and values that follow no name (quoted)."""
    ours = {f"--{name}" for name in (*REQUIRED, *OPTIONAL, RUN_ID_KEY)}
    values: dict[str, str] = {}
    unknown: list[str] = []
    i = 0
    while i < len(args):
        name, has_value, value = args[i].partition("=")
        i += 1
        if not name.startswith("--"):
            unknown.append(repr(args[i - 1]))
            continue
        takes_next = i < len(args) and (
            not args[i].startswith("--") or name in VALUE_MAY_LOOK_LIKE_A_NAME
        )
        if not has_value and takes_next:  # else a bare flag, such as Glue's --enable-metrics
            value, i = args[i], i + 1
        if name in ours:
            values[name] = value
        elif name not in PASSED_BY_GLUE and not name.startswith(PASSED_BY_GLUE_PREFIXES):
            unknown.append(name)
    return values, unknown


def validate_job_args(raw: Mapping[str, str | None]) -> JobArgs:
    for name in REQUIRED:
        if not (raw.get(name) or "").strip():
            raise JobArgumentError(f"missing required argument --{name}")
    run_date = _parse_run_date(str(raw["run_date"]).strip())
    try:
        data_uri = normalize_base_uri(str(raw["data_uri"]))
    except ValueError as exc:
        raise JobArgumentError(f"--data_uri is not usable: {exc}") from exc
    ratio = _parse_ratio(raw.get("max_quarantine_ratio"))
    min_rows = _parse_min_rows(raw.get("min_rows"))
    run_id = (raw.get(RUN_ID_KEY) or "").strip() or None
    marker = _parse_marker(raw.get("completion_marker"))
    database = (raw.get("glue_database") or "").strip() or None
    return JobArgs(run_date, data_uri, ratio, min_rows, run_id, marker, glue_database=database)


def _parse_marker(text: str | None) -> str | None:
    """Absent: the default marker; NO_MARKER (or empty): no marker rule (config `null`).

    The DAG passes the word rather than an empty value, which a job argument may lose on the
    way; no marker name can be it (a marker starts with '_' or '.').
    """
    if text is None:
        return DEFAULT_COMPLETION_MARKER
    name = text.strip()
    if name in ("", NO_MARKER):
        return None
    # Hidden, so it is never read as data; one name, so it is looked up in the folder itself.
    if not name.startswith(("_", ".")) or "/" in name:
        raise JobArgumentError(
            f"--completion_marker must be a file name starting with '_' or '.', got {text!r}"
        )
    return name


def _parse_run_date(text: str) -> date:
    try:
        return parse_run_date(text, "--run_date")
    except ValueError as exc:
        raise JobArgumentError(str(exc)) from None


def _parse_ratio(text: str | None) -> float:
    if text is None or not text.strip():
        return DEFAULT_MAX_QUARANTINE_RATIO
    try:
        ratio = float(text)
    except ValueError as exc:
        raise JobArgumentError(
            f"--max_quarantine_ratio must be a number in [0, 1], got {text!r}"
        ) from exc
    if math.isnan(ratio) or not 0.0 <= ratio <= 1.0:
        raise JobArgumentError(f"--max_quarantine_ratio must be a number in [0, 1], got {text!r}")
    return ratio


def _parse_min_rows(text: str | None) -> int:
    if text is None or not text.strip():
        return DEFAULT_MIN_ROWS
    # At most 12 digits: MAX_MIN_ROWS, the limit the DAG's config enforces too.
    if not re.fullmatch(r"\d{1,12}", text.strip()) or int(text) < 1:
        raise JobArgumentError(f"--min_rows must be a whole number >= 1, got {text!r}")
    return int(text)
