"""The Glue job on a real Spark cluster: a standalone master and two workers on 127.0.0.1.

Glue runs the job's driver and its executors in separate JVMs on separate hosts, so anything
that works only because `local[*]` runs every task inside the driver (a file read or written
by the driver alone, a module only the driver can import, a temp path only it can see) breaks
there. This starts the master and workers from pyspark's own install (`spark-class`), runs the
job's entry point as Glue would (the published script, the `sales_job` package only from the
published `sales_etl_lib.zip`, shipped to executors with `--py-files` as Glue's
`--extra-py-files` does) on a small lake whose day 1 is processed, and requires day 2's outputs
to be identical to the same run on `local[2]` (the test session) on a copy of that lake. Day 2
reads day 1's customer_metrics, so the run exercises every read and write the job makes. The
cluster evaluates expressions as every local driver does, without generated code; the local
day 2 generates code per query, as Glue does: their bytes must still be the same.

The job uses no Python UDFs, so executors never start Python; the zip still reaches them, the
way Glue ships it, and the test checks that it did.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pyspark
import pytest

from benchmarks.spark_event_log import event_log_file, executors_added, read_events
from deploy.artifacts import glue_script_objects
from local.aws_local import GLUE_ROLE_ACCESS_KEY, REGION
from local.data.synthetic_sales import write_synthetic_lake
from local.process_group import stop_process_group
from local.provision import ensure_database, ensure_processed_tables
from local.repo import REPO_ROOT
from local.stack_config import local_config
from sales_job.daily_run import run_sales_etl
from sales_job.publishing.catalog import GlueCatalog
from tests.support.endpoint import suite_endpoint, unique
from tests.support.lake import job_args
from tests.support.spark_settings import CODEGEN, NO_CODEGEN, QUICK_JIT, submit_conf_args

pytestmark = pytest.mark.cluster

SPARK_HOME = Path(pyspark.__file__).parent
DAYS = ("2024-01-01", "2024-01-02")
# Table folder -> partition column, for every Parquet table the job writes.
TABLES = {
    "processed-data/daily_sales": "order_date",
    "processed-data/customer_daily": "order_date",
    "processed-data/customer_metrics": "as_of_date",
    "quarantine/sales": "order_date",
}
WORKERS = 2
START_TIMEOUT_S = 90
JOB_TIMEOUT_S = 300
MAX_QUARANTINE_RATIO = "0.5"
# As the test session's settings; small data, short JVMs: the quick JIT tier only, and
# expressions evaluated without generating Java code to compile. The event log shows which
# executors ran the tasks.
CLUSTER_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.extraJavaOptions": QUICK_JIT,
    "spark.executor.extraJavaOptions": QUICK_JIT,
    "spark.eventLog.enabled": "true",
    **NO_CODEGEN,
    "spark.executor.memory": "512m",
    "spark.executor.cores": "1",
    "spark.cores.max": str(WORKERS),
    # Standalone mode schedules as soon as one executor registers: a short job could end
    # before the second worker's executor joins. Wait for both (up to 60 s), as the test
    # needs tasks and the library on every worker.
    "spark.scheduler.minRegisteredResourcesRatio": "1.0",
    "spark.scheduler.maxRegisteredResourcesWaitingTime": "60s",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spark_daemon_env(tmp: Path) -> dict[str, str]:
    """Spark's own launch scripts, from the venv's pyspark, every address on loopback."""
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        pytest.fail("no Java: set JAVA_HOME or put java on PATH (the project needs Java 17)")
    return {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_DIRS": str(tmp / "local-dirs"),
        "SPARK_DAEMON_JAVA_OPTS": QUICK_JIT,  # short-lived daemons
    }


# --------------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    master_url: str
    webui_port: int
    worker_dirs: list[Path]
    procs: list[subprocess.Popen]
    logs: list[Path]

    def state(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.webui_port}/json/"
        # Loopback: never through a proxy the environment may name.
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(url, timeout=5) as response:
            return json.load(response)


def start_daemon(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`spark-class <class> <args>` in the foreground, leading its own process group."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its group holds the JVM and every executor it forks
        )


def wait_for_workers(cluster: Cluster) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for proc, log in zip(cluster.procs, cluster.logs, strict=True):
            if proc.poll() is not None:
                pytest.fail(f"{log.name} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            if cluster.state().get("aliveworkers") == WORKERS:
                return
        except OSError:
            pass  # the master's web UI is not up yet
        time.sleep(0.2)
    pytest.fail(
        f"{WORKERS} workers did not register in {START_TIMEOUT_S}s:\n{_tail(cluster.logs[0])}"
    )


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("spark-cluster")
    env = spark_daemon_env(tmp)
    port, webui = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    logs: list[Path] = []
    worker_dirs = [tmp / f"worker-{n}" for n in range(1, WORKERS + 1)]
    try:
        master_args = ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
        master_args += ["--port", str(port), "--webui-port", str(webui)]
        logs.append(tmp / "master.log")
        procs.append(start_daemon(master_args, env, logs[-1]))
        for work_dir in worker_dirs:
            work_dir.mkdir()
            worker_args = ["org.apache.spark.deploy.worker.Worker", master_url]
            worker_args += ["--host", "127.0.0.1", "--cores", "1", "--memory", "1g"]
            worker_args += ["--webui-port", str(free_port()), "--work-dir", str(work_dir)]
            logs.append(tmp / f"{work_dir.name}.log")
            worker_env = {**env, "SPARK_WORKER_DIR": str(work_dir)}
            procs.append(start_daemon(worker_args, worker_env, logs[-1]))
        # Not waited for here: the daemons start while the local runs go on (``runs``).
        yield Cluster(master_url, webui, worker_dirs, procs, logs)
    finally:
        # Workers first (each stops its executors), then the master; by process group only.
        for proc in reversed(procs):
            stop_process_group(proc, grace=10, whole_group=True)


# --------------------------------------------------------------------------- the job runs


def stage_glue_code(folder: Path) -> tuple[Path, Path]:
    """The entry script and library zip exactly as the deploy publishes them to S3."""
    folder.mkdir()
    written = []
    for key, body, _content_type in glue_script_objects(REPO_ROOT / "glue_scripts"):
        path = folder / key.rsplit("/", 1)[-1]
        path.write_bytes(body)
        written.append(path)
    script, library = written
    return script, library


def cluster_env(master: str, library: Path, events: Path, tmp: Path) -> dict[str, str]:
    conf = {**CLUSTER_CONF, "spark.eventLog.dir": events.as_uri()}
    conf_args = submit_conf_args(conf)
    return {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_DIRS": str(tmp / "local-dirs"),
        # As on Glue: --extra-py-files is on the driver's path before anything else ...
        "PYTHONPATH": os.pathsep.join(p for p in (str(library), os.environ.get("PYTHONPATH")) if p),
        # ... and shipped to every executor.
        "PYSPARK_SUBMIT_ARGS": f"--master {master} --py-files {library} {conf_args} pyspark-shell",
    }


def run_on_cluster(
    master: str, lake: Path, day: str, tmp: Path, database: str, aws_env: dict[str, str]
) -> Path:
    """The published job as a fresh application on the cluster, publishing in ``database``
    on the local endpoint (``aws_env``); returns its event log."""
    script, library = stage_glue_code(tmp / "published")
    events = tmp / "events"
    events.mkdir()
    argv = [sys.executable, str(script), "--run_date", day, "--data_uri", str(lake)]
    done = subprocess.run(
        [*argv, "--max_quarantine_ratio", MAX_QUARANTINE_RATIO, "--glue_database", database],
        env={**cluster_env(master, library, events, tmp), **aws_env},
        cwd=tmp,  # Spark's default warehouse folder and any stray file land here
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT_S,
    )
    assert done.returncode == 0, f"{master} {day}: exit {done.returncode}\n{done.stderr[-4000:]}"
    return event_log_file(events)


def write_lake(base: Path) -> None:
    """Two days, several files each, with bad rows of every kind the generator makes."""
    write_synthetic_lake(
        base,
        start=date.fromisoformat(DAYS[0]),
        days=len(DAYS),
        orders_per_day=300,
        customers=40,
        bad_row_rate=0.05,
        files_per_day=3,
        seed=14,
    )


@contextmanager
def code_generated_per_query(spark) -> Iterator[None]:
    """Spark's defaults, as on Glue, for a run in the session (which sets ``NO_CODEGEN``)."""
    saved = {key: spark.conf.get(key) for key in CODEGEN}
    for key, value in CODEGEN.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            spark.conf.set(key, value)


