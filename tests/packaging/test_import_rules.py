"""The architecture as a test: which of the repo's own modules each area may import.

Imports are read from the syntax tree, so nothing is executed. The repo's modules are listed
from the tree itself (the top-level packages and modules under each import root), so a new
package is covered without editing this file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.repo import REPO_ROOT
from tests.support.imports import imported_modules, top_level

# Where the repo's code is imported from: the repo root (local/, deploy/, lambdas/, ...),
# plugins/ (on sys.path on MWAA) and glue_scripts/ (on the Glue job's path).
IMPORT_ROOTS = (".", "plugins", "glue_scripts")
# Generic helpers under local/ that the endpoint shares with the local tools: how a local
# caller reaches the endpoint (region, access keys, clients), the state file that holds its URL
# and key, and children in process groups (the endpoint's, the Airflow stack's). They import
# no pipeline code either: the endpoint rule checks their files too.
ENDPOINT_SHARED_LOCAL_MODULES = ("local.aws_local", "local.endpoint_file", "local.process_group")


@dataclass(frozen=True)
class Rule:
    paths: tuple[str, ...]  # folders and files, relative to the repo root
    repo_imports: tuple[str, ...]  # the repo's modules these may import, submodules included
    outside_repo: frozenset[str] | None = None  # if set: the only non-stdlib packages allowed


@dataclass(frozen=True, order=True)
class Violation:
    path: str  # relative to the repo root
    module: str


RULES = {
    # The Glue job ships with its own package only; the Glue runtime provides pyspark, boto3
    # (the job publishes its partitions with it) and awsglue (imported only when present).
    "glue_scripts": Rule(
        ("glue_scripts",),
        ("sales_job", "sales_contract"),
        frozenset({"pyspark", "awsglue", "boto3"}),
    ),
    # The Lambda zip holds lambdas/post_process and the contract package.
    "lambdas": Rule(("lambdas",), ("sales_contract",)),
    "dags": Rule(("dags",), ("sales_etl", "sales_contract")),
    # MWAA gets plugins/ without local/, deploy/, tests/, the Glue job or the Lambda.
    "plugins": Rule(("plugins",), ("sales_etl", "sales_contract")),
    # Every runtime carries the contract, so it needs nothing but the standard library.
    "contract": Rule(("plugins/sales_contract",), ("sales_contract",), frozenset()),
    # The endpoint emulates AWS for any pipeline: it knows none of this one. The folder covers
    # every service folder below it (s3/, glue_jobs/, glue_crawlers/, awslambda/, ...).
    "local_endpoint": Rule(
        ("local/endpoint", *(f"{m.replace('.', '/')}.py" for m in ENDPOINT_SHARED_LOCAL_MODULES)),
        ("local.endpoint", *ENDPOINT_SHARED_LOCAL_MODULES),
    ),
}


def repo_modules(repo: Path) -> set[str]:
    """Top-level names the repo's code is imported by: packages and modules under each root."""
    names = set()
    for root in IMPORT_ROOTS:
        for entry in (repo / root).iterdir():
            if entry.suffix == ".py":
                names.add(entry.stem)
            elif entry.is_dir() and entry.name.isidentifier() and any(entry.rglob("*.py")):
                names.add(entry.name)  # a package, or a folder of scripts (namespace package)
    return names


def package_of(path: Path, repo: Path) -> str:
    """The file's package, from the innermost import root that holds it."""
    roots = sorted((repo / r for r in IMPORT_ROOTS), key=lambda r: len(r.parts), reverse=True)
    root = next(r for r in roots if path.is_relative_to(r))
    return ".".join(path.relative_to(root).parent.parts)


def files_of(rule: Rule, repo: Path) -> list[Path]:
    targets = [repo / p for p in rule.paths]
    return sorted(f for t in targets for f in ([t] if t.is_file() else t.rglob("*.py")))


def violations(rule: Rule, repo: Path) -> list[Violation]:
    ours = repo_modules(repo)
    found = []
    for path in files_of(rule, repo):
        for module in imported_modules(path, package_of(path, repo)):
            if not _allowed(rule, module, ours):
                found.append(Violation(path.relative_to(repo).as_posix(), module))
    return sorted(found)


def _allowed(rule: Rule, module: str, ours: set[str]) -> bool:
    top = top_level(module)
    if top in ours:
        return any(module == m or module.startswith(f"{m}.") for m in rule.repo_imports)
    return rule.outside_repo is None or top in sys.stdlib_module_names or top in rule.outside_repo


# -- the real tree -------------------------------------------------------------------------


def assert_obeyed(name: str) -> None:
    rule = RULES[name]
    missing = [p for p in rule.paths if not (REPO_ROOT / p).exists()]
    assert not missing, f"rule {name} covers paths that do not exist: {missing}"
    assert violations(rule, REPO_ROOT) == []


