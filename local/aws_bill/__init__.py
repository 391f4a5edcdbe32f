"""The AWS bill of a run, estimated from what it did.

- ``prices.py``: the one price table (region ``us-east-1`` by default, overridable), each
  price with the page it comes from and the date it was read there.
- ``run_figures.py``: what a run did, as the services report it, and the calls it made.
- ``collect.py``: reads those figures back from the services (AWS or the local endpoint).
- ``units.py``: the figures -> billable units, by AWS's billing rules (minimums, rounding).
- ``pricing.py``: units x prices -> cost per line and per service.
"""

from local.aws_bill.prices import DEFAULT_REGION, PriceTable, parse_overrides, price_table
from local.aws_bill.pricing import Line, by_service, cost_lines, format_day
from local.aws_bill.run_figures import (
    AthenaQuery,
    CrawlRun,
    GlueJobRun,
    LambdaInvocation,
    RunFigures,
)
from local.aws_bill.units import Units, billable_units

__all__ = [
    "DEFAULT_REGION",
    "AthenaQuery",
    "CrawlRun",
    "GlueJobRun",
    "LambdaInvocation",
    "Line",
    "PriceTable",
    "RunFigures",
    "Units",
    "billable_units",
    "by_service",
    "cost_lines",
    "format_day",
    "parse_overrides",
    "price_table",
]
