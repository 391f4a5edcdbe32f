"""docs/adapt-to-your-data.md, "An added column", done for real: a copy of the job's code gets
a `channel` sales column carried into daily_sales by the doc's steps (each edit must still
find the code it changes, so the doc cannot drift from it), and the copy runs a day in-process.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import lake
from tests.support.fake_catalog import catalog_for

REPO = Path(__file__).resolve().parents[2]
DAY = "2024-01-15"
PACKAGES = ("sales_job", "sales_contract")
# Built from the declarations, like the local stack's tables: re-imported with the copy.
CATALOG_MODULE = "local.in_memory_catalog"

# (file in the copy, code as it is, code with the column): the doc's steps 1 to 5.
EDITS = [
    (  # 1. the input contract
        "sales_job/contract.py",
        '    "region",\n)\nCUSTOMER_COLUMNS',
        '    "region",\n    "channel",\n)\nCUSTOMER_COLUMNS',
    ),
    (  # 2. kept by check_rows
        "sales_job/validation.py",
        '        "region",\n        "name",',
        '        "region",\n        "channel",\n        "name",',
    ),
    (  # 3. kept past the checks
        "sales_job/spark_io.py",
        '    "region",\n    "amount",\n)',
        '    "region",\n    "channel",\n    "amount",\n)',
    ),
    (  # 5. part of daily_sales' row order
        "sales_job/spark_io.py",
        '"daily_sales": ("region",),',
        '"daily_sales": ("region", "channel"),',
    ),
    (  # 4. the aggregates
        "sales_job/aggregates.py",
        'valid.groupBy("customer_id", "region")',
        'valid.groupBy("customer_id", "region", "channel")',
    ),
    (
        "sales_job/aggregates.py",
        'by_customer_region.groupBy("region")',
        'by_customer_region.groupBy("region", "channel")',
    ),
    (  # 5. the declared output table
        "sales_contract/processed_tables.py",
        '            Column("region", "string"),\n            Column("daily_revenue", MONEY),',
        '            Column("region", "string"),\n            Column("channel", "string"),\n'
        '            Column("daily_revenue", MONEY),',
    ),
]


@pytest.fixture
def changed_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The copy's sales_job.daily_run, imported in place of the repository's for the test."""
    owned = lambda name: name.split(".")[0] in PACKAGES or name == CATALOG_MODULE  # noqa: E731
    src = tmp_path / "src"
    shutil.copytree(REPO / "glue_scripts" / "sales_job", src / "sales_job")
    shutil.copytree(REPO / "plugins" / "sales_contract", src / "sales_contract")
    for name, before, after in EDITS:
        path = src / name
        text = path.read_text()
        assert text.count(before) == 1, f"{name} no longer holds {before!r}: update the doc"
        path.write_text(text.replace(before, after))
    saved = {n: m for n, m in sys.modules.items() if owned(n)}
    for name in saved:
        del sys.modules[name]
    monkeypatch.syspath_prepend(str(src))
    try:
        yield importlib.import_module("sales_job.daily_run")
    finally:
        for name in [n for n in sys.modules if owned(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_a_sales_column_added_by_the_doc_steps_reaches_daily_sales(spark, tmp_path, changed_job):
    assert "channel" in sys.modules["sales_job.contract"].SALES_COLUMNS  # the copy runs
    lake.write_customers(tmp_path)
    header = lake.SALES_HEADER + ",channel"
    rows = [
        f"1,C001,P1,2,5.00,{DAY},North,web",
        f"2,C002,P1,1,3.00,{DAY},North,store",
        f"3,C001,P2,1,1.50,{DAY},North,web",
        f"4,C003,P1,1,1.00,{DAY},North,",  # the new column is required like the others
    ]
    lake.write_file(lake.sales_dir(tmp_path, DAY) / "part-0.csv", "\n".join([header, *rows]))
    old = lake.sales_dir(tmp_path, DAY) / "old.csv"  # a file still in the old shape
    lake.write_file(old, f"{lake.SALES_HEADER}\n5,C001,P1,1,1.00,{DAY},North\n")

    args = sys.modules["sales_job.args"].JobArgs(
        date.fromisoformat(DAY), f"file://{tmp_path}", max_quarantine_ratio=1.0
    )
    # Step 6 missed: the stack's tables (here the lake's catalog) still have the old columns.
    with pytest.raises(
        Exception, match=r"daily_sales's columns in the catalog .* update the stack"
    ):
        changed_job.run_sales_etl(spark, args, catalog_for(tmp_path))
    # Step 6 done: tables declared from the changed declarations.
    stack = importlib.import_module(CATALOG_MODULE).InMemoryCatalog(tmp_path)
    manifest = changed_job.run_sales_etl(spark, args, stack)

    assert manifest["quarantine_reasons"] == {"bad_header": 1, "missing_field": 1}
    published = stack.tables["daily_sales"][date.fromisoformat(DAY)]
    daily = lake.read_partition(spark, Path(published.removeprefix("file://")))
    got = [(r["region"], r["channel"], str(r["daily_revenue"]), r["daily_orders"]) for r in daily]
    assert got == [("North", "store", "3.00", 1), ("North", "web", "11.50", 2)]
