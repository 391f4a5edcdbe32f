"""The dags-test runner patches private Airflow internals only on the versions they were
written for (``local/airflow/airflow_internals.py``)."""

from __future__ import annotations

import pytest

from local.airflow.airflow_internals import (
    SUPPORTED_AIRFLOW_VERSIONS,
    UnsupportedAirflowVersion,
    apply_patches,
    require_supported_airflow,
)


def test_the_installed_airflow_is_one_the_patches_were_written_for() -> None:
    require_supported_airflow()


def test_another_airflow_version_is_refused_before_anything_is_patched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import airflow
    from airflow.models.deadline_alert import DeadlineAlert
    from airflow.sdk.execution_time import supervisor, task_runner

    def patch_targets() -> tuple[object, ...]:
        return (task_runner.finalize, DeadlineAlert.get_by_id, supervisor.in_process_api_server)

    before = patch_targets()
    monkeypatch.setattr(airflow, "__version__", "2.10.5")
    with pytest.raises(UnsupportedAirflowVersion) as refused:
        apply_patches()
    message = str(refused.value)
    assert "Airflow 2.10.5 is installed" in message
    assert all(f"Airflow {version}" in message for version in SUPPORTED_AIRFLOW_VERSIONS)
    assert patch_targets() == before
