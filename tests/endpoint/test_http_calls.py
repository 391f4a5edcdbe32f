"""HTTP requests to the endpoint, as the IAM calls the call log records."""

from __future__ import annotations

import io
import json
from typing import Any

from local.aws_local import GLUE_ROLE, GLUE_ROLE_ACCESS_KEY, MWAA_EXECUTION_ACCESS_KEY
from local.endpoint.http.call_log import UNKNOWN_RESOURCE, Call, CallLog
from local.endpoint.http.call_recorder import CallRecorder, calls_of

SCOPE = "20240115/us-east-1/{service}/aws4_request"


def request(
    service: str,
    method: str,
    path: str,
    query: str = "",
    key: str = GLUE_ROLE_ACCESS_KEY,
    **headers: str,
) -> dict[str, Any]:
    credential = f"{key}/{SCOPE.format(service=service)}"
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential={credential}, Signature=x",
    }
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return environ


def test_s3_requests_become_object_and_bucket_calls() -> None:
    def one(method: str, path: str, query: str = "", **headers: str) -> tuple[str, str, dict]:
        [(_, action, resource, keys)] = calls_of(request("s3", method, path, query, **headers), b"")
        return action, resource, keys

    assert one("GET", "/b/raw-data/x.csv") == ("s3:GetObject", "arn:aws:s3:::b/raw-data/x.csv", {})
    assert one("HEAD", "/b/out_$folder$")[:2] == ("s3:GetObject", "arn:aws:s3:::b/out_$folder$")
    assert one("PUT", "/b/k")[0] == "s3:PutObject"
    assert one("DELETE", "/b/k")[0] == "s3:DeleteObject"
    assert one("GET", "/b", "list-type=2&prefix=raw-data%2Fsales%2F") == (
        "s3:ListBucket",
        "arn:aws:s3:::b",
        {"s3:prefix": "raw-data/sales/"},
    )
    assert one("GET", "/b", "list-type=2") == ("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": ""})
    assert one("GET", "/b", "location") == ("s3:GetBucketLocation", "arn:aws:s3:::b", {})
    # An operation outside the table is recorded as unknown, so a policy check fails on it.
    assert one("GET", "/b", "acl")[0] == "s3:unknown GET bucket ?acl"


def test_a_copy_reads_its_source() -> None:
    calls = calls_of(request("s3", "PUT", "/b/to", x_amz_copy_source="/b/from"), b"")
    assert [c[1:3] for c in calls] == [
        ("s3:PutObject", "arn:aws:s3:::b/to"),
        ("s3:GetObject", "arn:aws:s3:::b/from"),
    ]


def test_json_calls_name_their_resource_and_the_role_they_pass() -> None:
    body = json.dumps({"Name": "c", "Role": "arn:aws:iam::123456789012:role/g"}).encode()
    environ = request("glue", "POST", "/", key=MWAA_EXECUTION_ACCESS_KEY)
    environ["HTTP_X_AMZ_TARGET"] = "AWSGlue.UpdateCrawler"
    assert calls_of(environ, body) == [
        (
            MWAA_EXECUTION_ACCESS_KEY,
            "glue:UpdateCrawler",
            "arn:aws:glue:us-east-1:123456789012:crawler/c",
            {},
        ),
        (
            MWAA_EXECUTION_ACCESS_KEY,
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/g",
            {"iam:PassedToService": "glue.amazonaws.com"},
        ),
    ]
    environ["HTTP_X_AMZ_TARGET"] = "AWSGlue.DeleteJob"
    assert calls_of(environ, b"{}")[0][1:3] == ("glue:DeleteJob", UNKNOWN_RESOURCE)


def test_the_recorder_records_only_while_on_and_passes_the_body_on() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        return []

    log = CallLog()
    recorder = CallRecorder(app, log)

    def send() -> None:
        environ = request("s3", "GET", "/b/k")
        environ.update({"wsgi.input": io.BytesIO(b"body"), "CONTENT_LENGTH": "4"})
        recorder(environ, None)

    send()
    with log.recording() as calls, log.counting() as counts:
        send()
        send()
    send()
    assert seen == [b"body"] * 4
    get = Call(GLUE_ROLE, "s3:GetObject", "arn:aws:s3:::b/k")
    assert calls == {get}
    assert counts == {get: 2}  # what a bill counts: every request


def test_a_publish_names_its_topic_or_target_and_an_unknown_form_is_kept() -> None:
    """The Lambda publishes with TopicArn, Airflow's SnsNotifier with TargetArn."""
    topic = "arn:aws:sns:us-east-1:123456789012:sales-etl-alerts"
    environ = request("sns", "POST", "/", key=MWAA_EXECUTION_ACCESS_KEY)
    for field in ("TopicArn", "TargetArn"):
        body = f"Action=Publish&{field}={topic}&Message=m".encode()
        assert calls_of(environ, body)[0][1:3] == ("sns:Publish", topic)
    body = b"Action=Publish&PhoneNumber=%2B10000000000&Message=m"
    assert calls_of(environ, body)[0][1:3] == ("sns:Publish", UNKNOWN_RESOURCE)


def test_athena_calls_name_the_workgroup_the_query_runs_in() -> None:
    def athena(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
        environ = request("athena", "POST", "/", key=MWAA_EXECUTION_ACCESS_KEY)
        environ["HTTP_X_AMZ_TARGET"] = f"AmazonAthena.{operation}"
        return [call[1:3] for call in calls_of(environ, json.dumps(params).encode())]

    workgroup = "arn:aws:athena:us-east-1:123456789012:workgroup/{}"
    started = athena("StartQueryExecution", {"QueryString": "SELECT 1", "WorkGroup": "etl"})
    assert started == [("athena:StartQueryExecution", workgroup.format("etl"))]
    # Without WorkGroup, Athena runs the query in "primary".
    default = athena("StartQueryExecution", {"QueryString": "SELECT 1"})
    assert default == [("athena:StartQueryExecution", workgroup.format("primary"))]
    # A call on a query no one started cannot be scoped: recorded as unknown, so it is denied.
    for operation in ("GetQueryExecution", "GetQueryResults", "StopQueryExecution"):
        unknown = athena(operation, {"QueryExecutionId": "no-such-query"})
        assert unknown == [(f"athena:{operation}", UNKNOWN_RESOURCE)]
