"""`make test`: the whole suite as three pytest sessions side by side, one exit status.

The Airflow suites (the backfill through a real scheduler, the end-to-end DAG runs) and the
Spark cluster check spend most of their time waiting (scheduler polls, a sensor timing out, a
deadline passing, JVMs starting), while the rest of the suite is mostly Spark work on the
shared session. Run one after the other they take the sum of all; side by side, about the
longest. The backfill suite waits on its scheduler most of all: it gets a session of its own.
Each session has its own fixtures (endpoint, Spark session, Airflow home; ports are chosen
free), so they share nothing. The waiting sessions' output follows the first's.

    python scripts/run_tests.py [pytest args for every session]
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from contextlib import ExitStack

# The backfill tests are e2e tests too. child_process tests wait on a process of their own
# (a JVM, a CLI, an Airflow import): beside the waiting suites they use otherwise idle CPU.
WAITING_SUITES = "e2e or cluster or child_process"
SCHEDULER_SUITE = "tests/backfill"

SESSIONS = {
    "the rest": ["-m", f"not ({WAITING_SUITES})"],
    f"{SCHEDULER_SUITE} -m '{WAITING_SUITES}'": [SCHEDULER_SUITE, "-m", WAITING_SUITES],
    f"-m '{WAITING_SUITES}' but {SCHEDULER_SUITE}": (
        ["-m", WAITING_SUITES, f"--ignore={SCHEDULER_SUITE}"]
    ),
}


def main(extra: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest", *extra]
    with ExitStack() as files:
        # The first session writes to the terminal as it goes; the others' output follows.
        logs = {
            name: files.enter_context(tempfile.TemporaryFile(mode="w+", prefix="pytest-"))
            for name in list(SESSIONS)[1:]
        }
        procs = {
            name: subprocess.Popen(
                [*pytest, *args],
                **({"stdout": logs[name], "stderr": subprocess.STDOUT} if name in logs else {}),
            )
            for name, args in SESSIONS.items()
        }
        try:
            status = {name: proc.wait() for name, proc in procs.items()}
        except KeyboardInterrupt:
            # pytest tears its fixtures down on SIGINT: forward it, by PID, and wait for all.
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in procs.values():
                proc.wait()
            raise
        finally:
            for name, log in logs.items():
                log.seek(0)
                print(f"\n===== pytest {name} =====")
                sys.stdout.write(log.read())
                sys.stdout.flush()
    print("\n" + ", ".join(f"exit {code} ({name})" for name, code in status.items()))
    return next((code for code in status.values() if code), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
