"""Only callers holding the endpoint's secret key get served: every request's SigV4 signature is
checked, as AWS checks it.

Any local account can reach ``127.0.0.1:<port>``, and the endpoint runs uploaded Lambda
handlers and Glue scripts as the developer. So a request signed with another access key, with
another secret, or not signed at all is refused with the error AWS gives for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from local.aws_local import DEVELOPER_ACCESS_KEY, REGION
from local.endpoint import RunningEndpoint
from tests.support.endpoint import Aws, lambda_role, lambda_zip, unique

STS_CALL = b"Action=GetCallerIdentity&Version=2011-06-15"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
# What JSON-protocol services answer another access key id, and another secret.
JSON_CODES = ("UnrecognizedClientException", "InvalidSignatureException")


def client_with(endpoint: RunningEndpoint, service: str, access_key: str, secret: str) -> Any:
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0})
    return boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret, region_name=REGION
    ).client(service, endpoint_url=endpoint.url, config=config)


def refusal(call: Callable[[], Any], status: int = 403) -> tuple[str, str]:
    """The (code, message) of the error ``call`` must raise."""
    with pytest.raises(ClientError) as excinfo:
        call()
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response
    return response["Error"]["Code"], response["Error"].get("Message", "")


def send(
    endpoint: RunningEndpoint, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, str]:
    """One raw HTTP request with the standard library only, as any local account can send."""
    request = urllib.request.Request(
        endpoint.url + path, data=body or None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def signed_headers(
    endpoint: RunningEndpoint, service: str, method: str, path: str, body: bytes, **headers: str
) -> dict[str, str]:
    """The headers botocore signs ``method path body`` with, using the endpoint's key."""
    credentials = Credentials(DEVELOPER_ACCESS_KEY, endpoint.clients.secret_key)
    auth = (S3SigV4Auth if service == "s3" else SigV4Auth)(credentials, service, REGION)
    request = AWSRequest(method=method, url=endpoint.url + path, data=body, headers=headers)
    auth.add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize(
    "service, call",
    [
        ("sts", lambda c: c.get_caller_identity()),
        ("s3", lambda c: c.list_buckets()),
        ("glue", lambda c: c.get_databases()),
        ("lambda", lambda c: c.list_functions()),
        ("logs", lambda c: c.describe_log_groups()),
        ("cloudwatch", lambda c: c.list_metrics()),
        ("sns", lambda c: c.list_topics()),
        ("sqs", lambda c: c.list_queues()),
    ],
)
def test_requests_signed_with_the_endpoint_key_are_served(
    endpoint: RunningEndpoint, service: str, call: Callable[[Any], Any]
) -> None:
    client = client_with(endpoint, service, DEVELOPER_ACCESS_KEY, endpoint.clients.secret_key)
    assert call(client)["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize(
    "service, call, unknown_key_code, other_secret_code",
    [
        ("sts", lambda c: c.get_caller_identity(), "InvalidClientTokenId", "SignatureDoesNotMatch"),
        ("iam", lambda c: c.list_roles(), "InvalidClientTokenId", "SignatureDoesNotMatch"),
        ("s3", lambda c: c.list_buckets(), "InvalidAccessKeyId", "SignatureDoesNotMatch"),
        ("glue", lambda c: c.get_databases(), *JSON_CODES),
        ("lambda", lambda c: c.list_functions(), *JSON_CODES),
        ("cloudwatch", lambda c: c.list_metrics(), *JSON_CODES),
    ],
)
def test_another_key_gets_the_error_aws_gives(
    endpoint: RunningEndpoint,
    service: str,
    call: Callable[[Any], Any],
    unknown_key_code: str,
    other_secret_code: str,
) -> None:
    someone_else = client_with(endpoint, service, "AKIASOMEONEELSE", endpoint.clients.secret_key)
    assert refusal(lambda: call(someone_else))[0] == unknown_key_code
    # "test" was the fake secret every local caller used before the endpoint checked keys.
    guessed_secret = client_with(endpoint, service, DEVELOPER_ACCESS_KEY, "test")
    code, message = refusal(lambda: call(guessed_secret))
    assert code == other_secret_code
    assert "signature we calculated does not match" in message


