"""Deterministic synthetic sales lake (plain CSV, the job's exact headers) for demos and tests.

    python -m local.data.synthetic_sales --out /tmp/lake --start 2024-01-01 --days 3 \
        --orders-per-day 1000 --customers 200 --bad-row-rate 0.02 --seed 7
    python -m local.data.synthetic_sales --out /tmp/lake --recipe-sample

Layout written under --out:
    raw-data/sales/order_date=YYYY-MM-DD/part-0000.csv
    raw-data/sales/order_date=YYYY-MM-DD/_SUCCESS          written last: the day is complete
    raw-data/customers/snapshot_date=YYYY-MM-DD/customers.csv
    raw-data/customers/snapshot_date=YYYY-MM-DD/_SUCCESS  written last: the snapshot is complete

A day's content depends only on (seed, day, sizes), never on which other days are generated,
so day N of a 30-day lake is byte-identical to day N generated alone. Bad rows are injected on
purpose, one kind each, and counted under the quarantine reason the job must give them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sales_contract.layout import DEFAULT_COMPLETION_MARKER

# Producers write the job's input contract: the same columns, in the same order.
from sales_job.contract import CUSTOMER_COLUMNS as CUSTOMER_HEADER
from sales_job.contract import SALES_COLUMNS as SALES_HEADER

REGIONS = ("North", "South", "East", "West")
PRODUCT_COUNT = 500

# The original recipe's sample data (its step 3), unchanged.
RECIPE_SALES: tuple[tuple[str, ...], ...] = (
    ("1001", "C001", "P001", "2", "29.99", "2024-01-15", "North"),
    ("1002", "C002", "P002", "1", "49.99", "2024-01-15", "South"),
    ("1003", "C003", "P001", "3", "29.99", "2024-01-16", "East"),
    ("1004", "C001", "P003", "1", "19.99", "2024-01-16", "North"),
    ("1005", "C004", "P002", "2", "49.99", "2024-01-17", "West"),
    ("1006", "C005", "P001", "1", "29.99", "2024-01-17", "South"),
    ("1007", "C002", "P003", "4", "19.99", "2024-01-18", "East"),
    ("1008", "C006", "P004", "1", "99.99", "2024-01-18", "North"),
    ("1009", "C003", "P004", "2", "99.99", "2024-01-19", "West"),
    ("1010", "C007", "P002", "1", "49.99", "2024-01-19", "South"),
)
RECIPE_CUSTOMERS: tuple[tuple[str, ...], ...] = (
    ("C001", "John Smith", "john@example.com", "2023-01-01", "active"),
    ("C002", "Jane Doe", "jane@example.com", "2023-02-15", "active"),
    ("C003", "Bob Johnson", "bob@example.com", "2023-03-20", "inactive"),
    ("C004", "Alice Wilson", "alice@example.com", "2023-04-10", "active"),
    ("C005", "Charlie Brown", "charlie@example.com", "2023-05-05", "active"),
    ("C006", "Diana Prince", "diana@example.com", "2023-06-12", "active"),
    ("C007", "Eve Adams", "eve@example.com", "2023-07-22", "active"),
)
RECIPE_SNAPSHOT_DATE = date(2024, 1, 15)

# Injected defects, named by the quarantine reason the job must report for them.
BAD_KINDS = (
    "missing_field",
    "wrong_column_count",
    "invalid_quantity",
    "non_positive_price",
    "invalid_order_date",
    "order_date_mismatch",
    "unknown_customer",
    "duplicate_order_id",
)


@dataclass
class DaySummary:
    day: str
    files: list[str]
    rows: int
    bad_rows: dict[str, int]


@dataclass
class LakeSummary:
    base: str
    snapshot_date: str
    customers: int
    days: list[DaySummary] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "base": self.base,
            "snapshot_date": self.snapshot_date,
            "customers": self.customers,
            "days": [vars(d) for d in self.days],
        }


def customer_id(index: int) -> str:
    return f"C{index:06d}"


def synthetic_customers(count: int, seed: int) -> list[tuple[str, ...]]:
    rng = random.Random(f"{seed}:customers")
    rows = []
    for i in range(1, count + 1):
        # Every 25th name has a comma and a quote, so CSV quoting is exercised for real.
        name = f'Smith, "J{i}"' if i % 25 == 0 else f"Customer {i}"
        registered = date(2023, 1, 1) + timedelta(days=rng.randrange(365))
        status = "inactive" if rng.random() < 0.2 else "active"
        rows.append((customer_id(i), name, f"c{i}@example.com", registered.isoformat(), status))
    return rows


def product_prices(seed: int) -> list[tuple[str, str]]:
    rng = random.Random(f"{seed}:products")
    return [(f"P{i:04d}", f"{rng.randrange(99, 50000) / 100:.2f}") for i in range(PRODUCT_COUNT)]


def synthetic_day_rows(
    day: date,
    *,
    orders: int,
    customers: int,
    bad_row_rate: float,
    seed: int,
) -> tuple[list[tuple[str, ...]], Counter[str]]:
    """`orders` data rows for `day` (no header) and the count of injected defects per reason."""
    rng = random.Random(f"{seed}:{day.isoformat()}")
    products = product_prices(seed)
    day_text = day.isoformat()
    stamp = day.strftime("%Y%m%d")
    rows: list[tuple[str, ...]] = []
    bad: Counter[str] = Counter()
    last_valid_id: str | None = None
    for i in range(orders):
        product, price = products[rng.randrange(PRODUCT_COUNT)]
        row = [
            f"{stamp}-{i:07d}",
            customer_id(rng.randrange(1, customers + 1)),
            product,
            str(rng.randrange(1, 6)),
            price,
            day_text,
            REGIONS[rng.randrange(len(REGIONS))],
        ]
        kind = BAD_KINDS[rng.randrange(len(BAD_KINDS))] if rng.random() < bad_row_rate else None
        if kind == "duplicate_order_id" and last_valid_id is None:
            kind = None  # nothing to duplicate yet: keep the row valid
        if kind is None:
            last_valid_id = row[0]
        else:
            row = _inject(kind, row, day, last_valid_id)
            bad[kind] += 1
        rows.append(tuple(row))
    return rows, bad


def _inject(kind: str, row: list[str], day: date, last_valid_id: str | None) -> list[str]:
    if kind == "missing_field":
        row[2] = ""
    elif kind == "wrong_column_count":
        row = row[:-1]
    elif kind == "invalid_quantity":
        row[3] = "two"
    elif kind == "non_positive_price":
        row[4] = "-" + row[4]
    elif kind == "invalid_order_date":
        row[5] = f"{day.year}-13-45"
    elif kind == "order_date_mismatch":
        row[5] = (day - timedelta(days=1)).isoformat()
    elif kind == "unknown_customer":
        row[1] = "CX999999"
    elif kind == "duplicate_order_id":
        row[0] = str(last_valid_id)
    return row


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def sales_file(base: Path, day: date, index: int = 0) -> Path:
    return base / "raw-data" / "sales" / f"order_date={day.isoformat()}" / f"part-{index:04d}.csv"


def mark_complete(base: Path, day: date) -> Path:
    """The producer's last write for a day: an empty completion marker beside its files."""
    return _write_marker(sales_file(base, day).parent)


