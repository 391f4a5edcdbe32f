"""Glue runs reuse one warm Spark driver, yet each run sees only its own code, env and SQL state."""

from __future__ import annotations

import json
import textwrap
import uuid

import pytest
from pyspark.sql import SparkSession

from deploy.artifacts import publish_glue_scripts
from local.endpoint import RunningEndpoint
from local.endpoint import state as endpoint_state
from local.endpoint.spark import spark_worker
from local.repo import REPO_ROOT
from tests.support.endpoint import (
    Aws,
    create_job,
    glue_driver_messages,
    lambda_zip,
    wait_for_job_run,
)

REPORT = textwrap.dedent(
    """
    import json, os, sys
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    def report(**values):
        print("REPORT " + json.dumps({"pid": os.getpid(), **values}), flush=True)
    """
)


def finished(aws: Aws, job: str, run_id: str) -> tuple[dict, dict]:
    """Wait for a successful run; return it and what its script reported."""
    run = wait_for_job_run(aws, job, run_id, timeout=180)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    lines = [
        m for m in glue_driver_messages(aws, "/aws-glue/jobs/output", run_id) if "REPORT " in m
    ]
    assert len(lines) == 1, lines
    return run, json.loads(lines[0].split("REPORT ", 1)[1])


def run_job(aws: Aws, job: str) -> tuple[dict, dict]:
    return finished(aws, job, aws.glue.start_job_run(JobName=job)["JobRunId"])


def test_consecutive_runs_share_the_process_but_see_new_code_and_a_clean_env(
    aws: Aws, bucket: str
) -> None:
    aws.s3.put_object(Bucket=bucket, Key="libs/helpers.py", Body=b"VERSION = 'v1'\n")
    job, _ = create_job(
        aws,
        bucket,
        REPORT
        + textwrap.dedent(
            """
            import helpers
            report(version=helpers.VERSION, leaked=os.environ.get("LEAKED"), argv=sys.argv[1:3],
                   cwd=os.getcwd())
            os.environ["LEAKED"] = "yes"
            """
        ),
        DefaultArguments={"--extra-py-files": f"s3://{bucket}/libs/helpers.py"},
    )

    _, first = run_job(aws, job)
    aws.s3.put_object(Bucket=bucket, Key="libs/helpers.py", Body=b"VERSION = 'v2'\n")
    second_run, second = run_job(aws, job)

    assert second["pid"] == first["pid"]  # the same warm process ran both
    assert (first["version"], second["version"]) == ("v1", "v2")
    assert second["leaked"] is None
    assert second["argv"] == ["--JOB_NAME", job]
    assert second["cwd"].endswith(second_run["Id"])


@pytest.mark.parametrize("warm", [True, False], ids=["warm-worker", "fresh-process"])
def test_a_run_imports_the_job_library_from_its_own_zip(
    aws: Aws, bucket: str, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    # glue_scripts/ is on every venv Python's sys.path too: the zip must win over it, and a
    # warm run must not keep the package that an earlier run imported.
    if not warm:
        monkeypatch.setattr(endpoint_state.current(), "warm_spark", None)
    library = publish_glue_scripts(aws.s3, bucket, REPO_ROOT / "glue_scripts").extra_py_files
    job, _ = create_job(
        aws,
        bucket,
        REPORT
        + textwrap.dedent(
            """
            import sales_job.contract as contract
            report(file=contract.__file__, origin=getattr(contract, "ORIGIN", "published"))
            """
        ),
        DefaultArguments={"--extra-py-files": library},
    )

    _, published = run_job(aws, job)
    replacement = {"sales_job/__init__.py": "", "sales_job/contract.py": "ORIGIN = 'zip v2'\n"}
    aws.s3.put_object(Bucket=bucket, Key=library.split("/", 3)[3], Body=lambda_zip(replacement))
    _, replaced = run_job(aws, job)

    assert published["file"] == f"{library}/sales_job/contract.py"  # inside the staged zip
    assert (published["origin"], replaced["origin"]) == ("published", "zip v2")
    assert (replaced["pid"] == published["pid"]) is warm


def test_spark_sql_conf_cache_and_views_do_not_carry_over(aws: Aws, bucket: str) -> None:
    job, _ = create_job(
        aws,
        bucket,
        REPORT
        + textwrap.dedent(
            """
            from pyspark.sql import SparkSession
            spark = SparkSession.builder.getOrCreate()
            report(partitions=spark.conf.get("spark.sql.shuffle.partitions"),
                   views=[t.name for t in spark.catalog.listTables()])
            spark.conf.set("spark.sql.shuffle.partitions", "7")
            spark.range(3).cache().createOrReplaceTempView("left_behind")
            """
        ),
    )
    _, first = run_job(aws, job)
    _, second = run_job(aws, job)

    assert second["pid"] == first["pid"]
    assert first == second  # the second run starts from the same state as the first
    assert (second["partitions"], second["views"]) == ("2", [])


@pytest.mark.parametrize(
    ("ending", "state", "message"),
    [
        ("sys.exit(0)", "SUCCEEDED", None),
        ("sys.exit(3)", "FAILED", "Glue job script exited with code 3"),
        ("sys.exit('no input')", "FAILED", "no input (script exited with code 1)"),
    ],
)
def test_exit_status_is_what_a_fresh_process_would_return(
    aws: Aws, bucket: str, ending: str, state: str, message: str | None
) -> None:
    job, _ = create_job(aws, bucket, f"import sys\n{ending}\n")
    run_id = aws.glue.start_job_run(JobName=job)["JobRunId"]
    run = wait_for_job_run(aws, job, run_id, timeout=180)
    assert (run["JobRunState"], run.get("ErrorMessage")) == (state, message)


def test_a_run_that_finds_the_worker_busy_gets_its_own_process(aws: Aws) -> None:
    jobs = []
    for _ in range(2):  # two buckets: runs on one bucket would wait for each other
        bucket = f"warm-{uuid.uuid4().hex[:8]}"
        aws.s3.create_bucket(Bucket=bucket)
        # both sleep, so whichever run takes the worker still holds it when the other starts
        job, _ = create_job(aws, bucket, REPORT + "import time\ntime.sleep(2)\nreport()\n")
        jobs.append(job)
    runs = [aws.glue.start_job_run(JobName=job)["JobRunId"] for job in jobs]
    reports = [finished(aws, job, run_id)[1] for job, run_id in zip(jobs, runs, strict=True)]
    assert reports[0]["pid"] != reports[1]["pid"]


def test_waiting_for_the_warm_driver_starts_the_one_the_next_run_gets(
    endpoint: RunningEndpoint, aws: Aws, bucket: str
) -> None:
    endpoint_state.current().warm_spark.close()  # no driver: the wait must start one
    assert endpoint.wait_for_warm_spark()
    waiting = set(endpoint.child_pids())  # the new driver, idle: no run is going on
    job, _ = create_job(aws, bucket, REPORT + "report()\n")

    _, report = run_job(aws, job)

    assert report["pid"] in waiting


def test_the_warm_up_etl_runs_and_leaves_nothing_cached(spark: SparkSession) -> None:
    cached_before = spark.sparkContext._jsc.getPersistentRDDs().size()

    spark_worker.run_warm_up_etl(spark)

    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached_before
