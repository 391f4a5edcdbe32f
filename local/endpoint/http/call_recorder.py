"""Each HTTP request moto serves, as the IAM calls it stands for (for ``call_log.py``).

The principal comes from the SigV4 credential's access key, the service and region from its
scope. JSON services name the operation in ``X-Amz-Target``, query services in ``Action``,
CloudWatch's RPCv2 in its path; S3 and Lambda are REST, so the few operations the pipeline
uses are listed here. Anything else is recorded under a name that says it is unknown, with
no resource, so a policy check fails on it instead of skipping it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.core import DEFAULT_ACCOUNT_ID

from local.endpoint.http import iam_arns
from local.endpoint.http.call_log import UNKNOWN_RESOURCE, CallLog

ACCOUNT = DEFAULT_ACCOUNT_ID  # moto answers every caller as this account
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_IAM_PREFIX = {"monitoring": "cloudwatch"}  # SigV4 signing name -> IAM service prefix
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/(?P<op>[^/]+)$")
_LAMBDA_PATH = re.compile(r"^/[\d-]+/functions/(?P<name>[^/]+)(?P<rest>/.*)?$")

Params = Mapping[str, Any]
ResourceOf = Callable[[Params, str], str]  # (request params, region) -> ARN


def _glue(template: str) -> ResourceOf:
    return lambda params, region: iam_arns.glue(region, ACCOUNT, template.format_map(params))


def _logs_group(params: Params, region: str) -> str:
    return iam_arns.log_group(region, ACCOUNT, params["logGroupName"])


def _logs_stream(params: Params, region: str) -> str:
    group, stream = params["logGroupName"], params["logStreamName"]
    return iam_arns.log_stream(region, ACCOUNT, group, stream)


def _athena_started(params: Params, region: str) -> str:
    workgroup = params.get("WorkGroup") or "primary"  # Athena's default, as the API applies it
    return iam_arns.athena_workgroup(region, ACCOUNT, workgroup)


def _athena_query(params: Params, region: str) -> str:
    """A call on one query is authorized against the workgroup the query ran in."""
    from local.endpoint.athena.api import query_workgroup  # the endpoint's own query history

    workgroup = query_workgroup(params["QueryExecutionId"], ACCOUNT, region)
    if workgroup is None:  # an unknown query: judged as unknown, never dropped
        return UNKNOWN_RESOURCE
    return iam_arns.athena_workgroup(region, ACCOUNT, workgroup)


# Actions that are not resource-scoped in the Service Authorization Reference.
def _any(params: Params, region: str) -> str:
    return "*"


RESOURCES: dict[str, ResourceOf] = {
    "glue:CreateCrawler": _any,
    "glue:GetCrawlerMetrics": _any,
    "glue:GetCrawler": _glue("crawler/{Name}"),
    "glue:UpdateCrawler": _glue("crawler/{Name}"),
    "glue:StartCrawler": _glue("crawler/{Name}"),
    "glue:CreateJob": _glue("job/{Name}"),
    "glue:GetJob": _glue("job/{JobName}"),
    "glue:UpdateJob": _glue("job/{JobName}"),
    "glue:StartJobRun": _glue("job/{JobName}"),
    "glue:GetJobRun": _glue("job/{JobName}"),
    "glue:GetJobRuns": _glue("job/{JobName}"),
    "glue:BatchStopJobRun": _glue("job/{JobName}"),
    "athena:StartQueryExecution": _athena_started,
    "athena:GetQueryExecution": _athena_query,
    "athena:GetQueryResults": _athena_query,
    "athena:StopQueryExecution": _athena_query,
    "logs:FilterLogEvents": _logs_group,
    "logs:GetLogEvents": _logs_stream,
    "cloudwatch:PutMetricData": _any,
    # SnsNotifier publishes with TargetArn (SnsHook.publish_to_target), the Lambda TopicArn.
    "sns:Publish": lambda params, region: params.get("TopicArn") or params["TargetArn"],
    "lambda:InvokeFunction": lambda params, region: iam_arns.lambda_function(
        region, ACCOUNT, params["FunctionName"]
    ),
    "lambda:GetFunction": lambda params, region: iam_arns.lambda_function(
        region, ACCOUNT, params["FunctionName"]
    ),
}

# Catalog actions on one table: Glue authorizes each against the catalog, the database and
# the table (AWS Glue Developer Guide, "Specifying AWS Glue resource ARNs"), so each is
# recorded on all three.
_GLUE_TABLE_ACTIONS = {
    "glue:GetTable": "Name",
    "glue:GetPartition": "TableName",
    "glue:GetPartitions": "TableName",
    "glue:BatchCreatePartition": "TableName",
    "glue:UpdatePartition": "TableName",
}


def _glue_table_calls(action: str, params: Params, region: str) -> list[tuple[str, str]]:
    database, table = params["DatabaseName"], params[_GLUE_TABLE_ACTIONS[action]]
    scopes = ("catalog", f"database/{database}", f"table/{database}/{table}")
    return [(action, iam_arns.glue(region, ACCOUNT, scope)) for scope in scopes]


# Condition keys the pipeline's policies test, from the request parameters.
CONDITION_KEYS: dict[str, Callable[[Params], dict[str, str]]] = {
    "cloudwatch:PutMetricData": lambda params: {"cloudwatch:namespace": params["Namespace"]},
}

# Creating or updating a crawler or job with a role makes Glue check iam:PassRole.
_PASSES_ROLE = {"glue:CreateCrawler", "glue:UpdateCrawler", "glue:CreateJob", "glue:UpdateJob"}


class CallRecorder:
    """WSGI middleware in front of moto's app: records each request while the log is on."""

    def __init__(self, app: Callable[..., Iterable[bytes]], call_log: CallLog) -> None:
        self._app = app
        self._log = call_log

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self._log.active:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
            for access_key, action, resource, conditions in calls_of(environ, body):
                self._log.record(access_key, action, resource, conditions)
        return self._app(environ, start_response)


