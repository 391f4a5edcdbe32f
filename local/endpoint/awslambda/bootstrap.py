"""Runs one Lambda invocation in a child process (started by ``invoke.py``).

Standalone on purpose (standard library only, no imports from this package): it is executed
by path as ``python bootstrap.py <task_root> <handler> <result_file>`` with the event
on stdin and the invocation settings in environment variables. It imports the handler module
from the unpacked deployment package, calls it with a context object like the AWS Python
runtime's, and writes ``{"result": ...}`` or an AWS-shaped error to the result file. The
handler's prints and ``logging`` records go to stdout/stderr, which the parent ships to
CloudWatch Logs. A watchdog enforces the function timeout after the module is imported.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import sys
import threading
import time
import traceback
from typing import Any

TIMEOUT_EXIT_CODE = 124


class LambdaContext:
    """The attributes and method of the AWS Python runtime's context object."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("LOCAL_LAMBDA_FUNCTION_ARN", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class _RequestIdFilter(logging.Filter):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _configure_logging(request_id: str) -> None:
    """Root handler with the Lambda runtime's format (root level stays WARNING, as on AWS)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    handler.addFilter(_RequestIdFilter(request_id))
    logging.getLogger().addHandler(handler)


def _max_memory_mb() -> int:
    """Peak resident memory of this process (VmHWM; ru_maxrss would include the forking parent)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1 << 20)  # bytes on macOS


def _write(result_file: str, payload: dict[str, Any]) -> None:
    payload["maxMemoryMB"] = _max_memory_mb()
    tmp = result_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, result_file)


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(frames[1:] if len(frames) > 1 else frames),
    }


def _watchdog(result_file: str, request_id: str, timeout_s: float, finished: threading.Event):
    if finished.wait(timeout_s):
        return
    message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
    print(message, flush=True)
    _write(result_file, {"error": {"errorMessage": message, "errorType": "Sandbox.Timedout"}})
    os._exit(TIMEOUT_EXIT_CODE)


def main() -> int:
    task_root, handler_spec, result_file = sys.argv[1:4]
    request_id = os.environ["LOCAL_LAMBDA_REQUEST_ID"]
    timeout_s = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
    event = json.loads(sys.stdin.read() or "{}")
    sys.path.insert(0, task_root)
    os.chdir(task_root)
    _configure_logging(request_id)

    module_name, _, function_name = handler_spec.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:
        error = _error(exc, "Runtime.ImportModuleError")
        error["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        print(f"[ERROR] Runtime.ImportModuleError: {error['errorMessage']}", flush=True)
        _write(result_file, {"error": error})
        return 1
    handler = getattr(module, function_name, None)
    if not callable(handler):
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        print(f"[ERROR] Runtime.HandlerNotFound: {message}", flush=True)
        error = {"errorMessage": message, "errorType": "Runtime.HandlerNotFound", "stackTrace": []}
        _write(result_file, {"error": error})
        return 1

    deadline_ms = int(time.time() * 1000 + timeout_s * 1000)
    finished = threading.Event()
    threading.Thread(
        target=_watchdog, args=(result_file, request_id, timeout_s, finished), daemon=True
    ).start()
    try:
        result = handler(event, LambdaContext(request_id, deadline_ms))
    except Exception as exc:
        finished.set()
        error = _error(exc)
        sys.stdout.flush()
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", flush=True)
        print("Traceback (most recent call last):", flush=True)
        print("".join(error["stackTrace"]), end="", flush=True)
        _write(result_file, {"error": error})
        return 1
    finished.set()
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        error = {"errorMessage": message, "errorType": "Runtime.MarshalError", "stackTrace": []}
        _write(result_file, {"error": error})
        return 1
    _write(result_file, {"result": payload})
    return 0


if __name__ == "__main__":
    sys.exit(main())
