"""What the lake holds: a folder's data files (and what is not read, with why), the customer
snapshot used for a day, and the days of customer_daily and customer_metrics (as the catalog
publishes them, or as this run rewrote them). Listings only, nothing is read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sales_job.lake_fs import UNREADABLE_NAME_CHARACTERS, Entry, LakeFs
from sales_job.run_context import RunContext

# Why a folder's entry is not read (the manifest's `input_files.skipped`).
SKIP_MARKER = "completion_marker"  # the producer's marker: the folder is complete
SKIP_HIDDEN = "hidden"  # a name starting with '_' or '.' (as Spark skips them), or $folder$
SKIP_SUB_FOLDER = "sub_folder"  # not read: the run fails, naming it
SKIP_UNREADABLE = "unreadable_name"  # a name Hadoop paths cannot carry: the run fails


@dataclass(frozen=True)
class Folder:
    """A data folder: the files read, and every other entry as (name, why), a folder's name
    ending with '/'. Sub-folders and unreadable names fail the run (daily_run._require_readable)."""

    files: list[Entry]
    skipped: list[tuple[str, str]]

    def names(self, reason: str) -> list[str]:
        return [name for name, why in self.skipped if why == reason]


@dataclass(frozen=True)
class Snapshot:
    snapshot_date: date
    uri: str
    folder: Folder

    @property
    def files(self) -> list[Entry]:
        return self.folder.files


def folder_contents(ctx: RunContext, folder_uri: str) -> Folder:
    """The folder's entries, sorted by name; no files when the folder does not exist."""
    marker = ctx.args.completion_marker
    files, skipped = [], []
    for entry in ctx.fs.list(folder_uri, hidden=True):
        name = entry.name + "/" if entry.is_dir else entry.name
        if entry.name == marker and not entry.is_dir:
            skipped.append((name, SKIP_MARKER))
        elif entry.hidden:
            skipped.append((name, SKIP_HIDDEN))
        elif entry.is_dir:
            skipped.append((name, SKIP_SUB_FOLDER))
        elif UNREADABLE_NAME_CHARACTERS & set(entry.name):
            skipped.append((name, SKIP_UNREADABLE))
        else:
            files.append(entry)
    return Folder(files, skipped)


def find_snapshot(ctx: RunContext, day: date) -> Snapshot | None:
    """The latest complete snapshot_date=YYYY-MM-DD folder on or before `day`.

    Complete: it holds the completion marker (with no marker rule, every folder is). A newer
    folder without it is still being uploaded: it is skipped, and the manifest names it.
    """
    dated = _dated_dirs(ctx.fs, ctx.layout.customers_root, "snapshot_date")
    marker = ctx.args.completion_marker
    for snapshot_date, found_uri in sorted(dated, reverse=True):
        if snapshot_date > day:
            continue
        folder = folder_contents(ctx, found_uri)
        uri = ctx.layout.customer_snapshot(snapshot_date)
        if marker and SKIP_MARKER not in {why for _name, why in folder.skipped}:
            ctx.report.skip_snapshot(uri, f"no completion marker {marker}")
            continue
        return Snapshot(snapshot_date, uri, folder)
    return None


def customer_daily_dirs_before(ctx: RunContext, day: date) -> list[tuple[date, str]]:
    """customer_daily days before `day` and the folder to read for each (published, or the
    run's own new version), in date order."""
    return sorted((d, uri) for d, uri in ctx.tables.current("customer_daily").items() if d < day)


def customer_daily_dir(ctx: RunContext, day: date) -> str | None:
    return ctx.tables.current("customer_daily").get(day)


def latest_metrics_before(ctx: RunContext, day: date) -> tuple[date, str] | None:
    """The newest customer_metrics day strictly before `day`, if any, and its folder."""
    earlier = [(d, uri) for d, uri in ctx.tables.current("customer_metrics").items() if d < day]
    return max(earlier) if earlier else None


def metrics_days_after(ctx: RunContext, day: date) -> list[date]:
    """The as_of_date of every published customer_metrics partition after `day`, in order."""
    return sorted(d for d in ctx.tables.current("customer_metrics") if d > day)


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
