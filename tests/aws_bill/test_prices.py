"""The price table: every entry cited, us-east-1 by default, overrides checked."""

from __future__ import annotations

import re

import pytest

from local.aws_bill import parse_overrides, price_table


def test_every_price_names_its_page_and_the_date_it_was_read() -> None:
    table = price_table()
    assert table.region == "us-east-1"
    for price in table.rows():
        assert price.source.startswith("https://"), price
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.read_on), price


def test_the_billing_rules_the_estimate_rests_on() -> None:
    table = price_table()
    assert table["glue_dpu_hour"] == table["crawler_dpu_hour"] == 0.44
    assert table["glue_job_minimum_seconds"] == 60
    assert table["crawler_minimum_seconds"] == 600
    assert table["athena_minimum_bytes"] == 10 * 2**20


def test_an_override_replaces_one_price_and_says_so() -> None:
    table = price_table(overrides=parse_overrides(["glue_dpu_hour=0.29"]))
    assert table["glue_dpu_hour"] == 0.29
    assert table.prices["glue_dpu_hour"].source == "override"
    assert table["crawler_dpu_hour"] == 0.44


def test_another_region_must_override_every_price() -> None:
    with pytest.raises(ValueError, match=r"no prices recorded for region 'eu-west-1'.*missing"):
        price_table("eu-west-1", {"glue_dpu_hour": 0.44})
    everything = {p.name: p.value for p in price_table().rows()}
    assert price_table("eu-west-1", everything).region == "eu-west-1"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"glue_dpu_hours": 1.0}, r"no such price \['glue_dpu_hours'\]"),
        ({"glue_dpu_hour": -1.0}, r"glue_dpu_hour must not be negative"),
    ],
)
def test_a_bad_override_is_refused_naming_it(overrides: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        price_table(overrides=overrides)


def test_an_override_must_be_name_equals_number() -> None:
    with pytest.raises(ValueError, match=r"NAME=NUMBER, got 'glue_dpu_hour'"):
        parse_overrides(["glue_dpu_hour"])
