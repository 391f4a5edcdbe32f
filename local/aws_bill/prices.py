"""The one price table of the AWS bill estimate: every price and billing rule, with its source.

Region ``us-east-1`` (US East, N. Virginia) by default. Prices differ by region and change
over time, so each entry names the page it comes from and the date it was read; another
region (or a newer price) is given as overrides, e.g. ``price_table("eu-west-1",
{"glue_dpu_hour": 0.44, ...})``: a region this table has no figures for must override every
price, never silently get us-east-1's.

Read on 2026-12-06 from stored copies of the pages named (the English pricing pages render
their tables from templates, so where a stored English copy shows no figure, the entry also
names the copy that does: AWS's own whitepaper, a localized page of the same URL, or the AWS
Price List data published with an effective date).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

DEFAULT_REGION = "us-east-1"
READ_ON = "2026-12-06"

GLUE_PRICING = "https://aws.amazon.com/glue/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
ATHENA_PRICING = "https://aws.amazon.com/athena/pricing/"
S3_PRICING = "https://aws.amazon.com/s3/pricing/"
CLOUDWATCH_PRICING = "https://aws.amazon.com/cloudwatch/pricing/"
SNS_PRICING = "https://aws.amazon.com/sns/pricing/"


@dataclass(frozen=True)
class Price:
    """One price (USD per ``unit``) or billing rule (``unit`` says what it counts)."""

    name: str
    value: float
    unit: str
    source: str  # the page the figure is published on
    read_on: str  # when it was read there
    note: str = ""  # where the figure was confirmed, or what it assumes


_US_EAST_1 = (
    # AWS Glue. Price List data (AWSGlue.csv, EffectiveDate 2024-11-01): "$0.44 per Data
    # Processing Unit-Hour for AWS Glue crawler"; the pricing page's ETL example: 6 DPU x
    # 0.25 h x $0.44 = $0.66.
    Price("glue_dpu_hour", 0.44, "USD per DPU-hour (Spark job, Glue 2.0+)", GLUE_PRICING, READ_ON),
    Price(
        "glue_job_minimum_seconds",
        60,
        "seconds billed at least per job run (Glue 2.0+), then per second",
        GLUE_PRICING,
        READ_ON,
        "Glue 2.0 announcement (Aug 2020): 1-minute minimum, 1-second increments",
    ),
    Price("crawler_dpu_hour", 0.44, "USD per DPU-hour (crawler)", GLUE_PRICING, READ_ON),
    Price(
        "crawler_minimum_seconds",
        600,
        "seconds billed at least per crawler run, then per second",
        GLUE_PRICING,
        READ_ON,
        "pricing page: 10-minute minimum per crawler run",
    ),
    Price(
        "crawler_dpus",
        1,
        "DPUs a crawler run is assumed to use",
        "https://docs.aws.amazon.com/glue/latest/webapi/API_CrawlerHistory.html",
        READ_ON,
        "ASSUMPTION: AWS does not publish a crawler's DPU count in advance; ListCrawls "
        "reports each finished crawl's DPUHour, which replaces this on AWS",
    ),
    Price(
        "catalog_request",
        1.00 / 1_000_000,
        "USD per Data Catalog request (first 1M per month free)",
        GLUE_PRICING,
        READ_ON,
        "Price List data: '$1 per 1,000,000 requests for AWS Glue Data Catalog request'",
    ),
    Price("catalog_free_requests", 1_000_000, "requests free per month", GLUE_PRICING, READ_ON),
    # AWS Lambda, x86 (the function sets no Architectures: x86_64).
    Price(
        "lambda_request",
        0.20 / 1_000_000,
        "USD per request",
        LAMBDA_PRICING,
        READ_ON,
        "docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html",
    ),
    Price(
        "lambda_gb_second",
        0.0000166667,
        "USD per GB-second (x86, first 6 billion GB-s per month)",
        LAMBDA_PRICING,
        READ_ON,
        "duration rounded up to 1 ms; whitepaper rounds the price to $0.00001667",
    ),
    Price("lambda_free_requests", 1_000_000, "requests free per month", LAMBDA_PRICING, READ_ON),
    Price("lambda_free_gb_seconds", 400_000, "GB-seconds free per month", LAMBDA_PRICING, READ_ON),
    # Amazon Athena (also the design guide's section 11).
    Price(
        "athena_tb_scanned",
        5.00,
        "USD per TB scanned (TB = 2^40 bytes here)",
        ATHENA_PRICING,
        READ_ON,
        "aws.amazon.com/jp/athena/pricing/: rounded up to the MB, 10 MB minimum per query; "
        "DDL, partition statements and failed queries are not billed",
    ),
    Price(
        "athena_minimum_bytes",
        10 * 2**20,
        "bytes billed at least per query",
        ATHENA_PRICING,
        READ_ON,
    ),
    # Amazon S3 Standard requests.
    Price(
        "s3_tier1_request",
        0.005 / 1000,
        "USD per PUT, COPY, POST or LIST request",
        S3_PRICING,
        READ_ON,
    ),
    Price(
        "s3_tier2_request",
        0.0004 / 1000,
        "USD per GET, SELECT or other request (HEAD included)",
        S3_PRICING,
        READ_ON,
        "DELETE is free",
    ),
    # Amazon CloudWatch.
    Price(
        "cloudwatch_metric_month",
        0.30,
        "USD per custom metric-month (first 10,000), prorated by the hour it is sent in",
        CLOUDWATCH_PRICING,
        READ_ON,
        "a metric sent in one hour of a day bills 1/730 of a metric-month",
    ),
    Price(
        "cloudwatch_api_request",
        0.01 / 1000,
        "USD per metrics API request (PutMetricData)",
        CLOUDWATCH_PRICING,
        READ_ON,
        "free tier: 10 custom metrics and 1M API requests per month",
    ),
    Price(
        "cloudwatch_free_metrics", 10, "custom metrics free per month", CLOUDWATCH_PRICING, READ_ON
    ),
    Price(
        "cloudwatch_free_api_requests",
        1_000_000,
        "metrics API requests free per month",
        CLOUDWATCH_PRICING,
        READ_ON,
    ),
    # Amazon SNS, standard topics.
    Price(
        "sns_publish",
        0.50 / 1_000_000,
        "USD per publish request (first 1M per month free); deliveries priced apart",
        SNS_PRICING,
        READ_ON,
    ),
    Price("sns_free_publishes", 1_000_000, "publishes free per month", SNS_PRICING, READ_ON),
)

HOURS_PER_MONTH = 730  # CloudWatch's proration: a metric-month is 730 metric-hours

REGIONS: Mapping[str, tuple[Price, ...]] = MappingProxyType({DEFAULT_REGION: _US_EAST_1})


@dataclass(frozen=True)
class PriceTable:
    region: str
    prices: Mapping[str, Price]

    def __getitem__(self, name: str) -> float:
        return self.prices[name].value

    def rows(self) -> list[Price]:
        return [self.prices[name] for name in sorted(self.prices)]


def price_table(
    region: str = DEFAULT_REGION, overrides: Mapping[str, float] | None = None
) -> PriceTable:
    """The prices for ``region``, with ``overrides`` (name -> value) replacing listed ones."""
    overrides = dict(overrides or {})
    known = {p.name: p for p in _US_EAST_1}
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(f"no such price {unknown}; known: {', '.join(sorted(known))}")
    if region in REGIONS:
        base = {p.name: p for p in REGIONS[region]}
    else:
        missing = sorted(set(known) - set(overrides))
        if missing:
            raise ValueError(
                f"no prices recorded for region {region!r} (only {', '.join(REGIONS)}): "
                f"override every price, missing {', '.join(missing)}"
            )
        base = {name: replace(p, source="override", read_on="") for name, p in known.items()}
    for name, value in overrides.items():
        if value < 0:
            raise ValueError(f"price {name} must not be negative, got {value}")
        base[name] = replace(base[name], value=float(value), source="override", read_on="")
    return PriceTable(region, MappingProxyType(base))


def parse_overrides(pairs: list[str]) -> dict[str, float]:
    """``["glue_dpu_hour=0.29", ...]`` (command-line form) -> {name: value}."""
    parsed: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            if not sep:
                raise ValueError
            parsed[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"a price override is NAME=NUMBER, got {pair!r}") from None
    return parsed
