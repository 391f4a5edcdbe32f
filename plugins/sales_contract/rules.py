"""The rules every runtime checks the same way: thresholds, run dates, manifest versions, SNS.

The DAG's config, the Glue job's arguments and the Lambda's event are validated with these,
so a value one side accepts the others accept too.
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import date

# A day with more than this share of rejected rows fails (per environment: config
# ``max_quarantine_ratio``; per run: the ``max_quarantine_ratio`` param).
DEFAULT_MAX_QUARANTINE_RATIO = 0.05
# A day with fewer data rows fails instead of overwriting its partitions with nothing.
DEFAULT_MIN_ROWS = 1
# The job's argument parser reads at most 12 digits; the DAG's config refuses more.
MAX_MIN_ROWS = 10**12 - 1

# The manifest's layout version: the job writes it, the Lambda refuses any other.
MANIFEST_SCHEMA_VERSION = 1

# SNS: "Subjects must be ASCII text that begins with a letter, number, or punctuation mark;
# must not include line breaks or control characters; and must be less than 100 characters
# long." (SNS API reference, Publish, Subject)
SNS_SUBJECT_MAX_CHARS = 99

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_run_date(value: object, source: str, *, latest: date | None = None) -> date:
    """A real calendar date written ``YYYY-MM-DD``, not after ``latest`` when given.

    The error names ``source`` and the value. A day in the future has no data yet: a run for
    it would only hold the DAG's one run slot while its sensor waits.
    """
    day = None
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        with suppress(ValueError):  # 2024-02-30: the shape of a date, not a date
            day = date.fromisoformat(value)
    if day is None:
        raise ValueError(f"{source} must be a real date in YYYY-MM-DD form, got {value!r}")
    if latest is not None and day > latest:
        raise ValueError(f"{source} {value!r} is in the future (today is {latest.isoformat()})")
    return day


def sns_subject(text: str) -> str:
    """``text`` as a subject SNS accepts: ASCII, one line, under 100 characters."""
    one_line = " ".join(text.split())
    return one_line.encode("ascii", "replace").decode()[:SNS_SUBJECT_MAX_CHARS]
