"""The endpoint binds 127.0.0.1 only, reports bind problems, and its CLI cleans up."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from local.aws_local import DEVELOPER_ACCESS_KEY
from local.endpoint import EndpointError, RunningEndpoint, running_endpoint, start_endpoint
from local.endpoint_file import read_endpoint_file
from local.repo import REPO_ROOT
from tests.support.endpoint import Aws, create_job
from tests.support.polling import wait_for


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "localhost", "::"])
def test_non_loopback_host_is_refused(host: str) -> None:
    with pytest.raises(EndpointError, match=r"refusing to bind .*only listens on 127\.0\.0\.1"):
        start_endpoint(host=host)


def test_server_listens_on_loopback_only(endpoint: RunningEndpoint) -> None:
    listening = [
        conn
        for conn in psutil.Process().net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == endpoint.port
    ]
    assert listening, f"nothing listens on port {endpoint.port}"
    assert {conn.laddr.ip for conn in listening} == {"127.0.0.1"}
    assert endpoint.url == f"http://127.0.0.1:{endpoint.port}"
    assert running_endpoint() is endpoint


def test_port_in_use_is_a_clear_error(endpoint: RunningEndpoint) -> None:
    with pytest.raises(EndpointError, match=f"cannot listen on 127.0.0.1:{endpoint.port}"):
        start_endpoint(port=endpoint.port)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``python -m local.endpoint`` in a child process; killed by its PID if still running."""
    work_dir = tmp_path / "cli-work"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.endpoint", "--port", "0", "--work-dir", str(work_dir)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc, work_dir
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


@pytest.mark.child_process
def test_cli_serves_writes_state_file_and_stops_its_jobs_on_sigterm(
    cli: tuple[subprocess.Popen[str], Path], tmp_path: Path
) -> None:
    proc, work_dir = cli
    url = proc.stdout.readline().strip()  # type: ignore[union-attr]
    assert url.startswith("http://127.0.0.1:"), proc.stderr.read()  # type: ignore[union-attr]
    state_file = work_dir / "endpoint.json"
    # Where the key is, never the key itself (terminals and container logs are kept).
    ready = proc.stderr.readline()  # type: ignore[union-attr]
    assert str(state_file) in ready
    state = json.loads(state_file.read_text())
    assert state["pid"] == proc.pid
    assert state["url"] == url
    assert state["host"] == "127.0.0.1"
    assert state["aws_secret_access_key"] not in ready
    assert state["aws_access_key_id"] == DEVELOPER_ACCESS_KEY
    # The key is the developer's alone: no other account on the machine can read it.
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(work_dir.stat().st_mode) == 0o700

    aws = Aws(read_endpoint_file(state_file))
    # What the README tells the AWS CLI's users to eval.
    exports = subprocess.run(
        [sys.executable, "-m", "local.endpoint_file", str(state_file)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert f"export AWS_ENDPOINT_URL={url}\n" in exports
    assert f"export AWS_SECRET_ACCESS_KEY={state['aws_secret_access_key']}\n" in exports
    aws.s3.create_bucket(Bucket="cli-bucket")
    pid_file = tmp_path / "job.pid"
    script = (
        "import os, sys, time\n"
        "args = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
        "open(args['--pid_file'], 'w').write(str(os.getpid()))\n"
        "time.sleep(300)\n"
    )
    job, _ = create_job(aws, "cli-bucket", script)
    run_id = aws.glue.start_job_run(JobName=job, Arguments={"--pid_file": str(pid_file)})[
        "JobRunId"
    ]
    wait_for(lambda: pid_file.exists() and pid_file.read_text(), bool, timeout=30)
    job_pid = int(pid_file.read_text())
    assert aws.glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"] == "RUNNING"
    assert psutil.pid_exists(job_pid)

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not (work_dir / "endpoint.json").exists()
    deadline = time.monotonic() + 10
    while psutil.pid_exists(job_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(job_pid), "the job process outlived the endpoint"


def test_cli_refuses_other_hosts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local.endpoint", "--host", "0.0.0.0", "--port", "0"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to bind '0.0.0.0'" in result.stderr
    assert result.stdout == ""


def test_a_new_endpoint_starts_empty_after_another_stopped_in_the_process() -> None:
    # moto keeps its state per process; a child process, as the endpoint fixture here is live.
    script = """
from local.endpoint import start_endpoint

def buckets(endpoint):
    return [b["Name"] for b in endpoint.clients.client("s3").list_buckets()["Buckets"]]

first = start_endpoint(warm_spark=False)
first.clients.client("s3").create_bucket(Bucket="left-behind")
print(buckets(first))
first.stop()
second = start_endpoint(warm_spark=False)
print(buckets(second))
second.stop()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["['left-behind']", "[]"]
