"""Which local files ship: the DAG folder selection and a reproducible plugins.zip."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from deploy.artifacts import build_zip
from deploy.files import FileSelectionError, dag_files, plugin_files, plugin_snapshot
from local.repo import REPO_ROOT
from tests.support.deploy_harness import write


def make_plugins(root: Path, order: list[str]) -> Path:
    files = {
        ".airflowignore": "teamlib/\n",
        "teamlib/__init__.py": "",
        "teamlib/config.py": "A = 1\n",
        "teamlib/data/x.json": "{}\n",
    }
    for name in order:  # creation order differs between trees; the zip must not
        write(root / name, files[name])
    write(root / "teamlib" / "__pycache__" / "config.cpython-311.pyc", "junk")
    write(root / "teamlib" / "test_config.py", "def test_a():\n    pass\n")
    write(root / ".ruff_cache" / "x", "junk")
    return root


def test_plugins_zip_is_byte_identical_for_the_same_tree(tmp_path: Path) -> None:
    names = [".airflowignore", "teamlib/__init__.py", "teamlib/config.py", "teamlib/data/x.json"]
    a = make_plugins(tmp_path / "a", names)
    b = make_plugins(tmp_path / "b", list(reversed(names)))
    os.utime(b / "teamlib" / "config.py", (2_000_000_000, 2_000_000_000))
    (b / "teamlib" / "__init__.py").chmod(0o755)

    first = build_zip(plugin_snapshot(a))

    assert build_zip(plugin_snapshot(a)) == first
    assert build_zip(plugin_snapshot(b)) == first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == names
    write(b / "teamlib" / "config.py", "A = 2\n")
    assert build_zip(plugin_snapshot(b)) != first


def test_real_plugins_zip_holds_the_packages_the_plugin_and_its_ignore_file() -> None:
    with zipfile.ZipFile(io.BytesIO(build_zip(plugin_snapshot(REPO_ROOT / "plugins")))) as archive:
        names = archive.namelist()
    # The plugin (it registers the DAG's timetable) ships at the root, beside the packages.
    root_files = [".airflowignore", "sales_etl_plugin.py"]
    assert set(root_files) <= set(names)
    assert "sales_etl/config.py" in names
    assert "sales_contract/layout.py" in names
    packages = ("sales_etl/", "sales_contract/")
    assert all(n in root_files or n.startswith(packages) for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_plugins_folder_must_exist_and_have_files(tmp_path: Path) -> None:
    with pytest.raises(FileSelectionError, match="plugins folder not found"):
        plugin_files(tmp_path / "nope")
    write(tmp_path / "empty" / "__pycache__" / "a.pyc", "")
    with pytest.raises(FileSelectionError, match="no files to package"):
        build_zip(plugin_snapshot(tmp_path / "empty"))


def test_dag_selection_follows_airflowignore_rules(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    write(
        dags / ".airflowignore",
        "# comment line\n*.tmp   # trailing comment\n!keep.tmp\n/root_only.py\nbuild/\n",
    )
    for name in (
        "dag_a.py",
        "a.tmp",
        "keep.tmp",
        "root_only.py",
        "sub/root_only.py",
        "sub/b.tmp",
        "build/out.py",
        "sub/build",  # a file named like the dir-only pattern ships
        "team/dag_t.py",
        "team/private/secret.py",
        "team/draft.py",
    ):
        write(dags / name, "x\n")
    # A nested ignore file adds to its parent's rules, for its own folder only.
    write(dags / "team" / ".airflowignore", "private/\ndraft.py\n")
    write(dags / "draft.py", "x\n")

    assert list(dag_files(dags)) == [
        ".airflowignore",
        "dag_a.py",
        "draft.py",
        "keep.tmp",
        "sub/build",
        "sub/root_only.py",
        "team/.airflowignore",
        "team/dag_t.py",
    ]


def test_dag_selection_skips_caches_tests_and_hidden_files(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    for name in (
        "dag.py",
        "__pycache__/dag.cpython-311.pyc",
        "helper.pyc",
        "test_dag.py",
        "dag_test.py",
        "conftest.py",
        "tests/test_more.py",
        ".hidden/x.py",
        ".DS_Store",
        "queries/report.sql",
    ):
        write(dags / name, "x\n")

    assert list(dag_files(dags)) == ["dag.py", "queries/report.sql"]


def test_real_dag_folder_ships_the_dag_and_its_ignore_file() -> None:
    assert list(dag_files(REPO_ROOT / "dags")) == [".airflowignore", "sales_etl_dag.py"]
