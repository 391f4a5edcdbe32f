"""Read a Spark event log (JSON lines) into the Spark jobs a run ran and what each was for.

Spark writes one event per line to `spark.eventLog.dir`, as `<app id>.inprogress` while the
application runs and renamed to `<app id>` when its SparkContext stops. A process that exits
without `spark.stop()` may leave the `.inprogress` name, and a killed one a torn last line, so
both are read and an unreadable line is skipped.

A job is labelled, first match wins, by:
  1. its `spark.job.description` (what `SparkContext.setJobDescription` sets: one per step);
  2. its `callSite.short`, the Python `file:line` of the action, shortened to the file's
     folder and name (`collect at sales_job/manifest.py:52`, wherever the code was installed);
  3. for a job under a SQL write with neither, `write <table folder>` from the execution's
     plan (PySpark's `DataFrameWriter` records no Python call site);
  4. the SQL execution's own description, else `job <id>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

SQL_START = "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart"
WRITE_TARGET = re.compile(r"InsertIntoHadoopFsRelationCommand (\S+?),")
# "collect at /any/where/sales_job/manifest.py:52" -> "collect at sales_job/manifest.py:52"
CALL_SITE_PATH = re.compile(r" at \S*?([^/\s]+/[^/\s]+:\d+)$")


@dataclass(frozen=True)
class SparkStage:
    stage_id: int
    name: str
    tasks: int
    seconds: float
    cpu_seconds: float = 0.0  # summed over its tasks: moves far less with machine load


@dataclass(frozen=True)
class SparkJob:
    job_id: int
    label: str
    submitted_ms: int
    completed_ms: int
    ran: tuple[SparkStage, ...]  # stages that ran (cached or skipped stages do not)

    @property
    def seconds(self) -> float:
        return (self.completed_ms - self.submitted_ms) / 1000

    @property
    def stages(self) -> int:
        return len(self.ran)

    @property
    def tasks(self) -> int:
        return sum(s.tasks for s in self.ran)

    @property
    def cpu_seconds(self) -> float:
        return sum(s.cpu_seconds for s in self.ran)


@dataclass(frozen=True)
class ExecutorAdded:
    executor_id: str
    host: str
    cores: int


def event_log_file(folder: Path) -> Path:
    """The one application log in `folder` (a run gets its own folder)."""
    logs = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if len(logs) != 1:
        raise ValueError(f"expected one Spark event log in {folder}, found {len(logs)}")
    return logs[0]


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # the torn last line of a log whose writer was killed


def executors_added(events: Iterable[dict[str, Any]]) -> list[ExecutorAdded]:
    found = []
    for event in events:
        if event.get("Event") == "SparkListenerExecutorAdded":
            info = event.get("Executor Info", {})
            found.append(
                ExecutorAdded(
                    str(event.get("Executor ID")), info.get("Host", ""), info.get("Total Cores", 0)
                )
            )
    return found


def spark_jobs(events: Iterable[dict[str, Any]]) -> list[SparkJob]:
    """Every job that finished, in submission order."""
    starts: dict[int, dict[str, Any]] = {}
    ends: dict[int, int] = {}
    completed: dict[int, SparkStage] = {}
    cpu_ns: dict[int, int] = {}  # stage id -> executor CPU time of its tasks
    writes: dict[str, str] = {}  # SQL execution id -> the table folder it writes
    sql_descriptions: dict[str, str] = {}
    for event in events:
        kind = event.get("Event")
        if kind == "SparkListenerJobStart":
            starts[event["Job ID"]] = event
        elif kind == "SparkListenerJobEnd":
            ends[event["Job ID"]] = event["Completion Time"]
        elif kind == "SparkListenerTaskEnd":
            cpu = (event.get("Task Metrics") or {}).get("Executor CPU Time", 0)
            cpu_ns[event["Stage ID"]] = cpu_ns.get(event["Stage ID"], 0) + cpu
        elif kind == "SparkListenerStageCompleted":
            stage = _stage(event["Stage Info"])
            completed[stage.stage_id] = stage
        elif kind == SQL_START:
            execution = str(event.get("executionId"))
            sql_descriptions[execution] = event.get("description", "")
            target = _write_target(event)
            if target:
                writes[execution] = target
    jobs = []
    for job_id, start in sorted(starts.items()):
        if job_id not in ends:
            continue  # cut off by a killed process: no duration to report
        ran = tuple(
            replace(completed[s], cpu_seconds=cpu_ns.get(s, 0) / 1e9)
            for s in sorted(start.get("Stage IDs", []))
            if s in completed
        )
        jobs.append(
            SparkJob(
                job_id=job_id,
                label=_label(start, writes, sql_descriptions),
                submitted_ms=start["Submission Time"],
                completed_ms=ends[job_id],
                ran=ran,
            )
        )
    return jobs


def _stage(info: dict[str, Any]) -> SparkStage:
    seconds = (info.get("Completion Time", 0) - info.get("Submission Time", 0)) / 1000
    return SparkStage(
        stage_id=info["Stage ID"],
        name=short_call_site(info.get("Stage Name", "")),
        tasks=info.get("Number of Tasks", 0),
        seconds=max(seconds, 0.0),
    )


def _write_target(sql_start: dict[str, Any]) -> str | None:
    # The plan tree as text: the write command is its root or near it.
    match = WRITE_TARGET.search(json.dumps(sql_start.get("sparkPlanInfo", {})))
    return match.group(1).rstrip("/").rsplit("/", 1)[-1] if match else None


def short_call_site(text: str) -> str:
    return CALL_SITE_PATH.sub(r" at \1", text)


def _label(start: dict[str, Any], writes: dict[str, str], sql: dict[str, str]) -> str:
    props = start.get("Properties") or {}
    if props.get("spark.job.description"):
        return props["spark.job.description"]
    if props.get("callSite.short"):
        return short_call_site(props["callSite.short"])
    execution = props.get("spark.sql.execution.id")
    if execution in writes:
        return f"write {writes[execution]}"
    if sql.get(execution):
        return sql[execution]
    return f"job {start['Job ID']}"


def busy_seconds(jobs: Iterable[SparkJob]) -> float:
    """Wall time during which at least one job ran (concurrent jobs counted once)."""
    total_ms, end_ms = 0, None
    for job in sorted(jobs, key=lambda j: j.submitted_ms):
        if end_ms is None or job.submitted_ms > end_ms:
            total_ms += job.completed_ms - job.submitted_ms
            end_ms = job.completed_ms
        elif job.completed_ms > end_ms:
            total_ms += job.completed_ms - end_ms
            end_ms = job.completed_ms
    return total_ms / 1000
