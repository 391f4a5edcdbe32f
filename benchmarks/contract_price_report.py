"""The contract price benchmark's runs and what it prints of them: one line per run, medians,
the ratio job / bare, and where each kind of run spends its Spark time."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.spark_event_log import SparkJob, busy_seconds

TARGET_RATIO = 1.3
SLOWEST_STAGES = 5
STARTUP, BARE, JOB = "start-up", "bare", "job"


@dataclass
class Run:
    kind: str
    repeat: int
    wall_s: float
    jobs: list[SparkJob] = field(default_factory=list)
    net_s: float | None = None  # wall less the same repeat's start-up

    @property
    def job_seconds(self) -> float:
        return sum(j.seconds for j in self.jobs)

    @property
    def cpu_seconds(self) -> float:
        return sum(j.cpu_seconds for j in self.jobs)


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_row(label: str, kind: str, values: dict[str, float | None], orders: int) -> None:
    """One table line; rows/s is on net time (a start-up has none)."""
    net = values["net_s"]
    rate = orders / net if net and kind != STARTUP else None
    print(
        f"{label:<10}{kind:<10}{_cell(values['wall_s'], '.2f'):>9}{_cell(net, '.2f'):>9}"
        f"{_cell(rate, ',.0f'):>12}{_cell(values['spark_jobs'], '.0f'):>12}"
        f"{_cell(values['job_s'], '.2f'):>10}{_cell(values['cpu_s'], '.2f'):>12}",
        flush=True,
    )


def run_values(run: Run) -> dict[str, float | None]:
    return {
        "wall_s": run.wall_s,
        "net_s": run.net_s,
        "spark_jobs": len(run.jobs),
        "job_s": run.job_seconds,
        "cpu_s": run.cpu_seconds,
    }


def print_run(run: Run, orders: int) -> None:
    print_row(f"repeat {run.repeat}", run.kind, run_values(run), orders)


def print_header() -> None:
    header = (
        f"{'':<10}{'run':<10}{'wall s':>9}{'net s':>9}{'rows/s':>12}{'spark jobs':>12}"
        f"{'jobs s':>10}{'task cpu s':>12}"
    )
    print(header)
    print("-" * len(header))


def median_values(runs: Sequence[Run]) -> dict[str, float | None]:
    samples = [run_values(r) for r in runs]
    medians: dict[str, float | None] = {}
    for key in samples[0]:
        present = [v[key] for v in samples if v[key] is not None]
        medians[key] = statistics.median(present) if present else None
    return medians


def print_summary(repeats: list[dict[str, Run]], orders: int) -> None:
    print()
    for kind in (STARTUP, BARE, JOB):
        print_row("median", kind, median_values([r[kind] for r in repeats]), orders)
    bare = statistics.median(r[BARE].net_s or 0.0 for r in repeats)
    job = statistics.median(r[JOB].net_s or 0.0 for r in repeats)
    each = ", ".join(f"{_ratio(r[JOB].net_s, r[BARE].net_s)}" for r in repeats)
    bare_cpu = statistics.median(r[BARE].cpu_seconds for r in repeats)
    job_cpu = statistics.median(r[JOB].cpu_seconds for r in repeats)
    print(
        f"\nratio job net / bare net (medians): {_ratio(job, bare)} (target <= {TARGET_RATIO})"
        f"\nper repeat: {each}"
        # Wall time on a shared machine moves with its load; CPU time of the tasks far less.
        f"\nratio of task CPU seconds (medians): {_ratio(job_cpu, bare_cpu)}"
    )


def load_average() -> str:
    # Other work on the machine skews every figure: say how busy it was.
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator or denominator <= 0:
        return "n/a (net time <= 0: the run took no longer than an empty start-up)"
    return f"{numerator / denominator:.2f}"


def print_steps(kind: str, runs: Sequence[Run]) -> None:
    """Where the run's Spark time goes, per step (label), medians over the repeats."""
    per_step: dict[str, list[list[SparkJob]]] = {}
    for run in runs:
        grouped: dict[str, list[SparkJob]] = {}
        for job in run.jobs:
            grouped.setdefault(job.label, []).append(job)
        for label, jobs in grouped.items():
            per_step.setdefault(label, []).append(jobs)
    total = statistics.median(r.job_seconds for r in runs) or 1.0
    print(f"\nwhere the {kind} run's Spark time goes (per step, median of {len(runs)} repeats)")
    header = f"{'step':<58}{'jobs':>5}{'stages':>7}{'tasks':>7}{'jobs s':>8}{'share':>7}"
    print(header)
    print("-" * len(header))
    for label, samples in per_step.items():
        seconds = statistics.median(sum(j.seconds for j in jobs) for jobs in samples)
        first = samples[0]
        print(
            f"{label[:57]:<58}{len(first):>5}{sum(j.stages for j in first):>7}"
            f"{sum(j.tasks for j in first):>7}{seconds:>8.2f}{seconds / total:>7.0%}"
        )
    busy = statistics.median(busy_seconds(r.jobs) for r in runs)
    net = statistics.median(r.net_s or 0.0 for r in runs)
    print(
        f"in Spark jobs {busy:.2f}s of net {net:.2f}s (overlapping jobs counted once); "
        f"the other {net - busy:.2f}s is driver work between jobs (planning, listing, Python)"
    )
    print_slowest_stages(runs[-1])


def print_slowest_stages(run: Run) -> None:
    """The stages that took longest, with their task counts: 1 task means 1 busy core."""
    stages = sorted(
        ((stage, job) for job in run.jobs for stage in job.ran),
        key=lambda pair: pair[0].seconds,
        reverse=True,
    )[:SLOWEST_STAGES]
    print(f"slowest stages (repeat {run.repeat}):")
    for stage, job in stages:
        print(
            f"  stage {stage.stage_id:>3} {stage.seconds:>7.2f}s {stage.tasks:>4} tasks  "
            f"job {job.job_id:>2} ({job.label[:48]})"
        )
