"""Glue job runs execute the script for real (plain-Python scripts keep these tests fast)."""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from botocore.exceptions import ClientError

from local.endpoint import state as endpoint_state
from local.endpoint.glue_jobs.runner import GlueJobRunner
from tests.support.endpoint import Aws, create_job, glue_driver_messages, keys, wait_for_job_run
from tests.support.polling import wait_for

ARGS = "args = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"


def script(body: str) -> str:
    return "import os, sys, time\n" + ARGS + textwrap.dedent(body)


def test_job_runs_script_with_merged_arguments_and_writes_output(aws: Aws, bucket: str) -> None:
    aws.s3.put_object(Bucket=bucket, Key="raw/in.csv", Body=b"a,b\n1,2\n3,4\n")
    aws.s3.put_object(
        Bucket=bucket, Key="libs/helpers.py", Body=b"def shout(s):\n    return s.upper()\n"
    )
    job, _ = create_job(
        aws,
        bucket,
        script(
            """
            from helpers import shout
            rows = open(args["--input"]).read().splitlines()
            os.makedirs(args["--output"], exist_ok=True)
            with open(os.path.join(args["--output"], "report.txt"), "w") as fh:
                fh.write(shout(f"{args['--label']} rows={len(rows) - 1}"))
            print("job", args["--JOB_NAME"], "run", args["--JOB_RUN_ID"], "label", args["--label"])
            time.sleep(1.1)
            """
        ),
        DefaultArguments={
            "--input": f"s3://{bucket}/raw/in.csv",
            "--output": f"s3://{bucket}/out/",
            "--label": "default",
            "--extra-py-files": f"s3://{bucket}/libs/helpers.py",
        },
    )

    run_id = aws.glue.start_job_run(JobName=job, Arguments={"--label": "override"})["JobRunId"]
    run = wait_for_job_run(aws, job, run_id)

    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert run["ExecutionTime"] >= 2  # a real duration: the script sleeps over a second
    assert run["StartedOn"] < run["CompletedOn"]
    assert run["LogGroupName"] == "/aws-glue/jobs"
    assert "ErrorMessage" not in run
    assert keys(aws, bucket, "out/") == ["out/report.txt"]
    body = aws.s3.get_object(Bucket=bucket, Key="out/report.txt")["Body"].read()
    assert body == b"OVERRIDE ROWS=2"
    output = glue_driver_messages(aws, "/aws-glue/jobs/output", run_id)
    assert f"job {job} run {run_id} label override" in output
    runs = aws.glue.get_job_runs(JobName=job)["JobRuns"]
    assert [(r["Id"], r["JobRunState"]) for r in runs] == [(run_id, "SUCCEEDED")]


def test_get_job_runs_pages_newest_first_with_each_runs_arguments(aws: Aws, bucket: str) -> None:
    # The provider's resume_glue_job_on_retry pages GetJobRuns (MaxResults 50, NextToken) and
    # matches a run by its --airflow_task_uuid argument.
    job, _ = create_job(
        aws, bucket, script('print("ok")'), ExecutionProperty={"MaxConcurrentRuns": 3}
    )
    started = [
        aws.glue.start_job_run(JobName=job, Arguments={"--airflow_task_uuid": f"try-{n}"})[
            "JobRunId"
        ]
        for n in range(3)
    ]
    pages, token = [], None
    while True:
        response = aws.glue.get_job_runs(
            JobName=job, MaxResults=2, **({"NextToken": token} if token else {})
        )
        pages.append(
            [(r["Id"], r["Arguments"]["--airflow_task_uuid"]) for r in response["JobRuns"]]
        )
        token = response.get("NextToken")
        if not token:
            break
    for run_id in started:
        wait_for_job_run(aws, job, run_id)

    assert pages == [
        [(started[2], "try-2"), (started[1], "try-1")],
        [(started[0], "try-0")],
    ]


def test_stdout_and_stderr_lines_reach_the_log_in_the_order_written(aws: Aws) -> None:
    # Two runs at once on two buckets: one runs in the warm worker, the other in a new process.
    body = script(
        """
        time.sleep(2)
        for i in range(100):
            print(f"out {i}", flush=True)
            print(f"err {i}", file=sys.stderr, flush=True)
        """
    )
    runs = []
    for _ in range(2):
        bucket = f"order-{uuid.uuid4().hex[:8]}"
        aws.s3.create_bucket(Bucket=bucket)
        job, _ = create_job(aws, bucket, body)
        runs.append((job, aws.glue.start_job_run(JobName=job)["JobRunId"]))

    written = [f"{stream} {i}" for i in range(100) for stream in ("out", "err")]
    for job, run_id in runs:
        assert wait_for_job_run(aws, job, run_id)["JobRunState"] == "SUCCEEDED"
        assert glue_driver_messages(aws, "/aws-glue/jobs/output", run_id) == written


