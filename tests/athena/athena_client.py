"""A test's view of the local Athena: run a query through boto3 and read what came back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.support.endpoint import Aws

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass
class Outcome:
    id: str
    execution: dict[str, Any]
    header: list[str]
    rows: list[list[str | None]]
    column_info: list[dict[str, Any]]

    @property
    def state(self) -> str:
        return self.execution["Status"]["State"]

    @property
    def reason(self) -> str:
        return self.execution["Status"].get("StateChangeReason", "")

    @property
    def types(self) -> list[str]:
        return [c["Type"] for c in self.column_info]


class Athena:
    def __init__(self, aws: Aws, output: str) -> None:
        self.aws = aws
        self.output = output

    def start(self, sql: str, database: str | None = None) -> str:
        params: dict[str, Any] = {
            "QueryString": sql,
            "ResultConfiguration": {"OutputLocation": self.output},
        }
        if database:
            params["QueryExecutionContext"] = {"Database": database}
        return self.aws.athena.start_query_execution(**params)["QueryExecutionId"]

    def wait(self, query_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            execution = self.aws.athena.get_query_execution(QueryExecutionId=query_id)
            if execution["QueryExecution"]["Status"]["State"] in TERMINAL:
                return execution["QueryExecution"]
            assert time.monotonic() < deadline, f"query {query_id} still running"
            time.sleep(0.02)

    def run(self, sql: str, database: str | None = None) -> Outcome:
        query_id = self.start(sql, database)
        execution = self.wait(query_id)
        if execution["Status"]["State"] != "SUCCEEDED":
            return Outcome(query_id, execution, [], [], [])
        rows: list[list[str | None]] = []
        info: list[dict[str, Any]] = []
        paginator = self.aws.athena.get_paginator("get_query_results")
        for page in paginator.paginate(QueryExecutionId=query_id):
            info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
            for row in page["ResultSet"]["Rows"]:
                rows.append([cell.get("VarCharValue") for cell in row["Data"]])
        return Outcome(query_id, execution, rows[0], rows[1:], info)

    def ok(self, sql: str, database: str | None = None) -> Outcome:
        outcome = self.run(sql, database)
        assert outcome.state == "SUCCEEDED", outcome.reason
        return outcome

    def fails(self, sql: str, database: str | None = None) -> str:
        outcome = self.run(sql, database)
        assert outcome.state == "FAILED", (outcome.state, outcome.rows)
        return outcome.reason
