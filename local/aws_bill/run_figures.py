"""What a run did, as AWS would meter it: the run's own figures and the calls it made.

Figures are what the services report about the run (GetJobRun, ListCrawls, the Lambda's
REPORT line, GetQueryExecution, ListMetrics); calls are the endpoint's call log entries
(``local.endpoint.http.call_log.Call``: principal, IAM action, resource, condition keys),
either distinct (a set) or counted (a mapping to how many times each was made).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

# Workers -> DPUs per worker (AWS Glue worker types: G.1X 1 DPU, G.2X 2, G.4X 4, G.8X 8;
# G.025X is a quarter DPU, for streaming jobs).
DPUS_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0}


class CallLike(Protocol):
    """A recorded call (``local.endpoint.http.call_log.Call``), without importing the endpoint."""

    @property
    def principal(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def conditions(self) -> tuple[tuple[str, str], ...]: ...


@dataclass(frozen=True)
class GlueJobRun:
    job: str
    seconds: float  # GetJobRun ExecutionTime: the run's own time, start-up not included
    workers: int
    worker_type: str

    def __post_init__(self) -> None:
        if self.worker_type not in DPUS_PER_WORKER:
            known = ", ".join(DPUS_PER_WORKER)
            raise ValueError(
                f"Glue job {self.job}: unknown worker type {self.worker_type!r} (known: {known})"
            )
        if self.workers < 1 or self.seconds < 0:
            raise ValueError(
                f"Glue job {self.job}: workers must be >= 1 and seconds >= 0, got "
                f"{self.workers} workers, {self.seconds} s"
            )

    @property
    def dpus(self) -> float:
        return self.workers * DPUS_PER_WORKER[self.worker_type]


@dataclass(frozen=True)
class CrawlRun:
    crawler: str
    seconds: float  # StartTime -> EndTime of the crawl
    dpu_hours: float | None = None  # ListCrawls DPUHour, as AWS reports it (None locally)


@dataclass(frozen=True)
class LambdaInvocation:
    function: str
    billed_ms: float  # the REPORT line's Billed Duration (duration rounded up to 1 ms)
    memory_mb: int  # the function's MemorySize


@dataclass(frozen=True)
class AthenaQuery:
    query_id: str
    bytes_scanned: int  # GetQueryExecution Statistics.DataScannedInBytes
    state: str  # SUCCEEDED and CANCELLED queries are billed, FAILED ones are not
    statement_type: str = "DML"  # DDL (tables, partitions) is not billed; DML and UTILITY are

    @property
    def billed(self) -> bool:
        return self.state in ("SUCCEEDED", "CANCELLED") and self.statement_type != "DDL"


@dataclass(frozen=True)
class RunFigures:
    glue_runs: tuple[GlueJobRun, ...] = ()
    crawls: tuple[CrawlRun, ...] = ()
    lambda_invocations: tuple[LambdaInvocation, ...] = ()
    athena_queries: tuple[AthenaQuery, ...] = ()
    custom_metrics: int = 0  # distinct CloudWatch custom metrics the run sent data to
    calls: Mapping[CallLike, int] = field(default_factory=dict)


def counted(calls: Iterable[CallLike] | Mapping[CallLike, int]) -> dict[CallLike, int]:
    """Calls with how many times each was made; a plain set counts each call once."""
    if isinstance(calls, Mapping):
        return dict(calls)
    counts: dict[CallLike, int] = {}
    for call in calls:
        counts[call] = counts.get(call, 0) + 1
    return counts
