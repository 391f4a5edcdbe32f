"""A local AWS endpoint on which the sales ETL DAG runs end to end, with no AWS account.

moto's server, extended in-process so that Glue jobs really run (local PySpark), crawlers
really catalog S3 data and Lambda handlers really execute. See ``README.md`` beside this file.
"""

from local.endpoint.server import (
    DEFAULT_PORT,
    EndpointError,
    RunningEndpoint,
    running_endpoint,
    start_endpoint,
)

__all__ = [
    "DEFAULT_PORT",
    "EndpointError",
    "RunningEndpoint",
    "running_endpoint",
    "start_endpoint",
]
