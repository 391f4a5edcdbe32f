"""A Lambda function's execution environment: runs its invocations, one at a time.

Standalone on purpose (standard library only, no imports from this package): it is executed
by path as ``python bootstrap.py <task_root> <handler>`` (by ``environments.py``) with the
function's settings in environment variables, and reads one invocation a line on stdin:
``{"event", "request_id", "result_file"}``. At the first one it imports the handler module from
the unpacked deployment package (the init phase: a failed import ends the process, so the next
invocation inits again, as on AWS). It calls the handler with a context object like the AWS
Python runtime's, writes ``{"result": ...}`` or an AWS-shaped error to the result file, and
ends the invocation's output with a line of ``END_MARKER``, the request id and "ready" (or
"exit" when the process ends after it). The handler's prints and
``logging`` records go to stdout, which the parent ships to CloudWatch Logs. A watchdog
enforces the function timeout; a timed-out invocation ends the process.
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
from collections.abc import Callable
from typing import Any

TIMEOUT_EXIT_CODE = 124
END_MARKER = "\x1eLOCAL-LAMBDA-END "  # as environments.END_MARKER


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
    """Stamps each record with the request id of the invocation running now."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _configure_logging() -> _RequestIdFilter:
    """Root handler with the Lambda runtime's format (root level stays WARNING, as on AWS)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    request_filter = _RequestIdFilter()
    handler.addFilter(request_filter)
    logging.getLogger().addHandler(handler)
    return request_filter


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


def _load_handler(handler_spec: str) -> tuple[Callable[..., Any] | None, dict[str, Any] | None]:
    """The handler function, or the AWS-shaped error saying why there is none."""
    module_name, _, function_name = handler_spec.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:
        error = _error(exc, "Runtime.ImportModuleError")
        error["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        print(f"[ERROR] Runtime.ImportModuleError: {error['errorMessage']}", flush=True)
        return None, error
    handler = getattr(module, function_name, None)
    if not callable(handler):
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        print(f"[ERROR] Runtime.HandlerNotFound: {message}", flush=True)
        return None, {
            "errorMessage": message,
            "errorType": "Runtime.HandlerNotFound",
            "stackTrace": [],
        }
    return handler, None


def _invoke(handler: Callable[..., Any], request: dict[str, Any], timeout_s: float) -> None:
    """One invocation: the handler's result, or its error, in the request's result file."""
    request_id, result_file = request["request_id"], request["result_file"]
    event = json.loads(request["event"] or "{}")
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
        return
    finished.set()
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        error = {"errorMessage": message, "errorType": "Runtime.MarshalError", "stackTrace": []}
        _write(result_file, {"error": error})
        return
    _write(result_file, {"result": payload})


def _end(request_id: str, status: str = "ready") -> None:
    sys.stderr.flush()
    sys.stdout.write(f"{END_MARKER}{request_id} {status}\n")
    sys.stdout.flush()


def main() -> int:
    task_root, handler_spec = sys.argv[1:3]
    timeout_s = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
    sys.path.insert(0, task_root)
    os.chdir(task_root)
    request_filter = _configure_logging()
    handler = None
    for line in sys.stdin:
        request = json.loads(line)
        request_filter.request_id = request["request_id"]
        if handler is None:
            handler, error = _load_handler(handler_spec)
            if handler is None:  # the init failed: this environment serves no invocation
                _write(request["result_file"], {"error": error})
                _end(request["request_id"], "exit")
                return 1
        _invoke(handler, request, timeout_s)
        _end(request["request_id"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
