"""An in-memory stand-in for the processed tables in the Glue catalog (the Glue job's
``PartitionCatalog``), for runs of the job in-process: its tables declared at the lake's own
table folders, as provisioning declares them at the bucket's. The tests and the Spark class
archive's recording run use it; local job runs on the endpoint publish to its Glue catalog."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

from sales_contract.layout import PROCESSED_TABLES, LakeLayout
from sales_contract.processed_tables import PROCESSED_TABLE_DECLARATIONS
from sales_job.lake_fs import normalize_base_uri


class InMemoryCatalog:
    def __init__(self, base: Path) -> None:
        layout = LakeLayout(normalize_base_uri(str(base)))
        self.locations = {t: layout.table_root(t) + "/" for t in PROCESSED_TABLES}
        self.tables: dict[str, dict[date, str]] = {t: {} for t in PROCESSED_TABLES}
        self.calls: list[tuple[str, str, tuple[date, ...]]] = []  # (action, table, days)

    def table_location(self, table: str) -> str:
        return self.locations[table]

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        return [(c.name, c.type) for c in PROCESSED_TABLE_DECLARATIONS[table].all_columns]

    def partitions(self, table: str) -> dict[date, str]:
        return dict(self.tables[table])

    def put_partitions(self, table: str, locations: Mapping[date, str]) -> None:
        self.calls.append(("put", table, tuple(sorted(locations))))
        self.tables[table].update(locations)
