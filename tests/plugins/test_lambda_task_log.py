"""post_process's task log: the function's log tail and the status, not the raw HTTP headers."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

import pytest
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator

from sales_etl.tasks import QuietLambdaInvokeFunctionOperator

TAIL = "START RequestId: req-1\nmanifest ok: 11 valid rows\nEND RequestId: req-1\n"
LOG_RESULT = base64.b64encode(TAIL.encode()).decode()


class FakeLambdaClient:
    """boto3's Lambda client as the hook uses it: one ``invoke``, answered as AWS answers."""

    def __init__(self, **response: Any) -> None:
        self.response = response
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        headers = {
            "date": "Sun, 06 Dec 2026 05:42:17 GMT",
            "content-type": "application/json",
            "x-amzn-requestid": "req-1",
            "x-amz-log-result": LOG_RESULT,
            "x-amz-executed-version": "$LATEST",
        }
        return {
            "ResponseMetadata": {
                "RequestId": "req-1",
                "HTTPStatusCode": 200,
                "HTTPHeaders": headers,
                "RetryAttempts": 0,
            },
            "StatusCode": 200,
            "LogResult": LOG_RESULT,
            "ExecutedVersion": "$LATEST",
            "Payload": io.BytesIO(b'{"status": "ok"}'),
            **self.response,
        }


@pytest.fixture
def invoke(monkeypatch):
    """Run post_process's operator against a fake client; returns its result and the client."""

    def run(**response: Any) -> tuple[Any, FakeLambdaClient]:
        # The task log, as caplog sees it.
        monkeypatch.setattr(QuietLambdaInvokeFunctionOperator, "log", logging.getLogger("lam"))
        operator = QuietLambdaInvokeFunctionOperator(
            task_id="post_process",
            function_name="sales_etl_post_process",
            payload='{"run_date": "2024-01-15"}',
            invocation_type="RequestResponse",
            log_type="Tail",
        )
        client = FakeLambdaClient(**response)
        operator.hook.conn = client  # the hook's boto3 client, made on first use otherwise
        return operator.execute({}), client

    return run


def test_the_log_has_the_decoded_tail_and_status_not_the_header_blob(invoke, caplog) -> None:
    with caplog.at_level(logging.INFO):
        result, client = invoke()
    assert result == '{"status": "ok"}'
    assert client.calls == [
        {
            "FunctionName": "sales_etl_post_process",
            "InvocationType": "RequestResponse",
            "LogType": "Tail",
            "Payload": b'{"run_date": "2024-01-15"}',
        }
    ]
    text = caplog.text
    assert LOG_RESULT not in text
    assert "HTTPHeaders" not in text
    assert "manifest ok: 11 valid rows" in caplog.messages  # the tail, decoded
    status = "{'RequestId': 'req-1', 'HTTPStatusCode': 200, 'RetryAttempts': 0}"
    assert f"Lambda function invocation succeeded: {status}" in caplog.messages


def test_a_function_error_still_carries_the_payload_the_alert_reads(invoke) -> None:
    with pytest.raises(ValueError) as raised:
        invoke(FunctionError="Unhandled", Payload=io.BytesIO(b'{"errorMessage": "bad"}'))
    _, details = raised.value.args
    assert details["Payload"] == '{"errorMessage": "bad"}'  # sales_etl.failure_reasons
    assert "HTTPHeaders" not in details["ResponseMetadata"]


def test_it_is_the_providers_operator() -> None:
    assert issubclass(QuietLambdaInvokeFunctionOperator, LambdaInvokeFunctionOperator)
    assert "execute" not in vars(QuietLambdaInvokeFunctionOperator)  # the provider's own
