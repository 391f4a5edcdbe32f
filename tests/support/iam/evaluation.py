"""Recorded calls evaluated against a principal's identity policies, with moto's IAM matcher.

moto's ``IAMPolicy.is_action_permitted`` (moto/iam/access_control.py, 5.2.5) cannot be used
on whole documents as is, so each statement is handed to its ``IAMPolicyStatement`` with
adapted inputs:

- it turns patterns into regular expressions unescaped (``$`` in ``_$folder$`` never matches,
  ``.`` matches anything): it gets a copy of every Action/Resource pattern with everything but
  the IAM wildcards escaped (``?`` becomes one character);
- it treats an Allow whose condition fails as an explicit deny of the whole document, and
  evaluates only ``StringEquals`` (other operators and missing keys pass): statements are
  evaluated one by one, conditions after its action/resource match, ``StringLike`` through the
  same matcher, and a key missing from the call fails its condition.

IAM's rule ("Policy evaluation logic", IAM User Guide): a request is allowed when an Allow
statement matches and no Deny statement does; a condition key that is not in the request
context does not match ("IAM JSON policy elements: Condition operators").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.iam.policy_conditions import TrustCondition

from local.endpoint.http.call_log import Call


class UnsupportedPolicy(ValueError):
    """A policy element this evaluation cannot judge; the message names it."""


@dataclass(frozen=True)
class Statement:
    principal: str
    sid: str
    body: Mapping[str, Any]


@dataclass
class Evaluation:
    allowed: dict[Call, list[str]] = field(default_factory=dict)  # call -> Sids allowing it
    denied: list[Call] = field(default_factory=list)  # no statement allows, or one denies
    unused: list[Statement] = field(default_factory=list)  # Allow statements no call used


def statements_of(principal: str, policies: Iterable[Mapping[str, Any]]) -> list[Statement]:
    found = []
    for policy_number, policy in enumerate(policies):
        body = policy["Statement"]
        for number, statement in enumerate(body if isinstance(body, list) else [body]):
            sid = statement.get("Sid") or f"policy {policy_number} statement {number}"
            found.append(Statement(principal, sid, statement))
    return found


def evaluate(calls: Iterable[Call], statements: Mapping[str, list[Statement]]) -> Evaluation:
    """Each call against the statements of its principal (calls of others are not judged)."""
    result = Evaluation()
    for call in sorted(calls):
        own = statements.get(call.principal)
        if own is None:
            continue
        matching = [s for s in own if _matches(s.body, call)]
        allows = [s.sid for s in matching if s.body["Effect"] == "Allow"]
        if allows and not any(s.body["Effect"] == "Deny" for s in matching):
            result.allowed[call] = allows
        else:
            result.denied.append(call)
    used = {sid for sids in result.allowed.values() for sid in sids}
    for principal_statements in statements.values():
        result.unused += [
            s for s in principal_statements if s.body["Effect"] == "Allow" and s.sid not in used
        ]
    return result


def _matches(statement: Mapping[str, Any], call: Call) -> bool:
    for element in ("NotAction", "NotResource", "Principal", "NotPrincipal"):
        if element in statement:
            raise UnsupportedPolicy(f"{element} in statement {statement.get('Sid')!r}")
    moto_statement = IAMPolicyStatement(
        {
            "Effect": "Allow",
            "Action": _escaped(statement["Action"]),
            "Resource": _escaped(statement["Resource"]),
        }
    )
    if moto_statement.is_action_permitted(call.action, call.resource) != PermissionResult.PERMITTED:
        return False
    values = dict(call.conditions)
    return all(
        _condition_holds(operator, key, expected, values)
        for operator, keys in statement.get("Condition", {}).items()
        for key, expected in keys.items()
    )


def _condition_holds(operator: str, key: str, expected: Any, values: Mapping[str, str]) -> bool:
    if operator not in ("StringEquals", "StringLike"):
        raise UnsupportedPolicy(f"condition operator {operator} (on {key}) is not evaluated")
    if key not in values:
        return False
    actual = values[key]
    if operator == "StringEquals":
        return TrustCondition(operator, [expected], [key]).verify_condition([actual])
    matcher = IAMPolicyStatement({"Effect": "Allow", "Action": "*", "Resource": _escaped(expected)})
    return matcher.is_action_permitted("condition:StringLike", actual) == PermissionResult.PERMITTED


def _escaped(patterns: str | list[str]) -> list[str]:
    """IAM wildcard patterns as moto's matcher needs them: literals escaped, ``*`` kept
    (moto turns it into ``.*``), ``?`` as one character."""
    items = [patterns] if isinstance(patterns, str) else patterns
    return [
        "*".join(".".join(re.escape(part) for part in piece.split("?")) for piece in p.split("*"))
        for p in items
    ]
