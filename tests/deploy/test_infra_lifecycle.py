"""What creating, updating and deleting the stack of infra/sales-etl.yaml does to the data
bucket, the deployed Lambda code and the Glue log groups."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.decode import decode

from local.repo import REPO_ROOT

TEMPLATE_PATH = REPO_ROOT / "infra" / "sales-etl.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    decoded, problems = decode(str(TEMPLATE_PATH))
    assert not problems, problems
    return decoded


def test_the_bucket_outlives_the_stack_but_not_a_failed_first_create(
    template: dict[str, Any],
) -> None:
    # Retain also kept the empty bucket of a first create that rolled back, and its fixed name
    # (sales-etl-<account>-<region>) then failed every retry with "already exists".
    # RetainExceptOnCreate deletes a resource only when the operation that created it rolls
    # back (CloudFormation template reference, DeletionPolicy attribute).
    bucket = template["Resources"]["DataBucket"]
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"
    assert bucket["UpdateReplacePolicy"] == "Retain"


# CloudFormation changes a function's code only when its Code property changes in the template
# (CloudFormation template reference, AWS::Lambda::Function Code: changes to a package in S3
# are not detected; the key or version in the template must change). `python -m deploy` owns
# the code, so this placeholder must stay byte-for-byte the same: edited, the next stack update
# would put it back in place of the deployed handler, and every run would fail until the next
# deploy.
PLACEHOLDER = (
    "# Placeholder: run `python -m deploy` to publish lambdas/post_process.\n"
    "def lambda_handler(event, context):\n"
    '    raise RuntimeError("sales ETL post-process code not deployed yet")\n'
)


def test_a_stack_update_never_touches_the_deployed_lambda_code(template: dict[str, Any]) -> None:
    code = template["Resources"]["PostProcessFunction"]["Properties"]["Code"]
    assert code == {"ZipFile": PLACEHOLDER}, "the placeholder changed: see the comment above"


def test_no_glue_4_continuous_logging(template: dict[str, Any]) -> None:
    # The job runs on Glue 5.0, which writes /aws-glue/jobs/output and /aws-glue/jobs/error
    # and has no continuous logging (AWS Glue guide, "Logging for AWS Glue jobs"). The
    # account-wide logs-v2 group the stack may create stays (other jobs may write it), but no
    # policy grants anything on it.
    assert "--enable-continuous-cloudwatch-log" not in json.dumps(template)
    for name, resource in template["Resources"].items():
        policies = resource.get("Properties", {}).get("Policies", [])
        documents = [p["PolicyDocument"] for p in policies]
        if "PolicyDocument" in resource.get("Properties", {}):
            documents.append(resource["Properties"]["PolicyDocument"])
        assert "logs-v2" not in json.dumps(documents), name
