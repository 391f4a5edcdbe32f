"""A running endpoint's state file, ``<work-dir>/endpoint.json``: where tools find its URL and key.

    python -m local.endpoint_file [PATH]   # prints shell exports for the AWS CLI and boto3
    eval "$(python -m local.endpoint_file .local-run/endpoint/endpoint.json)"; aws s3 ls

The endpoint writes the file once it listens and removes it when it stops. It holds the
endpoint's secret key, so it is created readable by its owner only (0600), never widened.
Apart from the endpoint package (moto imports slowly), so tools read it in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from local.aws_local import DEVELOPER_ACCESS_KEY, REGION, EndpointClients

STATE_FILE = "endpoint.json"
DEFAULT_PATH = Path(".local-run/endpoint") / STATE_FILE


class EndpointFileError(RuntimeError):
    """No usable state file: the endpoint is not running there, or it is not ours."""


def write_endpoint_file(path: Path, endpoint: EndpointClients, **details: Any) -> None:
    """Write the state (``details`` such as pid and port, then the URL and key) atomically."""
    state = {
        **details,
        "url": endpoint.url,
        "region": REGION,
        "aws_access_key_id": DEVELOPER_ACCESS_KEY,
        "aws_secret_access_key": endpoint.secret_key,
    }
    write_private(path, json.dumps(state, indent=2) + "\n")


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once, readable by its owner only.

    mkstemp creates the file 0600 before anything is written to it; the rename means a reader
    never sees it half-written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_endpoint_file(path: Path) -> EndpointClients:
    """The endpoint described by the state file at ``path`` (its URL and key)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return EndpointClients(state["url"], state["aws_secret_access_key"])
    except FileNotFoundError:
        raise EndpointFileError(
            f"{path} does not exist: start the endpoint with --work-dir {path.parent}"
        ) from None
    except PermissionError:
        raise EndpointFileError(f"{path} is not readable: another user's endpoint") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise EndpointFileError(f"{path} is not an endpoint state file ({exc!r})") from None


def endpoint_for_command(path: Path) -> EndpointClients:
    """``read_endpoint_file`` for a command line: exits (1) with the reason if it cannot."""
    try:
        return read_endpoint_file(path)
    except EndpointFileError as exc:
        raise SystemExit(f"error: {exc}") from None


def shell_exports(endpoint: EndpointClients) -> str:
    """``export`` lines that point the AWS CLI and plain boto3 at the endpoint, with its key."""
    variables = {
        "AWS_ENDPOINT_URL": endpoint.url,
        **endpoint.credentials(),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
    lines = [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    # A real session token or profile in the caller's shell would be sent along or win.
    lines.append("unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.endpoint_file",
        description="Print shell exports for the running local AWS endpoint's URL and key.",
    )
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH, help="%(default)s")
    args = parser.parse_args(argv)
    sys.stdout.write(shell_exports(endpoint_for_command(args.path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
