"""The MWAA requirements and the dev lock must describe the same Airflow."""

from __future__ import annotations

import re

from local.repo import REPO_ROOT

CONSTRAINT = re.compile(
    r'^--constraint "https://raw\.githubusercontent\.com/apache/airflow/'
    r'constraints-(?P<airflow>[\d.]+)/constraints-(?P<python>3\.\d+)\.txt"$'
)


def _lock_pins() -> dict[str, str]:
    text = (REPO_ROOT / "requirements" / "dev.lock").read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s\\]+)", text, flags=re.M))


def _mwaa_requirements() -> list[str]:
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_constraint_line_comes_first_and_matches_the_dev_airflow():
    first, *_ = _mwaa_requirements()
    match = CONSTRAINT.match(first)
    assert match, f"first requirement must be MWAA's constraint line, got {first!r}"
    assert match["airflow"] == _lock_pins()["apache-airflow"]
    # MWAA's Airflow 3.2.1 image runs Python 3.12.
    assert match["python"] == "3.12"


def test_dev_lock_pins_the_mwaa_image_packages():
    pins = _lock_pins()
    assert pins["apache-airflow"] == "3.2.1"
    assert pins["apache-airflow-providers-amazon"] == "9.25.0"
    assert pins["apache-airflow-task-sdk"] == "1.2.1"
    assert pins["boto3"] == "1.42.84"
    assert pins["aiobotocore"] == "3.4.0"


def test_installed_airflow_is_the_locked_one():
    import airflow

    assert airflow.__version__ == _lock_pins()["apache-airflow"]


def test_mwaa_requirements_pin_every_extra_package():
    for line in _mwaa_requirements()[1:]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line), f"unpinned: {line!r}"
