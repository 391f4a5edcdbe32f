"""Read a run's own figures back from the services, for the runs inside a time window.

The same calls work against AWS and the local endpoint: GetJobRuns (ExecutionTime, workers,
worker type), ListCrawls (start and end of each crawl), the Lambda's REPORT lines in its log
group (billed duration, memory size), Athena's query executions (bytes scanned) and
ListMetrics (the custom metrics in the namespaces the run's PutMetricData calls named).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import boto3

from local.aws_bill.run_figures import (
    AthenaQuery,
    CallLike,
    CrawlRun,
    GlueJobRun,
    LambdaInvocation,
    RunFigures,
    counted,
)
from local.aws_bill.units import PIPELINE_PRINCIPALS
from local.aws_local import REGION, EndpointClients

_REPORT = re.compile(r"^REPORT .*Billed Duration: (?P<ms>\d+) ms\s+Memory Size: (?P<mb>\d+) MB")
_FINISHED_CRAWL = ("COMPLETED", "FAILED", "STOPPED")


class Clients(Protocol):
    """What ``collect`` needs: ``client(service_name)`` (``EndpointClients`` or a boto3 Session)."""

    def client(self, service_name: str) -> Any: ...


class CachedClients:
    """One client per service, made once: a boto3 client costs tens of ms to create."""

    def __init__(self, aws: Clients) -> None:
        self._aws = aws
        self._clients: dict[str, Any] = {}

    @classmethod
    def of_endpoint(cls, endpoint: EndpointClients) -> CachedClients:
        """The local endpoint's clients from one boto3 session: ``EndpointClients.client``
        makes a session per client, which costs about 0.2 s each (one session: 0.03 s)."""
        keys = endpoint.credentials()
        session = boto3.session.Session(
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )
        return cls(_SessionClients(session, endpoint.url))

    def client(self, service_name: str) -> Any:
        if service_name not in self._clients:
            self._clients[service_name] = self._aws.client(service_name)
        return self._clients[service_name]


@dataclass(frozen=True)
class _SessionClients:
    session: boto3.session.Session
    url: str

    def client(self, service_name: str) -> Any:
        return self.session.client(service_name, endpoint_url=self.url)


def collect(
    aws: Clients,
    since: datetime,
    until: datetime,
    calls: Iterable[CallLike] | Mapping[CallLike, int] = (),
    *,
    reported_dpu_hours: bool = False,
) -> RunFigures:
    """The figures of every run that started in [since, until] (timezone-aware datetimes).

    ``reported_dpu_hours``: take each crawl's ListCrawls DPUHour (AWS's own figure); off
    locally, where moto reports a constant.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("collect needs timezone-aware since/until (e.g. datetime.now(UTC))")
    counts = counted(calls)
    glue = aws.client("glue")
    return RunFigures(
        glue_runs=tuple(_glue_runs(glue, since, until)),
        crawls=tuple(_crawls(glue, since, until, reported_dpu_hours)),
        lambda_invocations=tuple(_lambda_invocations(aws, since, until)),
        athena_queries=tuple(_athena_queries(aws.client("athena"), since, until)),
        custom_metrics=_custom_metrics(aws.client("cloudwatch"), counts),
        calls=counts,
    )


def _within(moment: datetime | None, since: datetime, until: datetime) -> bool:
    return moment is not None and since <= moment <= until


def _glue_runs(glue: Any, since: datetime, until: datetime) -> Iterable[GlueJobRun]:
    for page in glue.get_paginator("get_jobs").paginate():
        for job in page["Jobs"]:
            runs = glue.get_job_runs(JobName=job["Name"])["JobRuns"]
            for run in runs:
                if not _within(run.get("StartedOn"), since, until) or "CompletedOn" not in run:
                    continue
                yield GlueJobRun(
                    job=job["Name"],
                    seconds=float(run.get("ExecutionTime") or 0),
                    # A run's own sizing, else the job's (the operator may set neither).
                    workers=int(run.get("NumberOfWorkers") or job.get("NumberOfWorkers") or 0),
                    worker_type=str(run.get("WorkerType") or job.get("WorkerType") or "?"),
                )


def _crawls(glue: Any, since: datetime, until: datetime, reported: bool) -> Iterable[CrawlRun]:
    for page in glue.get_paginator("get_crawlers").paginate():
        for crawler in page["Crawlers"]:
            for crawl in glue.list_crawls(CrawlerName=crawler["Name"])["Crawls"]:
                start, end = crawl.get("StartTime"), crawl.get("EndTime")
                if crawl.get("State") not in _FINISHED_CRAWL or not _within(start, since, until):
                    continue
                yield CrawlRun(
                    crawler=crawler["Name"],
                    seconds=(end - start).total_seconds() if end else 0.0,
                    dpu_hours=float(crawl["DPUHour"]) if reported and "DPUHour" in crawl else None,
                )


def _lambda_invocations(
    aws: Clients, since: datetime, until: datetime
) -> Iterable[LambdaInvocation]:
    logs = aws.client("logs")
    window = {"startTime": int(since.timestamp() * 1000), "endTime": int(until.timestamp() * 1000)}
    for page in aws.client("lambda").get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            group = f"/aws/lambda/{fn['FunctionName']}"
            try:
                events = logs.get_paginator("filter_log_events").paginate(
                    logGroupName=group, **window
                )
                messages = [e["message"] for p in events for e in p["events"]]
            except logs.exceptions.ResourceNotFoundException:
                continue  # never invoked: no log group yet
            for message in messages:
                report = _REPORT.match(message.strip())
                if report:
                    yield LambdaInvocation(
                        fn["FunctionName"], float(report["ms"]), int(report["mb"])
                    )


def _athena_queries(athena: Any, since: datetime, until: datetime) -> Iterable[AthenaQuery]:
    ids = [
        i
        for p in athena.get_paginator("list_query_executions").paginate()
        for i in p["QueryExecutionIds"]
    ]
    for start in range(0, len(ids), 50):  # BatchGetQueryExecution takes up to 50 ids
        batch = athena.batch_get_query_execution(QueryExecutionIds=ids[start : start + 50])
        for q in batch["QueryExecutions"]:
            if not _within(q.get("Status", {}).get("SubmissionDateTime"), since, until):
                continue
            yield AthenaQuery(
                q["QueryExecutionId"],
                int(q.get("Statistics", {}).get("DataScannedInBytes") or 0),
                q["Status"]["State"],
                q.get("StatementType", "DML"),
            )


def _custom_metrics(cloudwatch: Any, calls: Mapping[CallLike, int]) -> int:
    namespaces = {
        value
        for call in calls
        if call.action == "cloudwatch:PutMetricData" and call.principal in PIPELINE_PRINCIPALS
        for key, value in call.conditions
        if key == "cloudwatch:namespace"
    }
    return sum(
        len(page["Metrics"])
        for namespace in sorted(namespaces)
        for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace)
    )
