"""What a run did -> the billable units AWS would meter for it, service by service.

AWS's billing rules are applied to the run's own figures: a local Glue run of 3 s is billed
as AWS's 1-minute minimum, a local crawl of 0.4 s as its 10-minute minimum. Each unit keeps
the figure it came from, so a reader sees which part is the local run and which the minimum.
Only the pipeline's principals' calls count (the MWAA execution role, the Glue role, the
Lambda's role): seeding, tests and the endpoint's own housekeeping are not the pipeline's bill.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from local.aws_bill.prices import PriceTable
from local.aws_bill.run_figures import CallLike, RunFigures
from local.aws_local import GLUE_ROLE, LAMBDA_ROLE_PRINCIPAL, MWAA_EXECUTION_ROLE

PIPELINE_PRINCIPALS = frozenset({MWAA_EXECUTION_ROLE, GLUE_ROLE, LAMBDA_ROLE_PRINCIPAL})
MB = 2**20

# Data Catalog requests (metadata reads and writes): billed per request beyond the free tier.
_CATALOG = re.compile(
    r"^glue:(Batch)?(Get|Create|Update|Delete|Search)"
    r"(Catalog|Database|Table|TableVersion|Partition|PartitionIndex|UserDefinedFunction)"
    r"(s|es|Versions)?$"
)
# Calls with no charge of their own: control planes (a job run is billed by its DPU time, a
# crawl by its run, a query by its bytes), identity, deletes.
_FREE = re.compile(
    r"^(iam|sts|athena):|^s3:DeleteObject$|^lambda:GetFunction$"
    r"|^glue:(Start|Get|BatchStop|Update|Create|Stop|List)(JobRuns?|Jobs?|Crawlers?|Crawls|CrawlerMetrics)$"
)
# Priced from the run's figures (REPORT lines), not from the call.
_FROM_FIGURES = frozenset({"lambda:InvokeFunction"})


@dataclass(frozen=True)
class Units:
    """Billable units of one run (or a sum of runs), each with the figure it came from."""

    glue_job_runs: int = 0
    glue_job_seconds: float = 0.0  # how long the runs took (ExecutionTime)
    glue_job_dpu_seconds: float = 0.0  # billed: DPUs x max(seconds, minimum)
    crawler_runs: int = 0
    crawler_seconds: float = 0.0
    crawler_dpu_seconds: float = 0.0  # billed: DPUs x max(seconds, minimum), or DPUHour
    catalog_requests: int = 0
    lambda_requests: int = 0
    lambda_gb_seconds: float = 0.0
    athena_queries: int = 0
    athena_bytes_scanned: int = 0
    athena_bytes_billed: int = 0  # per query: rounded up to the MB, at least the minimum
    s3_tier1_requests: int = 0  # PUT, COPY, POST, LIST
    s3_tier2_requests: int = 0  # GET, HEAD, other
    cloudwatch_metric_hours: int = 0
    cloudwatch_api_requests: int = 0
    sns_publishes: int = 0
    unpriced: tuple[str, ...] = ()  # actions made that no rule here prices (e.g. log ingestion)

    def __add__(self, other: Units) -> Units:
        fields = {
            name: getattr(self, name) + getattr(other, name)
            for name in self.__dataclass_fields__
            if name != "unpriced"
        }
        return Units(**fields, unpriced=tuple(sorted(set(self.unpriced) | set(other.unpriced))))

    def times(self, n: int) -> Units:
        """``n`` runs like this one (a month of days)."""
        total = Units()
        for _ in range(n):
            total = total + self
        return total


def billable_units(figures: RunFigures, prices: PriceTable) -> Units:
    job_minimum = prices["glue_job_minimum_seconds"]
    crawl_minimum = prices["crawler_minimum_seconds"]
    crawler_dpus = prices["crawler_dpus"]
    glue_dpu_s = sum(r.dpus * max(math.ceil(r.seconds), job_minimum) for r in figures.glue_runs)
    crawl_dpu_s = sum(
        max(c.dpu_hours * 3600, crawler_dpus * crawl_minimum)
        if c.dpu_hours is not None
        else crawler_dpus * max(math.ceil(c.seconds), crawl_minimum)
        for c in figures.crawls
    )
    athena = [q for q in figures.athena_queries if q.billed]
    minimum_bytes = int(prices["athena_minimum_bytes"])
    calls = _classify(figures.calls)
    return Units(
        glue_job_runs=len(figures.glue_runs),
        glue_job_seconds=sum(r.seconds for r in figures.glue_runs),
        glue_job_dpu_seconds=glue_dpu_s,
        crawler_runs=len(figures.crawls),
        crawler_seconds=sum(c.seconds for c in figures.crawls),
        crawler_dpu_seconds=crawl_dpu_s,
        catalog_requests=calls.catalog,
        lambda_requests=len(figures.lambda_invocations),
        lambda_gb_seconds=sum(
            math.ceil(i.billed_ms) / 1000 * i.memory_mb / 1024 for i in figures.lambda_invocations
        ),
        athena_queries=len(athena),
        athena_bytes_scanned=sum(q.bytes_scanned for q in athena),
        athena_bytes_billed=sum(
            max(math.ceil(q.bytes_scanned / MB) * MB, minimum_bytes) for q in athena
        ),
        s3_tier1_requests=calls.s3_tier1,
        s3_tier2_requests=calls.s3_tier2,
        # Each distinct metric is billed for the hour the run sent it in.
        cloudwatch_metric_hours=figures.custom_metrics,
        cloudwatch_api_requests=calls.put_metric_data,
        sns_publishes=calls.sns_publish,
        unpriced=tuple(sorted(calls.unpriced)),
    )


@dataclass
class _Counts:
    catalog: int = 0
    s3_tier1: int = 0
    s3_tier2: int = 0
    put_metric_data: int = 0
    sns_publish: int = 0
    unpriced: set[str] = field(default_factory=set)


def _classify(calls: Mapping[CallLike, int]) -> _Counts:
    counts = _Counts()
    # IAM authorizes a catalog call on the catalog, the database and the table: the endpoint
    # records one call per resource. A request is billed once: count its catalog record.
    on_catalog = {(c.principal, c.action) for c in calls if c.resource.endswith(":catalog")}
    for call, n in calls.items():
        if call.principal not in PIPELINE_PRINCIPALS:
            continue
        if (call.principal, call.action) in on_catalog and not call.resource.endswith(":catalog"):
            continue
        tier = s3_tier(call)
        if tier == 1:
            counts.s3_tier1 += n
        elif tier == 2:
            counts.s3_tier2 += n
        elif _CATALOG.match(call.action):
            counts.catalog += n
        elif call.action == "cloudwatch:PutMetricData":
            counts.put_metric_data += n
        elif call.action == "sns:Publish":
            counts.sns_publish += n
        elif not (_FREE.match(call.action) or call.action in _FROM_FIGURES):
            counts.unpriced.add(call.action)
    return counts


def s3_tier(call: CallLike) -> int | None:
    """S3 request tier of a recorded S3 call: 1 (PUT/COPY/POST/LIST), 2 (GET/HEAD/other)."""
    action = call.action
    if action in ("s3:PutObject", "s3:CreateBucket"):
        return 1  # PutObject, CopyObject, multipart upload parts and completion
    if action == "s3:ListBucket":
        # ListObjects(V2) carries s3:prefix (empty string included); HeadBucket carries none.
        return 1 if any(key == "s3:prefix" for key, _ in call.conditions) else 2
    if action in ("s3:GetObject", "s3:GetBucketLocation"):
        # GetObject and HeadObject. The recorder also logs a CopyObject's read of its source
        # as a GetObject: counted here as one tier-2 request per copy that AWS does not bill.
        return 2
    return None
