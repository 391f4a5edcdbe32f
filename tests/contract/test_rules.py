"""The rules every runtime shares: run dates, SNS subjects."""

from __future__ import annotations

from datetime import date

import pytest

from sales_contract.rules import SNS_SUBJECT_MAX_CHARS, parse_run_date, sns_subject


def test_a_real_date_is_parsed() -> None:
    assert parse_run_date("2024-02-29", "x") == date(2024, 2, 29)


@pytest.mark.parametrize(
    "value", ["2024-02-30", "20240115", "2024-1-15", "2024-W03-1", " 2024-01-15", None, 20240115]
)
def test_anything_else_is_refused_naming_the_source_and_value(value: object) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_run_date(value, "--run_date")
    assert str(excinfo.value) == (
        f"--run_date must be a real date in YYYY-MM-DD form, got {value!r}"
    )


def test_a_100_character_subject_is_cut_below_100() -> None:
    # SNS accepts subjects of fewer than 100 characters only.
    subject = sns_subject("x" * 100)
    assert len(subject) == SNS_SUBJECT_MAX_CHARS == 99


def test_a_subject_is_made_ascii_and_one_line() -> None:
    assert sns_subject("Köln\nfailed\r\n  twice") == "K?ln failed twice"


def test_a_day_after_the_latest_allowed_is_refused() -> None:
    today = date(2024, 1, 15)
    assert parse_run_date("2024-01-15", "x", latest=today) == today
    with pytest.raises(ValueError, match=r"param 'run_date' '2024-01-16' is in the future"):
        parse_run_date("2024-01-16", "param 'run_date'", latest=today)