def test_a_tampered_signature_or_body_does_not_match(endpoint: RunningEndpoint) -> None:
    headers = signed_headers(endpoint, "sts", "POST", "/", STS_CALL, **{"Content-Type": FORM})
    assert send(endpoint, "POST", "/", STS_CALL, **headers)[0] == 200

    signature = headers["Authorization"][-64:]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    tampered = {**headers, "Authorization": headers["Authorization"][:-64] + flipped}
    status, body = send(endpoint, "POST", "/", STS_CALL, **tampered)
    assert (status, "<Code>SignatureDoesNotMatch</Code>" in body) == (403, True), body

    other_body = b"Action=GetCallerIdentity&Version=2011-06-16"
    status, body = send(endpoint, "POST", "/", other_body, **headers)
    assert (status, "<Code>SignatureDoesNotMatch</Code>" in body) == (403, True), body


def test_an_s3_body_must_match_its_signed_hash(endpoint: RunningEndpoint, bucket: str) -> None:
    path = f"/{bucket}/data/file.csv"
    headers = signed_headers(endpoint, "s3", "PUT", path, b"a,b\n1,2\n")
    assert headers["X-Amz-Content-SHA256"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    status, body = send(endpoint, "PUT", path, b"a,b\n6,6\n", **headers)
    assert (status, "<Code>XAmzContentSHA256Mismatch</Code>" in body) == (400, True), body


@pytest.mark.parametrize(
    "method, path, body, headers",
    [
        ("GET", "/", b"", {}),  # S3 ListBuckets
        ("GET", "/moto-api/", b"", {}),  # moto's dashboard
        ("POST", "/moto-api/reset", b"", {}),  # would wipe every bucket, job and run
        ("POST", "/", STS_CALL, {"Content-Type": FORM}),
        ("POST", "/", b"{}", {"X-Amz-Target": "AWSGlue.GetDatabases"}),
        ("GET", "/2015-03-31/functions/", b"", {}),
    ],
)
def test_unsigned_requests_are_refused(
    endpoint: RunningEndpoint, method: str, path: str, body: bytes, headers: dict[str, str]
) -> None:
    status, text = send(endpoint, method, path, body, **headers)
    assert status == 403, text
    assert "Authentication Token" in text or "<Code>AccessDenied</Code>" in text, text


def forged_authorization(key: str, service: str) -> str:
    """An Authorization header anyone can write: moto routes by its scope, checks nothing."""
    scope = f"{key}/20240115/{REGION}/{service}/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature={'0' * 64}"


@pytest.mark.parametrize("key", ["AKIAINTRUDER", DEVELOPER_ACCESS_KEY])
def test_another_account_cannot_run_code_as_the_developer(
    aws: Aws, endpoint: RunningEndpoint, key: str
) -> None:
    """The attack the key closes: a Lambda created and invoked with the standard library only,
    as any other account on the machine could (the developer's key id is no secret)."""
    name = unique("intruder")
    handler = "import os\ndef handler(event, context):\n    return os.getuid()\n"
    code = base64.b64encode(lambda_zip({"intruder.py": handler})).decode()
    create = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": lambda_role(aws),
        "Handler": "intruder.handler",
        "Code": {"ZipFile": code},
    }
    forged = {
        "Authorization": forged_authorization(key, "lambda"),
        "Content-Type": "application/json",
    }
    status, body = send(
        endpoint, "POST", "/2015-03-31/functions", json.dumps(create).encode(), **forged
    )
    assert status == 403, body
    expected = "UnrecognizedClientException" if key != DEVELOPER_ACCESS_KEY else "InvalidSignature"
    assert expected in body
    status, _ = send(endpoint, "POST", f"/2015-03-31/functions/{name}/invocations", b"{}", **forged)
    assert status == 403
    assert name not in {f["FunctionName"] for f in aws.lambda_.list_functions()["Functions"]}


def test_presigned_urls_are_refused_loudly(
    aws: Aws, endpoint: RunningEndpoint, bucket: str
) -> None:
    aws.s3.put_object(Bucket=bucket, Key="k.txt", Body=b"secret data")
    url = aws.s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k.txt"})
    status, body = send(endpoint, "GET", url.removeprefix(endpoint.url))
    assert status == 403, body
    assert "presigned" in body and "secret data" not in body
