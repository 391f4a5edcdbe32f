"""Pure transforms on small in-memory DataFrames, and the recipe's semantics end to end."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pyspark.sql import functions as F

from local.data.synthetic_sales import RECIPE_CUSTOMERS, RECIPE_SALES, write_recipe_sample_lake
from sales_job.aggregates import (
    customer_daily,
    customer_metrics,
    customer_region_totals,
    daily_sales,
    quarantined_rows,
)
from sales_job.args import JobArgs
from sales_job.contract import (
    CUSTOMER_COLUMNS,
    CUSTOMER_DAILY_SCHEMA,
    CUSTOMER_METRICS_SCHEMA,
    DAILY_SALES_SCHEMA,
    MAX_LINE_BYTES,
    QUARANTINE_SCHEMA,
    SALES_COLUMNS,
    Reason,
)
from sales_job.csv_lines import first_content_line, parse_lines, plan_header
from sales_job.manifest import collect_line_counts
from sales_job.py4j_lookups import bind_classes_pyspark_looks_up
from sales_job.run_context import RunContext
from sales_job.spark_io import without_later_copies
from sales_job.validation import check_rows, select_customers
from tests.support.lake import output_dir, read_partition, run_day

DAY = date(2024, 1, 15)
LINES_DDL = "source_file STRING, _split_start BIGINT, _line_id BIGINT, raw_line STRING"
VALID_DDL = (
    "order_id STRING, customer_id STRING, name STRING, status STRING, region STRING, "
    "amount DECIMAL(18,2)"
)


def parsed_lines(spark, header, *files: tuple[str, list[str]]):
    """The job's parse of in-memory files: one split per file, line ids = line numbers."""
    rows = [(name, 0, i, text) for name, lines in files for i, text in enumerate(lines, start=1)]
    plans = {name: plan_header(first_content_line(lines), header) for name, lines in files}
    return parse_lines(spark.createDataFrame(rows, LINES_DDL), plans, header, MAX_LINE_BYTES)


def numbered(classified):
    _counts, line_numbers = collect_line_counts(classified)
    return line_numbers.add_to(classified)


def classified_rows(spark, lines, customers):
    """Every line as the job classifies it (check_rows, then without_later_copies), numbered."""
    with RunContext.start(spark, JobArgs(DAY, "file:///no-lake")) as ctx:
        return numbered(without_later_copies(ctx, check_rows(lines, customers, DAY), [])).collect()


def customers_df(spark, *rows: str):
    parsed = parsed_lines(spark, CUSTOMER_COLUMNS, ("c.csv", [",".join(CUSTOMER_COLUMNS), *rows]))
    return select_customers(parsed)


def test_first_failing_check_wins(spark):
    header = ",".join(SALES_COLUMNS)
    lines = parsed_lines(
        spark,
        SALES_COLUMNS,
        (
            "a.csv",
            [
                header,
                "1,C001,P1,x,-1,bad-date,North",  # quantity before price before date
                "2,C001,P1,1,-1,bad-date,North",  # price before date
                "3,C001,P1,1,1.00,2024-01-16,North",  # valid fields, wrong day
                "4,C404,P1,1,1.00,2024-01-15,North",  # unknown customer (not a duplicate)
                "4,C001,P1,1,1.00,2024-01-15,North",  # first valid copy of 4: kept
            ],
        ),
    )
    customers = customers_df(spark, "C001,Ann,a@x,2023-01-01,active")
    got = {r["line_number"]: r["reason"] for r in classified_rows(spark, lines, customers)}
    assert got == {
        1: None,
        2: Reason.INVALID_QUANTITY,
        3: Reason.NON_POSITIVE_PRICE,
        4: Reason.ORDER_DATE_MISMATCH,
        5: Reason.UNKNOWN_CUSTOMER,
        6: None,
    }


def test_header_with_a_bom_and_spaces_is_still_the_header(spark):
    header = "\ufeff" + " , ".join(SALES_COLUMNS)
    lines = parsed_lines(
        spark, SALES_COLUMNS, ("a.csv", ["", header, "1,C001,P1,1,1.00,2024-01-15,North"])
    )
    got = [(r["line_kind"], r["csv_error"]) for r in lines.collect()]
    assert sorted(got, key=str) == sorted(
        [("blank", None), ("header", None), ("row", None)], key=str
    )


