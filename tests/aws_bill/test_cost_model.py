"""The month model's two DAG shapes differ by the processed crawl, in cost and in latency."""

from __future__ import annotations

import pytest

from benchmarks import cost_model
from local.aws_bill import by_service, cost_lines, price_table


def test_publishing_partitions_saves_one_crawl_a_day_and_its_wait() -> None:
    args, prices = cost_model.parse_args([]), price_table()
    crawler = cost_model.day_units(cost_model.MILLION, "crawler", args, prices)
    publish = cost_model.day_units(cost_model.MILLION, "publish", args, prices)
    assert (crawler.crawler_runs, publish.crawler_runs) == (2, 1)
    assert crawler.crawler_dpu_seconds - publish.crawler_dpu_seconds == 600
    assert (publish.s3_tier1_requests, publish.catalog_requests) == cost_model.REQUESTS["publish"][
        ::2
    ]
    saved = (
        by_service(cost_lines(crawler, prices))["Glue crawlers"]
        - by_service(cost_lines(publish, prices))["Glue crawlers"]
    )
    assert saved == pytest.approx(600 / 3600 * 0.44)

    timing = cost_model.default_timing(args)  # poll 30 s, task start 5 s, crawl 60 s, publish 2 s
    before = dict(cost_model.latency(cost_model.MILLION, "crawler", timing, worst=False))
    after = dict(cost_model.latency(cost_model.MILLION, "publish", timing, worst=False))
    assert "crawl_processed" in before and "crawl_processed" not in after
    assert sum(before.values()) - sum(after.values()) == pytest.approx((5 + 60 + 15) - (5 + 2))


def test_the_report_has_both_shapes_at_both_scales() -> None:
    rows = cost_model.month_report(cost_model.parse_args(["--days", "31"])).splitlines()
    for scale in (cost_model.RECIPE, cost_model.MILLION):
        for shape in ("crawler", "publish"):
            assert sum(row.startswith(f"{scale.name:26} {shape:8}") for row in rows) == 1


def test_a_bad_price_override_stops_the_model_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cost_model.parse_args(["--price", "crawler_dpu=2"])
    assert "no such price ['crawler_dpu']" in capsys.readouterr().err
