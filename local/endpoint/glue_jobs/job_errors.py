"""Turn a failed script's output (stdout and stderr as written) into Glue's ``ErrorMessage``."""

from __future__ import annotations

import re

_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b.*$")
_ANY_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*: .+$")
# log4j / Python logging lines that Spark and friends print around a traceback
_LOG_LINE = re.compile(r"^(\d{2,4}[-/]\d{2}[-/]\d{2}[ T]\d{2}:\d{2}|\[?(WARN|INFO|ERROR|DEBUG)\b)")


def error_message_from_output(output: str, returncode: int) -> str:
    """The last traceback's exception line, e.g. ``ValueError: no sales partition for ...``.

    Falls back to the last meaningful line and finally to the exit status, so a failed
    run always carries a message.
    """
    lines = output.splitlines()
    tracebacks = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    if tracebacks:
        for line in lines[tracebacks[-1] + 1 :]:
            if not line or line[0].isspace():
                continue
            if _EXCEPTION_LINE.match(line) or _ANY_EXCEPTION_LINE.match(line):
                return line.strip()
    meaningful = [ln.strip() for ln in lines if ln.strip() and not _LOG_LINE.match(ln)]
    status = (
        f"killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
    )
    if meaningful:
        return f"{meaningful[-1]} (script {status})"
    return f"Glue job script {status}"
