"""What the lake holds: a folder's data files, the customer snapshot used for a day, and the
dated partitions of customer_daily and customer_metrics. Listings only, nothing is read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sales_job.lake_fs import Entry, LakeFs
from sales_job.run_context import RunContext


@dataclass(frozen=True)
class Snapshot:
    snapshot_date: date
    uri: str
    files: list[Entry]


def data_files(ctx: RunContext, folder_uri: str) -> list[Entry]:
    """The folder's visible files (no sub-folders); [] when the folder does not exist."""
    return [e for e in ctx.fs.list(folder_uri) if not e.is_dir]


def find_snapshot(ctx: RunContext, day: date) -> Snapshot | None:
    """The latest snapshot_date=YYYY-MM-DD folder on or before `day`."""
    dated = _dated_dirs(ctx.fs, ctx.layout.customers_root, "snapshot_date")
    eligible = [(d, uri) for d, uri in dated if d <= day]
    if not eligible:
        return None
    snapshot_date, found_uri = max(eligible)
    return Snapshot(
        snapshot_date, ctx.layout.customer_snapshot(snapshot_date), data_files(ctx, found_uri)
    )


def customer_daily_dirs_before(ctx: RunContext, day: date) -> list[tuple[date, str]]:
    dated = _dated_dirs(ctx.fs, ctx.layout.customer_daily_root, "order_date")
    return [(d, uri) for d, uri in dated if d < day]


def latest_metrics_before(ctx: RunContext, day: date) -> tuple[date, str] | None:
    """The newest customer_metrics partition strictly before `day`, if any."""
    earlier = [(d, uri) for d, uri in _metrics_dirs(ctx) if d < day]
    return max(earlier) if earlier else None


def metrics_days_after(ctx: RunContext, day: date) -> list[date]:
    """The as_of_date of every customer_metrics partition after `day`, in date order."""
    return [d for d, _uri in _metrics_dirs(ctx) if d > day]


def _metrics_dirs(ctx: RunContext) -> list[tuple[date, str]]:
    return _dated_dirs(ctx.fs, ctx.layout.customer_metrics_root, "as_of_date")


def _dated_dirs(fs: LakeFs, root: str, column: str) -> list[tuple[date, str]]:
    found = []
    for entry in fs.list(root):
        key, _, value = entry.name.partition("=")
        if not entry.is_dir or key != column:
            continue
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            continue  # not a partition of ours; ignore rather than guess
        try:
            found.append((date.fromisoformat(value), entry.uri))
        except ValueError:
            continue
    return sorted(found)
