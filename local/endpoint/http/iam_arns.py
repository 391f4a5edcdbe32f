"""ARNs of the resources the pipeline's calls act on, in the forms IAM evaluates them.

Formats from the Service Authorization Reference (actions, resources and condition keys) of
Amazon S3, AWS Glue, Amazon Athena, CloudWatch Logs, AWS Lambda and Amazon SNS.
"""

from __future__ import annotations

PARTITION = "aws"


def s3_bucket(bucket: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}"


def s3_object(bucket: str, key: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}/{key}"


def glue(region: str, account: str, resource: str) -> str:
    """``resource`` as ``catalog``, ``database/<db>``, ``table/<db>/<t>``, ``crawler/<n>``..."""
    return f"arn:{PARTITION}:glue:{region}:{account}:{resource}"


def log_group(region: str, account: str, group: str) -> str:
    """With the trailing ``:*`` IAM uses for log-group actions ("Overview of managing access
    permissions to your CloudWatch Logs resources", CloudWatch Logs User Guide)."""
    return f"arn:{PARTITION}:logs:{region}:{account}:log-group:{group}:*"


def log_stream(region: str, account: str, group: str, stream: str) -> str:
    return f"arn:{PARTITION}:logs:{region}:{account}:log-group:{group}:log-stream:{stream}"


def lambda_function(region: str, account: str, name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:{PARTITION}:lambda:{region}:{account}:function:{name}"


def athena_workgroup(region: str, account: str, name: str) -> str:
    return f"arn:{PARTITION}:athena:{region}:{account}:workgroup/{name}"
