"""Reversible attribute patches on moto classes.

The endpoint extends moto in-process: each service folder's ``install`` (``s3/object_keys``,
``glue_jobs/job_runs``, ``glue_crawlers/crawler``, ``awslambda/invoke``) replaces a handful of
methods on moto's model or response classes.
``Patcher`` records every original so that stopping the endpoint restores moto exactly as it
was, which keeps a test process that also uses plain moto (``mock_aws``) unaffected.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


class Patcher:
    """Set attributes on classes and remember the originals for ``undo``."""

    def __init__(self) -> None:
        self._originals: list[tuple[Any, str, Any]] = []

    def setattr(self, owner: Any, name: str, value: Any) -> None:
        self._originals.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    def undo(self) -> None:
        while self._originals:
            owner, name, original = self._originals.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
