"""The stack's Glue job and crawlers are the definitions the DAG checks and local runs create."""

from __future__ import annotations

import pytest

from local.stack_config import local_config
from sales_etl.glue_resources import (
    glue_job_definition,
    processed_crawler_definition,
    raw_crawler_definition,
)
from tests.support.iam.policies import render_properties


@pytest.mark.parametrize(
    ("logical_id", "definition"),
    [
        ("SalesEtlJob", glue_job_definition),
        ("RawCrawler", raw_crawler_definition),
        ("ProcessedCrawler", processed_crawler_definition),
    ],
)
def test_the_template_declares_exactly_the_python_definition(logical_id, definition):
    cfg = local_config()  # the template's defaults, rendered for the local names
    assert render_properties(cfg, logical_id) == definition(cfg)


def test_code_loading_arguments_cannot_be_overridden_by_a_run():
    job = render_properties(local_config(), "SalesEtlJob")
    assert set(job["NonOverridableArguments"]) == {"--extra-py-files"}
    assert "--extra-py-files" not in job["DefaultArguments"]
