"""The repository root: local tools use its dags/, plugins/, glue_scripts/ and lambdas/ in place."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
