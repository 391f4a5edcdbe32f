"""infra/sales-etl.yaml: lint-clean, creatable, and least privilege in every IAM policy."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.decode import decode

from local.repo import REPO_ROOT
from sales_contract.lambda_environment import (
    METRIC_NAMESPACE,
    METRIC_NAMESPACE_VALUE,
    PIPELINE_NAME,
    PIPELINE_NAME_VALUE,
    VARIABLES,
    post_process_environment,
)
from sales_contract.layout import PROCESSED_TABLES
from sales_etl.config import PipelineConfig
from tests.support.deploy_harness import REGION

TEMPLATE_PATH = REPO_ROOT / "infra" / "sales-etl.yaml"
ACCOUNT = "123456789012"

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports pkg_resources, which warns
    import parliament


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    decoded, problems = decode(str(TEMPLATE_PATH))
    assert not problems, problems
    return decoded


def unscopable(template: dict[str, Any]) -> set[str]:
    return {entry["Action"] for entry in template["Metadata"]["UnscopableActions"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- lint and create


def test_cfn_lint_reports_nothing() -> None:
    matches = lint(TEMPLATE_PATH.read_text(), config=ManualArgs(regions=[REGION]))
    assert [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches] == []


# moto's CloudFormation has no model for these types: it skips them with a warning, so the
# stack is created without them (their properties are checked statically below).
MOTO_UNSUPPORTED = {
    "AWS::S3::BucketPolicy",
    "AWS::Glue::Database",
    "AWS::Glue::Job",
    "AWS::Glue::Crawler",
    "AWS::Glue::Table",
}


def test_stack_creates_in_moto(aws_env: None) -> None:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="mwaa-execution", AssumeRolePolicyDocument="{}")
    cfn = boto3.client("cloudformation", region_name=REGION)
    parameters = {"CreateAlertTopic": "true", "MwaaExecutionRoleName": "mwaa-execution"}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfn.create_stack(
            StackName="sales-etl",
            TemplateBody=TEMPLATE_PATH.read_text(),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        )
    skipped = {
        m[1] for w in caught if (m := re.search(r"Tried to parse (\S+) but", str(w.message)))
    }
    assert skipped == MOTO_UNSUPPORTED

    stack = cfn.describe_stacks(StackName="sales-etl")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    bucket = outputs["Bucket"]
    assert bucket == f"sales-etl-{ACCOUNT}-{REGION}"

    s3 = boto3.client("s3", region_name=REGION)
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    function = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName=outputs["LambdaFunction"]
    )["Configuration"]
    assert (function["Runtime"], function["Handler"]) == ("python3.12", "handler.lambda_handler")
    assert function["Role"] == outputs["LambdaRoleArn"]
    assert function["Environment"]["Variables"] == post_process_environment(
        outputs["AlertTopicArn"], 0.05
    )

    attached = iam.list_attached_role_policies(RoleName="mwaa-execution")["AttachedPolicies"]
    assert sorted(p["PolicyName"].split("-")[2] for p in attached) == [
        "MwaaAlertPolicy",  # only with CreateAlertTopic=true
        "MwaaExecutionPolicy",
    ]
    assert outputs["MwaaExecutionPolicyArn"] in {p["PolicyArn"] for p in attached}
    glue_role = outputs["GlueRoleArn"].rsplit("/", 1)[1]
    assert iam.list_role_policies(RoleName=glue_role)["PolicyNames"] == ["sales-etl-glue"]
    logs = boto3.client("logs", region_name=REGION)
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    # Glue's account-wide groups exist wherever Glue ran: the stack creates none by default.
    assert not [name for name in groups if name.startswith("/aws-glue/")]
    assert groups[f"/aws/lambda/{outputs['LambdaFunction']}"]["retentionInDays"] == 30


def test_data_bucket_is_versioned_encrypted_private_and_expires_scratch_data(
    template: dict[str, Any],
) -> None:
    props = template["Resources"]["DataBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    expiring = {
        r["Prefix"]: r["ExpirationInDays"]
        for r in props["LifecycleConfiguration"]["Rules"]
        if "Prefix" in r
    }
    assert expiring == {
        "temp/": {"Ref": "TempExpirationDays"},
        "quarantine/": {"Ref": "QuarantineExpirationDays"},
        # check_day's query results; the prefix is the default of config athena_results_prefix
        "athena-results/": {"Ref": "AthenaResultsExpirationDays"},
    }
    assert PipelineConfig.model_fields["athena_results_prefix"].default == "athena-results/"
    deny = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny[0]["Effect"] == "Deny"
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_lambda_environment_is_the_post_process_contract(template: dict[str, Any]) -> None:
    variables = template["Resources"]["PostProcessFunction"]["Properties"]["Environment"][
        "Variables"
    ]
    assert set(variables) == VARIABLES
    parameters = template["Parameters"]
    assert parameters[variables[METRIC_NAMESPACE]["Ref"]]["Default"] == METRIC_NAMESPACE_VALUE
    assert parameters[variables[PIPELINE_NAME]["Ref"]]["Default"] == PIPELINE_NAME_VALUE


# --------------------------------------------------------------------------- IAM policies


def identity_policies(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, policy document) of every permissions policy.

    Trust and bucket policies are resource policies: parliament analyses identity policies,
    and reports a trust policy as MALFORMED for having no Resource, which a trust policy must
    not have. The bucket policy is a single Deny, checked in its own test.
    """
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]
        elif resource["Type"] in {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"}:
            yield name, props["PolicyDocument"]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in as_list(document["Statement"]):
        if "Fn::If" in item:  # an optional statement: both branches count
            found += [s for s in item["Fn::If"][1:] if isinstance(s, dict) and "Effect" in s]
        else:
            found.append(item)
    return found


def test_there_are_policies_to_check(template: dict[str, Any]) -> None:
    names = [name for name, _ in identity_policies(template)]
    assert names == [
        "GlueRole/sales-etl-glue",
        "LambdaRole/sales-etl-post-process",
        "MwaaExecutionPolicy",
        "MwaaAlertPolicy",
    ]


def test_resource_star_only_for_the_listed_unscopable_actions(template: dict[str, Any]) -> None:
    allowed = unscopable(template)
    used = set()
    for name, document in identity_policies(template):
        for statement in statements(document):
            assert "NotResource" not in statement and "NotAction" not in statement, name
            actions = as_list(statement["Action"])
            assert not [a for a in actions if "*" in a], f"wildcard action in {name}"
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= allowed, f"{name} {statement.get('Sid')}: {actions}"
                used |= set(actions)
    assert used == allowed  # the list names no action the template no longer needs


def test_listed_unscopable_actions_really_have_no_resource_type(
    template: dict[str, Any],
) -> None:
    services = {service["prefix"]: service for service in parliament.iam_definition}
    for action in unscopable(template):
        prefix, name = action.split(":")
        privilege = next(
            p for p in services[prefix]["privileges"] if p["privilege"] == name
        )  # StopIteration: an action AWS does not know
        types = [r["resource_type"] for r in privilege["resource_types"] if r["resource_type"]]
        assert types == [], f"{action} can be scoped to {types}"


# Example values for resolving the template's intrinsics into a concrete policy.
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
BUCKET = "sales-etl-example-data"
REFS = {
    "DataBucket": BUCKET,
    "AlertTopic": f"arn:aws:sns:{REGION}:{ACCOUNT}:sales-etl-AlertTopic-EXAMPLE",
    "PostProcessFunction": "sales_etl_post_process",
}
GETATTS = {
    "DataBucket.Arn": f"arn:aws:s3:::{BUCKET}",
    "GlueRole.Arn": f"arn:aws:iam::{ACCOUNT}:role/sales-etl-GlueRole-EXAMPLE",
    "LambdaRole.Arn": f"arn:aws:iam::{ACCOUNT}:role/sales-etl-LambdaRole-EXAMPLE",
    "LambdaLogGroup.Arn": (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/sales_etl_post_process:*"
    ),
    "PostProcessFunction.Arn": (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sales_etl_post_process"
    ),
}
_NO_VALUE = object()


class Resolver:
    """Turn !Ref/!Sub/!GetAtt/!If/!Join into example strings (conditions taken as true)."""

    def __init__(self, template: dict[str, Any]) -> None:
        defaults = {k: str(v["Default"]) for k, v in template["Parameters"].items()}
        self.names = {**PSEUDO, **defaults, **REFS}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        return self.names[name]  # KeyError: add an example value above

    def sub(self, text: str, local: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match[1]
            if name in local:
                return str(self(local[name]))
            return GETATTS[name] if "." in name else str(self.ref(name))

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, text)

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self(n) for n in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return GETATTS[".".join(arg) if isinstance(arg, list) else arg]
            if key == "Fn::Sub":
                text, local = (arg, {}) if isinstance(arg, str) else arg
                return self.sub(text, local)
            if key == "Fn::If":
                return self(arg[1])
            if key == "Fn::Join":
                return arg[0].join(str(self(v)) for v in arg[1])
        return {k: r for k, v in node.items() if (r := self(v)) is not _NO_VALUE}


@pytest.fixture(scope="module")
def resolved(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resolve = Resolver(template)
    return {name: resolve(doc) for name, doc in identity_policies(template)}


def test_parliament_finds_nothing_in_any_policy(resolved: dict[str, dict[str, Any]]) -> None:
    for name, document in resolved.items():
        text = json.dumps(document)
        assert "${" not in text and "Fn::" not in text, f"unresolved intrinsic in {name}"
        findings = parliament.analyze_policy_string(text).findings
        assert [(f.issue, f.detail) for f in findings] == [], name


def statement_by_sid(document: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in document["Statement"] if s.get("Sid") == sid)


# What the DAG's operators call (Amazon provider 9.25): S3KeySensor (wildcard list),
# GlueCrawlerOperator by name (get/start, crawler_ready waiter, metrics), the pre-run checks
# (GetJob, GetCrawler), GlueJobOperator (update_config=False: get job; start, poll, stop on
# kill, re-attach on retry), LambdaInvokeFunctionOperator (invoke). Nothing that creates or
# changes a job or crawler, or passes a role.
MWAA_ACTIONS = {
    "s3:ListBucket",
    "glue:GetCrawler",
    "glue:StartCrawler",
    "glue:GetCrawlerMetrics",
    "glue:GetJob",
    "glue:StartJobRun",
    "glue:GetJobRun",
    "glue:GetJobRuns",
    "glue:BatchStopJobRun",
    "lambda:InvokeFunction",
    # the failure callback reads the day's manifest
    "s3:GetObject",
    # check_day: AthenaOperator + AthenaHook, and what Athena does as the caller
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:StopQueryExecution",
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetPartitions",
    "s3:GetBucketLocation",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
}


def test_mwaa_policy_grants_exactly_the_dag_operators_calls(
    resolved: dict[str, dict[str, Any]],
) -> None:
    policy = resolved["MwaaExecutionPolicy"]
    granted = {a for s in policy["Statement"] for a in as_list(s["Action"])}
    assert granted == MWAA_ACTIONS

    sensor = statement_by_sid(policy, "WaitForSalesFiles")
    assert sensor["Resource"] == f"arn:aws:s3:::{BUCKET}"
    assert sensor["Condition"] == {"StringLike": {"s3:prefix": "raw-data/sales/*"}}
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    assert statement_by_sid(policy, "RunGlueJob")["Resource"] == f"{glue}:job/sales_etl_job"
    # The raw crawler only: the processed tables are declared, their partitions the job's.
    assert statement_by_sid(policy, "RunCrawlers")["Resource"] == [f"{glue}:crawler/sales_etl_raw"]
    invoke = statement_by_sid(policy, "InvokePostProcess")
    assert invoke["Resource"] == GETATTS["PostProcessFunction.Arn"]
    manifests = statement_by_sid(policy, "ReadManifestsForAlerts")["Resource"]
    assert manifests == f"arn:aws:s3:::{BUCKET}/manifests/*"


def test_mwaa_policy_queries_athena_in_one_workgroup_over_the_processed_tables_only(
    resolved: dict[str, dict[str, Any]],
) -> None:
    policy = resolved["MwaaExecutionPolicy"]
    athena = statement_by_sid(policy, "QueryDayInAthena")
    assert athena["Resource"] == f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary"
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    catalog = statement_by_sid(policy, "ReadProcessedTablesForAthena")
    assert set(catalog["Action"]) == {"glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"}
    assert catalog["Resource"] == [
        f"{glue}:catalog",
        f"{glue}:database/sales_etl",
        *(f"{glue}:table/sales_etl/{t}" for t in PROCESSED_TABLES),
    ]
    # Object grants: the processed tables read, results written and read; nothing else new.
    grants = s3_grants(policy)
    processed = {f"processed-data/{t}/*" for t in PROCESSED_TABLES}
    assert grants == {
        "s3:GetObject": {"manifests/*", "athena-results/*", *processed},
        "s3:PutObject": {"athena-results/*"},
        "s3:AbortMultipartUpload": {"athena-results/*"},
    }
    listing = statement_by_sid(policy, "ListProcessedDataAndResultsForAthena")
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": ["processed-data/*", "athena-results/*"]}
    }


def test_mwaa_alert_policy_publishes_to_the_stacks_topic_only(
    resolved: dict[str, dict[str, Any]],
) -> None:
    [statement] = resolved["MwaaAlertPolicy"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("sns:Publish", REFS["AlertTopic"])


BUCKET_LEVEL_S3_ACTIONS = {"s3:ListBucket", "s3:GetBucketLocation"}


def s3_grants(document: dict[str, Any]) -> dict[str, set[str]]:
    """Object-level S3 action -> key patterns it is granted on (bucket ARN stripped)."""
    grants: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        for action in as_list(statement["Action"]):
            if action.startswith("s3:") and action not in BUCKET_LEVEL_S3_ACTIONS:
                keys = {r.split(f"{BUCKET}/", 1)[1] for r in as_list(statement["Resource"])}
                grants.setdefault(action, set()).update(keys)
    return grants


def test_glue_role_reads_inputs_and_writes_only_its_outputs(
    resolved: dict[str, dict[str, Any]],
) -> None:
    grants = s3_grants(resolved["GlueRole/sales-etl-glue"])
    folders = ("processed-data", "quarantine", "manifests", "temp")
    # Each output folder as Hadoop-style clients address it: its keys, the folder's own name
    # and its "_$folder$" marker.
    outputs = {key for f in folders for key in (f"{f}/*", f, f"{f}_$folder$")}
    assert grants == {
        "s3:GetObject": {"raw-data/*", "scripts/*", *outputs},
        "s3:PutObject": outputs,
        "s3:DeleteObject": outputs,
        "s3:AbortMultipartUpload": outputs,  # EMRFS's multipart writes
    }
    role = resolved["GlueRole/sales-etl-glue"]
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    scope = [f"{glue}:catalog", f"{glue}:database/sales_etl"]
    assert statement_by_sid(role, "ReadCatalog")["Resource"] == [
        *scope,
        f"{glue}:table/sales_etl/*",
    ]
    # The crawler writes its raw_ tables only; the job the processed tables' partitions only.
    assert statement_by_sid(role, "CrawlRawTables")["Resource"] == [
        *scope,
        f"{glue}:table/sales_etl/raw_*",
    ]
    publish = statement_by_sid(role, "PublishProcessedPartitions")
    assert publish["Resource"] == [
        *scope,
        *(
            f"{glue}:table/sales_etl/{t}"
            for t in ("daily_sales", "customer_daily", "customer_metrics")
        ),
    ]
    assert sorted(publish["Action"]) == [
        "glue:BatchCreatePartition",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:UpdatePartition",
    ]
    # Neither statement the job uses changes a table definition (the stack owns them).
    read = statement_by_sid(role, "ReadCatalog")["Action"]
    assert not {"glue:CreateTable", "glue:UpdateTable"} & {*publish["Action"], *read}


def test_lambda_role_reads_only_manifests(resolved: dict[str, dict[str, Any]]) -> None:
    policy = resolved["LambdaRole/sales-etl-post-process"]
    assert s3_grants(policy) == {"s3:GetObject": {"manifests/*"}}
    metrics = statement_by_sid(policy, "PublishRunMetrics")
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE_VALUE}
    }
    assert statement_by_sid(policy, "NotifyQuarantinedRows")["Resource"] == REFS["AlertTopic"]
