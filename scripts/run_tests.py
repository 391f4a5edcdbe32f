"""`make test`: the whole suite as two pytest sessions side by side, one exit status.

The Airflow suites (the backfill through a real scheduler, the end-to-end DAG runs) and the
Spark cluster check spend most of their time waiting (scheduler polls, a sensor timing out, a
deadline passing, JVMs starting), while the rest of the suite is mostly Spark work on the
shared session. Run one after the other they take the sum of both; side by side, about the
longer of the two. Each session has its own fixtures (endpoint, Spark session, Airflow home;
ports are chosen free), so they share nothing. The second session's output follows the first's.

    python scripts/run_tests.py [pytest args for both sessions]
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile

# The backfill tests are e2e tests too. child_process tests wait on a process of their own
# (a JVM, a CLI, an Airflow import): beside the waiting suites they use otherwise idle CPU.
WAITING_SUITES = "e2e or cluster or child_process"


def main(extra: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest", *extra]
    with tempfile.TemporaryFile(mode="w+", prefix="waiting-suites-") as waiting_log:
        waiting = subprocess.Popen(
            [*pytest, "-m", WAITING_SUITES], stdout=waiting_log, stderr=subprocess.STDOUT
        )
        rest = subprocess.Popen([*pytest, "-m", f"not ({WAITING_SUITES})"])
        try:
            rest_status = rest.wait()
            waiting_status = waiting.wait()
        except KeyboardInterrupt:
            # pytest tears its fixtures down on SIGINT: forward it, by PID, and wait for both.
            for proc in (rest, waiting):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            rest.wait()
            waiting.wait()
            raise
        finally:
            waiting_log.seek(0)
            print(f"\n===== pytest -m '{WAITING_SUITES}' =====")
            sys.stdout.write(waiting_log.read())
            sys.stdout.flush()
    print(f"\nexit {rest_status} (the rest), {waiting_status} (-m '{WAITING_SUITES}')")
    return rest_status or waiting_status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
