"""Write Airflow's ``aws_default`` connection from the local AWS endpoint's state file.

    python3 endpoint_connection.py <endpoint.json> <connections.json>

Run by airflow-init.sh (as root, in the Airflow image: standard library only). The endpoint
makes up a new secret key each time it starts and writes it, with its URL, into its state file
(``local/endpoint_file.py``); every request it serves must be signed with that key. Airflow
reads the connection from ``connections.json`` through its LocalFilesystemBackend. Written
0600 with a rename, so no reader ever sees a half-written or world-readable key.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def connection(state: dict[str, str]) -> dict[str, object]:
    return {
        "conn_type": "aws",
        "login": state["aws_access_key_id"],
        "password": state["aws_secret_access_key"],
        "extra": {"region_name": state["region"], "endpoint_url": state["url"]},
    }


def main(state_file: str, connections_file: str) -> int:
    state = json.loads(Path(state_file).read_text(encoding="utf-8"))
    target = Path(connections_file)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")  # 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"aws_default": connection(state)}, fh, indent=2)
    os.replace(tmp, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
