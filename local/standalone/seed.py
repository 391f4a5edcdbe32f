"""Provision a running local AWS endpoint and seed the demo lake (2024-01-15..20).

    python -m local.standalone.seed [--endpoint-url http://127.0.0.1:4599]

`make airflow` calls ``seed_endpoint`` in-process; docker compose runs this module once
against the endpoint container (its state lives in memory, so after an endpoint restart the
seeding must run again).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from local.demo_data import write_demo_lake
from local.endpoint_env import EndpointClients
from local.provision import provision, upload_tree
from sales_etl.config import PipelineConfig


def seed_endpoint(endpoint_url: str, cfg: PipelineConfig | None = None) -> list[str]:
    """Create the bucket, roles, Glue job code and Lambda; upload the demo data. Returns days."""
    cfg = cfg or PipelineConfig()
    aws = EndpointClients(endpoint_url)
    provision(aws, cfg)
    with tempfile.TemporaryDirectory() as lake:
        days = write_demo_lake(Path(lake))
        upload_tree(aws.client("s3"), cfg.bucket, Path(lake))
    return days


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:4599")
    args = parser.parse_args(argv)
    days = seed_endpoint(args.endpoint_url)
    print(f"provisioned {args.endpoint_url}; seeded sales days {days[0]} .. {days[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