def test_failing_script_reports_the_exception_line(aws: Aws, bucket: str) -> None:
    job, _ = create_job(
        aws,
        bucket,
        script(
            """
            print("starting", flush=True)
            day = args["--run_date"]
            raise ValueError(f"no sales partition for {day} at s3://{args['--bucket']}/raw")
            """
        ),
    )
    run_id = aws.glue.start_job_run(
        JobName=job, Arguments={"--run_date": "2024-01-15", "--bucket": bucket}
    )["JobRunId"]
    run = wait_for_job_run(aws, job, run_id)

    assert run["JobRunState"] == "FAILED"
    assert (
        run["ErrorMessage"] == f"ValueError: no sales partition for 2024-01-15 at s3://{bucket}/raw"
    )
    # Glue 5.0: the script's stdout and stderr both go to the output group's driver stream;
    # the error group holds system notes; no stream is named by the bare run id.
    output = glue_driver_messages(aws, "/aws-glue/jobs/output", run_id)
    assert output[0] == "starting"
    assert "Traceback (most recent call last):" in output
    system = glue_driver_messages(aws, "/aws-glue/jobs/error", run_id)
    assert system == [f"[local endpoint] synced s3://{bucket}: 0 uploaded, 0 deleted"]
    for group in ("/aws-glue/jobs/output", "/aws-glue/jobs/error"):
        streams = aws.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=run_id)
        assert [s["logStreamName"] for s in streams["logStreams"]] == [f"{run_id}-driver"]


def test_mirror_paths_the_script_reports_come_back_as_s3_uris(aws: Aws, bucket: str) -> None:
    # The script sees only the mirror path it is handed; Glue would have handed it the URI.
    job, _ = create_job(
        aws,
        bucket,
        script(
            """
            import json
            out = args["--output"]
            os.makedirs(out)
            with open(os.path.join(out, "manifest.json"), "w") as fh:
                json.dump({"outputs": "file://" + out + "part-0", "folder": out}, fh)
            print("wrote", "file:" + out, flush=True)
            raise ValueError(f"failed after writing {out}manifest.json")
            """
        ),
        DefaultArguments={"--output": f"s3://{bucket}/manifests/run_date=2024-01-15/"},
    )
    run_id = aws.glue.start_job_run(JobName=job)["JobRunId"]
    run = wait_for_job_run(aws, job, run_id)

    folder = f"s3://{bucket}/manifests/run_date=2024-01-15/"
    assert run["ErrorMessage"] == f"ValueError: failed after writing {folder}manifest.json"
    assert glue_driver_messages(aws, "/aws-glue/jobs/output", run_id)[0] == f"wrote {folder}"
    body = aws.s3.get_object(Bucket=bucket, Key="manifests/run_date=2024-01-15/manifest.json")
    assert json.loads(body["Body"].read()) == {"outputs": f"{folder}part-0", "folder": folder}


def test_missing_script_fails_with_a_clear_message(aws: Aws, bucket: str) -> None:
    job, location = create_job(aws, bucket, "print('never runs')\n")
    aws.s3.delete_object(Bucket=bucket, Key=location.split("/", 3)[3])
    run_id = aws.glue.start_job_run(JobName=job)["JobRunId"]
    run = wait_for_job_run(aws, job, run_id)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == f"script {location} not found in S3"


def test_rewritten_partition_deletes_stale_objects_and_skips_spark_litter(
    aws: Aws, bucket: str
) -> None:
    """The script mimics Spark's dynamic partition overwrite: it deletes each partition folder
    it writes and writes new part files (plus Spark's local litter)."""
    job, _ = create_job(
        aws,
        bucket,
        script(
            """
            import shutil
            out = args["--output"]
            for day in args["--days"].split(","):
                folder = os.path.join(out, f"order_date={day}")
                shutil.rmtree(folder, ignore_errors=True)
                os.makedirs(folder)
                with open(os.path.join(folder, f"part-{args['--tag']}.parquet"), "w") as fh:
                    fh.write(args["--tag"] + day)
                open(os.path.join(folder, f".part-{args['--tag']}.parquet.crc"), "w").write("x")
            os.makedirs(os.path.join(out, "_temporary", "0"), exist_ok=True)
            open(os.path.join(out, "_temporary", "0", "inflight"), "w").write("x")
            open(os.path.join(out, "_SUCCESS"), "w").close()
            """
        ),
        DefaultArguments={"--output": f"s3://{bucket}/processed-data/daily_sales/"},
    )
    aws.s3.put_object(Bucket=bucket, Key="processed-data/other/keep.parquet", Body=b"other")

    first = aws.glue.start_job_run(
        JobName=job, Arguments={"--days": "2024-01-15,2024-01-16", "--tag": "a"}
    )["JobRunId"]
    assert wait_for_job_run(aws, job, first)["JobRunState"] == "SUCCEEDED"
    second = aws.glue.start_job_run(JobName=job, Arguments={"--days": "2024-01-16", "--tag": "b"})[
        "JobRunId"
    ]
    assert wait_for_job_run(aws, job, second)["JobRunState"] == "SUCCEEDED"
    assert [r["Id"] for r in aws.glue.get_job_runs(JobName=job)["JobRuns"]] == [second, first]

    assert keys(aws, bucket, "processed-data/") == [
        "processed-data/daily_sales/_SUCCESS",
        "processed-data/daily_sales/order_date=2024-01-15/part-a.parquet",
        "processed-data/daily_sales/order_date=2024-01-16/part-b.parquet",
        "processed-data/other/keep.parquet",
    ]
    new = aws.s3.get_object(
        Bucket=bucket, Key="processed-data/daily_sales/order_date=2024-01-16/part-b.parquet"
    )
    assert new["Body"].read() == b"b2024-01-16"


