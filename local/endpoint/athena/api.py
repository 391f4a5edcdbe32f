"""Amazon Athena's API on moto's ``AthenaResponse``, answered by the local engine.

Stock moto 5.2.5 answers every query SUCCEEDED with canned (zero) rows and never fails one.
Replaced here: ``StartQueryExecution``, ``GetQueryExecution``, ``GetQueryResults``,
``ListQueryExecutions``, ``StopQueryExecution``, ``ListDatabases``, ``GetDatabase``; added:
``BatchGetQueryExecution``, ``ListTableMetadata``, ``GetTableMetadata``. Workgroups stay
moto's (``primary`` exists). The catalog calls read the Glue catalog, as Athena's
``AwsDataCatalog`` is the Glue Data Catalog.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

from moto.athena.models import athena_backends
from moto.athena.responses import AthenaResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.glue.models import glue_backends
from moto.s3.models import s3_backends

from local.aws_local import REGION
from local.endpoint import state as endpoint_state
from local.endpoint.athena import executions
from local.endpoint.athena.catalog import find_database, table_metadata
from local.endpoint.athena.engine import Catalogs
from local.endpoint.athena.storage import ObjectCache
from local.endpoint.http import iam_arns
from local.endpoint.http.call_log import principal_of
from local.endpoint.patching import Patcher

MAX_RESULTS_PAGE = 1000
_CREDENTIAL = re.compile(r"Credential=([^/]+)/")
_caches: dict[Path, ObjectCache] = {}


def _invalid(message: str) -> JsonRESTError:
    return JsonRESTError("InvalidRequestException", message)


def _access_key(self: AthenaResponse) -> str | None:
    match = _CREDENTIAL.search(self.headers.get("Authorization", "") or "")
    return match[1] if match else None


def _catalogs(self: AthenaResponse, access_key: str | None) -> Catalogs:
    state = endpoint_state.current()
    root = state.work_dir / "athena" / "objects"
    cache = _caches.setdefault(root, ObjectCache(root))
    region, account = self.region, self.current_account

    def record_glue(action: str, database: str, table: str | None) -> None:
        resources = ["catalog", f"database/{database}"]
        if table is not None:
            resources.append(f"table/{database}/{table}")
        for resource in resources:
            state.call_log.record(access_key, action, iam_arns.glue(region, account, resource))

    def record_s3(action: str, bucket: str, key: str, prefix: str | None) -> None:
        if action == "s3:ListBucket":
            conditions = {"s3:prefix": prefix or ""}
            state.call_log.record(access_key, action, iam_arns.s3_bucket(bucket), conditions)
        else:
            state.call_log.record(access_key, action, iam_arns.s3_object(bucket, key))

    return Catalogs(
        glue=glue_backends[account][region],
        s3=s3_backends[account]["aws"],
        cache=cache,
        record_glue=record_glue,
        record_s3=record_s3,
    )


def _execution(self: AthenaResponse, query_id: str | None) -> executions.Execution:
    found = executions.history(self.athena_backend).get(query_id or "")
    if found is None:
        raise _invalid(f"QueryExecution {query_id} was not found")
    return found


def _start_query_execution(self: AthenaResponse) -> str:
    query = self._get_param("QueryString") or ""
    context = self._get_param("QueryExecutionContext") or {}
    workgroup_name = self._get_param("WorkGroup") or "primary"
    workgroup = self.athena_backend.work_groups.get(workgroup_name)
    if workgroup is None:
        raise _invalid(f"WorkGroup {workgroup_name} is not found.")
    configured = (workgroup.configuration or {}).get("ResultConfiguration") or {}
    requested = self._get_param("ResultConfiguration") or {}
    enforce = (workgroup.configuration or {}).get("EnforceWorkGroupConfiguration")
    output = (configured if enforce else requested).get("OutputLocation") or configured.get(
        "OutputLocation"
    )
    if not output:
        raise _invalid(
            "No output location provided. An output location is required either through "
            "the Workgroup result configuration setting or as an API input."
        )
    if not query.strip():
        raise _invalid("QueryString must not be empty")
    access_key = _access_key(self)
    execution = executions.new_execution(
        self.athena_backend,
        query,
        context.get("Database") or "default",
        workgroup_name,
        output,
        principal_of(access_key),
        self._get_param("ExecutionParameters"),
    )
    catalogs = _catalogs(self, access_key)
    endpoint_state.current().start_worker(
        lambda: executions.execute(execution, catalogs), name=f"athena-{execution.id}"
    )
    return json.dumps({"QueryExecutionId": execution.id})


def _get_query_execution(self: AthenaResponse) -> str:
    execution = _execution(self, self._get_param("QueryExecutionId"))
    return json.dumps({"QueryExecution": execution.as_dict()})


def _batch_get_query_execution(self: AthenaResponse) -> str:
    found, missing = [], []
    known = executions.history(self.athena_backend)
    for query_id in self._get_param("QueryExecutionIds") or []:
        if query_id in known:
            found.append(known[query_id].as_dict())
        else:
            missing.append(
                {
                    "QueryExecutionId": query_id,
                    "ErrorCode": "INVALID_INPUT",
                    "ErrorMessage": f"QueryExecution {query_id} was not found",
                }
            )
    return json.dumps({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})


def _get_query_results(self: AthenaResponse) -> str:
    execution = _execution(self, self._get_param("QueryExecutionId"))
    if execution.state in ("QUEUED", "RUNNING"):
        raise _invalid(f"Query has not yet finished. Current state: {execution.state}")
    if execution.state != "SUCCEEDED" or execution.result is None:
        raise _invalid(execution.reason or f"Query did not succeed: {execution.state}")
    result = execution.result
    size = int(self._get_param("MaxResults") or MAX_RESULTS_PAGE)
    if not 1 <= size <= MAX_RESULTS_PAGE:
        raise _invalid(f"MaxResults must be between 1 and {MAX_RESULTS_PAGE}")
    header = [[c["Name"] for c in result.columns]]
    rows = header + result.rows  # the header row first, as Athena returns a SELECT's
    start = int(self._get_param("NextToken") or 0)
    page = rows[start : start + size]
    body: dict[str, Any] = {
        "UpdateCount": 0,
        "ResultSet": {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r in page],
            "ResultSetMetadata": {"ColumnInfo": result.columns},
        },
    }
    if start + size < len(rows):
        body["NextToken"] = str(start + size)
    return json.dumps(body)


def _list_query_executions(self: AthenaResponse) -> str:
    workgroup = self._get_param("WorkGroup") or "primary"
    ids = [
        e.id
        for e in reversed(list(executions.history(self.athena_backend).values()))
        if e.workgroup == workgroup
    ]
    size = int(self._get_param("MaxResults") or 50)
    start = int(self._get_param("NextToken") or 0)
    body: dict[str, Any] = {"QueryExecutionIds": ids[start : start + size]}
    if start + size < len(ids):
        body["NextToken"] = str(start + size)
    return json.dumps(body)


def _stop_query_execution(self: AthenaResponse) -> str:
    execution = _execution(self, self._get_param("QueryExecutionId"))
    if execution.state in ("QUEUED", "RUNNING"):
        execution.cancel.cancel()
    return "{}"


def _check_catalog(self: AthenaResponse) -> None:
    name = self._get_param("CatalogName") or "AwsDataCatalog"
    if name.lower() != "awsdatacatalog":
        raise JsonRESTError("MetadataException", f"Catalog {name} was not found")


def _glue(self: AthenaResponse) -> Any:
    return glue_backends[self.current_account][self.region]


def _database_dict(database: Any) -> dict[str, Any]:
    data = database.as_dict()
    return {"Name": data["Name"], "Parameters": data.get("Parameters") or {}} | (
        {"Description": data["Description"]} if data.get("Description") else {}
    )


def _list_databases(self: AthenaResponse) -> str:
    _check_catalog(self)
    databases = [_database_dict(d) for d in _glue(self).databases.values()]
    return json.dumps({"DatabaseList": databases})


def _get_database(self: AthenaResponse) -> str:
    _check_catalog(self)
    name = self._get_param("DatabaseName") or ""
    database = find_database(_glue(self), name)
    if database is None:
        raise JsonRESTError("MetadataException", f"Database {name} was not found")
    return json.dumps({"Database": _database_dict(database)})


def _database_tables(self: AthenaResponse) -> tuple[str, dict[str, Any]]:
    _check_catalog(self)
    name = self._get_param("DatabaseName") or ""
    database = find_database(_glue(self), name)
    if database is None:
        raise JsonRESTError("MetadataException", f"Database {name} was not found")
    return database.name, dict(database.tables)


def _list_table_metadata(self: AthenaResponse) -> str:
    _database, tables = _database_tables(self)
    pattern = self._get_param("Expression")
    names = sorted(n for n in tables if not pattern or fnmatch.fnmatch(n, pattern))
    size = int(self._get_param("MaxResults") or 50)
    start = int(self._get_param("NextToken") or 0)
    page = [_metadata_json(tables[n]) for n in names[start : start + size]]
    body: dict[str, Any] = {"TableMetadataList": page}
    if start + size < len(names):
        body["NextToken"] = str(start + size)
    return json.dumps(body)


def _get_table_metadata(self: AthenaResponse) -> str:
    database, tables = _database_tables(self)
    name = (self._get_param("TableName") or "").lower()
    table = next((t for n, t in tables.items() if n.lower() == name), None)
    if table is None:
        raise JsonRESTError("MetadataException", f"Table {name} not found in {database}")
    return json.dumps({"TableMetadata": _metadata_json(table)})


def _metadata_json(table: Any) -> dict[str, Any]:
    metadata = table_metadata(table)
    created = metadata.get("CreateTime")
    metadata["CreateTime"] = created.timestamp() if hasattr(created, "timestamp") else created
    return metadata


def install(patcher: Patcher) -> None:
    for action, method in {
        "start_query_execution": _start_query_execution,
        "get_query_execution": _get_query_execution,
        "batch_get_query_execution": _batch_get_query_execution,
        "get_query_results": _get_query_results,
        "list_query_executions": _list_query_executions,
        "stop_query_execution": _stop_query_execution,
        "list_databases": _list_databases,
        "get_database": _get_database,
        "list_table_metadata": _list_table_metadata,
        "get_table_metadata": _get_table_metadata,
    }.items():
        patcher.setattr(AthenaResponse, action, method)


def query_history(account: str | None = None, region: str = REGION) -> list[dict[str, Any]]:
    """The endpoint's queries, oldest first, as ``GetQueryExecution`` shows them plus the
    ``Principal`` that started each (tests check a DAG run's queries here)."""
    backend = athena_backends[account or DEFAULT_ACCOUNT_ID][region]
    return [{**e.as_dict(), "Principal": e.principal} for e in executions.history(backend).values()]


def result_keys(bucket: str, account: str | None = None, region: str = REGION) -> set[str]:
    """The keys in ``bucket`` this endpoint's queries wrote their results to (``<id>.csv``
    and its ``.metadata``): Athena's and its caller's, never read by a Glue job."""
    backend = athena_backends[account or DEFAULT_ACCOUNT_ID][region]
    prefix = f"s3://{bucket}/"
    keys = set()
    for execution in executions.history(backend).values():
        if execution.output_location.startswith(prefix):
            key = execution.output_location.removeprefix(prefix)
            keys.update((key, f"{key}.metadata"))
    return keys


def query_workgroup(query_id: str, account: str | None = None, region: str = REGION) -> str | None:
    """The workgroup of a known query (an IAM check of ``GetQueryExecution`` needs it)."""
    backend = athena_backends[account or DEFAULT_ACCOUNT_ID][region]
    execution = executions.history(backend).get(query_id)
    return execution.workgroup if execution else None