def test_a_line_repeating_the_header_is_a_header_not_a_row(spark):
    # Two exports concatenated: the second header is no data and must not be quarantined.
    header = ",".join(SALES_COLUMNS)
    row = "1,C001,P1,1,1.00,2024-01-15,North"
    lines = parsed_lines(spark, SALES_COLUMNS, ("a.csv", [header, row, header, row]))
    got = [(r["line_kind"], r["csv_error"]) for r in lines.orderBy("_line_id").collect()]
    assert got == [("header", None), ("row", None), ("header", None), ("row", None)]


def test_money_is_decimal_and_amount_is_exact(spark):
    rows = [",".join(SALES_COLUMNS), "1,C001,P1,3,0.10,2024-01-15,North"]
    lines = parsed_lines(spark, SALES_COLUMNS, ("a.csv", rows))
    customers = customers_df(spark, "C001,Ann,a@x,2023-01-01,active")
    [r] = [
        r
        for r in classified_rows(spark, lines, customers)
        if r["reason"] is None and r["line_kind"] == "row"
    ]
    assert r["price"] == Decimal("0.10")
    assert r["amount"] == Decimal("0.30")  # 3 * 0.1 in floating point is 0.30000000000000004


def test_customer_snapshot_duplicates_keep_first_and_bad_header_yields_none(spark):
    customers = customers_df(
        spark,
        "C001,First,a@x,2023-01-01,active",
        "C001,Second,b@x,2023-01-01,inactive",
        ",No Id,c@x,2023-01-01,active",
        'C002,"Doe, Jane",d@x,2023-01-01,active',
    )
    assert sorted(tuple(r) for r in customers.collect()) == [
        ("C001", "First", "active"),
        ("C002", "Doe, Jane", "active"),
    ]
    bad = parsed_lines(spark, CUSTOMER_COLUMNS, ("c.csv", ["id,name", "C001,Ann"]))
    assert select_customers(bad).count() == 0


def valid_df(spark, rows):
    return spark.createDataFrame(
        [(o, c, n, s, r, Decimal(a)) for o, c, n, s, r, a in rows], VALID_DDL
    )


def test_daily_sales_and_customer_daily(spark):
    valid = valid_df(
        spark,
        [
            ("1", "C1", "Ann", "active", "North", "10.00"),
            ("2", "C1", "Ann", "active", "North", "5.50"),
            ("3", "C2", "Bob", None, "North", "1.25"),
            ("4", "C2", "Bob", None, "South", "2.00"),
        ],
    )
    sales = {
        r["region"]: r.asDict() for r in daily_sales(customer_region_totals(valid), DAY).collect()
    }
    assert sales["North"] == {
        "region": "North",
        "daily_revenue": Decimal("16.75"),
        "daily_orders": 3,
        "unique_customers": 2,
        "order_date": DAY,
    }
    assert sales["South"]["daily_orders"] == 1
    customers = valid.select("customer_id", "name", "status").distinct()
    per_customer = {
        r["customer_id"]: r
        for r in customer_daily(customer_region_totals(valid), customers, DAY).collect()
    }
    assert (per_customer["C1"]["spent"], per_customer["C1"]["orders"]) == (Decimal("15.50"), 2)
    assert (per_customer["C2"]["name"], per_customer["C2"]["status"]) == ("Bob", None)


def test_customer_metrics_sums_days_and_rounds_average_half_up(spark):
    history = spark.createDataFrame(
        [("C1", Decimal("10.00"), 1), ("C1", Decimal("0.01"), 1), ("C9", Decimal("3.00"), 2)],
        "customer_id STRING, spent DECIMAL(18,2), orders BIGINT",
    )
    customers = spark.createDataFrame(
        [("C1", "Ann", "active")], "customer_id STRING, name STRING, status STRING"
    )
    got = {
        r["customer_id"]: r.asDict() for r in customer_metrics(history, customers, DAY).collect()
    }
    assert got["C1"] == {
        "customer_id": "C1",
        "name": "Ann",
        "status": "active",
        "total_spent": Decimal("10.01"),
        "total_orders": 2,
        "avg_order_value": Decimal("5.01"),  # 5.005 rounds half-up
        "as_of_date": DAY,
    }
    assert (got["C9"]["name"], got["C9"]["avg_order_value"]) == (None, Decimal("1.50"))


