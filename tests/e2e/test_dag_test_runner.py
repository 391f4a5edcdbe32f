"""The runner behind `make demo` and these tests: time-outs, start-up failures, exit statuses."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from local.airflow.dag_test_child import _run_cli
from local.airflow.dag_test_runner import DagRunRequest, DagTestRunner, TaskTestRequest
from local.stack_config import LOCAL_CONFIG_VARIABLE
from sales_etl.config import CONFIG_VARIABLE
from tests.support.pipeline import Pipeline
from tests.support.polling import wait_for

pytestmark = pytest.mark.e2e


def test_a_run_over_its_time_is_cut_short_and_the_runner_stopped(pipeline: Pipeline) -> None:
    # Days with no data: the cut-short run must not rerun a day the other e2e tests check
    # (a Glue run it started would go on, and republish that day's partitions).
    requests = [DagRunRequest("2024-03-01"), DagRunRequest("2024-03-02")]
    with DagTestRunner(pipeline.env, pipeline.logs) as runner:
        results = list(runner.run({}, requests, timeout_seconds=2))
        pid = runner.pid
        with pytest.raises(RuntimeError, match="runner was stopped"):
            list(runner.run({}, requests, timeout_seconds=60))
    assert [(r.returncode, r.timed_out) for r in results] == [(124, True)]  # day 2 never ran
    assert "2024-03-01" in results[0].log_file.name
    assert not psutil.pid_exists(pid)
    # The killed run may have left a crawl or job run going: let them end before other tests.
    glue = pipeline.aws.client("glue")
    for crawler in glue.list_crawlers()["CrawlerNames"]:
        wait_for(lambda c=crawler: glue.get_crawler(Name=c)["Crawler"]["State"], "READY".__eq__)
    if pipeline.cfg.glue_job in glue.list_jobs()["JobNames"]:  # the run got that far
        wait_for(
            lambda: {
                r["JobRunState"]
                for r in glue.get_job_runs(JobName=pipeline.cfg.glue_job)["JobRuns"]
            },
            lambda states: not states & {"STARTING", "RUNNING", "STOPPING"},
        )
    # A task killed mid-try fails, and its failure alert is no concern of the other tests.
    pipeline.alerts.take()


def test_a_failed_start_up_is_reported_with_its_log(pipeline: Pipeline, tmp_path: Path) -> None:
    env = {
        **pipeline.env,
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/missing/dir/airflow.db",
    }
    with DagTestRunner(env, tmp_path / "logs", migrate=True) as runner:
        results = list(runner.run({}, [DagRunRequest("2024-01-15")], timeout_seconds=60))
    assert [r.returncode for r in results] == [1]
    assert results[0].log_file.name == "db-migrate.log"
    assert "unable to open database file" in results[0].log_file.read_text()


def _cli(outcome: BaseException | None) -> argparse.ArgumentParser:
    def command(_: argparse.Namespace) -> None:
        if outcome is not None:
            raise outcome

    parser = argparse.ArgumentParser()
    parser.set_defaults(func=command)
    return parser


@pytest.mark.parametrize(
    ("outcome", "ok"),
    [
        (None, True),
        (SystemExit(0), True),
        (SystemExit("DagRun failed"), False),
        (RuntimeError("boom"), False),
    ],
)
def test_a_command_counts_as_ok_only_if_airflow_would_exit_0(
    outcome: BaseException | None, ok: bool
) -> None:
    assert _run_cli(_cli(outcome), []) is ok


def test_one_runner_serves_batches_each_with_its_own_environment(pipeline: Pipeline) -> None:
    """The session's runner: a batch's extra variables do not leak into the next batch."""
    typo = {"AIRFLOW_VAR_SALES_ETL_CONFIG": '{"bukcet": "x"}'}
    request = [TaskTestRequest("wait_for_sales", "2024-01-15")]
    (first,) = pipeline.runner.run(typo, request, timeout_seconds=120)
    assert "unknown key(s)" in first.log_file.read_text()
    (second,) = pipeline.runner.run({}, request, timeout_seconds=120)
    assert second.ok, second.log_tail()


@dataclass(frozen=True)
class VariablesExport:
    """``airflow variables export FILE`` (the metastore's Variables only), through the runner."""

    file: Path
    name: str = "variables-export"

    def cli_args(self) -> list[str]:
        return ["variables", "export", str(self.file)]


def test_the_runner_stores_the_config_variable_in_the_metastore(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """As on MWAA (and `make airflow`): a Variable in the metastore, where an edit applies.

    The e2e suite's own environment override (E2E_CONFIG) does not hide it from an export."""
    exported = tmp_path / "variables.json"
    (result,) = pipeline.runner.run({}, [VariablesExport(exported)], timeout_seconds=60)
    assert result.ok, result.log_tail()
    assert json.loads(exported.read_text())[CONFIG_VARIABLE] == LOCAL_CONFIG_VARIABLE