@dataclass
class Runs:
    local_lake: Path
    cluster_lake: Path
    event_log: Path  # of the cluster run
    spark_cluster: Cluster


@pytest.fixture(scope="module")
def runs(spark, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Two equal lakes, each publishing in a Glue database of its own on the local endpoint:
    day 1 processed locally on both; then day 2 on the cluster and on local[2]."""
    tmp = tmp_path_factory.mktemp("cluster-job")
    first_day, day = DAYS
    ratio = MAX_QUARANTINE_RATIO
    with suite_endpoint(tmp / "endpoint") as endpoint:
        glue = endpoint.clients.client("glue")
        catalogs = {}
        for mode in ("local", "cluster"):
            database = unique(f"cluster_{mode}").replace("-", "_")
            ensure_database(glue, database)
            ensure_processed_tables(
                glue, local_config(bucket=f"{mode}-lake", glue_database=database)
            )
            catalogs[mode] = GlueCatalog(glue, database)
            write_lake(tmp / mode / "lake")
            args = job_args(tmp / mode / "lake", first_day, max_quarantine_ratio=ratio)
            run_sales_etl(spark, args, catalogs[mode])
        aws_env = {
            "AWS_ENDPOINT_URL": endpoint.url,
            **endpoint.clients.credentials(GLUE_ROLE_ACCESS_KEY),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
        database = catalogs["cluster"].database
        wait_for_workers(cluster)
        event_log = run_on_cluster(
            cluster.master_url, tmp / "cluster" / "lake", day, tmp / "cluster", database, aws_env
        )
        args = job_args(tmp / "local" / "lake", day, max_quarantine_ratio=ratio)
        with code_generated_per_query(spark):
            run_sales_etl(spark, args, catalogs["local"])
    return Runs(tmp / "local" / "lake", tmp / "cluster" / "lake", event_log, cluster)


# --------------------------------------------------------------------------- reading outputs


def manifest(lake: Path, day: str = DAYS[1]) -> dict[str, Any]:
    """The day's manifest, with the lake's own location written as LAKE, its bucket as BUCKET
    and each run's version folder as run-VERSION."""
    text = (lake / "manifests" / f"run_date={day}" / "manifest.json").read_text()
    text = text.replace(lake.as_uri(), "LAKE").replace(str(lake), "LAKE")
    text = re.sub(r"s3://(local|cluster)-lake/", "s3://BUCKET/", text)
    return json.loads(re.sub(r"run-[0-9a-f]{12}", "run-VERSION", text))


def partitions(lake: Path) -> dict[str, tuple[str, list[str]]]:
    """Every partition written: 'table/column=value' -> (schema, rows sorted)."""
    found = {}
    for table, column in TABLES.items():
        for folder in sorted((lake / table).glob(f"{column}=*")):
            data = pq.read_table(folder)
            rows = sorted(repr(sorted(row.items())) for row in data.to_pylist())
            found[f"{table}/{folder.name}"] = (str(data.schema), rows)
    return found


# --------------------------------------------------------------------------- the checks


def test_day_two_succeeded_with_quarantine_and_history(runs: Runs) -> None:
    for mode, lake in (("local", runs.local_lake), ("cluster", runs.cluster_lake)):
        run = manifest(lake)
        assert run["status"] == "succeeded", mode
        assert run["rows_quarantined"] > 0, mode
        assert run["input_files"]["count"] == 3, mode
    written = partitions(runs.cluster_lake)
    assert f"processed-data/customer_metrics/as_of_date={DAYS[1]}" in written
    assert f"quarantine/sales/order_date={DAYS[1]}" in written


def test_manifests_identical(runs: Runs) -> None:
    assert manifest(runs.cluster_lake) == manifest(runs.local_lake)


def test_every_parquet_partition_identical(runs: Runs) -> None:
    on_cluster, local = partitions(runs.cluster_lake), partitions(runs.local_lake)
    assert sorted(on_cluster) == sorted(local)
    assert len(on_cluster) == len(TABLES) * len(DAYS)
    for name, (schema, rows) in local.items():
        assert rows, name
        assert on_cluster[name] == (schema, rows), name


def test_cluster_run_used_executors_on_the_workers(runs: Runs) -> None:
    """Executors on the workers ran the tasks: none ran inside the driver."""
    events = list(read_events(runs.event_log))
    executors = executors_added(events)
    assert len(executors) >= WORKERS
    assert all(e.executor_id != "driver" and e.host == "127.0.0.1" for e in executors)
    task_executors = {
        e["Task Info"]["Executor ID"] for e in events if e.get("Event") == "SparkListenerTaskEnd"
    }
    assert task_executors
    assert task_executors <= {e.executor_id for e in executors}, task_executors


def test_library_zip_reached_every_executor_and_the_driver_imported_it(runs: Runs) -> None:
    """The executors got sales_etl_lib.zip; the driver's call sites are inside the zip."""
    events = list(read_events(runs.event_log))
    app_id = next(e["App ID"] for e in events if e["Event"] == "SparkListenerApplicationStart")
    shipped = [
        p
        for work_dir in runs.spark_cluster.worker_dirs
        for p in (work_dir / app_id).glob("*/sales_etl_lib.zip")
    ]
    assert len(shipped) == WORKERS, (app_id, shipped)
    call_sites = [
        e["Properties"].get("callSite.short", "")
        for e in events
        if e["Event"] == "SparkListenerJobStart"
    ]
    ours = [site for site in call_sites if "sales_job/" in site]
    assert ours, call_sites
    assert all("sales_etl_lib.zip/sales_job/" in site for site in ours), ours
