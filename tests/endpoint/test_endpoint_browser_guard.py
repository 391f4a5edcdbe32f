"""No web page can drive the endpoint: cross-origin and DNS-rebinding requests are refused.

Each refused call is the SDK's own request with the header a browser would add (``Origin``)
or the host name a rebinding page would use; afterwards nothing it asked for exists or ran.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.aws_local import EndpointClients
from local.endpoint import RunningEndpoint
from local.endpoint.s3.mirror import BucketMirror, UnmirrorableKey
from tests.support.endpoint import Aws, create_job, unique

EVIL_ORIGIN = "http://attacker.example"


def browser_client(endpoint: RunningEndpoint, service: str, **headers: str) -> Any:
    """A new client sending ``headers`` on every request (added after signing, as a page would)."""
    client = endpoint.clients.client(service)

    def add(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    client.meta.events.register("before-send.*.*", add)
    return client


def refused(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as excinfo:
        call()
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return str(excinfo.value)


@pytest.fixture(params=["cross-origin", "rebinding"])
def browser(request: pytest.FixtureRequest, endpoint: RunningEndpoint) -> dict[str, str]:
    if request.param == "cross-origin":
        return {"Origin": EVIL_ORIGIN}
    return {"Host": f"rebind.attacker.example:{endpoint.port}"}


def test_browser_requests_create_nothing(
    aws: Aws, endpoint: RunningEndpoint, browser: dict[str, str]
) -> None:
    s3 = browser_client(endpoint, "s3", **browser)
    glue = browser_client(endpoint, "glue", **browser)
    bucket = unique("browser")
    refused(lambda: s3.create_bucket(Bucket=bucket))
    assert bucket not in {b["Name"] for b in aws.s3.list_buckets()["Buckets"]}

    aws.s3.create_bucket(Bucket=bucket)
    refused(lambda: s3.put_object(Bucket=bucket, Key="scripts/x.py", Body=b"print(1)"))
    assert "Contents" not in aws.s3.list_objects_v2(Bucket=bucket)

    job = unique("browser-job")
    refused(
        lambda: glue.create_job(
            Name=job,
            Role="arn:aws:iam::123456789012:role/x",
            Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/scripts/x.py"},
        )
    )
    assert job not in aws.glue.list_jobs()["JobNames"]


def test_browser_cannot_start_a_job_run(
    aws: Aws, endpoint: RunningEndpoint, bucket: str, browser: dict[str, str]
) -> None:
    name, _ = create_job(aws, bucket, "import sys\nsys.exit(0)\n")
    glue = browser_client(endpoint, "glue", **browser)
    reason = refused(lambda: glue.start_job_run(JobName=name))
    assert "refused" in reason or "unexpected Host" in reason
    assert aws.glue.get_job_runs(JobName=name)["JobRuns"] == []


def test_refusal_names_the_reason(endpoint: RunningEndpoint) -> None:
    for headers, expected in (
        ({"Origin": EVIL_ORIGIN}, f"requests from web pages are refused (Origin: {EVIL_ORIGIN})"),
        ({"Host": "evil.example"}, "unexpected Host 'evil.example'"),
    ):
        conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
        conn.request("GET", "/", headers=headers)
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        assert response.status == 403
        assert expected in body
        assert body.count("\n") == 1


def test_no_cors_headers_are_ever_sent(endpoint: RunningEndpoint) -> None:
    """Not on a refused preflight, and not on a request the SDK makes (moto adds them)."""
    for method, headers in (
        ("OPTIONS", {"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "PUT"}),
        ("GET", {}),
    ):
        conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
        conn.request(method, "/", headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        cors = [h for h in response.getheaders() if h[0].lower().startswith("access-control-")]
        assert cors == [], (method, cors)


def test_localhost_with_the_endpoint_port_is_served(endpoint: RunningEndpoint) -> None:
    # Named so, a client signs that Host too (the endpoint checks every signature).
    by_name = EndpointClients(f"http://localhost:{endpoint.port}", endpoint.clients.secret_key)
    assert "Buckets" in by_name.client("s3").list_buckets()


@pytest.mark.parametrize("key", ["a/../../outside.txt", "a/./b.txt", "./b.txt", "/abs.txt", ".."])
def test_keys_the_mirror_cannot_represent_are_refused_at_upload(
    aws: Aws, bucket: str, key: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws.s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    error = excinfo.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert "cannot store key" in error["Message"]
    assert "Contents" not in aws.s3.list_objects_v2(Bucket=bucket)


def test_copy_and_multipart_uploads_are_refused_too(aws: Aws, bucket: str) -> None:
    aws.s3.put_object(Bucket=bucket, Key="ok.txt", Body=b"x")
    for call in (
        lambda: aws.s3.copy_object(
            Bucket=bucket, Key="x/../../y", CopySource={"Bucket": bucket, "Key": "ok.txt"}
        ),
        lambda: aws.s3.create_multipart_upload(Bucket=bucket, Key="x/../../y"),
    ):
        with pytest.raises(ClientError, match="InvalidArgument"):
            call()
    assert [o["Key"] for o in aws.s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["ok.txt"]


def test_staging_never_names_a_file_outside_the_bucket_folder(tmp_path: Any) -> None:
    mirror = BucketMirror(tmp_path, "lake", s3=None)
    assert mirror.local_path("raw/x.csv") == tmp_path / "s3" / "lake" / "raw" / "x.csv"
    for key in ("../other/x", "raw/../../x", "/etc/passwd"):
        with pytest.raises(UnmirrorableKey, match="cannot be mirrored"):
            mirror.local_path(key)
