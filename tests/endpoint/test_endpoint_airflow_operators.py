"""The Amazon provider's real operators and triggers work against the endpoint (no DAG file).

The connection comes from ``AIRFLOW_CONN_AWS_DEFAULT``, exactly as for a local DAG run.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from local.aws_local import aws_connection
from local.endpoint import RunningEndpoint
from tests.support.endpoint import (
    ROLE_ARN,
    Aws,
    keys,
    lambda_role,
    lambda_zip,
    unique,
    wait_for_job_run,
)

CONN_ID = "aws_default"


@pytest.fixture(autouse=True)
def airflow_env(endpoint: RunningEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_connection(endpoint.clients))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow-home"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


class RecordingTaskInstance:
    """The bits of a TaskInstance the operators touch: XCom push/pull."""

    dag_id, task_id, run_id, map_index = "endpoint_tests", "task", "manual__1", -1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, *args: Any, **kwargs: Any) -> Any:
        return None


def context() -> dict[str, Any]:
    return {"ti": RecordingTaskInstance()}


def upload_script(aws: Aws, bucket: str, body: str) -> str:
    key = f"scripts/{unique('job')}.py"
    aws.s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    return f"s3://{bucket}/{key}"


JOB_SCRIPT = """
import os, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
os.makedirs(args["--output"], exist_ok=True)
with open(os.path.join(args["--output"], "manifest.json"), "w") as fh:
    fh.write('{"run_date": "%s"}' % args["--run_date"])
print("processed run_date", args["--run_date"])
if args.get("--fail"):
    raise RuntimeError("quarantine ratio 0.40 above threshold 0.10")