def test_repo_modules_are_listed_from_the_tree() -> None:
    expected = {
        "sales_etl",
        "sales_contract",
        "sales_job",
        "local",
        "deploy",
        "lambdas",
        "dags",
        "tests",
    }
    assert expected <= repo_modules(REPO_ROOT)


def test_glue_scripts_import_only_their_package_and_the_glue_runtime() -> None:
    assert_obeyed("glue_scripts")


def test_lambdas_import_nothing_of_the_repo() -> None:
    assert_obeyed("lambdas")


def test_dags_import_only_sales_etl_from_the_repo() -> None:
    assert_obeyed("dags")


def test_plugins_import_only_their_own_package_from_the_repo() -> None:
    assert_obeyed("plugins")


def test_the_contract_imports_only_itself_and_the_standard_library() -> None:
    assert_obeyed("contract")


def test_local_endpoint_imports_no_pipeline_code() -> None:
    assert_obeyed("local_endpoint")


def test_the_endpoint_rule_checks_every_endpoint_folder_and_shared_module() -> None:
    checked = set(files_of(RULES["local_endpoint"], REPO_ROOT))
    endpoint_files = set((REPO_ROOT / "local" / "endpoint").rglob("*.py"))
    assert {f.parent for f in endpoint_files} - {REPO_ROOT / "local" / "endpoint"}, "no folders?"
    assert endpoint_files <= checked
    shared = {REPO_ROOT / f"{m.replace('.', '/')}.py" for m in ENDPOINT_SHARED_LOCAL_MODULES}
    assert shared <= checked


# -- each rule catches a planted violation -------------------------------------------------

SKELETON = (
    "plugins/sales_etl/__init__.py",
    "plugins/sales_contract/__init__.py",
    "glue_scripts/sales_job/__init__.py",
    "glue_scripts/sales_etl_job.py",
    "lambdas/post_process/handler.py",
    "dags/sales_etl_dag.py",
    "local/__init__.py",
    "local/endpoint/__init__.py",
    "local/endpoint/glue_crawlers/__init__.py",
    "deploy/__init__.py",
    "tests/__init__.py",
)


@pytest.mark.parametrize(
    ("rule", "path", "source", "reported"),
    [
        pytest.param(
            "glue_scripts",
            "glue_scripts/sales_job/leaky.py",
            "import json\nfrom pyspark.sql import DataFrame\nfrom . import contract\n"
            "from sales_etl.layout import s3_uri\n",
            "sales_etl.layout.s3_uri",
            id="glue_scripts-repo",
        ),
        pytest.param(
            "glue_scripts",
            "glue_scripts/uses_requests.py",
            "import sys\nimport requests\n",
            "requests",
            id="glue_scripts-third-party",
        ),
        pytest.param(
            "lambdas",
            "lambdas/post_process/leaky.py",
            'import importlib\nimport boto3\nimportlib.import_module("deploy.artifacts")\n',
            "deploy.artifacts",
            id="lambdas",
        ),
        pytest.param(
            "dags",
            "dags/leaky_dag.py",
            "from airflow.sdk import dag\nfrom sales_etl import tasks\nfrom local import demo\n",
            "local.demo",
            id="dags",
        ),
        pytest.param(
            "contract",
            "plugins/sales_contract/leaky.py",
            "import json\nfrom . import rules\nfrom sales_etl.config import load_config\n",
            "sales_etl.config.load_config",
            id="contract-repo",
        ),
        pytest.param(
            "contract",
            "plugins/sales_contract/typed.py",
            "import re\nimport pydantic\n",
            "pydantic",
            id="contract-third-party",
        ),
        pytest.param(
            "plugins",
            "plugins/sales_etl/leaky.py",
            "from .config import load_config\nimport tests.conftest\n",
            "tests.conftest",
            id="plugins",
        ),
        pytest.param(
            "local_endpoint",
            "local/endpoint/glue_crawlers/leaky.py",
            "from local.endpoint.glue_crawlers.csv_schema import merge_types\n"
            "from ..s3.mirror import parse_s3_uri\nfrom local.aws_local import EndpointClients\n"
            "from local.process_group import stop_process_group\nfrom ... import demo\n",
            "local.demo",
            id="local_endpoint",
        ),
        pytest.param(
            "local_endpoint",
            "local/process_group.py",
            "import psutil\nfrom local.endpoint.state import current\nfrom local.demo import run\n",
            "local.demo.run",
            id="local_endpoint-shared-module",
        ),
    ],
)
def test_rule_reports_a_planted_violation(
    tmp_path: Path, rule: str, path: str, source: str, reported: str
) -> None:
    for skeleton_file in SKELETON:
        (tmp_path / skeleton_file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / skeleton_file).touch()
    assert violations(RULES[rule], tmp_path) == []
    (tmp_path / path).write_text(source)
    assert violations(RULES[rule], tmp_path) == [Violation(path, reported)]
