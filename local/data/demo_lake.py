"""The demo's input: the recipe's sample data plus one day with bad rows.

The recipe's ten orders land in their own ``order_date`` partitions (2024-01-15..19) with its
seven customers as one snapshot. 2024-01-20 adds a busier day with a few defective rows and
the recipe's own ``invalid,data,format`` file, so the demo shows quarantine at work while the
day stays under the default 5% quarantine threshold.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from local.data.synthetic_sales import (
    RECIPE_CUSTOMERS,
    SALES_HEADER,
    mark_complete,
    sales_file,
    write_csv,
    write_recipe_sample_lake,
)

BAD_DAY = date(2024, 1, 20)
BAD_DAY_VALID_ORDERS = 100
PRICES = (Decimal("29.99"), Decimal("49.99"), Decimal("19.99"), Decimal("99.99"))
REGIONS = ("North", "South", "East", "West")
# One row per defect kind; quarantine reasons are the job's to name.
BAD_DAY_DEFECTS = (
    ("9001", "C999", "P001", "1", "29.99", "2024-01-20", "North"),  # unknown customer
    ("9002", "C001", "P002", "-2", "49.99", "2024-01-20", "South"),  # negative quantity
    ("9003", "C002", "P003", "1", "abc", "2024-01-20", "East"),  # non-numeric price
)
# The recipe's "error handling" test file, verbatim.
RECIPE_INVALID_FILE = "invalid,data,format\n"


def bad_day_valid_rows() -> list[tuple[str, ...]]:
    customers = [row[0] for row in RECIPE_CUSTOMERS]
    rows = []
    for i in range(BAD_DAY_VALID_ORDERS):
        rows.append(
            (
                str(2001 + i),
                customers[i % len(customers)],
                f"P{(i % 4) + 1:03d}",
                str(1 + i % 3),
                str(PRICES[i % 4]),
                BAD_DAY.isoformat(),
                REGIONS[i % 4],
            )
        )
    return rows


def write_demo_lake(base: Path) -> list[str]:
    """Write the demo's raw data under ``base``; returns the days to process, in order."""
    summary = write_recipe_sample_lake(base)
    write_csv(sales_file(base, BAD_DAY), SALES_HEADER, bad_day_valid_rows())
    write_csv(sales_file(base, BAD_DAY, 1), SALES_HEADER, BAD_DAY_DEFECTS)
    invalid = sales_file(base, BAD_DAY).parent / "invalid_data.csv"
    invalid.write_text(RECIPE_INVALID_FILE, encoding="utf-8")
    mark_complete(base, BAD_DAY)
    return [day.day for day in summary.days] + [BAD_DAY.isoformat()]
