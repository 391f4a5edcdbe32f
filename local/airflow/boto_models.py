"""One botocore loader for every AWS session of a long-lived local Airflow process.

Each hook of the Amazon provider makes a boto3 session, and each session reads the service's
model files again (JSON, parsed anew: about 100-200 ms a client on a 2-core laptop, several per
task). The files never change while the process runs, so ``share_service_models`` gives every
session one loader, whose cache keeps what was read. Sessions and clients stay separate; only
the parsed models are shared.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.loaders
import botocore.session


class _PathsOnce(list):
    """Search paths a loader keeps each once: boto3 appends its own at every session."""

    def append(self, path: Any) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(data_path: str | None) -> botocore.loaders.Loader:
    loader = botocore.loaders.create_loader(data_path)
    loader._search_paths = _PathsOnce(loader.search_paths)
    return loader


def share_service_models() -> None:
    """From now on, botocore sessions made in this process share one loader (per data path)."""
    botocore.session.create_loader = _shared_loader
