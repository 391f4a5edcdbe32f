"""The local Athena over small hand-written tables: analyst queries checked against values
computed here from the raw rows with Decimal, Trino's semantics, and every failure case."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.athena import tables
from tests.athena.athena_client import Athena
from tests.support.endpoint import Aws

DB = "athena_test"


@pytest.fixture(scope="module")
def lake(aws: Aws) -> str:
    bucket = f"athena-lake-{uuid.uuid4().hex[:8]}"
    tables.create(aws, bucket, DB)
    return bucket


@pytest.fixture(scope="module")
def q(athena: Athena, lake: str) -> Athena:
    return athena


def test_recipe_query_reads_each_partition_once_at_its_own_location(q: Athena) -> None:
    outcome = q.ok(f"SELECT * FROM {DB}.daily_sales LIMIT 10")
    assert outcome.header == ["region", "revenue", "orders", "order_date"]
    assert outcome.types == ["varchar", "decimal", "bigint", "varchar"]
    assert outcome.column_info[1]["Precision"] == 18 and outcome.column_info[1]["Scale"] == 2
    expected = sorted(
        [r["region"], str(r["revenue"]), str(r["orders"]), day]
        for day in tables.DAYS
        for r in tables.daily_sales_rows(day)
    )
    assert sorted(outcome.rows) == expected  # the stale run-1 files are never read


def test_revenue_by_region_and_day_in_a_date_range(q: Athena) -> None:
    outcome = q.ok(
        "SELECT order_date, region, sum(revenue) AS revenue FROM daily_sales "
        "WHERE order_date BETWEEN '2024-01-15' AND '2024-01-16' "
        "GROUP BY order_date, region ORDER BY order_date, region",
        DB,
    )
    expected = defaultdict(Decimal)
    for _, _, region, qty, price, ts in tables.SALES:
        if "2024-01-15" <= ts[:10] <= "2024-01-16":
            expected[(ts[:10], region)] += qty * Decimal(price)
    assert outcome.rows == [[d, r, str(v)] for (d, r), v in sorted(expected.items())]
    assert outcome.types == ["varchar", "varchar", "decimal"]


def test_partition_filter_prunes_what_is_scanned(q: Athena) -> None:
    everything = q.ok("SELECT count(*) FROM daily_sales", DB)
    one_day = q.ok("SELECT count(*) FROM daily_sales WHERE order_date = '2024-01-17'", DB)
    assert one_day.rows == [[str(len(tables.daily_sales_rows("2024-01-17")))]]
    scanned = [o.execution["Statistics"]["DataScannedInBytes"] for o in (everything, one_day)]
    assert 0 < scanned[1] * len(tables.DAYS) <= scanned[0] * 1.01


def test_join_of_sales_with_quoted_csv_customers(q: Athena) -> None:
    outcome = q.ok(
        "SELECT c.name, c.status, count(*) AS n, sum(s.quantity * s.price) AS spent "
        "FROM raw_sales s JOIN raw_customers c ON s.customer_id = c.customer_id "
        "GROUP BY c.name, c.status ORDER BY c.name",
        DB,
    )
    names = {cid: (name, status) for cid, name, status in tables.CUSTOMERS}
    spent: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0)])
    for _, cid, _, qty, price, _ in tables.SALES:
        if cid in names:
            spent[names[cid]][0] += 1
            spent[names[cid]][1] += qty * Decimal(price)
    expected = [[n, s, str(c), str(v)] for (n, s), (c, v) in sorted(spent.items())]
    assert outcome.rows == expected  # quoted commas and doubled quotes; '' stays ''
    assert outcome.types[3] == "decimal"


def test_window_functions_rank_orders_per_region(q: Athena) -> None:
    outcome = q.ok(
        "SELECT order_id, row_number() OVER (PARTITION BY region ORDER BY order_ts DESC) AS rn, "
        "sum(quantity) OVER (PARTITION BY region) AS region_qty FROM raw_sales ORDER BY order_id",
        DB,
    )
    by_region = defaultdict(list)
    for oid, _, region, qty, _, ts in tables.SALES:
        by_region[region].append((ts, oid, qty))
    expected = {}
    for rows in by_region.values():
        total = sum(r[2] for r in rows)
        for rank, (_, oid, _) in enumerate(sorted(rows, reverse=True), start=1):
            expected[oid] = [oid, str(rank), str(total)]
    assert outcome.rows == [expected[o] for o in sorted(expected)]


def test_dates_parse_format_and_truncate_as_trino(q: Athena) -> None:
    outcome = q.ok(
        "SELECT date_format(order_ts, '%Y/%m/%d %H:%i'), "
        "date_trunc('month', CAST(order_ts AS date)), "
        "date_parse('15/01/2024 09:30', '%d/%m/%Y %H:%i') "
        "FROM raw_sales WHERE order_id = 'o1'",
        DB,
    )
    assert outcome.header == ["_col0", "_col1", "_col2"]
    assert outcome.rows == [["2024/01/15 09:30", "2024-01-01", "2024-01-15 09:30:00.000"]]
    assert outcome.types == ["varchar", "date", "timestamp"]


def test_approx_distinct_casts_and_decimal_sums(q: Athena) -> None:
    outcome = q.ok(
        "SELECT approx_distinct(customer_id), sum(price), CAST(sum(quantity) AS double), "
        "sum(CAST(price AS decimal(12, 4))) FROM raw_sales",
        DB,
    )
    total = sum(Decimal(p) for *_, p, _ in tables.SALES)
    qty = sum(row[3] for row in tables.SALES)
    distinct = len({row[1] for row in tables.SALES})
    assert outcome.rows == [[str(distinct), str(total), f"{qty}.0", f"{total:.4f}"]]
    assert outcome.types == ["bigint", "decimal", "double", "decimal"]
    assert [c["Scale"] for c in outcome.column_info[1::2]] == [2, 4]


def test_order_by_limit_nulls_last_both_ways(q: Athena) -> None:
    values = "(VALUES (1, 'b'), (2, NULL), (3, 'a')) AS t(i, s)"
    asc = q.ok(f"SELECT i FROM {values} ORDER BY s LIMIT 3")
    desc = q.ok(f"SELECT i FROM {values} ORDER BY s DESC LIMIT 2")
    assert asc.rows == [["3"], ["1"], ["2"]]
    assert desc.rows == [["1"], ["3"]]


def test_trino_arithmetic_and_names(q: Athena) -> None:
    outcome = q.ok(
        'SELECT 7 / 2, -7 / 2, 7 % 3, 7.0 / 2, 1e7 * 1.0 AS Big, "REGION" FROM daily_sales LIMIT 1',
        DB,
    )
    assert outcome.header == ["_col0", "_col1", "_col2", "_col3", "big", "region"]
    assert outcome.rows[0][:5] == ["3", "-3", "1", "3.5", "1.0E7"]
    assert outcome.types[:2] == ["integer", "integer"]


def test_decimal_division_avg_round_and_literals_follow_trino(q: Athena) -> None:
    outcome = q.ok(
        "SELECT avg(price), sum(price) / count(*), sum(price) / 7.0, round(avg(price), 1), "
        "1.0 / 3, CAST(2.5E0 AS bigint), CAST(-2.5E0 AS integer) FROM raw_sales",
        DB,
    )
    prices = [Decimal(row[4]) for row in tables.SALES]
    cents = Decimal("0.01")
    mean = (sum(prices) / len(prices)).quantize(cents, ROUND_HALF_UP)
    assert outcome.rows == [
        [str(mean), str(mean), str(mean), str(mean.quantize(Decimal("0.1"), ROUND_HALF_UP)) + "0",
         "0.3", "3", "-3"]
    ]  # fmt: skip
    shapes = [(c["Type"], c["Precision"], c["Scale"]) for c in outcome.column_info]
    assert shapes[:5] == [
        ("decimal", 10, 2),  # avg keeps the argument's type
        ("decimal", 38, 2),  # decimal(38,2) / bigint(19,0): scale 2, precision min(38, 38+0+0)
        ("decimal", 38, 2),
        ("decimal", 11, 2),  # round(decimal(10,2), 1) is decimal(11,2)
        ("decimal", 2, 1),  # 1.0 is decimal(2,1); / integer keeps precision 2, scale 1
    ]


FAILURES = [
    ("SELEC region FROM daily_sales", "SYNTAX_ERROR: line 1:14: "),
    (
        f"SELECT * FROM {DB}.nope",
        f"TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.{DB}.nope' does not exist",
    ),
    ("SELECT * FROM nodb.t", "SCHEMA_NOT_FOUND: line 1:15: Schema 'nodb' does not exist"),
    (
        "SELECT regionx FROM daily_sales",
        "COLUMN_NOT_FOUND: line 1:8: Column 'regionx' cannot be resolved",
    ),
    (
        "SELECT * FROM daily_sales WHERE orders = '2'",
        "TYPE_MISMATCH: line 1:33: Cannot apply operator: bigint = varchar",
    ),
    ("SELECT 'a' + 1", "TYPE_MISMATCH"),
    ("SELECT orders / 0 FROM daily_sales", "DIVISION_BY_ZERO"),
    ("SELECT region, orders FROM daily_sales GROUP BY region", "EXPRESSION_NOT_AGGREGATE"),
    ("SELECT revenue / 0 FROM daily_sales", "DIVISION_BY_ZERO"),
    ("SELECT sum(price) FILTER (WHERE quantity > 1) / 0 FROM raw_sales", "DIVISION_BY_ZERO"),
    ("SELECT list_value(1)", "FUNCTION_NOT_FOUND: line 1:8: Function 'list_value' not registered"),
    (
        "SELECT date_format(order_ts, '%D') FROM raw_sales",
        "NOT_SUPPORTED: line 1:8: %D not supported",
    ),
    ("CREATE TABLE x (a int)", "NOT_SUPPORTED"),
    ("SELECT CAST('x' AS bigint)", "INVALID_CAST_ARGUMENT"),
    ("SELECT * FROM read_csv('/etc/passwd')", "NOT_SUPPORTED"),
]


@pytest.mark.parametrize(
    ("sql", "reason"), FAILURES, ids=[f[1].split(":")[0] + str(i) for i, f in enumerate(FAILURES)]
)
def test_failures_name_the_problem(q: Athena, sql: str, reason: str) -> None:
    assert q.fails(sql, DB).startswith(reason)


def test_lazy_simple_serde_bad_values_are_null_and_opencsv_bad_values_fail(
    q: Athena, aws: Aws, lake: str
) -> None:
    aws.s3.put_object(Bucket=lake, Key="odd/lazy/a.csv", Body=b"1,x\nnot-a-number,\\N\n,\n")
    aws.s3.put_object(Bucket=lake, Key="odd/open/a.csv", Body=b'"1","x"\n"",y\n')
    columns = [{"Name": "n", "Type": "bigint"}, {"Name": "s", "Type": "string"}]
    for name, serde in (("lazy", tables.LAZY), ("open", tables.OPEN_CSV)):
        params = {"field.delim": ","} if serde == tables.LAZY else {"separatorChar": ","}
        aws.glue.create_table(
            DatabaseName=DB,
            TableInput={
                "Name": f"odd_{name}",
                "StorageDescriptor": {
                    **tables.TEXT,
                    "Columns": columns,
                    "Location": f"s3://{lake}/odd/{name}/",
                    "SerdeInfo": {"SerializationLibrary": serde, "Parameters": params},
                },
            },
        )
    lazy = q.ok("SELECT n, s, n IS NULL FROM odd_lazy ORDER BY n NULLS FIRST, s", DB).rows
    assert lazy == [[None, "", "true"], [None, None, "true"], ["1", "x", "false"]]
    assert q.fails("SELECT n FROM odd_open", DB).startswith(
        "HIVE_BAD_DATA: Error parsing field value ''"
    )


def test_results_are_paged_and_written_where_athena_writes_them(q: Athena, aws: Aws) -> None:
    joined = ", ".join(f"{DB}.raw_sales t{i}" for i in range(4))  # 7**4 = 2401 rows
    query_id = q.start(f"SELECT t0.order_id, CAST(NULL AS varchar) AS n FROM {joined}")
    execution = q.wait(query_id)
    assert execution["Status"]["State"] == "SUCCEEDED"
    pages = list(aws.athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id))
    assert [len(p["ResultSet"]["Rows"]) for p in pages] == [1000, 1000, 402]  # header first
    assert pages[0]["ResultSet"]["Rows"][0]["Data"] == [
        {"VarCharValue": "order_id"},
        {"VarCharValue": "n"},
    ]
    assert pages[1]["ResultSet"]["Rows"][0]["Data"][1] == {}  # NULL: no VarCharValue
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"{q.output}{query_id}.csv"
    bucket, key = location[5:].split("/", 1)
    body = aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    lines = body.splitlines()
    assert lines[0] == '"order_id","n"' and len(lines) == 2402
    assert lines[1].endswith('",')  # NULL: an empty, unquoted field
    metadata = aws.s3.get_object(Bucket=bucket, Key=f"{key}.metadata")["Body"].read()
    assert b'"varchar"' in metadata
