"""The pipeline's config Variable for the local stack: what the stack's outputs are on AWS.

Production config has no defaults for the names that belong to one environment (the bucket,
the Glue role, the alert topic); every local runner (the demo, `make airflow`, compose, the
tests) sets these explicitly, pointing at what local provisioning creates on the endpoint.
"""

from __future__ import annotations

from typing import Any

from local.aws_local import ALERT_TOPIC, REGION
from sales_etl.config import PipelineConfig, load_config

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
