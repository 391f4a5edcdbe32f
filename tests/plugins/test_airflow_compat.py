"""The version gates: what they keep and drop under the primary Airflow (make compat runs the
DAG itself under the other versions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

from sales_etl import airflow_compat


class _OldProviderOperator:
    """An operator from a provider without the gated options (as in MWAA 3.0.6's 9.12.0)."""

    def __init__(self, *, config: dict[str, Any], poll_interval: float = 5) -> None:
        self.config = config


def test_options_the_installed_provider_has_are_kept() -> None:
    crawler = airflow_compat.GlueCrawlerOperator
    assert airflow_compat.provider_options(crawler, fail_on_already_running=False) == {
        "fail_on_already_running": False
    }
    assert airflow_compat.provider_options(GlueJobOperator, resume_glue_job_on_retry=True) == {
        "resume_glue_job_on_retry": True
    }


def test_an_option_a_base_class_takes_is_kept_for_a_subclass() -> None:
    class Sub(_OldProviderOperator):
        def __init__(self, *, flag: bool = True, **kwargs: Any) -> None:
            super().__init__(**kwargs)

    class Base:
        def __init__(self, *, fail_on_already_running: bool = True) -> None: ...

    class SubOfNew(Base):
        def __init__(self, *, config: dict[str, Any], **kwargs: Any) -> None:
            super().__init__(**kwargs)

    assert airflow_compat.provider_options(Sub, fail_on_already_running=False) == {}
    assert airflow_compat.provider_options(SubOfNew, fail_on_already_running=False) == {
        "fail_on_already_running": False
    }


def test_a_gated_option_an_older_provider_lacks_is_left_out() -> None:
    options = airflow_compat.provider_options(
        _OldProviderOperator, fail_on_already_running=False, resume_glue_job_on_retry=True
    )
    assert options == {}


def test_an_option_that_is_not_gated_is_an_error_not_dropped() -> None:
    with pytest.raises(TypeError, match=r"not \['fail_on_already_runing'\]"):
        airflow_compat.provider_options(_OldProviderOperator, fail_on_already_runing=False)


def test_the_late_run_deadline_exists_from_airflow_3_1_only(monkeypatch) -> None:
    from airflow.sdk.definitions.deadline import DeadlineAlert

    async def callback(**kwargs: Any) -> None: ...

    later = dt.timedelta(hours=1)
    [alert] = airflow_compat.late_run_deadline(later, callback, {"a": 1}).values()
    assert isinstance(alert, DeadlineAlert) and alert.interval == later
    monkeypatch.setattr(airflow_compat, "HAS_DEADLINE_ALERTS", False)  # as on 3.0.6 and 2.11.2
    assert airflow_compat.late_run_deadline(later, callback, {"a": 1}) == {}
