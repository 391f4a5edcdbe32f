"""deploy.shipping_rule: one rule for what never ships, the same for every artifact."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from deploy.artifacts import build_lambda_zip, build_zip, contract_entries
from deploy.files import plugin_snapshot
from deploy.shipping_rule import never_ships, shippable_files
from tests.support.deploy_harness import write

SHIPPED = ["handler.py", "helpers/util.py", "data/rules.json", ".airflowignore"]
NEVER_SHIPPED = [
    "__pycache__/handler.cpython-312.pyc",
    "stray.pyc",
    "old.pyo",
    ".env",
    ".DS_Store",
    ".git/config",
    ".venv/lib/site.py",
    ".pytest_cache/v/cache/lastfailed",
    ".mypy_cache/3.12/x.json",
    ".ruff_cache/0.1/x",
    "tests/test_handler.py",
    "helpers/test/fixture.json",
    "test_handler.py",
    "helpers/util_test.py",
    "conftest.py",
]


@pytest.mark.parametrize(
    ("name", "is_dir", "expected"),
    [
        ("__pycache__", True, True),
        (".git", True, True),
        (".hidden", True, True),
        ("tests", True, True),
        ("test", True, True),
        ("testdata", True, False),
        ("helpers", True, False),
        (".airflowignore", True, True),  # only the file is exempt
        (".airflowignore", False, False),
        (".env", False, True),
        ("x.pyc", False, True),
        ("x.pyo", False, True),
        ("conftest.py", False, True),
        ("test_x.py", False, True),
        ("x_test.py", False, True),
        ("test_data.json", False, False),  # only Python files are tests
        ("latest.py", False, False),
        ("handler.py", False, False),
    ],
)
def test_never_ships(name: str, is_dir: bool, expected: bool) -> None:
    assert never_ships(name, is_dir) is expected


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for name in SHIPPED + NEVER_SHIPPED:
        write(root / name, "x\n")
    return root


def zip_names(body: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return archive.namelist()


def test_shippable_files_are_exactly_the_shipped_ones(tree: Path) -> None:
    assert shippable_files(tree) == sorted(tree / name for name in SHIPPED)


def test_lambda_zip_and_plugins_zip_ship_the_same_files(tree: Path) -> None:
    expected = sorted(SHIPPED)
    # The Lambda zip adds the contract package (plugins.zip has it as part of plugins/).
    assert zip_names(build_lambda_zip(tree)) == sorted([*expected, *contract_entries()])
    assert zip_names(build_zip(plugin_snapshot(tree))) == expected
