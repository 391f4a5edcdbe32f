"""The Glue job and crawler definitions, and how a live resource is compared with them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from local.stack_config import local_config
from sales_etl.glue_resources import (
    RUN_TIME_JOB_KEYS,
    differences,
    glue_job_definition,
    raw_crawler_definition,
)


@pytest.mark.parametrize("definition", [raw_crawler_definition])
def test_crawlers_do_not_create_partition_indexes(definition: Callable[..., dict[str, Any]]):
    # AWS crawlers create partition indexes unless told not to (glue:CreatePartitionIndex);
    # the table level keeps one table per raw dataset.
    configuration = json.loads(definition(local_config())["Configuration"])
    assert configuration == {
        "Version": 1.0,
        "Grouping": {"TableLevelConfiguration": 2},
        "CreatePartitionIndex": False,
    }


def test_the_raw_crawler_reads_the_two_raw_datasets():
    crawler = raw_crawler_definition(local_config())
    assert crawler["TablePrefix"] == "raw_"
    assert [t["Path"] for t in crawler["Targets"]["S3Targets"]] == [
        "s3://sales-etl-local/raw-data/sales/",
        "s3://sales-etl-local/raw-data/customers/",
    ]


def test_the_job_runs_the_published_script_and_library():
    job = glue_job_definition(local_config())
    assert job["Command"]["ScriptLocation"] == "s3://sales-etl-local/scripts/sales_etl_job.py"
    assert job["NonOverridableArguments"] == {
        "--extra-py-files": "s3://sales-etl-local/scripts/sales_etl_lib.zip"
    }
    assert job["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-disable"
    assert job["MaxRetries"] == 0 and job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}


def test_fields_aws_adds_are_not_differences_but_an_extra_argument_is():
    job = glue_job_definition(local_config())
    live = {**job, "CreatedOn": "2024-01-01", "Command": {**job["Command"], "Runtime": "x"}}
    assert differences(live, job) == []
    extra = {**job["DefaultArguments"], "--extra-jars": "s3://elsewhere/x.jar"}
    [found] = differences({**job, "DefaultArguments": extra}, job)
    assert found.startswith("DefaultArguments is ")


def test_run_time_sizing_is_not_compared():
    job = glue_job_definition(local_config())
    live = {**job, "NumberOfWorkers": 10, "WorkerType": "G.2X", "Timeout": 5}
    assert differences(live, job, RUN_TIME_JOB_KEYS) == []
    assert len(differences(live, job)) == 3
