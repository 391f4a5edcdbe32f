"""The recipe's validation step, run as its users run it: an Athena query over daily_sales.

``make demo`` ends with it, through the local endpoint's Athena API (boto3, as the AWS CLI
and PyAthena call it), and prints the first rows as a table.
"""

from __future__ import annotations

import time
from typing import Any

from sales_contract.layout import s3_uri
from sales_etl.config import PipelineConfig
from sales_etl.day_queries import AthenaQueryFailed, run_athena_query


def validation_sql(database: str) -> str:
    """The recipe's query, on this pipeline's database."""
    return f"SELECT * FROM {database}.daily_sales LIMIT 10"


def run_validation_query(athena: Any, cfg: PipelineConfig) -> tuple[list[dict[str, Any]], float]:
    """The query's rows and its wall time in seconds; AthenaQueryFailed with the reason."""
    started = time.monotonic()
    rows = run_athena_query(
        athena,
        validation_sql(cfg.glue_database),
        database=cfg.glue_database,
        output_location=s3_uri(cfg.bucket, cfg.athena_results_prefix),
        workgroup=cfg.athena_workgroup,
        poll_seconds=0.05,
        timeout_seconds=60,
    )
    return rows, time.monotonic() - started


def format_rows(rows: list[dict[str, Any]]) -> str:
    """Rows as a plain text table, NULL shown as Athena's console shows it."""
    if not rows:
        return "(no rows)"
    header = list(rows[0])
    cells = [header] + [["NULL" if r[c] is None else str(r[c]) for c in header] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)  # fmt: skip


def print_validation_query(athena: Any, cfg: PipelineConfig) -> bool:
    """Run and print the validation query; False (after printing why) if it failed."""
    sql = validation_sql(cfg.glue_database)
    print(f"validation query through the local Athena API: {sql}")
    try:
        rows, seconds = run_validation_query(athena, cfg)
    except (AthenaQueryFailed, TimeoutError) as failed:
        print(f"  FAILED: {failed}")
        return False
    print(format_rows(rows))
    print(f"{len(rows)} rows in {seconds:.2f}s")
    return True
