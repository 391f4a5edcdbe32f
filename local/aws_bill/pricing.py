"""Billable units x the price table -> the estimated cost, line by line and per service.

A day is priced at list prices: the monthly free tiers (Data Catalog, Lambda, CloudWatch,
SNS) belong to the whole account and month, so a day cannot claim them. A month can be
priced with them (``free_tier=True``), as if the pipeline had the account's free tiers to
itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from local.aws_bill.prices import HOURS_PER_MONTH, PriceTable
from local.aws_bill.units import Units

TB = 2**40


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: float
    unit: str
    usd: float
    basis: str = ""  # where the quantity comes from: the run's figures, or AWS's minimums


def cost_lines(units: Units, prices: PriceTable, *, free_tier: bool = False) -> list[Line]:
    def free(name: str) -> float:
        return prices[name] if free_tier else 0.0

    def billable(quantity: float, free_name: str) -> float:
        return max(quantity - free(free_name), 0.0)

    u = units
    job_min, crawl_min = prices["glue_job_minimum_seconds"], prices["crawler_minimum_seconds"]
    catalog = billable(u.catalog_requests, "catalog_free_requests")
    lambda_requests = billable(u.lambda_requests, "lambda_free_requests")
    lambda_gb_s = billable(u.lambda_gb_seconds, "lambda_free_gb_seconds")
    # The free tier counts metrics per month; a metric-month is HOURS_PER_MONTH metric-hours.
    free_metric_hours = free("cloudwatch_free_metrics") * HOURS_PER_MONTH
    metric_hours = max(u.cloudwatch_metric_hours - free_metric_hours, 0.0)
    api_requests = billable(u.cloudwatch_api_requests, "cloudwatch_free_api_requests")
    publishes = billable(u.sns_publishes, "sns_free_publishes")
    lines = [
        Line(
            "Glue job",
            "DPU-hours",
            u.glue_job_dpu_seconds / 3600,
            "DPU-h",
            u.glue_job_dpu_seconds / 3600 * prices["glue_dpu_hour"],
            f"{u.glue_job_runs} run(s) of {u.glue_job_seconds:.0f} s in all, each billed at "
            f"least {job_min:.0f} s",
        ),
        Line(
            "Glue crawlers",
            "DPU-hours",
            u.crawler_dpu_seconds / 3600,
            "DPU-h",
            u.crawler_dpu_seconds / 3600 * prices["crawler_dpu_hour"],
            f"{u.crawler_runs} crawl(s) of {u.crawler_seconds:.1f} s in all, each billed at "
            f"least {crawl_min:.0f} s x {prices['crawler_dpus']:g} DPU (assumed)",
        ),
        Line(
            "Glue Data Catalog",
            "requests",
            u.catalog_requests,
            "requests",
            catalog * prices["catalog_request"],
        ),
        Line(
            "Lambda",
            "requests",
            u.lambda_requests,
            "requests",
            lambda_requests * prices["lambda_request"],
        ),
        Line(
            "Lambda",
            "duration",
            u.lambda_gb_seconds,
            "GB-s",
            lambda_gb_s * prices["lambda_gb_second"],
        ),
        Line(
            "Athena",
            "data scanned",
            u.athena_bytes_billed / 2**20,
            "MB billed",
            u.athena_bytes_billed / TB * prices["athena_tb_scanned"],
            f"{u.athena_queries} query(ies) scanned {u.athena_bytes_scanned} bytes; each billed "
            f"at least {prices['athena_minimum_bytes'] / 2**20:.0f} MB",
        ),
        Line(
            "S3",
            "PUT/COPY/POST/LIST",
            u.s3_tier1_requests,
            "requests",
            u.s3_tier1_requests * prices["s3_tier1_request"],
        ),
        Line(
            "S3",
            "GET/HEAD/other",
            u.s3_tier2_requests,
            "requests",
            u.s3_tier2_requests * prices["s3_tier2_request"],
        ),
        Line(
            "CloudWatch",
            "custom metrics",
            u.cloudwatch_metric_hours,
            "metric-hours",
            metric_hours / HOURS_PER_MONTH * prices["cloudwatch_metric_month"],
        ),
        Line(
            "CloudWatch",
            "PutMetricData",
            u.cloudwatch_api_requests,
            "requests",
            api_requests * prices["cloudwatch_api_request"],
        ),
        Line("SNS", "publishes", u.sns_publishes, "requests", publishes * prices["sns_publish"]),
    ]
    return lines


def by_service(lines: list[Line]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in lines:
        totals[line.service] = totals.get(line.service, 0.0) + line.usd
    return totals


def format_day(units: Units, prices: PriceTable) -> str:
    """A day's estimate in a few lines: the total, each service, and what was billed why."""
    services = by_service(cost_lines(units, prices))
    total = sum(services.values())
    ranked = sorted(services.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{name} ${usd:.4f}" for name, usd in ranked if usd >= 0.00005)
    u = units
    job_min, crawl_min = prices["glue_job_minimum_seconds"], prices["crawler_minimum_seconds"]
    text = [
        f"            AWS bill estimate ${total:.4f} ({prices.region} list prices): {shown}",
        f"              local run -> AWS billing: Glue job {u.glue_job_runs} run(s), "
        f"{u.glue_job_seconds:.0f} s -> {u.glue_job_dpu_seconds:.0f} DPU-s (at least "
        f"{job_min:.0f} s a run); {u.crawler_runs} crawl(s), {u.crawler_seconds:.1f} s -> "
        f"{u.crawler_dpu_seconds:.0f} DPU-s (at least {crawl_min:.0f} s a crawl, "
        f"{prices['crawler_dpus']:g} DPU assumed)",
        f"              requests: S3 {u.s3_tier1_requests} tier 1 + "
        f"{u.s3_tier2_requests} tier 2, "
        f"catalog {u.catalog_requests}; Lambda {u.lambda_requests} x, {u.lambda_gb_seconds:.3f} "
        f"GB-s; Athena {u.athena_queries} query(ies), {u.athena_bytes_scanned} bytes scanned",
    ]
    if u.unpriced:
        text.append(f"              not priced: {', '.join(u.unpriced)}")
    return "\n".join(text)
