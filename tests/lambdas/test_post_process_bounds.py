"""The post-process function's bounds: how much of a manifest it reads, which revenue it takes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.post_process import handler
from lambdas.post_process.handler import ManifestError, check_manifest, read_manifest

BUCKET = "sales-etl-test"
KEY = "manifests/run_date=2024-01-15/manifest.json"
URI = f"s3://{BUCKET}/{KEY}"
RUN_DATE = "2024-01-15"
LIMIT = handler.MAX_MANIFEST_BYTES


@pytest.fixture
def s3(fake_aws_credentials: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def padded_manifest(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    shell = b'{"pad": ""}'
    return shell[:-2] + b"x" * (size - len(shell)) + shell[-2:]


def test_a_manifest_up_to_the_limit_is_read(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=padded_manifest(LIMIT))
    assert len(read_manifest(s3, BUCKET, KEY)["pad"]) == LIMIT - len(b'{"pad": ""}')


def test_a_manifest_over_the_limit_is_refused_naming_it(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=padded_manifest(LIMIT + 1))
    with pytest.raises(ManifestError, match=re.escape(f"manifest {URI} is larger than 1 MiB")):
        read_manifest(s3, BUCKET, KEY)


class _Body:
    """A response body that records how much it was asked for."""

    def __init__(self) -> None:
        self.asked: list[int | None] = []
        self.closed = False

    def read(self, amt: int | None = None) -> bytes:
        self.asked.append(amt)
        return b"{}"

    def close(self) -> None:
        self.closed = True


class _S3:
    def __init__(self, body: _Body) -> None:
        self.body = body

    def get_object(self, **_: Any) -> dict[str, Any]:
        return {"Body": self.body}


def test_the_read_never_asks_for_more_than_one_byte_over_the_limit() -> None:
    # A manifest of any size read whole could exhaust the function's memory before the check.
    body = _Body()
    read_manifest(_S3(body), BUCKET, KEY)
    assert body.asked == [LIMIT + 1]
    assert body.closed


def manifest(total_revenue: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "run_date": RUN_DATE,
        "status": "succeeded",
        "rows_in": 2,
        "rows_valid": 2,
        "rows_quarantined": 0,
        "quarantine_reasons": {},
        "total_revenue": total_revenue,
    }


@pytest.mark.parametrize(
    "revenue",
    [
        "-0.01",
        -5,
        "Infinity",
        "-Infinity",
        "NaN",
        float("inf"),
        float("nan"),
        # Finite as a decimal, but no metric value: CloudWatch takes -2^360..2^360 only.
        "1E+400",
        "1E+109",
    ],
)
def test_negative_or_unpublishable_revenue_is_refused(revenue: Any) -> None:
    with pytest.raises(ManifestError, match=re.escape(f"manifest {URI}: total_revenue")):
        check_manifest(manifest(revenue), RUN_DATE, URI)


@pytest.mark.parametrize("revenue", ["0", "0.00", "12345.67", 7, "1E+100"])
def test_zero_and_positive_revenue_pass(revenue: Any) -> None:
    total = check_manifest(manifest(revenue), RUN_DATE, URI).revenue
    assert total >= 0
