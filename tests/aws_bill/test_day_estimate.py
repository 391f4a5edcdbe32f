"""make demo's per-day estimate: the day's recorded calls and figures, priced once per day."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from local.aws_bill.day_estimate import DayEstimates
from local.aws_local import GLUE_ROLE
from local.endpoint.http.call_log import Call, CallCounts
from tests.aws_bill.test_collect import FakeAws

PUT = Call(GLUE_ROLE, "s3:PutObject", "arn:aws:s3:::b/processed-data/x.parquet")


class FakeCallLog:
    """Yields the calls a day "makes" and their counts, as ``CallLog.counting()`` does."""

    def __init__(self, calls: dict[Call, int]) -> None:
        self.calls = calls

    @contextmanager
    def counting(self) -> Iterator[CallCounts]:
        yield CallCounts(self.calls)


def test_each_day_is_estimated_from_its_own_window() -> None:
    aws = FakeAws()
    bills = DayEstimates(aws, FakeCallLog({PUT: 3}))
    bills.prepare()
    with bills.recording("2024-01-16"):
        pass
    units = bills.units["2024-01-16"]
    assert units.s3_tier1_requests == 3  # every request is billed, not each distinct call
    assert units.glue_job_runs == 0  # the fake's runs are from 2024: another day's
    assert "AWS bill estimate $" in bills.format("2024-01-16")
    assert bills.summary().startswith("AWS bill estimate for 1 day(s): $")
    assert sorted(aws.made) == ["athena", "cloudwatch", "glue", "lambda", "logs"]  # made once


def test_a_figure_aws_would_not_report_is_named_not_priced() -> None:
    aws = FakeAws()
    glue = aws.services["glue"]
    runs: list[dict[str, object]] = []
    glue._answers["get_job_runs"] = lambda JobName: {"JobRuns": runs}
    glue._pages["get_jobs"] = [{"Jobs": [{"Name": "job"}]}]  # no worker type anywhere
    bills = DayEstimates(aws, FakeCallLog({}))
    with bills.recording("2024-01-16"):
        runs.append({"StartedOn": datetime.now(UTC), "CompletedOn": datetime.now(UTC)})
    assert "2024-01-16" not in bills.units
    assert "unavailable: ValueError: Glue job job: unknown worker type '?'" in bills.format(
        "2024-01-16"
    )
