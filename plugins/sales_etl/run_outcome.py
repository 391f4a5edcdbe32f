"""What a finished Glue run did, from the day's manifest the run wrote.

The manifest is the job's own account of the day (rows in, valid, quarantined, revenue) or of
why it refused the day. A run that refused the day wrote ``status: failed`` with the reason:
that is the data's verdict (threshold, empty day, bad header, no snapshot) and would be the
same on a retry. A run that wrote no manifest of its own (killed, out of memory, an AWS
error) failed for a reason a retry may not meet again.
"""

from __future__ import annotations

import json
from typing import Any

from sales_contract.layout import manifest_key

# The transform task's log line on success; the UI check looks for it.
SUMMARY_PREFIX = "Glue run summary:"


class ManifestNotWritten(LookupError):
    """The day's manifest is missing or another run's: this run never finished writing it."""


def read_manifest(bucket: str, day: str) -> dict[str, Any]:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return json.loads(S3Hook().read_key(manifest_key(day), bucket))


def run_manifest(manifest: dict[str, Any], run_id: str) -> dict[str, Any]:
    """``manifest`` if ``run_id`` wrote it; ManifestNotWritten naming its writer if not."""
    written_by = manifest.get("job_run_id")
    if written_by != run_id:
        raise ManifestNotWritten(
            f"written by run {written_by}, not this one (the run failed before writing it)"
        )
    return manifest


def summary(manifest: dict[str, Any]) -> str:
    """One line: the day's counts and revenue as the job reconciled them."""
    return (
        f"{SUMMARY_PREFIX} {manifest.get('run_date')}: {manifest.get('rows_in')} rows in,"
        f" {manifest.get('rows_valid')} valid, {manifest.get('rows_quarantined')} quarantined"
        f" (ratio {manifest.get('quarantine_ratio')}), revenue {manifest.get('total_revenue')}"
    )


def data_refusal(manifest: dict[str, Any]) -> str | None:
    """The job's reason for refusing the day, or None if the manifest records no refusal."""
    if manifest.get("status") == "failed" and manifest.get("error"):
        return str(manifest["error"])
    return None