def test_concurrent_run_limit_and_batch_stop(aws: Aws, bucket: str, tmp_path: Path) -> None:
    job, _ = create_job(
        aws,
        bucket,
        script(
            """
            open(args["--pid_file"], "w").write(str(os.getpid()))
            time.sleep(300)
            """
        ),
    )
    pid_file = tmp_path / "pid"
    run_id = aws.glue.start_job_run(JobName=job, Arguments={"--pid_file": str(pid_file)})[
        "JobRunId"
    ]
    wait_for(lambda: pid_file.exists() and pid_file.read_text(), bool, timeout=30)
    pid = int(pid_file.read_text())

    with pytest.raises(ClientError) as refused:
        aws.glue.start_job_run(JobName=job)
    assert refused.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    assert aws.glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"] == "RUNNING"

    stopped = aws.glue.batch_stop_job_run(JobName=job, JobRunIds=[run_id, "jr_unknown"])
    assert stopped["SuccessfulSubmissions"] == [{"JobName": job, "JobRunId": run_id}]
    assert [e["JobRunId"] for e in stopped["Errors"]] == ["jr_unknown"]
    run = wait_for_job_run(aws, job, run_id)
    assert run["JobRunState"] == "STOPPED"
    assert not psutil.pid_exists(pid)
    # the slot is free again
    again = aws.glue.start_job_run(JobName=job, Arguments={"--pid_file": str(tmp_path / "p2")})
    wait_for(lambda: (tmp_path / "p2").exists(), bool, timeout=30)
    aws.glue.batch_stop_job_run(JobName=job, JobRunIds=[again["JobRunId"]])
    assert wait_for_job_run(aws, job, again["JobRunId"])["JobRunState"] == "STOPPED"


def test_update_job_replaces_the_definition(aws: Aws, bucket: str) -> None:
    job, location = create_job(aws, bucket, "print('v1')\n", DefaultArguments={"--a": "1"})
    aws.glue.update_job(
        JobName=job,
        JobUpdate={
            "Role": "arn:aws:iam::123456789012:role/other",
            "Command": {"Name": "glueetl", "ScriptLocation": location},
            "DefaultArguments": {"--b": "2"},
            "ExecutionProperty": {"MaxConcurrentRuns": 3},
        },
    )
    definition = aws.glue.get_job(JobName=job)["Job"]
    assert definition["Role"] == "arn:aws:iam::123456789012:role/other"
    assert definition["DefaultArguments"] == {"--b": "2"}
    assert definition["ExecutionProperty"] == {"MaxConcurrentRuns": 3}
    assert "GlueVersion" not in definition  # UpdateJob overwrites the whole definition


@dataclass
class RecordingRun:
    """Stands in for the moto run object so the timeout can be a fraction of a minute."""

    job_name: str
    job_run_id: str
    account_id: str
    region: str
    script_location: str
    arguments: dict[str, str]
    timeout_minutes: float
    states: list[tuple[str, str | None]] = field(default_factory=list)

    def set_state(self, state: str, *, error: str | None = None) -> None:
        self.states.append((state, error))


def test_timeout_kills_the_script(endpoint, aws: Aws, bucket: str) -> None:
    _, location = create_job(
        aws, bucket, "import time\nprint('sleeping', flush=True)\ntime.sleep(300)\n"
    )
    run = RecordingRun(
        job_name="timeout-job",
        job_run_id=f"jr_timeout_{int(time.time() * 1000)}",
        account_id="123456789012",
        region="us-east-1",
        script_location=location,
        arguments={},
        timeout_minutes=0.02,  # 1.2 seconds
    )
    runner = GlueJobRunner(endpoint_state.current(), run)  # type: ignore[arg-type]
    started = time.monotonic()
    runner.start()
    wait_for(lambda: run.states, lambda s: bool(s) and s[-1][0] == "TIMEOUT", timeout=60)
    assert time.monotonic() - started < 30
    assert [s for s, _ in run.states] == ["RUNNING", "TIMEOUT"]
    assert run.states[-1][1] == "Job run timed out after 0.02 minutes"
    assert not endpoint.child_pids()
