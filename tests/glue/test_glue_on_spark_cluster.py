"""The Glue job on a real Spark cluster: a standalone master and two workers on 127.0.0.1.

Glue runs the job's driver and its executors in separate JVMs on separate hosts, so anything
that works only because `local[*]` runs every task inside the driver (a file read or written
by the driver alone, a module only the driver can import, a temp path only it can see) breaks
there. This starts the master and workers from pyspark's own install (`spark-class`), runs the
job's entry point as Glue would (the published script, the `sales_job` package only from the
published `sales_etl_lib.zip`, shipped to executors with `--py-files` as Glue's
`--extra-py-files` does) on a small lake, day 1 then day 2, and requires every output to be
identical to the same runs on `local[2]`, each on its own copy of the lake.

The job uses no Python UDFs, so executors never start Python; the zip still reaches them, the
way Glue ships it, and the test checks that it did.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pyspark
import pytest

from benchmarks.spark_event_log import event_log_file, executors_added, read_events
from deploy.artifacts import glue_script_objects
from local.data.synthetic_sales import write_synthetic_lake
from local.process_group import stop_process_group

pytestmark = pytest.mark.cluster

REPO_ROOT = Path(__file__).resolve().parents[2]
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
# Both modes run with the same settings; small data, short JVMs: the quick JIT tier only.
COMMON_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
    "spark.executor.extraJavaOptions": "-XX:TieredStopAtLevel=1",
}
# The cluster runs' event logs show which executors ran the tasks (local runs need none).
CLUSTER_CONF = {
    "spark.eventLog.enabled": "true",
    "spark.executor.memory": "512m",
    "spark.executor.cores": "1",
    "spark.cores.max": str(WORKERS),
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spark_daemon_env(tmp: Path) -> dict[str, str]:
    """Spark's own launch scripts, from the venv's pyspark, every address on loopback."""
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        pytest.skip("no Java: set JAVA_HOME or put java on PATH")
    return {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_DIRS": str(tmp / "local-dirs"),
        "SPARK_DAEMON_JAVA_OPTS": "-XX:TieredStopAtLevel=1",  # short-lived daemons: quick JIT
    }


# --------------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    master_url: str
    webui_port: int
    worker_dirs: list[Path]

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


def wait_for_workers(cluster: Cluster, procs: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                pytest.fail(f"{log.name} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            if cluster.state().get("aliveworkers") == WORKERS:
                return
        except OSError:
            pass  # the master's web UI is not up yet
        time.sleep(0.2)
    pytest.fail(f"{WORKERS} workers did not register in {START_TIMEOUT_S}s:\n{_tail(logs[0])}")


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
        running = Cluster(master_url, webui, worker_dirs)
        wait_for_workers(running, procs, logs)
        yield running
    finally:
        # Workers first (each stops its executors), then the master; by process group only.
        for proc in reversed(procs):
            stop_process_group(proc, grace=10, whole_group=True)


# --------------------------------------------------------------------------- the job runs


@dataclass
class JobRuns:
    lake: Path
    event_logs: list[Path]  # one per day, on the cluster


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


def on_cluster(master: str) -> bool:
    return master.startswith("spark://")


def job_env(master: str, library: Path, events: Path, tmp: Path) -> dict[str, str]:
    conf = dict(COMMON_CONF)
    if on_cluster(master):
        conf.update(CLUSTER_CONF, **{"spark.eventLog.dir": events.as_uri()})
    conf_args = " ".join(f"--conf {key}={value}" for key, value in conf.items())
    return {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_DIRS": str(tmp / "local-dirs"),
        # As on Glue: --extra-py-files is on the driver's path before anything else ...
        "PYTHONPATH": os.pathsep.join(p for p in (str(library), os.environ.get("PYTHONPATH")) if p),
        # ... and shipped to every executor.
        "PYSPARK_SUBMIT_ARGS": f"--master {master} --py-files {library} {conf_args} pyspark-shell",
    }


def run_job_days(master: str, lake: Path, code: tuple[Path, Path], tmp: Path) -> JobRuns:
    """Day 1 then day 2 (which reads day 1's customer_metrics), each a fresh application."""
    script, library = code
    event_logs = []
    for day in DAYS:
        events = tmp / f"events-{day}"
        events.mkdir(parents=True)
        argv = [sys.executable, str(script), "--run_date", day, "--data_uri", str(lake)]
        argv += ["--max_quarantine_ratio", "0.5"]
        done = subprocess.run(
            argv,
            env=job_env(master, library, events, tmp),
            cwd=tmp,  # Spark's default warehouse folder and any stray file land here
            capture_output=True,
            text=True,
            timeout=JOB_TIMEOUT_S,
        )
        assert done.returncode == 0, (
            f"{master} {day}: exit {done.returncode}\n{done.stderr[-4000:]}"
        )
        if on_cluster(master):
            event_logs.append(event_log_file(events))
    return JobRuns(lake, event_logs)


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


@dataclass
class Runs:
    local: JobRuns
    cluster: JobRuns
    spark_cluster: Cluster


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Runs:
    """Both modes' runs. local[2] starts first, in a thread, while the cluster starts up."""
    tmp = tmp_path_factory.mktemp("cluster-job")
    code = stage_glue_code(tmp / "published")
    write_lake(tmp / "lake")
    for mode in ("local", "cluster"):
        shutil.copytree(tmp / "lake", tmp / mode / "lake")
    with ThreadPoolExecutor(max_workers=1) as pool:
        local: Future[JobRuns] = pool.submit(
            run_job_days, "local[2]", tmp / "local" / "lake", code, tmp / "local"
        )
        # Requested here, not as an argument, so the local runs overlap the cluster's start.
        spark_cluster: Cluster = request.getfixturevalue("cluster")
        on_cluster = run_job_days(
            spark_cluster.master_url, tmp / "cluster" / "lake", code, tmp / "cluster"
        )
        return Runs(local.result(), on_cluster, spark_cluster)


# --------------------------------------------------------------------------- reading outputs


def manifests(lake: Path) -> list[dict[str, Any]]:
    """Each day's manifest, with the lake's own location written as LAKE."""
    found = []
    for day in DAYS:
        text = (lake / "manifests" / f"run_date={day}" / "manifest.json").read_text()
        found.append(json.loads(text.replace(lake.as_uri(), "LAKE").replace(str(lake), "LAKE")))
    return found


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


def test_both_days_succeeded_with_quarantine_and_history(runs: Runs) -> None:
    for mode, lake in (("local", runs.local.lake), ("cluster", runs.cluster.lake)):
        first, second = manifests(lake)
        assert [first["status"], second["status"]] == ["succeeded", "succeeded"], mode
        assert first["rows_quarantined"] > 0 and second["rows_quarantined"] > 0, mode
        assert first["input_files"]["count"] == 3, mode
    written = partitions(runs.cluster.lake)
    assert f"processed-data/customer_metrics/as_of_date={DAYS[1]}" in written
    assert f"quarantine/sales/order_date={DAYS[1]}" in written


def test_manifests_identical(runs: Runs) -> None:
    assert manifests(runs.cluster.lake) == manifests(runs.local.lake)


def test_every_parquet_partition_identical(runs: Runs) -> None:
    on_cluster, local = partitions(runs.cluster.lake), partitions(runs.local.lake)
    assert sorted(on_cluster) == sorted(local)
    assert len(on_cluster) == len(TABLES) * len(DAYS)
    for name, (schema, rows) in local.items():
        assert rows, name
        assert on_cluster[name] == (schema, rows), name


def test_cluster_runs_used_executors_on_the_workers(runs: Runs) -> None:
    """Executors on the workers ran the tasks: none ran inside the driver."""
    for log in runs.cluster.event_logs:
        events = list(read_events(log))
        executors = executors_added(events)
        assert len(executors) >= WORKERS, log
        assert all(e.executor_id != "driver" and e.host == "127.0.0.1" for e in executors)
        task_executors = {
            e["Task Info"]["Executor ID"]
            for e in events
            if e.get("Event") == "SparkListenerTaskEnd"
        }
        assert task_executors, log
        assert task_executors <= {e.executor_id for e in executors}, task_executors


def test_library_zip_reached_every_executor_and_the_driver_imported_it(runs: Runs) -> None:
    """The executors got sales_etl_lib.zip; the driver's call sites are inside the zip."""
    for log in runs.cluster.event_logs:
        events = list(read_events(log))
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
