"""Write-audit-publish on a tmp_path lake: the manifest is "running" before the first write, an
audit that fails publishes nothing, and the cleanup removes only what the pipeline wrote."""

from __future__ import annotations

from datetime import date

import pytest

import sales_job.daily_run as daily_run
import sales_job.spark_io as spark_io
from sales_contract.processed_tables import is_version_name
from sales_job.publishing.versions import AuditError
from tests.support.fake_catalog import catalog_for, published_folder
from tests.support.lake import (
    day_dir,
    read_manifest,
    read_partition,
    run_day,
    write_customers,
    write_file,
    write_sales,
)

DAY = "2024-01-15"
ROWS = ["1,C001,P1,2,10.00,2024-01-15,North", "2,C002,P1,1,5.00,2024-01-15,South"]


def test_the_manifest_says_running_before_the_first_write(spark, tmp_path, monkeypatch):
    write_customers(tmp_path)
    write_sales(tmp_path, DAY, ROWS)
    seen = []
    first_write = spark_io.overwrite_partition  # the quarantine: the run's first write

    def spy(*args, **kwargs):
        seen.append(read_manifest(tmp_path, DAY)["status"])
        return first_write(*args, **kwargs)

    monkeypatch.setattr(daily_run, "overwrite_partition", spy)
    assert run_day(spark, tmp_path, DAY)["status"] == "succeeded"
    assert seen == ["running"]


def test_an_audit_that_fails_publishes_nothing(spark, tmp_path, monkeypatch):
    write_customers(tmp_path)
    write_sales(tmp_path, DAY, ROWS)
    run_day(spark, tmp_path, DAY)
    published = {t: published_folder(tmp_path, t, DAY) for t in ("daily_sales", "customer_daily")}
    # A rerun whose daily_sales loses a region on the way: what it wrote is not what it counted.
    real = daily_run.daily_sales
    monkeypatch.setattr(daily_run, "daily_sales", lambda *a: real(*a).where("region = 'North'"))

    with pytest.raises(AuditError, match=r"the run counted 2 valid orders and revenue 25\.00"):
        run_day(spark, tmp_path, DAY)

    assert read_manifest(tmp_path, DAY)["status"] == "failed"
    assert {t: published_folder(tmp_path, t, DAY) for t in published} == published
    regions = sorted(r["region"] for r in read_partition(spark, published["daily_sales"]))
    assert regions == ["North", "South"]


def test_cleanup_removes_replaced_versions_and_the_old_layout_but_nothing_else(spark, tmp_path):
    write_customers(tmp_path)
    write_sales(tmp_path, DAY, ROWS)
    folder = day_dir(tmp_path, "daily_sales", DAY)
    # The earlier layout's files straight in the day folder (as the crawler cataloged them),
    # a killed run's version, and what someone else put there.
    legacy = ["part-00000-abc.snappy.parquet", ".part-00000-abc.snappy.parquet.crc", "_SUCCESS"]
    for name in legacy:
        write_file(folder / name, "old")
    write_file(folder / ".spark-staging-1" / "x.parquet", "litter")
    write_file(folder / "run-0123456789ab" / "part-0.parquet", "killed run")
    foreign = [folder / "notes.txt", folder / "backup" / "part-0.parquet"]
    for path in foreign:
        write_file(path, "not ours")
    catalog_for(tmp_path).tables["daily_sales"][date(2024, 1, 15)] = f"file://{folder}"

    manifest = run_day(spark, tmp_path, DAY)

    current = published_folder(tmp_path, "daily_sales", DAY)
    assert current is not None and current.parent == folder and is_version_name(current.name)
    assert manifest["published"]["daily_sales"][DAY] == f"file://{current}/"
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(["backup", "notes.txt", current.name])
    assert all(path.read_text() == "not ours" for path in foreign)
