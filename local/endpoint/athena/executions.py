"""Query executions: their life (QUEUED -> RUNNING -> SUCCEEDED/FAILED/CANCELLED), the
history the endpoint keeps, and the results written where Athena writes them.

Each ``StartQueryExecution`` is run by ``engine.run_query`` in a worker thread. A finished
query's rows are kept for ``GetQueryResults`` and written to
``<OutputLocation>/<QueryExecutionId>.csv`` (every value quoted, NULL as an empty field, as
Athena writes it) with ``<id>.csv.metadata`` beside it (the column info as JSON; Athena's own
is a binary encoding). The history lives on moto's Athena backend, so it goes when moto resets.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.athena.models import AthenaBackend

from local.endpoint.athena.engine import Cancellable, Catalogs, QueryResult, run_query
from local.endpoint.athena.errors import SYSTEM_ERROR, AthenaQueryError
from local.endpoint.athena.storage import split_location

_HISTORY = "_local_athena_history"
_LOCK = threading.Lock()


@dataclass
class Execution:
    id: str
    query: str
    database: str
    workgroup: str
    output_location: str  # s3://.../<id>.csv
    principal: str
    state: str = "QUEUED"
    reason: str | None = None
    error_category: int | None = None
    error_type: str | None = None
    submitted: float = field(default_factory=time.time)
    completed: float | None = None
    engine_ms: int = 0
    scanned_bytes: int = 0
    result: QueryResult | None = None
    cancel: Cancellable = field(default_factory=Cancellable)
    execution_parameters: list[str] | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def statement_type(self) -> str:
        head = self.query.lstrip().split(None, 1)[0].upper() if self.query.strip() else ""
        if head in ("CREATE", "ALTER", "DROP", "MSCK", "SHOW", "DESCRIBE"):
            return "DDL"
        return "UTILITY" if head == "EXPLAIN" else "DML"

    def as_dict(self) -> dict[str, Any]:
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.reason:
            status["StateChangeReason"] = self.reason
            status["AthenaError"] = {
                "ErrorCategory": self.error_category or SYSTEM_ERROR,
                "ErrorType": 1000,
                "Retryable": False,
                "ErrorMessage": self.reason,
            }
        total = int(((self.completed or time.time()) - self.submitted) * 1000)
        data: dict[str, Any] = {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement_type,
            "ResultConfiguration": {"OutputLocation": self.output_location},
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": {"Database": self.database, "Catalog": "AwsDataCatalog"},
            "Status": status,
            "Statistics": {
                "EngineExecutionTimeInMillis": self.engine_ms,
                "DataScannedInBytes": self.scanned_bytes,
                "TotalExecutionTimeInMillis": total,
                "QueryQueueTimeInMillis": 0,
                "ServicePreProcessingTimeInMillis": 0,
                "QueryPlanningTimeInMillis": 0,
                "ServiceProcessingTimeInMillis": 0,
                "ResultReuseInformation": {"ReusedPreviousResult": False},
            },
            "WorkGroup": self.workgroup,
            "EngineVersion": {
                "SelectedEngineVersion": "AUTO",
                "EffectiveEngineVersion": "Athena engine version 3",
            },
            "SubstatementType": "SELECT" if self.statement_type == "DML" else "UNKNOWN",
        }
        if self.execution_parameters:
            data["ExecutionParameters"] = self.execution_parameters
        return data


def history(backend: AthenaBackend) -> dict[str, Execution]:
    """The backend's executions by id, oldest first."""
    with _LOCK:
        return backend.__dict__.setdefault(_HISTORY, {})


def new_execution(
    backend: AthenaBackend,
    query: str,
    database: str,
    workgroup: str,
    output_prefix: str,
    principal: str,
    execution_parameters: list[str] | None,
) -> Execution:
    query_id = str(uuid.uuid4())
    execution = Execution(
        id=query_id,
        query=query,
        database=database,
        workgroup=workgroup,
        output_location=f"{output_prefix.rstrip('/')}/{query_id}.csv",
        principal=principal,
        execution_parameters=execution_parameters,
    )
    with _LOCK:
        backend.__dict__.setdefault(_HISTORY, {})[query_id] = execution
    return execution


def execute(execution: Execution, catalogs: Catalogs) -> None:
    """Run the query to its final state (the worker thread's body)."""
    started = time.monotonic()

    def running() -> None:
        if execution.state == "QUEUED":
            execution.state = "RUNNING"

    try:
        if execution.execution_parameters:
            raise AthenaQueryError(
                "NOT_SUPPORTED", "execution parameters (prepared statements) are not supported"
            )
        result = run_query(execution.query, execution.database, catalogs, execution.cancel, running)
        if execution.cancel.cancelled.is_set():
            raise AthenaQueryError("CANCELLED", "Query was cancelled by the user")
        _write_results(catalogs, execution, result)
        execution.result = result
        execution.scanned_bytes = result.scanned_bytes
        _finish(execution, started, "SUCCEEDED")
    except AthenaQueryError as err:
        if err.category == "CANCELLED" or execution.cancel.cancelled.is_set():
            _finish(execution, started, "CANCELLED", "Query was cancelled by the user")
        else:
            _finish(execution, started, "FAILED", err.reason, err.error_category)
    except Exception as exc:  # an engine defect: FAILED with its cause, never SUCCEEDED
        reason = f"GENERIC_INTERNAL_ERROR: {type(exc).__name__}: {exc}"
        _finish(execution, started, "FAILED", reason, SYSTEM_ERROR)


def _finish(
    execution: Execution,
    started: float,
    state: str,
    reason: str | None = None,
    category: int | None = None,
) -> None:
    execution.engine_ms = int((time.monotonic() - started) * 1000)
    execution.reason = reason
    execution.error_category = category
    execution.completed = time.time()
    execution.state = state
    execution.finished.set()


def results_csv(result: QueryResult) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([c["Name"] for c in result.columns])
    for row in result.rows:
        # Athena leaves NULL unquoted and empty; csv can only quote all or none, so patch.
        writer.writerow(["\0NULL\0" if v is None else v for v in row])
    return out.getvalue().replace('"\0NULL\0"', "").encode()


def _write_results(catalogs: Catalogs, execution: Execution, result: QueryResult) -> None:
    bucket, key = split_location(execution.output_location, None)
    key = key.rstrip("/")
    if bucket not in catalogs.s3.buckets:
        raise AthenaQueryError(
            "HIVE_FILESYSTEM_ERROR",
            f"Unable to verify/create output bucket {bucket}",
            error_category=SYSTEM_ERROR,
        )
    metadata = json.dumps({"ColumnInfo": result.columns}).encode()
    for name, body in ((key, results_csv(result)), (f"{key}.metadata", metadata)):
        catalogs.s3.put_object(bucket, name, body)
        catalogs.record_s3("s3:PutObject", bucket, name, None)
