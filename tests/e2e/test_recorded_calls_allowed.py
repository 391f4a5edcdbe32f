"""Every AWS call the pipeline made, on its success and failure paths, is allowed by the
rendered policies of infra/sales-etl.yaml for the principal that made it."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable

import pytest

from local.aws_local import GLUE_ROLE, LAMBDA_ROLE_PRINCIPAL, MWAA_EXECUTION_ROLE
from local.endpoint.http.call_log import Call
from tests.support.iam.evaluation import Evaluation, evaluate, statements_of
from tests.support.iam.policies import Policy, render_role_policies
from tests.support.pipeline import Pipeline, RecordedRuns

pytestmark = pytest.mark.e2e

PRINCIPALS = (MWAA_EXECUTION_ROLE, GLUE_ROLE, LAMBDA_ROLE_PRINCIPAL)


def recorded_calls(*runs: RecordedRuns) -> set[Call]:
    calls = set().union(*(run.calls for run in runs))
    made_by = {call.principal for call in calls}
    missing = set(PRINCIPALS) - made_by
    assert not missing, f"no calls recorded for {sorted(missing)}: is the recorder wired?"
    return calls


def evaluation_of(calls: Iterable[Call], policies: dict[str, list[Policy]]) -> Evaluation:
    return evaluate(calls, {p: statements_of(p, docs) for p, docs in policies.items()})


def report(evaluation: Evaluation, calls: Iterable[Call]) -> str:
    by_principal: dict[str, list[str]] = defaultdict(list)
    for call in sorted(calls):
        if call.principal in PRINCIPALS:
            verdict = "DENIED" if call in evaluation.denied else ", ".join(evaluation.allowed[call])
            by_principal[call.principal].append(f"  {call}  [{verdict}]")
    lines = [f"{p}:\n" + "\n".join(by_principal[p]) for p in PRINCIPALS]
    lines.append("statements no recorded call used:")
    lines += [f"  {s.principal}: {s.sid}" for s in evaluation.unused] or ["  none"]
    return "\n".join(lines)


def test_every_recorded_call_is_allowed(
    pipeline: Pipeline, completed: RecordedRuns, failed_transform: RecordedRuns
) -> None:
    calls = recorded_calls(completed, failed_transform)
    evaluation = evaluation_of(calls, render_role_policies(pipeline.cfg))
    print(report(evaluation, calls))  # the per-principal list and the unused statements
    denied = "\n".join(f"  {call}" for call in evaluation.denied)
    assert not evaluation.denied, f"calls no statement of infra/sales-etl.yaml allows:\n{denied}"


def without_action(policies: dict[str, list[Policy]], principal: str, action: str) -> dict:
    """A copy of ``policies`` with ``action`` taken out of every statement of ``principal``."""
    changed = copy.deepcopy(policies)
    for document in changed[principal]:
        for statement in document["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            statement["Action"] = [a for a in actions if a != action]
    return changed


@pytest.mark.parametrize(
    ("principal", "action"),
    [
        (MWAA_EXECUTION_ROLE, "glue:StartJobRun"),
        (MWAA_EXECUTION_ROLE, "athena:GetQueryResults"),
        (GLUE_ROLE, "glue:BatchCreatePartition"),
        (LAMBDA_ROLE_PRINCIPAL, "cloudwatch:PutMetricData"),
    ],
)
def test_a_needed_action_removed_fails_naming_the_call(
    pipeline: Pipeline,
    completed: RecordedRuns,
    failed_transform: RecordedRuns,
    principal: str,
    action: str,
) -> None:
    calls = recorded_calls(completed, failed_transform)
    policies = without_action(render_role_policies(pipeline.cfg), principal, action)
    evaluation = evaluation_of(calls, policies)
    needing = {call for call in calls if (call.principal, call.action) == (principal, action)}
    assert needing, f"the runs never called {action} as {principal}"
    assert set(evaluation.denied) == needing
