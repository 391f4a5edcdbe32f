"""An in-memory MWAA service for tests (moto has no MWAA backend).

It answers GetEnvironment and UpdateEnvironment at botocore's ``before-call`` hook, after
botocore has validated the request against the real MWAA API model, so a call with a wrong
or missing parameter still fails as it would against AWS. Like MWAA, UpdateEnvironment
rejects object versions that do not exist in the source bucket.
"""

from __future__ import annotations

import copy
from typing import Any

from botocore.exceptions import ClientError

ENV_NAME = "sales-etl-test"
SOURCE_BUCKET = "mwaa-source-bucket"


class _Http:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


class FakeMwaa:
    def __init__(self, s3: Any, **environment: Any) -> None:
        self.s3 = s3
        self.environment: dict[str, Any] = {
            "Name": ENV_NAME,
            "Arn": f"arn:aws:airflow:us-east-1:123456789012:environment/{ENV_NAME}",
            "Status": "AVAILABLE",
            "AirflowVersion": "3.2.1",
            "SourceBucketArn": f"arn:aws:s3:::{SOURCE_BUCKET}",
            "DagS3Path": "dags",
            "PluginsS3Path": "plugins.zip",
            "RequirementsS3Path": "requirements.txt",
            **environment,
        }
        self.updates: list[dict[str, Any]] = []
        """The parameters of every accepted UpdateEnvironment call, in order."""
        self.fail_next_update: str | None = None

    def register(self, events: Any) -> None:
        events.register("before-parameter-build.mwaa.*", self._remember_params)
        events.register("before-call.mwaa.*", self._answer)

    @staticmethod
    def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["fake_mwaa_params"] = copy.deepcopy(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[_Http, dict]:
        params = context["fake_mwaa_params"]
        try:
            if params.get("Name") != self.environment["Name"]:
                raise _Error(404, "ResourceNotFoundException", f"no environment {params['Name']}")
            if model.name == "GetEnvironment":
                return _Http(200), {"Environment": copy.deepcopy(self.environment)}
            if model.name == "UpdateEnvironment":
                return _Http(200), self._update(params)
            raise _Error(400, "ValidationException", f"fake MWAA does not do {model.name}")
        except _Error as err:
            return _Http(err.status), {"Error": {"Code": err.code, "Message": err.message}}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.fail_next_update:
            message, self.fail_next_update = self.fail_next_update, None
            raise _Error(400, "ValidationException", message)
        if self.environment["Status"] not in {"AVAILABLE", "UPDATE_FAILED"}:
            raise _Error(400, "ValidationException", f"environment is {self.environment['Status']}")
        bucket = self.environment["SourceBucketArn"].split(":::")[1]
        for stem in ("Plugins", "Requirements", "StartupScript"):
            version = params.get(f"{stem}S3ObjectVersion")
            if version is None:
                continue
            key = params.get(f"{stem}S3Path") or self.environment.get(f"{stem}S3Path")
            try:
                self.s3.head_object(Bucket=bucket, Key=key, VersionId=version)
            except ClientError as exc:
                raise _Error(400, "ValidationException", f"no version {version} of {key}") from exc
        self.updates.append(params)
        self.environment.update({k: v for k, v in params.items() if k != "Name"})
        return {"Arn": self.environment["Arn"]}


class _Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
