"""Job arguments: Glue's `--name value` pairs on Glue, argparse elsewhere, validated the same.

`awsglue` exists only inside Glue, so it is imported only when present.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sales_contract.rules import (
    DEFAULT_MAX_QUARANTINE_RATIO,
    DEFAULT_MIN_ROWS,
    parse_run_date,
)
from sales_job.lake_fs import normalize_base_uri

REQUIRED = ("run_date", "data_uri")
OPTIONAL = ("max_quarantine_ratio", "min_rows")
RUN_ID_KEY = "JOB_RUN_ID"  # set by Glue itself; reserved, so never requested by name


class JobArgumentError(ValueError):
    """A missing or malformed job argument; the message names the argument."""


@dataclass(frozen=True)
class JobArgs:
    run_date: date
    data_uri: str  # normalized: s3://bucket or file:///abs/dir, no trailing slash
    max_quarantine_ratio: float = DEFAULT_MAX_QUARANTINE_RATIO
    min_rows: int = DEFAULT_MIN_ROWS
    job_run_id: str | None = None


def resolve_job_args(argv: Sequence[str]) -> JobArgs:
    """argv as in sys.argv (program name first). Unknown arguments are ignored."""
    return validate_job_args(read_raw_args(argv))


def read_raw_args(argv: Sequence[str]) -> dict[str, str | None]:
    try:
        from awsglue.utils import getResolvedOptions  # only exists on Glue
    except ImportError:
        return _parse_locally(argv[1:])
    wanted = list(REQUIRED) + [name for name in OPTIONAL if f"--{name}" in argv]
    try:
        resolved = getResolvedOptions(list(argv), wanted)
    except Exception as exc:  # GlueArgumentError: "the following arguments are required: ..."
        raise JobArgumentError(f"invalid job arguments: {exc}") from exc
    return {name: resolved.get(name) for name in (*REQUIRED, *OPTIONAL, RUN_ID_KEY)}


def _parse_locally(args: Sequence[str]) -> dict[str, str | None]:
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    for name in (*REQUIRED, *OPTIONAL, RUN_ID_KEY):
        parser.add_argument(f"--{name}", dest=name, default=None)
    known, _unknown = parser.parse_known_args(list(args))
    return vars(known)


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
    return JobArgs(run_date, data_uri, ratio, min_rows, run_id)


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
