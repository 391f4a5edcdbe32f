"""Fixtures for the local AWS endpoint tests: a real endpoint per test module, boto3 clients.

Everything a fixture starts (the endpoint, CLI processes) is stopped by object or PID in its
teardown, and the endpoint fixture checks that no job or Lambda process outlives it. The
endpoint is module-scoped (starting one takes milliseconds) because only one can run per
process: other suites in the same pytest session can then start their own (and if one is
already running, these tests use it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from local.endpoint import RunningEndpoint
from tests.support.endpoint import Aws, suite_endpoint


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with suite_endpoint(tmp_path_factory.mktemp("endpoint-work")) as running:
        yield running


@pytest.fixture(scope="module")
def aws(endpoint: RunningEndpoint) -> Aws:
    return Aws(endpoint.clients)


@pytest.fixture
def bucket(aws: Aws) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    aws.s3.create_bucket(Bucket=name)
    return name
