"""The DAG as deployed: structure, schedule, defaults, and what each task renders for a day."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pendulum
import pytest
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineReference
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.serialization.serialized_objects import DagSerialization
from airflow.timetables.base import DataInterval, TimeRestriction

from sales_etl.airflow_compat import GlueCrawlerOperator  # the provider's, or 9.34's Run one
from sales_etl.config import ConfigError
from sales_etl.daily_glue_job import DailyGlueJobOperator
from sales_etl.day_queries import day_check_sql
from sales_etl.params import DayRunIdTimetable
from sales_etl.tasks import QuietLambdaInvokeFunctionOperator
from tests.support.airflow_tools.dag_parsing import is_project_file
from tests.support.airflow_tools.task_rendering import render

EXPECTED_TASKS = [
    ("wait_for_sales", S3KeySensor),
    ("crawl_raw", GlueCrawlerOperator),
    ("transform", DailyGlueJobOperator),
    ("check_day", AthenaOperator),
    ("post_process", QuietLambdaInvokeFunctionOperator),
]


def test_dag_folder_imports_cleanly(dagbag):
    assert dagbag.import_errors == {}
    assert list(dagbag.dags) == ["sales_etl"]


def test_parsing_raises_no_warning_from_project_code(parse_result):
    dagbag, caught = parse_result
    ours = [str(w.message) for w in caught if is_project_file(w.filename)]
    captured = {f: w for f, w in dagbag.captured_warnings.items() if is_project_file(f)}
    assert ours == []
    assert captured == {}


def test_tasks_form_one_chain_in_pipeline_order(dag):
    assert [t.task_id for t in dag.topological_sort()] == [name for name, _ in EXPECTED_TASKS]
    for (name, operator_class), (next_name, _) in zip(
        EXPECTED_TASKS, [*EXPECTED_TASKS[1:], (None, None)], strict=True
    ):
        task = dag.get_task(name)
        assert type(task) is operator_class, name
        assert task.downstream_task_ids == ({next_name} if next_name else set())


def test_schedule_replaces_the_glue_cron_trigger(dag):
    # A CronDataIntervalTimetable whose run ids name the day (tests/dags/test_run_ids.py).
    assert type(dag.timetable) is DayRunIdTimetable
    assert dag.timetable.serialize() == {"expression": "0 2 * * *", "timezone": "UTC"}
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.start_date == pendulum.datetime(2024, 1, 1, tz="UTC")


def test_run_at_0200_processes_the_finished_previous_day(dag):
    previous = DataInterval(
        pendulum.datetime(2024, 1, 14, 2, tz="UTC"), pendulum.datetime(2024, 1, 15, 2, tz="UTC")
    )
    # The scheduler works on the core form of the timetable the DAG file declares.
    timetable = coerce_to_core_timetable(dag.timetable)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=previous,
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True),
    )
    assert info.run_after == pendulum.datetime(2024, 1, 16, 2, tz="UTC")
    assert info.data_interval.start.to_date_string() == "2024-01-15"


def test_a_run_not_succeeded_8_hours_after_it_was_queued_alerts_from_the_triggerer(dag):
    [alert] = dag.deadline
    assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert alert.interval == dt.timedelta(hours=8)
    # An AsyncCallback runs in the triggerer, which imports it by this path from plugins/.
    assert isinstance(alert.callback, AsyncCallback)
    assert alert.callback.path == "sales_etl.lateness.alert_late_run"
    assert alert.callback.kwargs == {"late_after_seconds": 8 * 3600.0}
    # What the scheduler stores, and reads back when it creates a run's deadline.
    [stored] = DagSerialization.from_dict(DagSerialization.to_dict(dag)).deadline
    assert stored["reference"] == {"reference_type": "DagRunQueuedAtDeadline"}
    # Seconds in Airflow 3.2; an encoded timedelta in 3.3 (make compat runs this suite there).
    interval = stored["interval"]
    assert (interval["__data__"] if isinstance(interval, dict) else interval) == 8 * 3600.0
    assert stored["callback"]["__data__"] == {
        "path": "sales_etl.lateness.alert_late_run",
        "kwargs": {"late_after_seconds": 8 * 3600.0},
    }


def test_default_args_set_owner_retries_and_timeouts(dag):
    assert dag.default_args["owner"] == "data-platform"
    assert dag.default_args["retries"] == 2
    assert dag.default_args["retry_exponential_backoff"] is True
    assert dag.dagrun_timeout is not None
    assert dag.tags and dag.doc_md
    for task in dag.tasks:
        assert task.owner == "data-platform"
        assert task.execution_timeout is not None and task.execution_timeout > dt.timedelta(0)
        assert task.doc_md, task.task_id


def test_retries_fit_what_each_task_does(dag):
    # One Glue retry for an infrastructure failure (a refused day is never retried); a Lambda
    # retry would re-publish metrics and re-notify.
    expected = {
        "wait_for_sales": 2,
        "crawl_raw": 2,
        "transform": 1,
        # One retry for a query Athena could not run; a mismatch fails at once.
        "check_day": 1,
        "post_process": 0,
    }
    assert {task.task_id: task.retries for task in dag.tasks} == expected


def test_long_waits_are_deferrable_and_bounded(dag):
    sensor = dag.get_task("wait_for_sales")
    assert sensor.deferrable and sensor.wildcard_match
    assert sensor.timeout <= sensor.execution_timeout.total_seconds()
    glue = dag.get_task("transform")
    assert glue.deferrable and glue.stop_job_run_on_kill
    # The DAG starts the job as deployed; it never creates or updates it (nor the crawlers).
    assert glue.update_config is False
    # A cleared or timed-out deferral leaves the Glue run going: the retry re-attaches to it.
    assert glue.resume_glue_job_on_retry
    # The deferral cap must outlast the task timeout, or Airflow gives up on a live run.
    assert glue.waiter_delay * glue.waiter_max_attempts >= glue.execution_timeout.total_seconds()
    assert dag.get_task("crawl_raw").fail_on_already_running is False


def test_lambda_waits_long_and_never_reinvokes(dag):
    task = dag.get_task("post_process")
    assert isinstance(task, LambdaInvokeFunctionOperator)  # the provider's, logging less
    assert task.botocore_config["retries"] == {"max_attempts": 0}
    assert task.botocore_config["read_timeout"] >= 900
    assert task.invocation_type == "RequestResponse"


def test_processed_tables_are_assets_emitted_after_validation(dag):
    outlets = {asset.name for asset in dag.get_task("post_process").outlets}
    assert outlets == {
        "sales_etl.daily_sales",
        "sales_etl.customer_daily",
        "sales_etl.customer_metrics",
    }


def test_every_task_renders_its_own_day(dag, config_variable):
    sensor, _ = render(dag, "wait_for_sales", "2024-01-15")
    assert sensor.bucket_name == "sales-etl-local"
    # A day starts once its producer's completion marker landed, not on its first file.
    assert sensor.bucket_key == "raw-data/sales/order_date=2024-01-15/_SUCCESS"

    glue, _ = render(dag, "transform", "2024-01-15")
    assert glue.script_args == {
        "--run_date": "2024-01-15",
        "--data_uri": "s3://sales-etl-local",
        "--max_quarantine_ratio": "0.05",
        "--min_rows": "1",
        "--completion_marker": "_SUCCESS",
        # The job publishes the day's partitions in the config's database.
        "--glue_database": "sales_etl",
    }
    assert glue.job_name == "sales_etl_job"

    lam, _ = render(dag, "post_process", "2024-01-15")
    assert json.loads(lam.payload) == {
        "run_date": "2024-01-15",
        "manifest_uri": "s3://sales-etl-local/manifests/run_date=2024-01-15/manifest.json",
        # The run this DAG run's transform started: an older manifest must not pass.
        "job_run_id": "jr_rendered",
        "max_quarantine_ratio": 0.05,
    }


def test_check_day_queries_the_day_with_names_from_config(dag, config_variable):
    config_variable(
        json.dumps({"athena_workgroup": "analytics", "athena_results_prefix": "athena/etl/"})
    )
    check, _ = render(dag, "check_day", "2024-01-15")
    assert check.query == day_check_sql("sales_etl", "2024-01-15")
    assert (check.database, check.workgroup) == ("sales_etl", "analytics")
    assert check.output_location == "s3://sales-etl-local/athena/etl/"
    # Synchronous: the post_execute hook compares the results after the query ends.
    assert check.deferrable is False
    assert check.sleep_time * check.max_polling_attempts <= check.execution_timeout.total_seconds()


def test_completion_marker_and_min_rows_come_from_config(dag, config_variable):
    config_variable(json.dumps({"completion_marker": "_READY", "min_rows": 50}))
    sensor, _ = render(dag, "wait_for_sales", "2024-01-15")
    assert sensor.bucket_key == "raw-data/sales/order_date=2024-01-15/_READY"
    glue, _ = render(dag, "transform", "2024-01-15")
    assert glue.script_args["--min_rows"] == "50"
    assert glue.script_args["--completion_marker"] == "_READY"
    # No marker: any CSV of the day starts the run, as before markers existed.
    config_variable(json.dumps({"completion_marker": None}))
    sensor, _ = render(dag, "wait_for_sales", "2024-01-15")
    assert sensor.bucket_key == "raw-data/sales/order_date=2024-01-15/*.csv"
    glue, _ = render(dag, "transform", "2024-01-15")
    assert glue.script_args["--completion_marker"] == "none"  # and no snapshot marker either


def test_the_crawler_is_started_by_name_only(dag, config_variable):
    # With only a Name, the operator's update compares nothing: it never calls UpdateCrawler.
    raw, _ = render(dag, "crawl_raw", "2024-01-15")
    assert raw.config == {"Name": "sales_etl_raw"}


def test_config_variable_overrides_names_everywhere(dag, config_variable):
    config_variable(json.dumps({"bucket": "acme-sales-prod", "glue_job": "sales_prod"}))
    sensor, _ = render(dag, "wait_for_sales", "2024-01-15")
    glue, _ = render(dag, "transform", "2024-01-15")
    assert sensor.bucket_name == "acme-sales-prod"
    assert glue.job_name == "sales_prod"
    assert glue.script_args["--data_uri"] == "s3://acme-sales-prod"


def test_glue_sizing_is_applied_from_config_before_execute(dag, deployed_glue, config_variable):
    # Sizing is the run's (StartJobRun): a config change needs no deploy.
    config_variable(json.dumps({"glue_workers": 10, "glue_worker_type": "G.2X"}))
    glue, context = render(dag, "transform", "2024-01-15")
    glue._pre_execute_hook(context)
    assert glue.run_job_kwargs == {"NumberOfWorkers": 10, "WorkerType": "G.2X", "Timeout": 60}


def test_a_glue_timeout_airflow_would_outlive_fails_naming_both_keys(
    dag, deployed_glue, config_variable
):
    from sales_etl import tasks
    from sales_etl.config import ConfigError

    limit = tasks.MAX_GLUE_TIMEOUT_MINUTES
    config_variable(json.dumps({"glue_timeout_minutes": limit}))
    glue, context = render(dag, "transform", "2024-01-15")
    glue._pre_execute_hook(context)
    assert glue.run_job_kwargs["Timeout"] == limit

    config_variable(json.dumps({"glue_timeout_minutes": limit + 1}))
    glue, context = render(dag, "transform", "2024-01-15")
    message = (
        rf"'glue_timeout_minutes' must be at most {limit} minutes with Airflow config"
        r" \[sales_etl\] poll_seconds = .*, got " + str(limit + 1)
    )
    with pytest.raises(ConfigError, match=message):
        glue._pre_execute_hook(context)
    assert glue.run_job_kwargs.get("Timeout") != limit + 1


def test_manual_params_override_the_day_and_threshold(dag, config_variable):
    glue, _ = render(dag, "transform", None, run_date="2024-03-01", max_quarantine_ratio=0.2)
    assert glue.script_args["--run_date"] == "2024-03-01"
    assert glue.script_args["--max_quarantine_ratio"] == "0.2"


@pytest.mark.parametrize(
    "params",
    [
        {"run_date": "2024/01/15"},
        {"run_date": "15-01-2024"},
        {"max_quarantine_ratio": 1.5},
        {"max_quarantine_ratio": "lots"},
    ],
)
def test_malformed_params_are_rejected_before_the_run(dag, params):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        render(dag, "transform", "2024-01-15", **params)


def test_impossible_run_date_names_the_param(dag, config_variable):
    with pytest.raises(ValueError, match=r"param 'run_date' must be a real date.*2024-02-30"):
        render(dag, "transform", "2024-01-15", run_date="2024-02-30")


def test_a_run_date_in_the_future_fails_the_first_task_at_once(dag, config_variable):
    # Not six hours later, when the sensor gives up: the run would hold the one run slot.
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    with pytest.raises(ValueError, match=rf"param 'run_date' '{tomorrow}' is in the future"):
        render(dag, "wait_for_sales", None, run_date=tomorrow)
    render(dag, "wait_for_sales", None, run_date=dt.datetime.now(dt.UTC).date().isoformat())


def test_run_without_logical_date_or_param_is_a_clear_error(dag, config_variable):
    with pytest.raises(ValueError, match="no logical date"):
        render(dag, "wait_for_sales", None)


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ('{"bukcet": "x"}', r"unknown key\(s\) \['bukcet'\]"),
        ('{"bucket": "Not_A_Bucket"}', r"'bucket' must be a valid S3 bucket name"),
        ("not json", "is not valid JSON"),
        ('{"glue_workers": "ten"}', r"'glue_workers' must be int"),
    ],
)
def test_bad_config_fails_the_task_with_the_key_named(dag, config_variable, variable, message):
    config_variable(variable)
    with pytest.raises(ConfigError, match=message):
        render(dag, "wait_for_sales", "2024-01-15")


def test_a_task_try_reads_the_config_variable_once(
    dag, deployed_glue, config_variable, monkeypatch
):
    import airflow.sdk
    from airflow.sdk import Variable

    from sales_etl import runtime

    reads = []
    real_get = Variable.get

    def counting_get(key, default=None):
        reads.append(key)
        return real_get(key, default=default)

    monkeypatch.setattr(Variable, "get", counting_get)
    monkeypatch.setattr(runtime, "_loaded", None)
    ti = SimpleNamespace(
        dag_id="sales_etl", run_id="manual__1", task_id="transform", map_index=-1, try_number=1
    )
    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: {"ti": ti})
    glue, context = render(dag, "transform", "2024-01-15")
    glue._pre_execute_hook(context)
    assert reads == ["sales_etl_config"]  # the pre_execute check and sizing included

    # The next try (or the next task in the same process) sees an edited Variable.
    config_variable(json.dumps({"glue_job": "edited"}))
    ti.try_number = 2
    glue, _ = render(dag, "transform", "2024-01-15")
    assert reads == ["sales_etl_config"] * 2
    assert glue.job_name == "edited"


def test_transform_waits_on_the_path_that_fails_a_stopped_run(dag):
    # The provider's verbose wait counts STOPPED as success (tests/endpoint shows both paths).
    transform = dag.get_task("transform")
    assert transform.deferrable is True
    assert transform.verbose is False


def test_without_the_config_variable_the_first_task_fails_naming_the_keys(dag, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_SALES_ETL_CONFIG", raising=False)
    from sales_etl.config import ConfigError

    with pytest.raises(ConfigError, match=r"'sales_etl_config' is not set; it needs .*'bucket'"):
        render(dag, "wait_for_sales", "2024-01-15")


def test_the_dag_doc_is_plain_markdown(dag):
    """The UI renders doc_md as Markdown: RST literals (double backticks) show as broken code."""
    assert "``" not in dag.doc_md
    assert dag.doc_md.startswith("Daily sales ETL:")
