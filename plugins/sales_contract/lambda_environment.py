"""The post-process Lambda's environment: the variables it reads and the values we set.

The handler reads these names, the stack template and the local stack set them, and the
values below are the handler's defaults when a variable is absent.
"""

from __future__ import annotations

METRIC_NAMESPACE = "METRIC_NAMESPACE"
PIPELINE_NAME = "PIPELINE_NAME"
SNS_TOPIC_ARN = "SNS_TOPIC_ARN"
"""Empty: no notification on quarantined rows."""
MAX_QUARANTINE_RATIO = "MAX_QUARANTINE_RATIO"
"""The ratio above which a run fails when the invocation event names none."""
VARIABLES = frozenset({METRIC_NAMESPACE, PIPELINE_NAME, SNS_TOPIC_ARN, MAX_QUARANTINE_RATIO})

METRIC_NAMESPACE_VALUE = "SalesEtl"
"""CloudWatch namespace of the run metrics."""
PIPELINE_NAME_VALUE = "sales_etl"
"""The metrics' ``Pipeline`` dimension."""


def post_process_environment(topic_arn: str, max_quarantine_ratio: float) -> dict[str, str]:
    """The function's environment variables for this pipeline."""
    return {
        METRIC_NAMESPACE: METRIC_NAMESPACE_VALUE,
        PIPELINE_NAME: PIPELINE_NAME_VALUE,
        SNS_TOPIC_ARN: topic_arn,
        MAX_QUARANTINE_RATIO: str(max_quarantine_ratio),
    }
