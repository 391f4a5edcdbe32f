"""A rerun killed (SIGKILL, as a Glue timeout or StopJobRun kills a job) at three points
changes nothing a reader of the catalog sees, never reads as succeeded, and the rerun after
it is exact against the in-order run from scratch.

One lake (the recipe's first three days), one Glue database on the local endpoint; the
killed reruns run the job's entry script in a process of their own (the fault points of
``sales_job.publishing.fault_points``, which no run on Glue can reach), the rest runs
in-process, its catalog calls made as the Glue role and checked against the stack's policy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from local.aws_local import GLUE_ROLE, GLUE_ROLE_ACCESS_KEY, REGION
from local.data.synthetic_sales import write_recipe_sample_lake
from local.endpoint.http.call_log import Call, CallLog
from local.endpoint.spark.class_archive import local_spark_submit_args
from local.provision import ensure_database, ensure_processed_tables
from local.repo import REPO_ROOT
from local.stack_config import local_config
from sales_contract.layout import PROCESSED_TABLES
from sales_etl.config import PipelineConfig
from sales_job.publishing.catalog import GlueCatalog
from sales_job.publishing.fault_points import KILL_AT_VARIABLE
from tests.support.endpoint import suite_endpoint, unique
from tests.support.iam.evaluation import evaluate, statements_of
from tests.support.iam.policies import render_role_policies
from tests.support.lake import job_args, read_manifest
from tests.support.spark_settings import NO_CODEGEN, submit_conf_args

pytestmark = pytest.mark.child_process

DAYS = ("2024-01-15", "2024-01-16", "2024-01-17")
RERUN_DAY = DAYS[0]  # its rerun rebuilds customer_metrics of both later days
BUCKET = "killed-runs-lake"  # the tables' locations; the job writes the lake folder itself
# A short-lived JVM: the quick JIT and the class archive `make venv` records, as the
# endpoint's own job processes start, and no code generated per query, as the test session
# (tests/support/spark_settings.py).
SPARK_ARGS = f"--master local[1] {submit_conf_args(NO_CODEGEN)} {local_spark_submit_args()}"


@dataclass
class KilledRunLake:
    base: Path
    catalog: GlueCatalog
    env: dict[str, str]  # a job process's: the endpoint's Glue under the Glue role's key
    cfg: PipelineConfig  # the stack's names for this lake's bucket and database
    call_log: CallLog

    def run_in_process(self, spark: Any, day: str) -> dict[str, Any]:
        from sales_job.daily_run import run_sales_etl

        return run_sales_etl(spark, job_args(self.base, day), self.catalog)

    def run_process(self, day: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
        script = REPO_ROOT / "glue_scripts" / "sales_etl_job.py"
        args = [
            sys.executable, str(script), "--JOB_NAME", "sales_etl", "--JOB_RUN_ID", "jr_local",
            "--run_date", day, "--data_uri", str(self.base),
            "--glue_database", self.catalog.database,
        ]  # fmt: skip
        env = {**self.env, **({KILL_AT_VARIABLE: kill_at} if kill_at else {})}
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)

    def published(self) -> dict[tuple[str, str], tuple[str, dict[str, bytes]]]:
        """(table, day) -> (its partition's location, the files there: name -> bytes)."""
        found = {}
        for table in PROCESSED_TABLES:
            for day, location in self.catalog.partitions(table).items():
                folder = self.folder(location)
                files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
                found[(table, day.isoformat())] = (location, files)
        return found

    def folder(self, location: str) -> Path:
        return self.base / location.removeprefix(f"s3://{BUCKET}/").rstrip("/")

    def published_rows(self) -> dict[tuple[str, str], list[str]]:
        """(table, day) -> its published rows, sorted (read with pyarrow: no Spark job)."""
        return {
            key: sorted(map(repr, pq.read_table(self.folder(loc)).to_pylist()))
            for key, (loc, _files) in self.published().items()
        }

    def version_folders(self) -> set[Path]:
        return {p for p in (self.base / "processed-data").glob("*/*/run-*") if p.is_dir()}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Iterator[KilledRunLake]:
    work = tmp_path_factory.mktemp("killed-runs")
    with suite_endpoint(work / "endpoint") as endpoint:
        database = unique("killed_runs").replace("-", "_")
        cfg = local_config(bucket=BUCKET, glue_database=database)
        ensure_database(endpoint.clients.client("glue"), database)
        ensure_processed_tables(endpoint.clients.client("glue"), cfg)
        # The job's catalog calls are the Glue role's, in-process as in a job process.
        glue = endpoint.clients.client("glue", access_key=GLUE_ROLE_ACCESS_KEY)
        base = work / "lake"
        write_recipe_sample_lake(base)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint.url,
            **endpoint.clients.credentials(GLUE_ROLE_ACCESS_KEY),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_SUBMIT_ARGS": SPARK_ARGS,
        }
        lake = KilledRunLake(base, GlueCatalog(glue, database), env, cfg, endpoint.call_log)
        for day in DAYS:  # in order, from scratch
            assert lake.run_in_process(spark, day)["status"] == "succeeded"
        yield lake


