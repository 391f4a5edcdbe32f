"""Run counts and line numbers (one Spark action over the cached lines) and the manifest.

The manifest is the job's contract with the DAG and the Lambda: counts that reconcile
(rows_in == rows_valid + rows_quarantined), the reasons, revenue and every input/output URI.
It holds no timestamps; a rerun on the same inputs writes the same manifest but for the run's
own version folders. Its status is "running" from before the run's first write until the run
has published (then "succeeded") or failed ("failed"): a killed run leaves "running".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sales_contract.layout import PROCESSED_TABLES, LakeLayout
from sales_contract.rules import MANIFEST_SCHEMA_VERSION
from sales_job.csv_lines import LINE_KIND_BLANK, LINE_KIND_HEADER, LINE_KIND_ROW, LineNumbers


@dataclass(frozen=True)
class LineCounts:
    """What the sales files held. A row is a non-blank line that is not a valid header."""

    rows_valid: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    total_revenue: Decimal = Decimal("0.00")
    header_lines: int = 0
    blank_lines: int = 0
    files_with_rows: frozenset[str] = frozenset()
    files_read: frozenset[str] = frozenset()  # every file a line came from

    @property
    def rows_quarantined(self) -> int:
        return sum(self.reasons.values())

    @property
    def rows_in(self) -> int:
        return self.rows_valid + self.rows_quarantined

    @property
    def quarantine_ratio(self) -> float:
        return self.rows_quarantined / self.rows_in if self.rows_in else 0.0


def collect_line_counts(classified: DataFrame) -> tuple[LineCounts, LineNumbers]:
    """All counts, and the line numbers, in one aggregation over the classified lines."""
    groups = (
        classified.groupBy("source_file", "_split_start", "line_kind", "reason")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum("amount").alias("revenue"),
            F.min("_line_id").alias("first_id"),
        )
        .collect()
    )
    valid, header, blank = 0, 0, 0
    revenue = Decimal("0.00")
    reasons: dict[str, int] = {}
    files_with_rows = set()
    splits: dict[tuple[str, int], tuple[int, int]] = {}  # -> (lines, first _line_id)
    for g in groups:
        split = (g["source_file"], g["_split_start"])
        lines, first_id = splits.get(split, (0, g["first_id"]))
        splits[split] = (lines + g["n"], min(first_id, g["first_id"]))
        if g["line_kind"] == LINE_KIND_HEADER:
            header += g["n"]
        elif g["line_kind"] == LINE_KIND_BLANK:
            blank += g["n"]
        elif g["line_kind"] == LINE_KIND_ROW:
            files_with_rows.add(g["source_file"])
            if g["reason"] is None:
                valid += g["n"]
                revenue += g["revenue"] or Decimal(0)
            else:
                reasons[g["reason"]] = reasons.get(g["reason"], 0) + g["n"]
    counts = LineCounts(
        rows_valid=valid,
        reasons=dict(sorted(reasons.items())),
        total_revenue=revenue.quantize(Decimal("0.01")),
        header_lines=header,
        blank_lines=blank,
        files_with_rows=frozenset(files_with_rows),
        files_read=frozenset(file for file, _start in splits),
    )
    numbers = LineNumbers.from_splits((f, s, n, i) for (f, s), (n, i) in splits.items())
    return counts, numbers


STATUS_RUNNING = "running"
STATUS_SUCCEEDED = "succeeded"
STATUS_FAILED = "failed"


@dataclass
class ManifestBuilder:
    """Collects what a run learns, step by step, so a failure at any step still reports it."""

    run_date: date
    layout: LakeLayout
    max_quarantine_ratio: float
    job_run_id: str | None = None
    version: str = ""  # the run's version folder name (run-<id>)
    customers_uri: str | None = None
    snapshot: dict[str, Any] | None = None
    input_files: list[tuple[str, int]] = field(default_factory=list)  # (name, size)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    # name -> what its header says (csv_lines.header_hint): a file using another delimiter
    header_hints: dict[str, str] = field(default_factory=dict)
    # uri -> why, for the run's day and any later day it rebuilt
    skipped_snapshots: dict[str, str] = field(default_factory=dict)
    counts: LineCounts = field(default_factory=LineCounts)
    rebuilt_metrics: list[str] = field(default_factory=list)  # later days, in date order
    # table -> day -> the catalog location the run pointed the partition at
    published: dict[str, dict[str, str]] = field(default_factory=dict)

    def build(self, error: str | None = None, *, running: bool = False) -> dict[str, Any]:
        d, layout, counts = self.run_date, self.layout, self.counts
        status = STATUS_FAILED if error else STATUS_RUNNING if running else STATUS_SUCCEEDED
        without_rows = [
            name for name, size in self.input_files if size and name not in counts.files_with_rows
        ]
        return {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "run_date": d.isoformat(),
            "job_run_id": self.job_run_id,
            "status": status,
            "error": error,
            "rows_in": counts.rows_in,
            "rows_valid": counts.rows_valid,
            "rows_quarantined": counts.rows_quarantined,
            "quarantine_reasons": dict(counts.reasons),
            "quarantine_ratio": counts.quarantine_ratio,
            "max_quarantine_ratio": self.max_quarantine_ratio,
            "total_revenue": f"{counts.total_revenue:.2f}",
            "inputs": {"sales": layout.sales_partition(d), "customers": self.customers_uri},
            # The run's new version of each table's day (published once status is succeeded).
            "outputs": {
                **{t: f"{layout.table_partition(t, d)}/{self.version}" for t in PROCESSED_TABLES},
                "quarantine": layout.quarantine_partition(d),
            },
            "rebuilt": {"customer_metrics": list(self.rebuilt_metrics)},
            "published": {t: dict(days) for t, days in sorted(self.published.items())},
            "input_files": {
                "count": len(self.input_files),
                "empty": [name for name, size in self.input_files if not size],
                "without_rows": without_rows,
                "skipped": [{"name": n, "reason": why} for n, why in self.skipped_files],
                "header_hints": [
                    {"name": n, "hint": hint} for n, hint in sorted(self.header_hints.items())
                ],
            },
            "lines": {"header": counts.header_lines, "blank": counts.blank_lines},
            "customer_snapshot": self.snapshot,
            "skipped_snapshots": [
                {"uri": uri, "reason": why} for uri, why in sorted(self.skipped_snapshots.items())
            ],
        }

    def header_hint_text(self) -> str:
        """The header hints, for a failure message ("" when there are none)."""
        return "".join(f"; {n}: {hint}" for n, hint in sorted(self.header_hints.items()))

    def skip_snapshot(self, uri: str, why: str) -> None:
        """A snapshot newer than the one used, not used (the same may be met twice)."""
        self.skipped_snapshots[uri] = why


def manifest_json(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"
