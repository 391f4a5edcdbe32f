"""A month of daily runs on AWS: cost and latency, with the processed crawler and without it.

    python -m benchmarks.cost_model                      # 30 days, us-east-1 list prices
    python -m benchmarks.cost_model --days 31 --price crawler_dpus=2 --crawl-seconds 120

Two DAG shapes, each at two scales (the recipe's sample, about a hundred orders a day, and
1,000,000 orders a day):

- ``crawler``: the previous DAG: wait_for_sales -> crawl_raw -> transform -> crawl_processed;
  the day is queryable once the processed crawl has registered its partitions.
- ``publish``: today's DAG: the Glue job registers the day's partitions itself
  (BatchCreatePartition/UpdatePartition on the three declared tables); one crawl a day.

Costs are the billable units of ``local.aws_bill`` priced from its table, so AWS's minimums
decide most of it: a Glue run is billed at least a minute, a crawl at least ten. Latency is
marker landed -> day queryable, from the DAG's own waits (sensor poke, 30 s polls) and each
service's start-up and run times. Every figure printed says where it comes from: ``measured``
(a local run, benchmarks/README.md), ``AWS`` (a documented rule or minimum, with its page), or
``assumed`` (no published figure: change it with the options). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from local.aws_bill import (
    AthenaQuery,
    CrawlRun,
    GlueJobRun,
    LambdaInvocation,
    PriceTable,
    RunFigures,
    Units,
    billable_units,
    by_service,
    cost_lines,
    parse_overrides,
    price_table,
)

README = "benchmarks/README.md"
# AWS's Glue 2.0 announcement (Aug 2020), "10x faster job start times, 1-minute minimum
# billing duration"; read through a summary of it (ashks.com, Glue 3 vs Glue 2, stored copy).
GLUE_RELEASE = (
    "https://aws.amazon.com/about-aws/whats-new/2020/08/"
    "aws-glue-version-2-featuring-10x-faster-job-start-times-1-minute-minimum-billing-duration/"
)


@dataclass(frozen=True)
class Figure:
    value: float
    origin: str  # measured | AWS | assumed | DAG
    source: str


@dataclass(frozen=True)
class Scale:
    name: str
    orders_per_day: int
    job_seconds: Figure  # the Glue run's own time (ExecutionTime)
    # Requests of a day's run per DAG shape: (S3 PUT/COPY/POST/LIST, S3 GET/HEAD/other,
    # Data Catalog), recorded by make demo.
    requests: dict[str, tuple[int, int, int]]
    lambda_ms: Figure


# The recipe's scale: make demo's days (2 to 104 orders), per day (tier 1, tier 2, catalog).
# Publishing (today's DAG): every request the demo made on its busiest day, counted
# (local.aws_bill, 2026-12-06; a catalog call once, not once per IAM resource). The previous
# DAG, with the processed crawler: the distinct calls it made, recorded before the call log
# counted (a lower bound). Files, not rows, drive them, so the 1M-orders day keeps the same
# counts (the job writes one file per table and partition; a day's raw input is a few files).
REQUESTS = {"crawler": (14, 29, 23), "publish": (29, 22, 30)}
DEMO = "make demo, 2026-12-06 (2 cores shared, load ~7)"
LAMBDA_MS = Figure(1690, "measured", f"{DEMO}: REPORT lines 780-1690 ms, process start included")
RECIPE = Scale(
    "recipe (~100 orders/day)",
    100,
    Figure(10, "measured", f"{DEMO}: ExecutionTime 6-15 s ({README}: 2.3 s unloaded)"),
    requests=REQUESTS,
    lambda_ms=LAMBDA_MS,
)
MILLION = Scale(
    "1,000,000 orders/day",
    1_000_000,
    Figure(16.8 + 2.6, "measured", f"{README}, contract price: net 16.8 s + 2.6 s Spark start"),
    requests=REQUESTS,
    lambda_ms=LAMBDA_MS,
)


@dataclass(frozen=True)
class Timing:
    """Where the time between the marker landing and the day being queryable goes."""

    poke_seconds: Figure
    poll_seconds: Figure
    task_start_seconds: Figure
    crawl_seconds: Figure
    job_start_seconds: Figure
    publish_seconds: Figure


def default_timing(args: argparse.Namespace) -> Timing:
    dag = "plugins/sales_etl/tasks.py"
    return Timing(
        Figure(args.poke_seconds, "DAG", f"{dag} SALES_POKE_INTERVAL (deferrable sensor)"),
        Figure(args.poll_seconds, "DAG", f"{dag} POLL_SECONDS (crawler and job waits)"),
        Figure(args.task_start_seconds, "assumed", "MWAA scheduler -> worker hand-off per task"),
        Figure(
            args.crawl_seconds,
            "assumed",
            "a crawl of a small S3 target, start-up included: AWS publishes no figure "
            "(billed at least 600 s whatever it takes)",
        ),
        Figure(
            args.job_start_seconds,
            "assumed",
            f"Glue 2.0+ start-up ('10x faster' than 1.0, {GLUE_RELEASE}; no figure published)",
        ),
        Figure(args.publish_seconds, "assumed", "a few Data Catalog calls for three tables"),
    )


def day_units(scale: Scale, shape: str, args: argparse.Namespace, prices: PriceTable) -> Units:
    crawls = 2 if shape == "crawler" else 1
    mb = 2**20
    figures = RunFigures(
        glue_runs=(GlueJobRun("job", scale.job_seconds.value, args.workers, args.worker_type),),
        crawls=tuple(CrawlRun(f"crawl{i}", args.crawl_seconds) for i in range(crawls)),
        lambda_invocations=(LambdaInvocation("post_process", scale.lambda_ms.value, 256),),
        athena_queries=tuple(
            AthenaQuery(f"q{i}", args.bytes_per_query * mb, "SUCCEEDED")
            for i in range(args.queries_per_day)
        ),
        custom_metrics=5,  # lambdas/post_process: RowsIn, RowsValid, RowsQuarantined, ...
    )
    tier1, tier2, catalog = scale.requests[shape]
    return billable_units(figures, prices) + Units(
        catalog_requests=catalog,
        s3_tier1_requests=tier1,
        s3_tier2_requests=tier2,
        cloudwatch_api_requests=1,
        sns_publishes=1,  # at most one quarantine notice a day
    )


def latency(scale: Scale, shape: str, t: Timing, worst: bool) -> list[tuple[str, float]]:
    """Steps from the marker landing to the day being queryable, in seconds."""
    wait = 1.0 if worst else 0.5  # a poll finds a change after a whole interval, or half
    steps = [
        ("sensor sees the marker", t.poke_seconds.value * wait),
        ("crawl_raw", t.task_start_seconds.value + t.crawl_seconds.value),
        ("crawl_raw's end seen by a poll", t.poll_seconds.value * wait),
        (
            "transform",
            t.task_start_seconds.value + t.job_start_seconds.value + scale.job_seconds.value,
        ),
        ("transform's end seen by a poll", t.poll_seconds.value * wait),
    ]
    if shape == "crawler":
        steps += [
            ("crawl_processed", t.task_start_seconds.value + t.crawl_seconds.value),
            ("crawl_processed's end seen by a poll", t.poll_seconds.value * wait),
        ]
    else:
        steps.append(("publish partitions", t.task_start_seconds.value + t.publish_seconds.value))
    return steps


def month_report(args: argparse.Namespace) -> str:
    prices = price_table(args.region, parse_overrides(args.price))
    timing = default_timing(args)
    out = [
        f"A month of {args.days} daily runs, {prices.region} list prices "
        f"(free tiers: without / with the account's monthly free tiers to this pipeline alone)",
        f"Glue job {args.workers} x {args.worker_type}; crawls assumed "
        f"{prices['crawler_dpus']:g} DPU each; {args.queries_per_day} Athena query a day of "
        f"{args.bytes_per_query} MB",
        "",
        f"{'scale':26} {'DAG':8} {'$/month':>8} {'free tier':>9}  per service ($/month)"
        f"{'':14} latency mean / worst",
    ]
    for scale in (RECIPE, MILLION):
        for shape in ("crawler", "publish"):
            units = day_units(scale, shape, args, prices).times(args.days)
            services = by_service(cost_lines(units, prices))
            free = sum(by_service(cost_lines(units, prices, free_tier=True)).values())
            mean = sum(s for _, s in latency(scale, shape, timing, worst=False))
            worst = sum(s for _, s in latency(scale, shape, timing, worst=True))
            parts = ", ".join(f"{k} {v:.2f}" for k, v in services.items() if v >= 0.005)
            out.append(
                f"{scale.name:26} {shape:8} {sum(services.values()):8.2f} {free:9.2f}  "
                f"{parts:34} {mean / 60:4.1f} / {worst / 60:4.1f} min"
            )
    out += ["", "Latency, marker landed -> day queryable (mean case, 1M orders/day):"]
    for shape in ("crawler", "publish"):
        steps = latency(MILLION, shape, timing, worst=False)
        out.append(f"  {shape}: " + "; ".join(f"{name} {s:.0f}s" for name, s in steps))
    out += ["", "Where each figure comes from:"]
    for label, fig in [
        ("Glue run, recipe", RECIPE.job_seconds),
        ("Glue run, 1M orders", MILLION.job_seconds),
        ("Lambda duration", RECIPE.lambda_ms),
        *[(name, getattr(timing, name)) for name in Timing.__dataclass_fields__],
    ]:
        out.append(f"  {label:24} {fig.value:8.1f}  {fig.origin:8} {fig.source}")
    for name in ("glue_job_minimum_seconds", "crawler_minimum_seconds", "crawler_dpus"):
        p = prices.prices[name]
        origin = "assumed" if p.note.startswith("ASSUMPTION") else "AWS"
        out.append(f"  {name:24} {p.value:8.1f}  {origin:8} {p.source} (read {p.read_on})")
    minimum_h = prices["crawler_minimum_seconds"] / 3600
    crawl_dpu_month = minimum_h * prices["crawler_dpu_hour"] * args.days
    out += [
        "",
        "Both Glue runs are under AWS's 1-minute minimum: each day's job is billed 60 s x "
        f"{args.workers} DPU whatever the local time; each crawl 600 s x "
        f"{prices['crawler_dpus']:g} DPU (a crawl's DPU count is not published: each DPU more "
        f"adds ${crawl_dpu_month:.2f} a month per daily crawl). S3 and catalog requests are "
        "make demo's, counted for today's DAG and distinct calls (a lower bound) for the "
        "previous one; files, not rows, drive them. Not included: the MWAA "
        "environment (a fixed hourly charge, not driven by the runs), S3 storage, CloudWatch "
        "Logs ingestion, the sensor's extra LIST pokes when data lands late.",
    ]
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--price", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-type", default="G.1X")
    parser.add_argument("--queries-per-day", type=int, default=1)
    parser.add_argument("--bytes-per-query", type=int, default=1, help="MB an Athena query scans")
    parser.add_argument("--poke-seconds", type=float, default=300)
    parser.add_argument("--poll-seconds", type=float, default=30)
    parser.add_argument("--task-start-seconds", type=float, default=5)
    parser.add_argument("--crawl-seconds", type=float, default=60)
    parser.add_argument("--job-start-seconds", type=float, default=30)
    parser.add_argument("--publish-seconds", type=float, default=2)
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    try:
        price_table(args.region, parse_overrides(args.price))
    except ValueError as problem:
        parser.error(str(problem))
    return args


def main(argv: list[str] | None = None) -> int:
    print(month_report(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
