"""`make ui-check`: a headless browser uses the local stack's UI as a person would.

    python scripts/ui_check.py [--browser /usr/bin/chromium] [--day 2024-01-15]

Starts the `make airflow` stack (``python -m local.airflow --reset``) on free loopback ports in
its own work dir, then drives the system's Chromium (Playwright for Python, with the browser's
own executable: nothing is downloaded) to log in, trigger one seeded day from the DAG's
*Trigger* form, open the run's ``transform`` log and find the run's summary line there, and
look at the config Variable in Admin -> Variables. Screenshots of each step go to
``.local-run/ui-check/screenshots/``. The stack is stopped by its PID in any case. Exit 0 when
every step passed, 1 when one failed (its screenshot and the stack's log say more), 2 when no
browser was found.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from local.airflow.airflow_api import AirflowApi, ApiError
from local.airflow.cli import DAG_ID
from local.process_group import stop_process_group
from local.repo import REPO_ROOT
from sales_etl.config import CONFIG_VARIABLE

if TYPE_CHECKING:
    from playwright.sync_api import Page

# The line of the transform log that says what the run did; `{day}` is the day triggered.
SUMMARY_LINE = "Glue run summary: {day}:"
DEFAULT_DAY = "2024-01-15"  # seeded by the stack (local/data/demo_lake.py)
WORK_DIR = REPO_ROOT / ".local-run" / "ui-check"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
READY_SECONDS = 300  # the stack prints "Airflow is ready" after db migrate and 4 components
RUN_SECONDS = 300
UI_TIMEOUT_MS = 30_000
STOP_GRACE_SECONDS = 60


class CheckFailed(RuntimeError):
    """A step did not see what it expected; the message says what."""


@dataclass(frozen=True)
class Stack:
    url: str
    password: str
    log: Path


def find_browser(given: str | None) -> str | None:
    """The browser's executable: ``given``, $UI_CHECK_BROWSER, or the first of BROWSERS."""
    for name in (given, os.environ.get("UI_CHECK_BROWSER"), *BROWSERS):
        path = name and shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_stack() -> Iterator[Stack]:
    """`make airflow` on free ports, with a fresh metastore; stopped by its PID on exit."""
    api_port = free_port()
    log = WORK_DIR / "stack.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "local.airflow", "--reset", "--work-dir", str(WORK_DIR)]
    command += ["--port", str(free_port()), "--api-port", str(api_port)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait(lambda: _ready(proc, log), READY_SECONDS, f"the stack to be ready (log: {log})")
        password = json.loads((WORK_DIR / "passwords.json").read_text())["admin"]
        yield Stack(f"http://127.0.0.1:{api_port}", password, log)
    finally:
        # SIGTERM, as Ctrl-C: the stack stops its components and the endpoint itself.
        stop_process_group(proc, grace=STOP_GRACE_SECONDS, whole_group=True)


def _ready(proc: subprocess.Popen[bytes], log: Path) -> bool:
    if proc.poll() is not None:
        raise CheckFailed(f"the stack exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
    return "Airflow is ready:" in log.read_text()


def wait(found: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(1)
    raise CheckFailed(f"timed out after {seconds:.0f}s waiting for {what}")


class Steps:
    """The checks, each ending in a screenshot named after it."""

    def __init__(self, page: Page, stack: Stack, shots: Path) -> None:
        self.page = page
        self.stack = stack
        self.shots = shots
        self.api = AirflowApi(stack.url, "admin", stack.password)
        self.started = time.monotonic()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        print(f"  {time.monotonic() - self.started:5.1f}s  {name}", flush=True)

    def log_in(self) -> None:
        page = self.page
        page.goto(self.stack.url)
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(self.stack.password)
        self.shot("01-login")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(self.stack.url + "/")
        self.shot("02-home")

    def trigger(self, day: str) -> str:
        """The DAG's Trigger form, with the day in its `run_date` param and in the run's id
        (Airflow would name the run after the time of the click); the new run's id."""
        page = self.page
        page.goto(f"{self.stack.url}/dags/{DAG_ID}")
        page.get_by_role("button", name="Trigger").first.click()
        form = page.get_by_role("dialog")
        form.locator("#element_run_date").fill(day)
        form.get_by_role("button", name="Advanced Options").click()
        form.locator("input[name=dagRunId]").fill(f"manual__{day}")
        self.shot("03-trigger-form")
        with page.expect_response(
            lambda r: r.url.endswith(f"/dags/{DAG_ID}/dagRuns") and r.request.method == "POST"
        ) as answer:
            form.get_by_test_id("trigger-dag-submit").click()
        run = answer.value.json()
        expected = (f"manual__{day}", day)
        if (run.get("dag_run_id"), (run.get("conf") or {}).get("run_date")) != expected:
            raise CheckFailed(f"the Trigger form answered {answer.value.status}: {run}")
        return str(run["dag_run_id"])

    def wait_for_run(self, run_id: str) -> None:
        path = f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id)}"

        def finished() -> str | None:
            try:
                state = str(self.api.get(path)["state"])
            except ApiError:  # a busy API server: ask again
                return None
            return state if state in ("success", "failed") else None

        state = wait(finished, RUN_SECONDS, f"run {run_id} to finish")
        self.page.goto(f"{self.stack.url}/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id)}")
        self.page.get_by_text("transform").first.wait_for(timeout=UI_TIMEOUT_MS)
        self.shot("04-run")
        if state != "success":
            raise CheckFailed(f"run {run_id} ended {state}")

    def transform_log(self, run_id: str, day: str) -> str:
        """The summary line, as the transform task's Logs tab shows it."""
        page = self.page
        page.goto(
            f"{self.stack.url}/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id)}/tasks/transform"
        )
        line = page.get_by_text(SUMMARY_LINE.format(day=day)).first
        try:
            line.wait_for(timeout=UI_TIMEOUT_MS)
        finally:
            self.shot("05-transform-log")
        return str(line.inner_text())

    def config_variable(self) -> None:
        self.page.goto(f"{self.stack.url}/variables")
        self.page.get_by_text(CONFIG_VARIABLE, exact=True).wait_for(timeout=UI_TIMEOUT_MS)
        self.shot("06-variables")


def check(browser: str, day: str) -> int:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    shots = WORK_DIR / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    started = time.monotonic()
    print(f"ui-check: starting the local stack ({WORK_DIR})...", flush=True)
    try:
        with running_stack() as stack, sync_playwright() as playwright:
            print(f"ui-check: stack ready in {time.monotonic() - started:.0f}s; {browser}")
            chromium = playwright.chromium.launch(executable_path=browser, headless=True)
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(UI_TIMEOUT_MS)
            steps = Steps(page, stack, shots)
            steps.log_in()
            run_id = steps.trigger(day)
            steps.wait_for_run(run_id)
            summary = steps.transform_log(run_id, day)
            steps.config_variable()
            chromium.close()
    except (CheckFailed, PlaywrightError) as err:
        print(f"ui-check FAILED: {_first_line(err)}\n  screenshots: {shots}", file=sys.stderr)
        return 1
    print(f"ui-check passed in {time.monotonic() - started:.0f}s: {summary}")
    print(f"  screenshots: {shots}")
    return 0


def _first_line(err: Exception) -> str:
    return re.split(r"\n(?:Call log|=+)", str(err), maxsplit=1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", help="Chromium or Chrome executable (default: on PATH)")
    parser.add_argument("--day", default=DEFAULT_DAY, help="seeded day to trigger")
    args = parser.parse_args(argv)
    browser = find_browser(args.browser)
    if browser is None:
        print(
            "error: no Chromium or Chrome found (looked for $UI_CHECK_BROWSER, "
            f"{', '.join(BROWSERS)}); on Debian: sudo apt-get install -y chromium",
            file=sys.stderr,
        )
        return 2
    return check(browser, args.day)


if __name__ == "__main__":
    sys.exit(main())
