"""Pre-flight DAG import check: load exactly the files a deploy ships with Airflow's DagBag.

It runs in a child process with a throwaway AIRFLOW_HOME, so the deploy never touches the
caller's Airflow config or database and a DAG file's import side effects die with the child.
DAG code is untrusted here: the child gets none of the deployer's AWS settings or
credentials, and every AWS SDK call it makes goes to a closed loopback port. The tree it loads
is a staged copy of the bytes the deploy ships, so a module the selection leaves out shows up
here as the import error MWAA would report.

The child's ``sys.path`` is what an MWAA scheduler has: the standard library, the staged
plugins, the installed packages and (Airflow adds it) the staged DAG folder. It runs isolated
(``-I -S``): no ``PYTHON*`` variables, no current folder, and no ``.pth`` files, since the
venv's ``sales_etl_paths.pth`` puts this checkout (``glue_scripts/``, the repo root) on every
tool's path, and a DAG importing ``sales_job`` or ``local`` would load here and fail on MWAA.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.errors import DeployError

# Asked of the check's interpreter itself: a venv's packages are found by its site module,
# which the isolated check does not run.
_SITE_PACKAGES = "import json, site; print(json.dumps(site.getsitepackages()))"

# Loaded by the child process; prints nothing on stdout we rely on (Airflow logs there).
# argv: DAG folder, result file, plugins folder, site-packages folders (JSON).
_CHILD = """
import json, sys
# Plugins first, as MWAA puts its unzipped plugins folder on the path; then the installed
# packages, without their .pth files (see the module docstring).
sys.path[:] = [sys.argv[3], *sys.path, *json.loads(sys.argv[4])]

from pathlib import Path
from airflow.dag_processing.dagbag import DagBag

def name(path):
    path = Path(path)
    return path.relative_to(dags_dir).as_posix() if path.is_relative_to(dags_dir) else str(path)

dags_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
bag = DagBag(dag_folder=str(dags_dir), include_examples=False)
errors = {name(k): str(v) for k, v in bag.import_errors.items()}
out.write_text(json.dumps({"dag_ids": sorted(bag.dag_ids), "import_errors": errors}))
"""


class DagCheckError(DeployError):
    """The check itself could not run (not a DAG import error)."""


@dataclass(frozen=True)
class DagCheckResult:
    dag_ids: tuple[str, ...]
    import_errors: Mapping[str, str]
    """Import error text keyed by the DAG file's path relative to the DAG folder."""


DagChecker = Callable[[Mapping[str, bytes], Mapping[str, bytes]], DagCheckResult]
"""Checks ``{relative path: bytes}`` DAG files against ``{relative path: bytes}`` plugin files."""

# Nothing listens on the discard port of the loopback interface: a connection is refused at once.
NO_AWS_ENDPOINT = "http://127.0.0.1:9"


def _stage(files: Mapping[str, bytes], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for relative, body in files.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)


def _child_env(home: Path, dags: Path, plugins: Path) -> dict[str, str]:
    # Drop the caller's Airflow settings and connections: the check must see only the
    # staged tree and Airflow defaults, as a fresh MWAA scheduler would. Drop every AWS
    # setting too (keys, profile, SSO and container credentials), hide the shared config
    # files, and send the SDK to a closed port.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    env.update(
        {
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": NO_AWS_ENDPOINT,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
    )
    return env


def _run(python: str, args: list[str], timeout: float, **kwargs: Any) -> str:
    """Run ``python -I <args>``; its stdout, or a DagCheckError saying why it failed."""
    try:
        proc = subprocess.run(
            [python, "-I", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )
    except subprocess.TimeoutExpired as exc:
        raise DagCheckError(f"DAG import check timed out after {timeout:.0f}s") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise DagCheckError(
            f"DAG import check could not run with {python} (exit {proc.returncode}); "
            f"is Airflow installed in it?\n{tail}"
        )
    return proc.stdout


def check_dags_in_subprocess(
    dag_files: Mapping[str, bytes],
    plugin_files: Mapping[str, bytes],
    *,
    python: str = sys.executable,
    timeout: float = 600,
) -> DagCheckResult:
    """Load the staged DAG tree with DagBag in a child Python; return its DAGs and errors."""
    site_packages = _run(python, ["-c", _SITE_PACKAGES], timeout).strip()
    with tempfile.TemporaryDirectory(prefix="sales-etl-dag-check-") as tmp:
        root = Path(tmp).resolve()  # error paths come back resolved
        dags, plugins, home, out = root / "dags", root / "plugins", root / "home", root / "out"
        _stage(dag_files, dags)
        _stage(plugin_files, plugins)
        home.mkdir()
        args = ["-S", "-c", _CHILD, str(dags), str(out), str(plugins), site_packages]
        _run(python, args, timeout, cwd=root, env=_child_env(home, dags, plugins))
        if not out.is_file():
            raise DagCheckError(f"DAG import check with {python} wrote no result")
        result = json.loads(out.read_text())
    return DagCheckResult(tuple(result["dag_ids"]), dict(result["import_errors"]))
