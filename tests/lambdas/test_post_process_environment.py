"""The handler reads exactly the environment ``deploy.lambda_environment`` defines.

handler.py ships alone in its zip, so it spells the variable names out itself; this keeps
them and its defaults equal to the contract the deploy, the template and the local stack set.
"""

from __future__ import annotations

import ast
from pathlib import Path

from deploy.lambda_environment import METRIC_NAMESPACE_VALUE, PIPELINE_NAME_VALUE, VARIABLES
from lambdas.post_process import handler

HANDLER = Path(handler.__file__)


def _is_os_attribute(node: ast.expr, name: str) -> bool:
    """True for the expression ``os.<name>``."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == name
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _is_environment_getter(func: ast.expr) -> bool:
    """True for ``os.getenv`` and ``os.environ.get``."""
    environ_get = (
        isinstance(func, ast.Attribute)
        and func.attr == "get"
        and _is_os_attribute(func.value, "environ")
    )
    return environ_get or _is_os_attribute(func, "getenv")


def environment_reads(tree: ast.AST) -> list[ast.expr]:
    """The key expression of every ``os.environ[...]``, ``os.environ.get`` and ``os.getenv``."""
    keys = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_os_attribute(node.value, "environ"):
            keys.append(node.slice)
        elif isinstance(node, ast.Call) and _is_environment_getter(node.func):
            keys.append(node.args[0])
    return keys


def test_handler_reads_exactly_the_contract_variables() -> None:
    keys = environment_reads(ast.parse(HANDLER.read_text(), filename=str(HANDLER)))
    # A computed name would hide a read from this check.
    assert all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in keys)
    assert {k.value for k in keys if isinstance(k, ast.Constant)} == VARIABLES


def test_handler_defaults_are_the_contract_values() -> None:
    assert handler.DEFAULT_METRIC_NAMESPACE == METRIC_NAMESPACE_VALUE
    assert handler.DEFAULT_PIPELINE_NAME == PIPELINE_NAME_VALUE