Recorded = tuple[str | None, str, str, dict[str, str]]


def calls_of(environ: Mapping[str, Any], body: bytes) -> list[Recorded]:
    """The IAM calls of one request: (access key, action, resource ARN, condition keys)."""
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), True).items()}
    credential = _CREDENTIAL.search(
        environ.get("HTTP_AUTHORIZATION", "") or query.get("X-Amz-Credential", "")
    )
    if credential is None:
        return [(None, "unsigned request", UNKNOWN_RESOURCE, {})]
    access_key, region, service = credential.groups()
    method, path = environ["REQUEST_METHOD"], unquote(environ.get("PATH_INFO", "/"))
    if service == "s3":
        return [(access_key, *call) for call in s3_calls(method, path, query, environ)]
    prefix = _IAM_PREFIX.get(service, service)
    operation, params = _operation(environ, path, query, body)
    if service == "lambda":
        operation, params = _lambda_operation(method, path)
    action = f"{prefix}:{operation}"
    if action in _GLUE_TABLE_ACTIONS:
        try:
            return [(access_key, a, r, {}) for a, r in _glue_table_calls(action, params, region)]
        except KeyError:
            return [(access_key, action, UNKNOWN_RESOURCE, {})]
    resource_of = RESOURCES.get(action)
    if resource_of is None:
        return [(access_key, action, UNKNOWN_RESOURCE, {})]
    conditions = CONDITION_KEYS.get(action, lambda _: {})(params)
    try:
        resource = resource_of(params, region)
    except KeyError:  # a parameter form the table does not know: judged, never dropped
        resource = UNKNOWN_RESOURCE
    calls = [(access_key, action, resource, conditions)]
    if action in _PASSES_ROLE and params.get("Role"):
        passed = {"iam:PassedToService": "glue.amazonaws.com"}
        calls.append((access_key, "iam:PassRole", params["Role"], passed))
    return calls


def _operation(
    environ: Mapping[str, Any], path: str, query: Mapping[str, str], body: bytes
) -> tuple[str, dict[str, Any]]:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1], json.loads(body or b"{}")
    rpc = _RPC_V2_PATH.match(path)
    if rpc:
        return rpc["op"], _cbor(body)
    form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace"), True).items()}
    params = {**query, **form}
    return params.get("Action", f"unknown {environ['REQUEST_METHOD']} {path}"), params


def _cbor(body: bytes) -> dict[str, Any]:
    from botocore.parsers import RpcV2CBORParser  # decodes the request body's CBOR map

    if not body:
        return {}
    return RpcV2CBORParser().parse_data_item(io.BytesIO(body))


def _lambda_operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    match = _LAMBDA_PATH.match(path)
    if match is None:
        return f"unknown {method} {path}", {}
    params = {"FunctionName": match["name"]}
    rest = match["rest"] or ""
    if method == "POST" and rest == "/invocations":
        return "InvokeFunction", params
    if method == "GET" and rest == "":
        return "GetFunction", params
    return f"unknown {method} {path}", params


S3Call = tuple[str, str, dict[str, str]]


def s3_calls(
    method: str, path: str, query: Mapping[str, str], environ: Mapping[str, Any]
) -> list[S3Call]:
    """The S3 operations the pipeline and its tools use (path-style requests)."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return [(f"s3:unknown {method} /", UNKNOWN_RESOURCE, {})]
    if not key:
        return _s3_bucket_calls(method, bucket, query)
    obj = iam_arns.s3_object(bucket, key)
    if method in ("GET", "HEAD") and not set(query) - {"partNumber", "versionId"}:
        return [("s3:GetObject", obj, {})]  # GetObject and HeadObject
    if method == "PUT" and not set(query) - {"partNumber", "uploadId"}:
        calls: list[S3Call] = [("s3:PutObject", obj, {})]  # PutObject, UploadPart, CopyObject
        source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
        if source:
            src_bucket, _, src_key = unquote(source).lstrip("/").partition("/")
            calls.append(("s3:GetObject", iam_arns.s3_object(src_bucket, src_key), {}))
        return calls
    if method == "POST" and set(query) & {"uploads", "uploadId"}:
        return [("s3:PutObject", obj, {})]  # create/complete a multipart upload
    if method == "DELETE" and not set(query) - {"versionId"}:
        return [("s3:DeleteObject", obj, {})]
    return [(f"s3:unknown {method} object ?{'&'.join(sorted(query))}", obj, {})]


def _s3_bucket_calls(method: str, bucket: str, query: Mapping[str, str]) -> list[S3Call]:
    arn = iam_arns.s3_bucket(bucket)
    if method == "GET" and "location" in query:
        return [("s3:GetBucketLocation", arn, {})]
    if method == "GET" and not set(query) - {
        "list-type",
        "prefix",
        "delimiter",
        "max-keys",
        "continuation-token",
        "start-after",
        "marker",
        "encoding-type",
        "fetch-owner",
    }:
        # ListObjects(V2) is s3:ListBucket; with no prefix, s3:prefix is the empty string.
        return [("s3:ListBucket", arn, {"s3:prefix": query.get("prefix", "")})]
    if method == "HEAD" and not query:
        return [("s3:ListBucket", arn, {})]  # HeadBucket needs s3:ListBucket
    if method == "PUT" and not query:
        return [("s3:CreateBucket", arn, {})]
    return [(f"s3:unknown {method} bucket ?{'&'.join(sorted(query))}", arn, {})]