@pytest.fixture(scope="module")
def from_scratch(lake: KilledRunLake) -> dict[tuple[str, str], list[str]]:
    rows = lake.published_rows()
    assert len(rows) == 3 * len(DAYS)
    return rows


POINTS = ("after_first_write", "during_rebuild", "before_publish")


@pytest.mark.parametrize("point", POINTS)
def test_a_killed_rerun_changes_nothing_published_and_the_next_rerun_is_exact(
    lake: KilledRunLake, from_scratch: dict, spark: Any, point: str
) -> None:
    before = lake.published()
    versions_before = lake.version_folders()

    killed = lake.run_process(RERUN_DAY, kill_at=point)

    assert killed.returncode == -9, killed.stdout[-3000:] + killed.stderr[-3000:]
    assert f"sales_etl: killed at {point}" in killed.stdout
    assert lake.published() == before  # every partition: same location, same bytes
    assert read_manifest(lake.base, RERUN_DAY)["status"] == "running"
    # It did write: versions no partition points at, which readers never see.
    assert lake.version_folders() > versions_before

    with lake.call_log.recording() as calls:
        assert lake.run_in_process(spark, RERUN_DAY)["status"] == "succeeded"
    assert_allowed_and_repointed(lake, calls)

    assert lake.published_rows() == from_scratch
    # What the killed run and the rerun replaced is gone: one version per table-day.
    published = {lake.folder(loc) for loc, _files in lake.published().values()}
    assert lake.version_folders() == published


def assert_allowed_and_repointed(lake: KilledRunLake, calls: set[Call]) -> None:
    """The rerun repointed its day's partitions (and the later days' customer_metrics) with
    only calls the stack's Glue role policy allows, on the three tables."""
    glue_calls = {c for c in calls if c.principal == GLUE_ROLE and c.action.startswith("glue:")}
    assert {c.action for c in glue_calls} == {
        "glue:GetTable",
        "glue:GetPartitions",
        "glue:UpdatePartition",  # every partition it wrote was published before: repointed
    }
    policies = render_role_policies(lake.cfg)
    evaluation = evaluate(glue_calls, {GLUE_ROLE: statements_of(GLUE_ROLE, policies[GLUE_ROLE])})
    assert not evaluation.denied, "\n".join(map(str, evaluation.denied))
    tables = {c.resource.rsplit("/", 1)[-1] for c in glue_calls if ":table/" in c.resource}
    assert tables == set(PROCESSED_TABLES)
    manifest = read_manifest(lake.base, RERUN_DAY)
    for table in PROCESSED_TABLES:
        location = manifest["published"][table][RERUN_DAY]
        assert location.startswith(f"s3://{BUCKET}/processed-data/{table}/")
        partitions = {str(d): loc for d, loc in lake.catalog.partitions(table).items()}
        assert partitions[RERUN_DAY] == location
