"""The post-process function must run from its deployment zip on the python3.12 runtime."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deploy.artifacts import build_lambda_zip
from tests.packaging.imports import imported_top_level_modules

SOURCE = Path(__file__).resolve().parents[2] / "lambdas" / "post_process"
# The Lambda runtime provides the standard library and boto3 (with botocore); nothing else.
ALLOWED_THIRD_PARTY = {"boto3", "botocore"}


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
    # A fresh interpreter with only the zip on the path, as Lambda loads "handler.lambda_handler".
    env = {**os.environ, "PYTHONPATH": str(archive)}
    probe = "import handler; assert callable(handler.lambda_handler); print(handler.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(archive / "handler.py")
