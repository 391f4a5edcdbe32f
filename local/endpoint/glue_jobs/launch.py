"""Start a Glue job's script: in the warm Spark driver when it is free, else in a new process.

Either way the script runs as ``<script> --JOB_NAME <name> --JOB_RUN_ID <id> <args>`` with
the job's environment (``job_environment``): this endpoint and its key under the Glue role's
key id, no real AWS credentials or files, and laptop-sized Spark (``spark/class_archive.py``).
Its stdout and stderr arrive in one pipe, so their lines keep the order the script wrote them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local.aws_local import GLUE_ROLE_ACCESS_KEY
from local.endpoint.glue_jobs.staging import StagedRun
from local.endpoint.spark.class_archive import local_spark_submit_args
from local.endpoint.spark.warm_spark import ScriptRequest, WarmRun
from local.endpoint.state import EndpointState

# The running script (its output in ``.stdout``, ``.wait(timeout)`` for its exit status) and
# the process to kill to stop it.
StartedScript = tuple[WarmRun | subprocess.Popen[str], subprocess.Popen[Any]]


@contextlib.contextmanager
def started_script(
    state: EndpointState, staged: StagedRun, run_dir: Path, region: str
) -> Iterator[StartedScript]:
    """The script running in the warm Spark worker if it is free, else in a new process."""
    env = job_environment(state, region, run_dir / "spark-tmp")
    # The run's --extra-py-files come first, as on Glue: the published library wins over
    # anything else importable here, such as the working tree the venv's .pth names.
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*staged.python_path, *inherited])
    pool = state.warm_spark
    worker = pool.acquire() if pool else None
    if pool and worker:
        request = ScriptRequest(staged.argv, staged.python_path, env, run_dir)
        try:
            run = WarmRun(worker, request)
            yield run, worker.proc
        finally:
            pool.release(worker)
        run.stdout.close()
        return
    proc = state.processes.spawn(
        [sys.executable, *staged.argv],
        cwd=run_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
    )
    try:
        yield proc, proc
    finally:
        state.processes.release(proc)


def job_environment(state: EndpointState, region: str, spark_tmp: Path) -> dict[str, str]:
    """The environment of a job script (and of the warm Spark worker that may run it)."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("AWS_"):
            del env[name]  # never hand real credentials or profiles to a job
    env.update(state.child_env(region, GLUE_ROLE_ACCESS_KEY))
    env.update(
        {
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "SPARK_LOCAL_DIRS": str(spark_tmp),
            "PYTHONUNBUFFERED": "1",
        }
    )
    # A script's own SparkSession settings still win over these defaults.
    env.setdefault("PYSPARK_SUBMIT_ARGS", local_spark_submit_args())
    return env
