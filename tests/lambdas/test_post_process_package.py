"""The post-process function must run from its deployment zip on the python3.12 runtime."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from deploy.artifacts import build_lambda_zip
from local.repo import REPO_ROOT
from tests.support.imports import imported_top_level_modules

SOURCE = REPO_ROOT / "lambdas" / "post_process"
# The Lambda runtime provides the standard library and boto3 (with botocore); the zip adds
# the cross-runtime contract package.
ALLOWED_THIRD_PARTY = {"boto3", "botocore", "sales_contract"}


def test_function_imports_only_stdlib_and_boto3() -> None:
    sources = sorted(SOURCE.glob("*.py"))
    assert sources, f"no Python files under {SOURCE}"
    local = {p.stem for p in sources}  # siblings imported by bare name, as in the zip
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | local | {"__future__"}
    for path in sources:
        extra = imported_top_level_modules(path) - allowed
        assert not extra, f"{path.name} imports modules the Lambda runtime lacks: {extra}"


def test_handler_string_resolves_from_the_zip_root(tmp_path: Path) -> None:
    archive = tmp_path / "function.zip"
    archive.write_bytes(build_lambda_zip(SOURCE))
    # A fresh interpreter with the zip and the installed packages (boto3) on the path, as
    # Lambda loads "handler.lambda_handler". -S skips the venv's .pth files, which would put
    # the checkout's own plugins/ (and its sales_contract) on the path too.
    site_packages = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(archive), site_packages])}
    probe = (
        "import handler, sales_contract; assert callable(handler.lambda_handler); "
        "print(handler.__file__); print(sales_contract.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        str(archive / "handler.py"),
        str(archive / "sales_contract" / "__init__.py"),
    ]
