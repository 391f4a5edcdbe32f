"""Lambda invokes run the deployed handler from its zip, in a child process."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError

from tests.support.endpoint import Aws, lambda_role, lambda_zip, log_messages, unique

HANDLER = """
import json, logging, os, time
import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    print("event", json.dumps(event, sort_keys=True))
    logger.info("remaining %s", context.get_remaining_time_in_millis())
    if event.get("fail"):
        raise ValueError(f"manifest check failed: {event['fail']}")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    s3 = boto3.client("s3")  # AWS_ENDPOINT_URL points at the local endpoint
    objects = s3.list_objects_v2(Bucket=event["bucket"]).get("Contents", [])
    return {
        "keys": [o["Key"] for o in objects],
        "stage": os.environ["STAGE"],
        "function": context.function_name,
        "request_id": context.aws_request_id,
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 5000,
    }
"""


def create_function(aws: Aws, prefix: str, handler: str, files: dict[str, str], **kw) -> str:
    """A python3.12 function of ``files``, with a unique name starting with ``prefix``."""
    name = unique(prefix)
    aws.lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(aws),
        Handler=handler,
        Code={"ZipFile": lambda_zip(files)},
        **kw,
    )
    return name


@pytest.fixture(scope="module")
def function(aws: Aws) -> str:
    files = {"app/__init__.py": "", "app/handler.py": HANDLER}
    environment = {"Variables": {"STAGE": "local"}}
    return create_function(
        aws, "post-process", "app/handler.lambda_handler", files, Timeout=5, Environment=environment
    )


def invoke(aws: Aws, name: str, event: dict, **kwargs) -> tuple[dict, object]:
    response = aws.lambda_.invoke(FunctionName=name, Payload=json.dumps(event), **kwargs)
    return response, json.loads(response["Payload"].read())


def test_invoke_returns_the_handler_result(aws: Aws, function: str, bucket: str) -> None:
    aws.s3.put_object(Bucket=bucket, Key="manifests/run_date=2024-01-15/manifest.json", Body=b"{}")
    response, payload = invoke(aws, function, {"bucket": bucket}, LogType="Tail")

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert payload["keys"] == ["manifests/run_date=2024-01-15/manifest.json"]
    assert payload["stage"] == "local"
    assert payload["function"] == function
    assert payload["remaining_ok"] is True
    tail = base64.b64decode(response["LogResult"]).decode()
    request_id = payload["request_id"]
    assert f"START RequestId: {request_id}" in tail
    assert f'event {{"bucket": "{bucket}"}}' in tail
    assert f"REPORT RequestId: {request_id}" in tail

    streams = aws.logs.describe_log_streams(logGroupName=f"/aws/lambda/{function}")["logStreams"]
    messages = [
        m for s in streams for m in log_messages(aws, f"/aws/lambda/{function}", s["logStreamName"])
    ]
    assert any(m.startswith("[INFO]") and "remaining" in m and request_id in m for m in messages)


def test_handler_exception_is_an_unhandled_function_error(aws: Aws, function: str) -> None:
    response, payload = invoke(aws, function, {"fail": "rows_in != rows_valid + rows_quarantined"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert (
        payload["errorMessage"] == "manifest check failed: rows_in != rows_valid + rows_quarantined"
    )
    assert any("handler.py" in frame for frame in payload["stackTrace"])
    assert "LogResult" not in response  # only with LogType=Tail


def test_timeout_is_reported_like_aws(aws: Aws) -> None:
    slow = {"slow.py": "import time\ndef handler(e, c):\n    time.sleep(60)\n"}
    name = create_function(aws, "slow", "slow.handler", slow, Timeout=1)
    response, payload = invoke(aws, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]


def test_missing_handler_module(aws: Aws) -> None:
    name = create_function(aws, "broken", "nothere.handler", {"other.py": "x = 1\n"})
    for _ in range(2):  # a failed init leaves no environment: the next invocation inits again
        response, payload = invoke(aws, name, {})
        assert response["FunctionError"] == "Unhandled"
        assert payload["errorType"] == "Runtime.ImportModuleError"
        assert payload["errorMessage"].startswith("Unable to import module 'nothere'")


COUNTER_HANDLER = """
import os, time

INITS = [0]
INITS[0] += 1
CALLS = [0]


def handler(event, context):
    CALLS[0] += 1
    print("call", CALLS[0])
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"pid": os.getpid(), "inits": INITS[0], "calls": CALLS[0], "stage": os.environ["STAGE"]}
"""


def test_an_environment_serves_invocation_after_invocation_as_on_aws(aws: Aws) -> None:
    files = {"counter.py": COUNTER_HANDLER}
    stage = {"Variables": {"STAGE": "one"}}
    name = create_function(aws, "warm", "counter.handler", files, Timeout=2, Environment=stage)
    _, first = invoke(aws, name, {})
    _, second = invoke(aws, name, {})
    # One init, then its globals are there for the next invocation: the same process.
    assert (first["inits"], first["calls"], second["calls"]) == (1, 1, 2)
    assert second["pid"] == first["pid"]
    group = f"/aws/lambda/{name}"
    [stream] = aws.logs.describe_log_streams(logGroupName=group)["logStreams"]
    messages = log_messages(aws, group, stream["logStreamName"])
    assert [m for m in messages if m.startswith("call")] == ["call 1", "call 2"]

    # New settings: a new environment. A timed-out invocation ends its environment too.
    aws.lambda_.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"STAGE": "two"}}
    )
    aws.lambda_.get_waiter("function_updated_v2").wait(FunctionName=name)
    _, third = invoke(aws, name, {})
    assert (third["stage"], third["calls"]) == ("two", 1) and third["pid"] != first["pid"]
    _, timed_out = invoke(aws, name, {"sleep": 5})
    assert "Task timed out" in timed_out["errorMessage"]
    _, after = invoke(aws, name, {})
    assert after["calls"] == 1 and after["pid"] != third["pid"]


# AWS's synchronous invocation payload quota: 6 MB each way, as the service counts them.
REQUEST_LIMIT = 6_291_456
RESPONSE_LIMIT = 6_291_556
SIZES_HANDLER = """
def handler(event, context):
    if "reply_bytes" in event:
        return "A" * (event["reply_bytes"] - 2)  # the JSON string's quotes make up the rest
    return len(event["blob"])
"""


@pytest.fixture(scope="module")
def sizes(aws: Aws) -> str:
    return create_function(aws, "sizes", "sizes.handler", {"sizes.py": SIZES_HANDLER}, Timeout=30)


def request_of(size: int) -> bytes:
    head, tail = b'{"blob": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_request_payload_over_6_mb_is_refused_as_on_aws(aws: Aws, sizes: str) -> None:
    at_limit = aws.lambda_.invoke(FunctionName=sizes, Payload=request_of(REQUEST_LIMIT))
    assert "FunctionError" not in at_limit
    assert json.loads(at_limit["Payload"].read()) == REQUEST_LIMIT - 12

    with pytest.raises(ClientError) as excinfo:
        aws.lambda_.invoke(FunctionName=sizes, Payload=request_of(REQUEST_LIMIT + 1))
    error = excinfo.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error["Error"]["Message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )


def test_a_response_payload_over_6_mb_is_a_function_error_as_on_aws(aws: Aws, sizes: str) -> None:
    response, payload = invoke(aws, sizes, {"reply_bytes": RESPONSE_LIMIT})
    assert "FunctionError" not in response
    assert len(payload) == RESPONSE_LIMIT - 2

    response, payload = invoke(aws, sizes, {"reply_bytes": RESPONSE_LIMIT + 1})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
