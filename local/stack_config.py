"""The pipeline's config Variable for the local stack: what the stack's outputs are on AWS.

Production config has no defaults for the names that belong to one environment (the bucket,
the Glue role, the alert topic); every local runner (the demo, `make airflow`, compose, the
tests) sets these explicitly, pointing at what local provisioning creates on the endpoint.
As on MWAA, the local runners store it as a Variable in Airflow's metastore (Admin ->
Variables), never as an ``AIRFLOW_VAR_*`` environment variable, which would shadow the
metastore and so silently ignore an edit made in the UI.
"""

from __future__ import annotations

import json
from typing import Any

from local.aws_local import ALERT_TOPIC, REGION
from sales_etl.config import CONFIG_VARIABLE, PipelineConfig, load_config

# moto's default account: the ARNs of what local provisioning creates.
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_ALERT_TOPIC_ARN = f"arn:aws:sns:{REGION}:{LOCAL_ACCOUNT_ID}:{ALERT_TOPIC}"

LOCAL_CONFIG_VARIABLE: dict[str, Any] = {
    "bucket": "sales-etl-local",
    "glue_role_arn": f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/sales-etl-glue",
    "alert_topic_arn": LOCAL_ALERT_TOPIC_ARN,
}


def local_config(**overrides: Any) -> PipelineConfig:
    """The local stack's config, with ``overrides`` (Variable keys) on top."""
    return load_config({**LOCAL_CONFIG_VARIABLE, **overrides})


CONFIG_DESCRIPTION = (
    "The pipeline's config (docs/configuration.md); edits apply to the next task that runs."
)


def local_config_json(**overrides: Any) -> str:
    """The ``sales_etl_config`` Variable's value as the local runners store it (readable JSON)."""
    return json.dumps({**LOCAL_CONFIG_VARIABLE, **overrides}, indent=2)


def local_variables(**overrides: Any) -> dict[str, str]:
    """The Variables a local metastore starts with: the pipeline's config."""
    return {CONFIG_VARIABLE: local_config_json(**overrides)}
