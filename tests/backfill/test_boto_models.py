"""The local Airflow runner's shared botocore loader (local.airflow.boto_models)."""

from __future__ import annotations

import boto3
import botocore.session
import pytest

from local.airflow import boto_models


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> None:
    # Put botocore's own create_loader back after the test.
    monkeypatch.setattr(botocore.session, "create_loader", botocore.session.create_loader)
    boto_models.share_service_models()


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="key", aws_secret_access_key="secret", region_name="us-east-1"
    )


def test_sessions_share_one_loader_whose_search_paths_do_not_grow(shared: None) -> None:
    first, second = _session(), _session()
    loader = first._loader
    assert second._loader is loader
    paths = list(loader.search_paths)
    _session()
    assert list(loader.search_paths) == paths  # boto3 appended its data path once, not again


def test_clients_stay_separate_and_their_models_are_read_once(shared: None) -> None:
    glue = _session().client("glue", endpoint_url="http://127.0.0.1:9")
    again = _session().client("glue", endpoint_url="http://127.0.0.1:9")
    assert glue is not again and glue.meta.events is not again.meta.events
    assert glue.meta.service_model.service_name == "glue"
    loader = _session()._loader
    assert loader.load_service_model("glue", "service-2") is loader.load_service_model(
        "glue", "service-2"
    )


def test_without_it_each_session_reads_the_models_again() -> None:
    assert _session()._loader is not _session()._loader
