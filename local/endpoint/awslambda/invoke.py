"""Lambda invocations that run the deployed handler (patches moto's ``LambdaFunction.invoke``).

Stock moto runs handlers in Docker (and only echoes the payload without it). Here the
function's deployment zip, which moto keeps in memory, is unpacked once per CodeSha256 to
``<work>/lambda/<sha256>/`` and the handler runs in an execution environment: a child process
of ``sys.executable``, kept for the function's next invocations as AWS keeps its environments
warm (``environments.py``).
Note: the local interpreter is the project's Python (3.11), whatever ``Runtime`` says (e.g.
python3.12); only pure-Python code and packages installed locally are available.

The child gets the function's ``Environment.Variables`` plus the runtime's reserved variables,
``AWS_ENDPOINT_URL`` = this endpoint and its key (under the Lambda role's key id: the handler
calls back into the endpoint). A RequestResponse invoke returns the handler's JSON (status
200); an exception or timeout returns 200 with ``X-Amz-Function-Error: Unhandled`` and
``{"errorMessage", "errorType", "stackTrace"}``, as does a result over AWS's payload quota
(``payload_limits.py``). The output (START/END/REPORT lines included) goes to CloudWatch Logs
``/aws/lambda/<name>``; ``LogType=Tail`` returns its last 4 KiB base64-encoded. ``Event``
invokes run in the background.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.utils import utcnow

from local.aws_local import LAMBDA_ROLE_ACCESS_KEY
from local.endpoint import state as endpoint_state
from local.endpoint.awslambda import payload_limits
from local.endpoint.awslambda.environments import ExecutionEnvironment, configuration_key
from local.endpoint.logs.log_streams import LogStreamWriter
from local.endpoint.patching import Patcher
from local.endpoint.state import EndpointState

INIT_GRACE_SECONDS = 10  # AWS allows 10 s for the init phase (imports) on top of the timeout
TAIL_BYTES = 4096


@dataclass
class Invocation:
    payload: bytes
    error: bool
    log_text: str


def _invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    """Replacement for ``LambdaFunction.invoke`` (returns the response payload)."""
    state = endpoint_state.current()
    invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        state.start_worker(
            lambda: run_invocation(state, self, body), name=f"lambda-{self.function_name}"
        )
        return b""
    result = run_invocation(state, self, body)
    too_large = payload_limits.response_too_large(result.payload)
    if result.error or too_large:
        response_headers["x-amz-function-error"] = "Unhandled"
    tail = result.log_text.encode("utf-8")[-TAIL_BYTES:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode("ascii")
    response_headers["x-amz-executed-version"] = str(self.version)
    return too_large or result.payload


def run_invocation(state: EndpointState, fn: LambdaFunction, body: str | bytes) -> Invocation:
    request_id = str(uuid.uuid4())
    version = str(fn.version)
    lines = [f"START RequestId: {request_id} Version: {version}"]
    started = time.monotonic()
    try:
        payload, error, output, max_memory, stream = _run_handler(
            state, fn, body, request_id, version
        )
    except Exception as exc:  # the endpoint itself failed to run the function
        payload = _error_payload(f"{type(exc).__name__}: {exc}", "Runtime.LocalEndpointError")
        error, output, max_memory, stream = True, "", 0, _new_log_stream(version)
    duration_ms = (time.monotonic() - started) * 1000
    lines += output.splitlines()
    lines.append(f"END RequestId: {request_id}")
    lines.append(
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {fn.memory_size} MB\t"
        f"Max Memory Used: {max_memory} MB"
    )
    logs = LogStreamWriter(
        fn.account_id,
        fn.region,
        fn.logs_group_name,
        stream,
        state.call_log,
        LAMBDA_ROLE_ACCESS_KEY,
    )
    logs.write(lines)
    return Invocation(payload=payload, error=error, log_text="\n".join(lines) + "\n")


def _unsupported(fn: LambdaFunction) -> str | None:
    """Why the endpoint cannot run ``fn``, if it cannot."""
    if fn.package_type != "Zip":
        return "container-image functions are not supported by the local endpoint"
    if not str(fn.run_time or "").startswith("python"):
        return f"runtime {fn.run_time} is not supported locally (Python handlers only)"
    return None


def _new_log_stream(version: str) -> str:
    return f"{utcnow():%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def _run_handler(
    state: EndpointState,
    fn: LambdaFunction,
    body: str | bytes,
    request_id: str,
    version: str,
) -> tuple[bytes, bool, str, int, str]:
    """(payload, error, output, max memory MB, log stream) of one invocation."""
    if unsupported := _unsupported(fn):
        return (
            _error_payload(unsupported, "Runtime.Unsupported"),
            True,
            "",
            0,
            _new_log_stream(version),
        )
    task_root = _unpack(state.work_dir, fn)
    timeout = float(fn.timeout or 3)
    key = configuration_key(
        fn.function_arn, version, fn.code_digest, fn.handler, fn.run_time,
        fn.environment_vars, timeout, fn.memory_size,
    )  # fmt: skip
    environment = state.lambda_environments.take(key)
    if environment is None:
        stream = _new_log_stream(version)
        env = _environment(state, fn, version, stream, task_root)
        environment = ExecutionEnvironment(state.processes, task_root, str(fn.handler), env, stream)
    event = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    with tempfile.TemporaryDirectory(prefix="invoke-", dir=state.work_dir / "lambda") as tmp:
        result_file = Path(tmp, "result.json")
        # The wait allows for an init (imports) on top of the function's own timeout.
        text, reusable = environment.invoke(
            event or b"{}", request_id, result_file, timeout + INIT_GRACE_SECONDS
        )
        if reusable:
            state.lambda_environments.give_back(key, environment)
        if not result_file.exists():
            status = environment.proc.returncode
            message = f"RequestId: {request_id} Error: Runtime exited with error: " + (
                f"signal {-status}" if status < 0 else f"exit status {status}"
            )
            if status < 0 and state.stopping.is_set():
                message += " (the local AWS endpoint was shut down)"
            return (
                _error_payload(message, "Runtime.ExitError"),
                True,
                text,
                0,
                environment.log_stream,
            )
        result = json.loads(result_file.read_text(encoding="utf-8"))
    memory = result.get("maxMemoryMB", 0)
    if "error" in result:
        return json.dumps(result["error"]).encode(), True, text, memory, environment.log_stream
    return result["result"].encode(), False, text, memory, environment.log_stream


def _environment(
    state: EndpointState, fn: LambdaFunction, version: str, stream: str, task_root: Path
) -> dict[str, str]:
    """An execution environment's variables (the same for each of its invocations)."""
    env = {
        name: os.environ[name]
        for name in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
        if name in os.environ
    }
    env.update({k: str(v) for k, v in (fn.environment_vars or {}).items()})
    env.update(
        {
            "_HANDLER": str(fn.handler),
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout or 3),
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "LOCAL_LAMBDA_FUNCTION_ARN": fn.function_arn,
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(state.child_env(fn.region, LAMBDA_ROLE_ACCESS_KEY))
    return env


def _unpack(work_dir: Path, fn: LambdaFunction) -> Path:
    """The deployment package unpacked once per code hash (shared by later invokes)."""
    if not fn.code_bytes:
        raise ValueError(f"function {fn.function_name} has no deployment package")
    target = work_dir / "lambda" / fn.code_digest
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with zipfile.ZipFile(BytesIO(fn.code_bytes)) as archive:
            archive.extractall(staging)  # zipfile drops absolute and ".." member paths
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not a concurrent unpack of the same code
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _error_payload(message: str, error_type: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def install(patcher: Patcher) -> None:
    patcher.setattr(LambdaFunction, "invoke", _invoke)
    payload_limits.install(patcher)  # the Invoke API's side: AWS's payload quota
