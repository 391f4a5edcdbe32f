"""The DAG starts the Glue job and crawlers as deployed; a missing or changed one fails clearly."""

from __future__ import annotations

import pytest

from sales_etl.as_deployed import NotAsDeployedError
from tests.support.airflow_tools.task_rendering import render


def test_the_job_and_crawlers_as_deployed_pass(dag, deployed_glue):
    for task_id in ("crawl_raw", "transform"):
        task, context = render(dag, task_id, "2024-01-15")
        task._pre_execute_hook(context)


@pytest.mark.parametrize(
    ("task_id", "remove", "message"),
    [
        ("transform", "delete_job", "Glue job 'sales_etl_job' does not exist: the stack"),
        ("crawl_raw", "delete_crawler", "Glue crawler 'sales_etl_raw' does not exist: the stack"),
    ],
)
def test_a_missing_job_or_crawler_fails_before_the_operator_could_create_it(
    dag, deployed_glue, task_id, remove, message
):
    task, context = render(dag, task_id, "2024-01-15")
    name = {"JobName": "sales_etl_job"} if remove == "delete_job" else {"Name": "sales_etl_raw"}
    getattr(deployed_glue, remove)(**name)
    with pytest.raises(NotAsDeployedError, match=message):
        task._pre_execute_hook(context)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        # Other code: a library another DAG's run, or a console edit, put in place.
        (
            {"NonOverridableArguments": {"--extra-py-files": "s3://elsewhere/lib.zip"}},
            "NonOverridableArguments",
        ),
        ({"Role": "arn:aws:iam::123456789012:role/admin"}, "Role"),
        ({"GlueVersion": "4.0"}, "GlueVersion"),
        (
            {"DefaultArguments": {"--additional-python-modules": "evil==1.0"}},
            "DefaultArguments",
        ),
    ],
)
def test_a_job_that_differs_from_its_definition_fails_naming_the_key(
    dag, deployed_glue, change, named
):
    job = deployed_glue.get_job(JobName="sales_etl_job")["Job"]
    if "DefaultArguments" in change:
        change = {"DefaultArguments": {**job["DefaultArguments"], **change["DefaultArguments"]}}
    deployed_glue.delete_job(JobName="sales_etl_job")
    fields = ("Name", "Role", "Command", "GlueVersion", "DefaultArguments")
    kept = {key: job[key] for key in fields}
    deployed_glue.create_job(**{**kept, **job_extras(job), **change})
    glue, context = render(dag, "transform", "2024-01-15")
    with pytest.raises(NotAsDeployedError, match=rf"'sales_etl_job' differs .*{named} is"):
        glue._pre_execute_hook(context)


def job_extras(job: dict) -> dict:
    extras = ("NonOverridableArguments", "MaxRetries", "ExecutionProperty")
    return {key: job[key] for key in extras if key in job}


def test_a_crawler_aimed_elsewhere_fails_naming_its_targets(dag, deployed_glue):
    crawler = deployed_glue.get_crawler(Name="sales_etl_raw")["Crawler"]
    deployed_glue.delete_crawler(Name="sales_etl_raw")
    deployed_glue.create_crawler(
        Name="sales_etl_raw",
        Role=crawler["Role"],
        DatabaseName=crawler["DatabaseName"],
        TablePrefix=crawler["TablePrefix"],
        Targets={"S3Targets": [{"Path": "s3://someone-else/"}]},
    )
    raw, context = render(dag, "crawl_raw", "2024-01-15")
    with pytest.raises(NotAsDeployedError, match=r"crawler 'sales_etl_raw' differs .*Targets is"):
        raw._pre_execute_hook(context)
