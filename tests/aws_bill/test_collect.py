"""Reading a run's figures back from the services: AWS's response shapes, a time window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.aws_bill.collect import CachedClients, collect
from local.aws_bill.run_figures import AthenaQuery, CrawlRun, GlueJobRun, LambdaInvocation
from local.aws_local import LAMBDA_ROLE_PRINCIPAL
from local.endpoint.http.call_log import Call

T0 = datetime(2024, 1, 16, 2, 0, tzinfo=UTC)
BEFORE, DURING, AFTER = T0 - timedelta(hours=1), T0 + timedelta(minutes=1), T0 + timedelta(hours=2)


class _Pages:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self._pages = pages

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return self._pages


class _NotFound(Exception):
    pass


class FakeService:
    """A client answering with canned AWS-shaped responses; ``pages`` feeds paginators."""

    def __init__(self, pages: dict[str, list[dict[str, Any]]], **answers: Any) -> None:
        self._pages = pages
        self._answers = answers
        self.exceptions = type("E", (), {"ResourceNotFoundException": _NotFound})

    def get_paginator(self, name: str) -> _Pages:
        return _Pages(self._pages[name])

    def __getattr__(self, name: str) -> Any:
        return self._answers[name]


def _job_runs(JobName: str) -> dict[str, Any]:
    run = {"ExecutionTime": 9, "CompletedOn": DURING}
    return {
        "JobRuns": [
            {**run, "StartedOn": DURING, "WorkerType": "G.2X", "NumberOfWorkers": 3},
            {**run, "StartedOn": DURING},  # no run-time sizing: the job's own applies
            {**run, "StartedOn": BEFORE, "WorkerType": "G.1X", "NumberOfWorkers": 2},
            {"StartedOn": DURING, "ExecutionTime": 1},  # still running: billed when it ends
        ]
    }


def _crawls(CrawlerName: str) -> dict[str, Any]:
    crawl = {"State": "COMPLETED", "DPUHour": 100.0}
    return {
        "Crawls": [
            {**crawl, "StartTime": DURING, "EndTime": DURING + timedelta(seconds=1.5)},
            {**crawl, "StartTime": AFTER, "EndTime": AFTER + timedelta(seconds=1)},
            {"State": "RUNNING", "StartTime": DURING},
        ]
    }


def _log_events(group: str) -> list[dict[str, Any]]:
    report = (
        "REPORT RequestId: r1\tDuration: 411.20 ms\tBilled Duration: 412 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 80 MB"
    )
    return [{"events": [{"message": "START RequestId: r1"}, {"message": report + "\n"}]}]


def _queries(QueryExecutionIds: list[str]) -> dict[str, Any]:
    def query(qid: str, when: datetime, state: str, scanned: int) -> dict[str, Any]:
        status = {"State": state, "SubmissionDateTime": when}
        return {
            "QueryExecutionId": qid,
            "StatementType": "DDL" if qid == "ddl" else "DML",
            "Status": status,
            "Statistics": {"DataScannedInBytes": scanned},
        }

    found = [
        query("q1", DURING, "SUCCEEDED", 1234),
        query("q0", BEFORE, "SUCCEEDED", 9),
        query("ddl", DURING, "SUCCEEDED", 0),
    ]
    return {"QueryExecutions": [q for q in found if q["QueryExecutionId"] in QueryExecutionIds]}


def clients() -> dict[str, FakeService]:
    return {
        "glue": FakeService(
            {
                "get_jobs": [
                    {"Jobs": [{"Name": "job", "WorkerType": "G.1X", "NumberOfWorkers": 2}]}
                ],
                "get_crawlers": [{"Crawlers": [{"Name": "raw"}]}],
            },
            get_job_runs=_job_runs,
            list_crawls=_crawls,
        ),
        "lambda": FakeService({"list_functions": [{"Functions": [{"FunctionName": "fn"}]}]}),
        "logs": FakeService({"filter_log_events": _log_events("/aws/lambda/fn")}),
        "athena": FakeService(
            {"list_query_executions": [{"QueryExecutionIds": ["q1", "q0", "ddl"]}]},
            batch_get_query_execution=_queries,
        ),
        "cloudwatch": FakeService(
            {"list_metrics": [{"Metrics": [{"MetricName": f"m{i}"} for i in range(5)]}]}
        ),
    }


class FakeAws:
    def __init__(self) -> None:
        self.services = clients()
        self.made: list[str] = []

    def client(self, service_name: str) -> FakeService:
        self.made.append(service_name)
        return self.services[service_name]


def test_the_figures_of_the_runs_inside_the_window() -> None:
    put_metrics = Call(
        LAMBDA_ROLE_PRINCIPAL, "cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", "S"),)
    )
    figures = collect(FakeAws(), T0, T0 + timedelta(hours=1), {put_metrics})
    assert figures.glue_runs == (
        GlueJobRun("job", 9, workers=3, worker_type="G.2X"),
        GlueJobRun("job", 9, workers=2, worker_type="G.1X"),
    )
    # moto's DPUHour is a constant: not taken unless asked for (on AWS it is the real one).
    assert figures.crawls == (CrawlRun("raw", 1.5),)
    assert figures.lambda_invocations == (LambdaInvocation("fn", 412, 256),)
    assert figures.athena_queries == (
        AthenaQuery("q1", 1234, "SUCCEEDED", "DML"),
        AthenaQuery("ddl", 0, "SUCCEEDED", "DDL"),
    )
    assert figures.custom_metrics == 5
    assert figures.calls == {put_metrics: 1}


def test_aws_reported_crawl_dpu_hours_are_taken_when_asked() -> None:
    figures = collect(FakeAws(), T0, T0 + timedelta(hours=1), reported_dpu_hours=True)
    assert figures.crawls == (CrawlRun("raw", 1.5, dpu_hours=100.0),)
    assert figures.custom_metrics == 0  # no PutMetricData call named a namespace


def test_a_naive_window_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        collect(FakeAws(), datetime(2024, 1, 16), datetime(2024, 1, 17))


def test_clients_are_made_once_per_service() -> None:
    aws = FakeAws()
    cached = CachedClients(aws)
    collect(cached, T0, T0 + timedelta(hours=1))
    collect(cached, T0, T0 + timedelta(hours=1))
    assert sorted(aws.made) == ["athena", "cloudwatch", "glue", "lambda", "logs"]
