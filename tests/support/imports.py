"""Which modules a Python file imports, read from its syntax tree (nothing is executed)."""

from __future__ import annotations

import ast
from pathlib import Path


def imported_modules(path: Path, package: str = "") -> list[str]:
    """Dotted names the file imports.

    ``from m import a`` gives ``m.a``, as ``a`` may be a submodule. Relative imports resolve
    against ``package``, the file's own package; in a top-level module (``package=""``) they
    cannot resolve and stay as written (``.a``). ``importlib.import_module`` calls with a
    string literal count as imports too.
    """
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, package)
            names += [base if a.name == "*" else _join(base, a.name) for a in node.names]
        elif _is_import_module_call(node):
            literal = node.args[0].value  # type: ignore[attr-defined]
            dots = len(literal) - len(literal.lstrip("."))
            names.append(_absolute(literal[dots:], dots, package))
    return names


def top_level(name: str) -> str:
    """The top-level module of a dotted name; an unresolved relative name stays whole."""
    return name if name.startswith(".") else name.split(".")[0]


def imported_top_level_modules(path: Path) -> set[str]:
    return {top_level(name) for name in imported_modules(path)}


def _absolute(module: str, level: int, package: str) -> str:
    if not level:
        return module
    parts = package.split(".") if package else []
    if level > len(parts):  # Python raises ImportError here: report the import as written
        return "." * level + module
    return _join(".".join(parts[: len(parts) - level + 1]), module)


def _join(base: str, name: str) -> str:
    if not name:
        return base
    return f"{base}{name}" if base.endswith(".") else f"{base}.{name}"


def _is_import_module_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func, first = node.func, node.args[0]
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return (
        called == "import_module"
        and isinstance(first, ast.Constant)
        and isinstance(first.value, str)
    )
