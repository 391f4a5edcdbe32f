"""Money that does not fit the output's DECIMAL(18,2) fails the day, naming the value; it is
never written as NULL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sales_job.daily_run import SalesEtlError
from tests.support.fake_catalog import published_folder
from tests.support.lake import (
    output_dir,
    read_manifest,
    read_partition,
    run_day,
    write_customers,
    write_sales,
)

# The largest amount one line can have: 999999 x 99999999.99.
MAX_LINE_AMOUNT = Decimal(999999) * Decimal("99999999.99")
MONEY_MAX = Decimal("9999999999999999.99")  # DECIMAL(18,2)


def big_orders(day: str, first: int, count: int) -> list[str]:
    return [f"{n},C001,P1,999999,99999999.99,{day},North" for n in range(first, first + count)]


def test_a_day_whose_revenue_overflows_the_output_decimal_fails_naming_it(spark, tmp_path):
    write_customers(tmp_path)
    write_sales(tmp_path, "2024-01-15", big_orders("2024-01-15", 1, 101))
    total = 101 * MAX_LINE_AMOUNT
    assert total > MONEY_MAX

    with pytest.raises(SalesEtlError) as caught:
        run_day(spark, tmp_path, "2024-01-15")

    assert f"{total:.2f}" in str(caught.value)
    assert "DECIMAL(18,2)" in str(caught.value)
    manifest = read_manifest(tmp_path, "2024-01-15")
    assert (manifest["status"], manifest["total_revenue"]) == ("failed", f"{total:.2f}")
    for table in ("daily_sales", "customer_daily", "customer_metrics"):
        assert published_folder(tmp_path, table, "2024-01-15") is None, table


def test_a_running_total_that_overflows_fails_the_day_naming_the_customer(spark, tmp_path):
    write_customers(tmp_path)
    # Each day fits (60 lines, about 6e15), their sum does not.
    write_sales(tmp_path, "2024-01-15", big_orders("2024-01-15", 1, 60))
    write_sales(tmp_path, "2024-01-16", big_orders("2024-01-16", 101, 60))
    run_day(spark, tmp_path, "2024-01-15")
    [metrics] = read_partition(spark, output_dir(tmp_path, "customer_metrics", "2024-01-15"))
    assert metrics["total_spent"] == 60 * MAX_LINE_AMOUNT

    with pytest.raises(Exception) as caught:
        run_day(spark, tmp_path, "2024-01-16")

    manifest = read_manifest(tmp_path, "2024-01-16")
    assert manifest["status"] == "failed"
    for text in (str(caught.value), manifest["error"]):
        assert "customer_metrics" in text and "C001" in text
        assert f"{120 * MAX_LINE_AMOUNT:.2f}" in text
    assert published_folder(tmp_path, "customer_metrics", "2024-01-16") is None
