"""A line's bytes: text that is not UTF-8 and lines over the length limit are quarantined with
their own reasons, their bytes kept exactly (base64), and nothing else is changed by them."""

from __future__ import annotations

import base64
import dataclasses

from sales_job.daily_run import run_sales_etl
from tests.support import lake
from tests.support.fake_catalog import catalog_for

DAY = "2024-01-15"
ONE_MIB = 1024 * 1024  # the job's default line limit, in bytes


def line(order_id: bytes, region: bytes = b"North") -> bytes:
    return b",".join([order_id, b"C001", b"P1", b"2", b"5.00", DAY.encode(), region])


def write_bytes_file(base, name: str, lines: list[bytes]) -> None:
    lake.write_file(
        lake.sales_dir(base, DAY) / name, b"\n".join([lake.SALES_HEADER.encode(), *lines]) + b"\n"
    )


def quarantine_by_line(spark, base) -> dict[int, dict]:
    rows = lake.read_partition(spark, lake.output_dir(base, "quarantine", DAY))
    return {q["line_number"]: q for q in rows}


def test_lines_that_are_not_utf8_are_quarantined_with_their_exact_bytes(spark, tmp_path):
    lake.write_customers(tmp_path)
    latin1 = [
        line(b"10\xe91"),  # two different ids, each with one Latin-1 byte
        line(b"10\xe81"),
        line(b"1003", region=b"K\xf6ln"),  # Latin-1 "Koln" with an o-umlaut
    ]
    write_bytes_file(tmp_path, "part-0000.csv", [line(b"1001", "Köln".encode()), *latin1])

    manifest = lake.run_day(spark, tmp_path, DAY, max_quarantine_ratio="1")

    assert (manifest["rows_in"], manifest["rows_valid"]) == (4, 1)
    assert manifest["quarantine_reasons"] == {"invalid_utf8": 3}
    quarantined = quarantine_by_line(spark, tmp_path)
    assert sorted(quarantined) == [3, 4, 5]
    for number, raw in zip((3, 4, 5), latin1, strict=True):
        q = quarantined[number]
        assert q["reason"] == "invalid_utf8"
        assert base64.b64decode(q["raw_base64"]) == raw  # byte for byte
        assert q["raw_line"] == raw.decode("utf-8", "replace")  # readable, marked lossy
    [region] = lake.read_partition(spark, lake.output_dir(tmp_path, "daily_sales", DAY))
    assert (region["region"], region["daily_orders"]) == ("Köln", 1)


def test_a_line_longer_than_the_limit_is_quarantined_truncated(spark, tmp_path):
    lake.write_customers(tmp_path)
    long_line = line(b"1002", region=b"N" * ONE_MIB)  # over the default limit
    write_bytes_file(tmp_path, "part-0000.csv", [line(b"1001"), long_line, line(b"1003")])

    manifest = lake.run_day(spark, tmp_path, DAY, max_quarantine_ratio="1")

    assert (manifest["rows_in"], manifest["rows_valid"]) == (3, 2)
    assert manifest["quarantine_reasons"] == {"line_too_long": 1}
    [q] = lake.read_partition(spark, lake.output_dir(tmp_path, "quarantine", DAY))
    assert (q["reason"], q["line_number"]) == ("line_too_long", 3)
    assert q["raw_line"].encode() == long_line[:ONE_MIB]
    assert base64.b64decode(q["raw_base64"]) == long_line[:ONE_MIB]


def test_the_line_limit_counts_bytes_and_a_line_at_the_limit_is_read(spark, tmp_path):
    lake.write_customers(tmp_path)
    limit = 80
    at_limit = line(b"1001", region="Kö".encode() + b"N" * 46)  # 80 bytes, 79 characters
    over = at_limit + b"!"
    assert (len(at_limit), len(over)) == (limit, limit + 1)
    # The first line of a file is read on the driver for its header: bounded there too.
    lake.write_file(lake.sales_dir(tmp_path, DAY) / "a.csv", b"\n".join([at_limit, over]) + b"\n")
    write_bytes_file(tmp_path, "b.csv", [at_limit.replace(b"1001", b"2001"), over])
    lake.write_file(
        lake.sales_dir(tmp_path, DAY) / "c.csv", b"x" * (limit + 5) + b"\n" + line(b"3001")
    )

    args = lake.job_args(tmp_path, DAY, max_quarantine_ratio="1")
    manifest = run_sales_etl(
        spark, dataclasses.replace(args, max_line_bytes=limit), catalog_for(tmp_path)
    )

    assert (manifest["rows_in"], manifest["rows_valid"]) == (6, 1)  # b.csv's line at the limit
    assert manifest["quarantine_reasons"] == {"bad_header": 2, "line_too_long": 3}
    got = {
        (q["source_file"], q["line_number"]): (q["reason"], q["raw_line"])
        for q in lake.read_partition(spark, lake.output_dir(tmp_path, "quarantine", DAY))
    }
    assert got == {
        ("a.csv", 1): ("bad_header", at_limit.decode()),  # a file without a header
        ("a.csv", 2): ("line_too_long", at_limit.decode()),  # its first 80 bytes
        ("b.csv", 3): ("line_too_long", at_limit.decode()),
        ("c.csv", 1): ("line_too_long", "x" * limit),
        ("c.csv", 2): ("bad_header", line(b"3001").decode()),
    }