def mark_snapshot_complete(base: Path, snapshot_date: date) -> Path:
    """Likewise for a customer snapshot: the job uses none without its marker."""
    return _write_marker(snapshot_file(base, snapshot_date).parent)


def _write_marker(folder: Path) -> Path:
    marker = folder / DEFAULT_COMPLETION_MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_bytes(b"")
    return marker


def snapshot_file(base: Path, snapshot_date: date) -> Path:
    folder = f"snapshot_date={snapshot_date.isoformat()}"
    return base / "raw-data" / "customers" / folder / "customers.csv"


def write_synthetic_lake(
    base: str | Path,
    *,
    start: date,
    days: int,
    orders_per_day: int,
    customers: int,
    bad_row_rate: float = 0.0,
    seed: int = 7,
    files_per_day: int = 1,
    snapshot_date: date | None = None,
) -> LakeSummary:
    """Write `days` sales partitions from `start` and one customer snapshot (default: start)."""
    if customers < 1 or orders_per_day < 0 or days < 1 or files_per_day < 1:
        raise ValueError("need customers >= 1, orders_per_day >= 0, days >= 1, files >= 1")
    if not 0.0 <= bad_row_rate <= 1.0:
        raise ValueError(f"bad_row_rate must be in [0, 1], got {bad_row_rate}")
    root = Path(base)
    snap = snapshot_date or start
    write_csv(snapshot_file(root, snap), CUSTOMER_HEADER, synthetic_customers(customers, seed))
    mark_snapshot_complete(root, snap)
    summary = LakeSummary(str(root), snap.isoformat(), customers)
    for offset in range(days):
        day = start + timedelta(days=offset)
        rows, bad = synthetic_day_rows(
            day, orders=orders_per_day, customers=customers, bad_row_rate=bad_row_rate, seed=seed
        )
        # Contiguous slices keep a duplicate after the row it copies (file name order).
        size = -(-len(rows) // files_per_day) if rows else 0
        files = []
        for index in range(files_per_day):
            path = sales_file(root, day, index)
            write_csv(path, SALES_HEADER, rows[index * size : (index + 1) * size])
            files.append(str(path))
        mark_complete(root, day)
        summary.days.append(
            DaySummary(day.isoformat(), files, len(rows), dict(sorted(bad.items())))
        )
    return summary


def write_recipe_sample_lake(base: str | Path) -> LakeSummary:
    """The recipe's 10 orders, one partition per order_date, and its 7 customers."""
    root = Path(base)
    write_csv(snapshot_file(root, RECIPE_SNAPSHOT_DATE), CUSTOMER_HEADER, RECIPE_CUSTOMERS)
    mark_snapshot_complete(root, RECIPE_SNAPSHOT_DATE)
    summary = LakeSummary(str(root), RECIPE_SNAPSHOT_DATE.isoformat(), len(RECIPE_CUSTOMERS))
    for day_text in sorted({row[5] for row in RECIPE_SALES}):
        rows = [row for row in RECIPE_SALES if row[5] == day_text]
        path = sales_file(root, date.fromisoformat(day_text))
        write_csv(path, SALES_HEADER, rows)
        mark_complete(root, date.fromisoformat(day_text))
        summary.days.append(DaySummary(day_text, [str(path)], len(rows), {}))
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="lake base folder")
    parser.add_argument("--recipe-sample", action="store_true", help="write the recipe's data")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--orders-per-day", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--bad-row-rate", type=float, default=0.0)
    parser.add_argument("--files-per-day", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.recipe_sample:
        summary = write_recipe_sample_lake(args.out)
    else:
        summary = write_synthetic_lake(
            args.out,
            start=args.start,
            days=args.days,
            orders_per_day=args.orders_per_day,
            customers=args.customers,
            bad_row_rate=args.bad_row_rate,
            seed=args.seed,
            files_per_day=args.files_per_day,
        )
    json.dump(summary.as_dict(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
