"""The evaluation of recorded calls: IAM's rules where moto's matcher alone gets them wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from local.aws_local import GLUE_ROLE, LAMBDA_ROLE_PRINCIPAL
from local.endpoint.http.call_log import Call
from local.stack_config import local_config
from tests.support.iam.evaluation import UnsupportedPolicy, evaluate, statements_of
from tests.support.iam.policies import render_role_policies

BUCKET = "arn:aws:s3:::b"
FOLDER_MARKER = Call(GLUE_ROLE, "s3:GetObject", f"{BUCKET}/out_$folder$")
LIST_OUT = {
    "Sid": "ListOut",
    "Effect": "Allow",
    "Action": "s3:ListBucket",
    "Resource": BUCKET,
    "Condition": {"StringLike": {"s3:prefix": ["out", "out/*"]}},
}
READ_OUT = {
    "Sid": "ReadOut",
    "Effect": "Allow",
    "Action": "s3:GetObject",
    "Resource": [f"{BUCKET}/out_$folder$", f"{BUCKET}/out/*"],
}


def verdicts(*statements: dict[str, Any], calls: list[Call]) -> dict[Call, bool]:
    policy = {"Version": "2012-10-17", "Statement": list(statements)}
    evaluation = evaluate(calls, {GLUE_ROLE: statements_of(GLUE_ROLE, [policy])})
    return {call: call in evaluation.allowed for call in calls}


def listing(prefix: str | None) -> Call:
    keys = () if prefix is None else (("s3:prefix", prefix),)
    return Call(GLUE_ROLE, "s3:ListBucket", BUCKET, keys)


def moto_alone(*statements: dict[str, Any], call: Call) -> PermissionResult:
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return IAMPolicy(policy).is_action_permitted(
        call.action, call.resource, incoming_condition_values=dict(call.conditions)
    )


def test_resource_patterns_match_literally() -> None:
    dotted = Call(GLUE_ROLE, "s3:GetObject", f"{BUCKET}/outX$folder$")
    assert verdicts(READ_OUT, calls=[FOLDER_MARKER, dotted]) == {FOLDER_MARKER: True, dotted: False}
    # moto's own matcher reads the pattern as a regex: "$" never matches a literal "$".
    assert moto_alone(READ_OUT, call=FOLDER_MARKER) != PermissionResult.PERMITTED


def test_string_like_on_the_prefix_is_evaluated() -> None:
    calls = [listing("out"), listing("out/day=1/"), listing("other/"), listing("")]
    assert verdicts(LIST_OUT, calls=calls) == {
        calls[0]: True,
        calls[1]: True,
        calls[2]: False,
        calls[3]: False,
    }
    assert moto_alone(LIST_OUT, call=listing("other/")) == PermissionResult.PERMITTED


def test_a_condition_key_missing_from_the_call_does_not_match() -> None:
    assert verdicts(LIST_OUT, calls=[listing(None)]) == {listing(None): False}
    assert moto_alone(LIST_OUT, call=listing(None)) == PermissionResult.PERMITTED


def test_a_failed_condition_does_not_hide_another_statements_allow() -> None:
    list_exact = {**LIST_OUT, "Condition": {"StringEquals": {"s3:prefix": "out/"}}}
    list_all = {"Sid": "ListAll", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET}
    call = listing("elsewhere/")
    assert verdicts(list_exact, list_all, calls=[call]) == {call: True}
    # moto stops at the first Allow whose condition fails, as if it were a Deny.
    assert moto_alone(list_exact, list_all, call=call) == PermissionResult.DENIED


def test_an_explicit_deny_wins() -> None:
    deny = {"Sid": "NoMarker", "Effect": "Deny", "Action": "s3:*", "Resource": f"{BUCKET}/*"}
    assert verdicts(READ_OUT, deny, calls=[FOLDER_MARKER]) == {FOLDER_MARKER: False}


def test_an_operator_it_cannot_evaluate_is_an_error_naming_it() -> None:
    numeric = {**LIST_OUT, "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}}
    with pytest.raises(UnsupportedPolicy, match="NumericLessThan"):
        verdicts(numeric, calls=[listing("out")])


def test_statements_no_call_used_are_reported() -> None:
    policy = {"Version": "2012-10-17", "Statement": [LIST_OUT, READ_OUT]}
    statements = {GLUE_ROLE: statements_of(GLUE_ROLE, [policy])}
    evaluation = evaluate([FOLDER_MARKER], statements)
    assert [s.sid for s in evaluation.unused] == ["ListOut"]


def test_the_template_renders_for_the_local_names() -> None:
    policies = render_role_policies(local_config())
    lambda_statements = {
        s["Sid"]: s for p in policies[LAMBDA_ROLE_PRINCIPAL] for s in p["Statement"]
    }
    assert lambda_statements["NotifyQuarantinedRows"]["Resource"] == (
        "arn:aws:sns:us-east-1:123456789012:sales-etl-alerts"
    )
    assert lambda_statements["WriteOwnLogs"]["Resource"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/sales_etl_post_process:*"
    )
    text = json.dumps(policies)
    assert "Fn::" not in text and '"Ref"' not in text and "${" not in text
