"""The crawler definitions ask for nothing the Glue role is not granted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sales_etl.glue_resources import processed_crawler_config, raw_crawler_config


@pytest.mark.parametrize("config", [raw_crawler_config, processed_crawler_config])
def test_crawlers_do_not_create_partition_indexes(config: Callable[[], dict[str, Any]]) -> None:
    # AWS crawlers create partition indexes unless told not to (glue:CreatePartitionIndex).
    configuration = json.loads(config()["Configuration"])
    assert configuration == {"Version": 1.0, "CreatePartitionIndex": False}