"""


def glue_operator(bucket: str, script: str, **kwargs: Any):
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    return GlueJobOperator(
        task_id="transform",
        job_name=kwargs.pop("job_name", unique("sales-etl")),
        script_location=script,
        iam_role_arn=ROLE_ARN,
        create_job_kwargs={"GlueVersion": "5.0", "WorkerType": "G.1X", "NumberOfWorkers": 2},
        update_config=True,
        wait_for_completion=kwargs.pop("wait_for_completion", True),
        verbose=True,
        job_poll_interval=0.5,
        aws_conn_id=CONN_ID,
        **kwargs,
    )


def test_glue_job_operator_waits_and_prints_logs(
    aws: Aws, bucket: str, capfd: pytest.CaptureFixture[str]
) -> None:
    script = upload_script(aws, bucket, JOB_SCRIPT)
    args = {"--run_date": "2024-01-15", "--output": f"s3://{bucket}/manifests/run_date=2024-01-15/"}
    operator = glue_operator(bucket, script, script_args=args)

    run_id = operator.execute(context())
    task_log = "".join(capfd.readouterr())
    run_id_again = glue_operator(
        bucket, script, job_name=operator.job_name, script_args=args
    ).execute(context())  # update_config=True: the job exists -> UpdateJob

    run = aws.glue.get_job_run(JobName=operator.job_name, RunId=run_id)["JobRun"]
    assert run["JobRunState"] == "SUCCEEDED"
    assert run_id_again != run_id
    assert keys(aws, bucket, "manifests/") == ["manifests/run_date=2024-01-15/manifest.json"]
    # verbose=True reads the stream named by the bare run id; Glue 5.0 (and the endpoint)
    # writes <run id>-driver, so the job's own output never reaches the task log this way.
    assert "Glue Job Run /aws-glue/jobs/output Logs:" not in task_log
    assert "processed run_date 2024-01-15" not in task_log
    job = aws.glue.get_job(JobName=operator.job_name)["Job"]
    assert (job["WorkerType"], job["NumberOfWorkers"]) == ("G.1X", 2)


def test_glue_job_operator_fails_when_the_job_fails(aws: Aws, bucket: str) -> None:
    from airflow.providers.common.compat.sdk import AirflowException

    script = upload_script(aws, bucket, JOB_SCRIPT)
    operator = glue_operator(
        bucket,
        script,
        script_args={"--run_date": "2024-01-15", "--output": f"s3://{bucket}/m/", "--fail": "1"},
    )
    with pytest.raises(AirflowException, match="Run State: FAILED"):
        operator.execute(context())
    runs = aws.glue.get_job_runs(JobName=operator.job_name)["JobRuns"]
    assert runs[0]["ErrorMessage"] == "RuntimeError: quarantine ratio 0.40 above threshold 0.10"


SLOW_JOB_SCRIPT = """
import time
time.sleep(4)
print("done")
"""


def test_glue_job_operator_retry_resumes_the_run_an_earlier_try_left(aws: Aws, bucket: str) -> None:
    # A deferred try that was cleared or timed out leaves its run going (no on_kill); the
    # retry, with no XCom from that try, finds the run by its task UUID via GetJobRuns.
    script = upload_script(aws, bucket, SLOW_JOB_SCRIPT)
    earlier = glue_operator(
        bucket, script, resume_glue_job_on_retry=True, wait_for_completion=False
    )
    run_id = earlier.execute(context())

    retry = glue_operator(bucket, script, job_name=earlier.job_name, resume_glue_job_on_retry=True)
    assert retry.execute(context()) == run_id

    runs = aws.glue.get_job_runs(JobName=earlier.job_name)["JobRuns"]
    assert [(r["Id"], r["JobRunState"]) for r in runs] == [(run_id, "SUCCEEDED")]


def test_glue_crawler_operator_creates_updates_and_waits(aws: Aws, bucket: str) -> None:
    from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator

    aws.s3.put_object(
        Bucket=bucket,
        Key="raw-data/sales/order_date=2024-01-15/a.csv",
        Body=b"order_id,amount\n1,2.5\n2,3.0\n",
    )
    name, database = unique("raw-crawler"), unique("sales_db").replace("-", "_")
    config = {
        "Name": name,
        "Role": ROLE_ARN,
        "DatabaseName": database,
        "Targets": {"S3Targets": [{"Path": f"s3://{bucket}/raw-data/sales/"}]},
        "TablePrefix": "raw_",
        "Tags": {"project": "sales-etl", "team": "data"},
    }
    crawl_raw = GlueCrawlerOperator(
        task_id="crawl_raw", config=config, poll_interval=1, aws_conn_id=CONN_ID
    )
    assert crawl_raw.execute(context()) == name
    table = aws.glue.get_table(DatabaseName=database, Name="raw_sales")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["order_id", "amount"]

    # the hook updates and removes tags (TagResource/UntagResource) and calls UpdateCrawler
    changed = {**config, "TablePrefix": "v2_", "Tags": {"project": "sales-etl-v2"}}
    crawl_raw_again = GlueCrawlerOperator(
        task_id="crawl_raw_again", config=changed, poll_interval=1, aws_conn_id=CONN_ID
    )
    assert crawl_raw_again.execute(context()) == name
    crawler = aws.glue.get_crawler(Name=name)["Crawler"]
    assert crawler["TablePrefix"] == "v2_"
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    arn = f"arn:aws:glue:us-east-1:123456789012:crawler/{name}"
    assert aws.glue.get_tags(ResourceArn=arn)["Tags"] == {"project": "sales-etl-v2"}
    names = sorted(t["Name"] for t in aws.glue.get_tables(DatabaseName=database)["TableList"])
    assert names == ["raw_sales", "v2_sales"]


def test_lambda_invoke_operator_returns_payload_and_raises_on_error(aws: Aws, bucket: str) -> None:
    from airflow.providers.amazon.aws.operators.lambda_function import (
        LambdaInvokeFunctionOperator,
    )

    name = unique("post-process")
    handler = (
        "def handler(event, context):\n"
        "    if event.get('rows_in') != event.get('rows_valid'):\n"
        "        raise ValueError('reconciliation failed')\n"
        "    return {'ok': True, 'run_date': event['run_date']}\n"
    )
    aws.lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(aws),
        Handler="post.handler",
        Code={"ZipFile": lambda_zip({"post.py": handler})},
    )

    def operator(payload: dict) -> Any:
        return LambdaInvokeFunctionOperator(
            task_id="post_process",
            function_name=name,
            payload=json.dumps(payload),
            log_type="Tail",
            aws_conn_id=CONN_ID,
            botocore_config={"read_timeout": 120, "retries": {"max_attempts": 0}},
        )

    good = {"run_date": "2024-01-15", "rows_in": 3, "rows_valid": 3}
    assert json.loads(operator(good).execute(context())) == {"ok": True, "run_date": "2024-01-15"}
    with pytest.raises(ValueError, match="Lambda function execution resulted in error") as failed:
        operator({**good, "rows_valid": 2}).execute(context())
    assert "reconciliation failed" in str(failed.value)


def test_deferrable_triggers_complete(aws: Aws, bucket: str) -> None:
    """The aiobotocore paths the triggerer uses: job (verbose) and crawler waiters."""
    from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger
    from airflow.providers.amazon.aws.triggers.glue_crawler import GlueCrawlerCompleteTrigger

    script = upload_script(aws, bucket, JOB_SCRIPT)
    job = unique("deferred")
    aws.glue.create_job(
        Name=job, Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": script}
    )
    run_ids = [
        aws.glue.start_job_run(
            JobName=job, Arguments={"--run_date": "2024-01-15", "--output": f"s3://{bucket}/o/"}
        )["JobRunId"]
    ]
    aws.s3.put_object(Bucket=bucket, Key="d/x=1/a.csv", Body=b"a,b\n1,x\n")
    crawler = unique("deferred-crawler")
    aws.glue.create_crawler(
        Name=crawler,
        Role=ROLE_ARN,
        DatabaseName="deferred_db",
        Targets={"S3Targets": [{"Path": f"s3://{bucket}/d/"}]},
    )
    aws.glue.start_crawler(Name=crawler)

    async def first_event(trigger: Any) -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("trigger ended without an event")

    async def both() -> list[dict]:
        job_trigger = GlueJobCompleteTrigger(
            job_name=job,
            run_id=run_ids[0],
            verbose=True,
            waiter_delay=1,
            waiter_max_attempts=60,
            aws_conn_id=CONN_ID,
        )
        crawler_trigger = GlueCrawlerCompleteTrigger(
            crawler_name=crawler, waiter_delay=1, waiter_max_attempts=60, aws_conn_id=CONN_ID
        )
        return list(await asyncio.gather(first_event(job_trigger), first_event(crawler_trigger)))

    job_event, crawler_event = asyncio.run(both())
    assert job_event == {"status": "success", "run_id": run_ids[0]}
    assert crawler_event["status"] == "success"
    assert aws.glue.get_crawler(Name=crawler)["Crawler"]["LastCrawl"]["Status"] == "SUCCEEDED"


def test_a_stopped_run_fails_the_plain_wait_and_passes_the_verbose_one(
    aws: Aws, bucket: str
) -> None:
    """Why the DAG's transform waits with verbose=False: provider 9.25.0's verbose trigger
    counts a run stopped from outside as success; the waiter behind the plain one fails it."""
    from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger

    script = upload_script(aws, bucket, "import time\ntime.sleep(120)\n")
    job = unique("stopped")
    aws.glue.create_job(
        Name=job, Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": script}
    )
    run_id = aws.glue.start_job_run(JobName=job)["JobRunId"]
    aws.glue.batch_stop_job_run(JobName=job, JobRunIds=[run_id])
    assert wait_for_job_run(aws, job, run_id)["JobRunState"] == "STOPPED"

    def wait(verbose: bool) -> dict:
        trigger = GlueJobCompleteTrigger(
            job_name=job,
            run_id=run_id,
            verbose=verbose,
            waiter_delay=1,
            waiter_max_attempts=5,
            aws_conn_id=CONN_ID,
        )

        async def first_event() -> dict:
            async for event in trigger.run():
                return event.payload
            raise AssertionError("trigger ended without an event")

        return asyncio.run(first_event())

    failed = wait(verbose=False)
    assert failed["status"] == "error"  # execute_complete raises on it: the task fails
    assert "AWS Glue job failed" in failed["message"] and "STOPPED" in failed["message"]
    assert wait(verbose=True) == {"status": "success", "run_id": run_id}
