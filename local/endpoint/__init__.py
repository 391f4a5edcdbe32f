"""A local AWS endpoint on which the sales ETL DAG runs end to end, with no AWS account.

moto's server, extended in-process so that Glue jobs really run (local PySpark), crawlers
really catalog S3 data and Lambda handlers really execute. Laid out as moto lays out its
services: one folder per AWS service the endpoint extends (``s3/``, ``glue_jobs/``,
``glue_crawlers/``, ``awslambda/``, ``logs/``), ``spark/`` for the local Spark the Glue jobs
run on and ``http/`` for the layer in front of moto; here, the server (``server.py``), its
state (``state.py``) and the reversible patching of moto (``patching.py``). See ``README.md``
beside this file.
"""

from local.endpoint.server import DEFAULT_PORT, EndpointError, RunningEndpoint, start_endpoint
from local.endpoint.state import running_endpoint

__all__ = [
    "DEFAULT_PORT",
    "EndpointError",
    "RunningEndpoint",
    "running_endpoint",
    "start_endpoint",
]