def test_output_schemas_match_the_contract(spark):
    valid = valid_df(spark, [("1", "C1", "Ann", "active", "North", "1.00")])
    customers = spark.createDataFrame([], "customer_id STRING, name STRING, status STRING")
    by_customer_region = customer_region_totals(valid)
    history = customer_daily(by_customer_region, customers, DAY).select(
        "customer_id", "spent", "orders"
    )
    classified_ddl = (
        "source_file STRING, line_number BIGINT, raw_line STRING, line_kind STRING, "
        "reason STRING, order_id STRING"
    )
    quarantine_input = spark.createDataFrame(
        [("a.csv", 2, "x", "row", "bad_header", None)], classified_ddl
    )
    frames = {
        "daily_sales": (daily_sales(by_customer_region, DAY), DAILY_SALES_SCHEMA),
        "customer_daily": (
            customer_daily(by_customer_region, customers, DAY),
            CUSTOMER_DAILY_SCHEMA,
        ),
        "customer_metrics": (customer_metrics(history, customers, DAY), CUSTOMER_METRICS_SCHEMA),
        "quarantine": (quarantined_rows(quarantine_input, DAY), QUARANTINE_SCHEMA),
    }
    for name, (frame, schema) in frames.items():
        got = [(f.name, f.dataType) for f in frame.schema.fields]
        assert got == [(f.name, f.dataType) for f in schema.fields], name


def recipe_expectations():
    """The recipe's semantics, computed in plain Python with Decimal (no Spark)."""
    names = {c[0]: (c[1], c[4]) for c in RECIPE_CUSTOMERS}
    daily: dict[tuple[str, str], list] = defaultdict(lambda: [Decimal(0), 0, set()])
    per_customer: dict[str, list] = defaultdict(lambda: [Decimal(0), 0])
    for order_id, customer, _product, quantity, price, order_date, region in RECIPE_SALES:
        amount = int(quantity) * Decimal(price)
        entry = daily[(order_date, region)]
        entry[0] += amount
        entry[1] += 1
        entry[2].add(customer)
        per_customer[customer][0] += amount
        per_customer[customer][1] += 1
        assert order_id  # every recipe row is valid
    daily_rows = {k: (v[0], v[1], len(v[2])) for k, v in daily.items()}
    metrics = {
        c: (*names[c], spent, orders, (spent / orders).quantize(Decimal("0.01"), ROUND_HALF_UP))
        for c, (spent, orders) in per_customer.items()
    }
    return daily_rows, metrics


def test_recipe_sample_matches_recipe_semantics(spark, tmp_path):
    write_recipe_sample_lake(tmp_path)
    days = sorted({r[5] for r in RECIPE_SALES})
    manifests = [run_day(spark, tmp_path, d) for d in days]
    expected_daily, expected_metrics = recipe_expectations()

    got_daily = {}
    for d in days:
        for r in read_partition(spark, output_dir(tmp_path, "daily_sales", d)):
            got_daily[(d, r["region"])] = (
                r["daily_revenue"],
                r["daily_orders"],
                r["unique_customers"],
            )
    assert got_daily == expected_daily

    last = days[-1]
    got_metrics = {
        r["customer_id"]: (
            r["name"],
            r["status"],
            r["total_spent"],
            r["total_orders"],
            r["avg_order_value"],
        )
        for r in read_partition(spark, output_dir(tmp_path, "customer_metrics", last))
    }
    assert got_metrics == expected_metrics
    assert sum(Decimal(m["total_revenue"]) for m in manifests) == sum(
        v[0] for v in expected_daily.values()
    )
    assert all(m["rows_in"] == m["rows_valid"] == 2 for m in manifests)


def test_pyspark_looks_up_no_class_or_method_again_once_bound(spark, monkeypatch):
    def column_calls():
        F.col("a").isNull()  # functions.col, then a method of the Column it returns
        F.lit(1)
        spark.range(1).select("id")  # PythonUtils.toSeq

    bind_classes_pyspark_looks_up(spark)
    column_calls()  # each method's first use looks it up
    client = spark.sparkContext._gateway._gateway_client
    sent: list[str] = []
    send = client.send_command
    monkeypatch.setattr(
        client,
        "send_command",
        lambda command, *a, **k: sent.append(command) or send(command, *a, **k),
    )
    column_calls()
    # Py4J's reflection command ("r"): a class or a class's member looked up by name.
    assert [c for c in sent if c.startswith("r\n")] == []
    assert sent  # the calls themselves still reach the JVM
