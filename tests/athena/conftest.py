"""Fixtures for the local Athena: the endpoint, clients, and small hand-written tables."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local.endpoint import RunningEndpoint
from tests.athena.athena_client import Athena
from tests.support.endpoint import Aws, suite_endpoint


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with suite_endpoint(tmp_path_factory.mktemp("athena-endpoint")) as running:
        yield running


@pytest.fixture(scope="module")
def aws(endpoint: RunningEndpoint) -> Aws:
    return Aws(endpoint.clients)


@pytest.fixture(scope="module")
def athena(aws: Aws) -> Athena:
    bucket = f"athena-results-{uuid.uuid4().hex[:8]}"
    aws.s3.create_bucket(Bucket=bucket)
    return Athena(aws, f"s3://{bucket}/results/")


def parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()
