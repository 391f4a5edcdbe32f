"""`make compat`: the same DAG file and plugins checked under every non-primary MWAA version.

For each version (docs/mwaa-versions.md) it builds, or reuses, ``.venv-compat/<version>``
from ``requirements/compat/<version>.lock`` (uv, Python 3.11), then:

1. loads the DAG folder there (``scripts/compat_dag_check.py``) and compares the DAG's shape
   with the primary venv's: no import error, no warning from the project's files, the same
   tasks, order, operators, schedule and params; a deadline exactly where Airflow has them;
2. on 3.3.1 also runs the DAG suite itself (``pytest tests/dags``);
3. runs days end to end against one local AWS endpoint (started from the primary venv):
   every demo day through the fast runner where it supports that Airflow (3.3.1), else one
   day with Airflow's own ``airflow dags test``; each must write the day's manifest.

    python scripts/compat.py [--version 3.3.1 ...] [--skip-runs]

Exits 1 if any check of any version failed (all versions are checked first).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENVS = REPO / ".venv-compat"
UV = Path(sys.executable).parent / "uv"
# Version -> how its day runs are made: the fast runner needs its patches checked for it.
VERSIONS = {"3.3.1": "fast-runner", "3.0.6": "dags-test", "2.11.2": "dags-test"}
FULL_SUITE = frozenset({"3.3.1"})  # the DAG suite is written for Airflow 3.2+
RUN_TIMEOUT = 600
PYTEST_ARGS = ["-q", "--tb=short", "-p", "no:cacheprovider", "tests/dags"]


def log(message: str) -> None:
    print(f"[compat] {message}", flush=True)


def ensure_venv(version: str) -> Path:
    """The version's venv, rebuilt only when its lock changed since it was synced."""
    lock = REPO / "requirements" / "compat" / f"{version}.lock"
    venv = VENVS / version
    python = venv / "bin" / "python"
    stamp = venv / ".synced-from-lock"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        log(f"{version}: reusing {venv.relative_to(REPO)}")
        return python
    started = time.monotonic()
    if not python.exists():
        subprocess.run([UV, "venv", "--quiet", "--python", "python3.11", venv], check=True)
    subprocess.run(
        [UV, "pip", "sync", "--quiet", "--python", python, "--compile-bytecode", lock], check=True
    )
    # The project's code on sys.path, as `make venv` puts it for the primary venv.
    site = subprocess.run(
        [python, "-c", "import site; print(site.getsitepackages()[0])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    paths = [REPO / "plugins", REPO / "glue_scripts", REPO]
    Path(site, "sales_etl_paths.pth").write_text("".join(f"{p}\n" for p in paths))
    stamp.write_text(digest)
    log(f"{version}: built {venv.relative_to(REPO)} in {time.monotonic() - started:.0f}s")
    return python


def dag_shape(python: Path | str) -> dict:
    proc = subprocess.run(
        [python, REPO / "scripts" / "compat_dag_check.py", REPO / "dags"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if proc.returncode != 0:
        return {"crashed": proc.stderr[-3000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def shape_problems(version: str, found: dict, primary: dict) -> list[str]:
    if "crashed" in found:
        return [f"the DAG check crashed:\n{found['crashed']}"]
    problems = [f"import error in {k}: {v}" for k, v in found["import_errors"].items()]
    problems += [f"warning from project code: {w}" for w in found["project_warnings"]]
    if problems:
        return problems
    ours, theirs = found["dags"], primary["dags"]
    if sorted(ours) != sorted(theirs):
        return [f"DAG ids {sorted(ours)}, primary has {sorted(theirs)}"]
    has_deadlines = tuple(int(p) for p in version.split(".")[:2]) >= (3, 1)
    for dag_id, dag in ours.items():
        reference = dict(theirs[dag_id])
        # The one designed difference: DeadlineAlert exists from Airflow 3.1.
        reference["deadline"] = reference["deadline"] and has_deadlines
        for key, value in reference.items():
            if dag[key] != value:
                problems.append(f"{dag_id}.{key}: {dag[key]!r}, primary: {value!r}")
    return problems


def run_days(
    version: str, python: Path, mode: str, endpoint, days: list[str], home: Path
) -> list[str]:
    """Run days of the DAG under ``python``'s Airflow; the problems (empty: all succeeded)."""
    from local.airflow.dag_test_runner import DagRunRequest, DagTestRunner
    from local.airflow.environment import airflow_environment, endpoint_variables
    from local.run_summary import read_manifest
    from local.stack_config import local_config

    # The local stack's config Variable, as an environment variable: the same on every version.
    env = airflow_environment(endpoint.clients, home, config_overrides={})
    env["PATH"] = f"{python.parent}{os.pathsep}{env['PATH']}"
    bucket = local_config().bucket
    s3 = endpoint.clients.client("s3")
    problems: list[str] = []
    if mode == "fast-runner":
        with DagTestRunner(env, home / "logs", migrate=True, python=str(python)) as runner:
            requests = [DagRunRequest(day) for day in days]
            results = list(runner.run(endpoint_variables(endpoint.clients), requests, RUN_TIMEOUT))
        outcomes = [
            (day, r.ok, r.seconds, str(r.log_file)) for day, r in zip(days, results, strict=False)
        ]
        outcomes += [(day, False, 0.0, "not run") for day in days[len(results) :]]
    else:
        days = days[:1]
        airflow = str(python.parent / "airflow")
        # `dags reserialize` stores the DAG and registers its assets, as the DAG processor does
        # on MWAA; 3.0's `dags test` refuses a task whose outlets are not registered.
        for command in (["db", "migrate"], ["dags", "reserialize"]):
            done = subprocess.run([airflow, *command], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                output = done.stdout[-2000:] + done.stderr[-2000:]
                return [f"airflow {' '.join(command)} failed:\n{output}"]
        outcomes = []
        for day in days:
            started = time.monotonic()
            log_file = home / f"dags-test-{day}.log"
            with log_file.open("w") as out:
                proc = subprocess.run(
                    [airflow, "dags", "test", "sales_etl", day],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=RUN_TIMEOUT,
                )
            outcomes.append((day, proc.returncode == 0, time.monotonic() - started, str(log_file)))
    for day, ok, seconds, log_file in outcomes:
        if not ok:
            problems.append(f"{day}: the run failed after {seconds:.0f}s; log: {log_file}")
            continue
        try:
            manifest = read_manifest(s3, bucket, day)
        except Exception as exc:
            problems.append(f"{day}: the run succeeded but its manifest is unreadable: {exc}")
            continue
        log(f"{version}: {day} ok in {seconds:.0f}s, rows in {manifest.get('rows_in')}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="append", choices=list(VERSIONS), dest="versions")
    parser.add_argument("--skip-runs", action="store_true", help="no end-to-end day runs")
    args = parser.parse_args(argv)
    versions = args.versions or list(VERSIONS)
    started = time.monotonic()
    pythons = {v: ensure_venv(v) for v in versions}
    primary = dag_shape(sys.executable)
    if "crashed" in primary or primary["import_errors"]:
        log(f"the DAG does not load under the primary Airflow: {primary}")
        return 1
    failures: dict[str, list[str]] = {}
    loads: dict[str, bool] = {}
    for version, python in pythons.items():
        found = dag_shape(python)
        loads[version] = "crashed" not in found and not found["import_errors"]
        problems = shape_problems(version, found, primary)
        if version in FULL_SUITE:
            suite = subprocess.run(
                [python, "-m", "pytest", *PYTEST_ARGS],
                cwd=REPO,
            )
            if suite.returncode != 0:
                problems.append(f"pytest tests/dags failed under Airflow {version}")
        log(f"{version}: DAG checks {'ok' if not problems else 'FAILED'}")
        failures[version] = problems
    if not args.skip_runs:
        from local.data.demo_lake import write_demo_lake
        from local.endpoint import start_endpoint
        from local.provision import seed
        from local.stack_config import local_config

        # Kept after the run: the logs of a failed day are here.
        work = REPO / "build" / "compat-runs"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        with start_endpoint(work_dir=work / "endpoint", prewarm_spark=True) as endpoint:
            days = seed(endpoint.clients, local_config(), write_demo_lake)
            endpoint.wait_for_warm_spark()
            for version, python in pythons.items():
                if not loads[version]:
                    continue  # a DAG that does not load cannot run
                home = work / f"airflow-{version}"
                home.mkdir()
                failures[version] += run_days(
                    version, python, VERSIONS[version], endpoint, days, home
                )
    for version in versions:
        for problem in failures[version]:
            log(f"{version}: {problem}")
        log(f"{version}: {'FAILED' if failures[version] else 'ok'}")
    log(f"done in {time.monotonic() - started:.0f}s")
    return 1 if any(failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
