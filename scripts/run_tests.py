"""`make test`: the whole suite as three pytest sessions side by side, one exit status.

The Airflow suites (the backfill through a real scheduler, the end-to-end DAG runs) spend
much of their time waiting (scheduler polls, a sensor timing out, a deadline passing); the
tests on the shared Spark session keep about one core busy; the rest (the endpoint, deploy,
Lambda) mixes both. One after the other they take the sum of all three; side by side, about
their CPU time over the two cores. Each session has its own fixtures (endpoint, Spark
session, Airflow home; ports are chosen free), so they share nothing. The first session's
output comes as it runs, the others' after it.

    python scripts/run_tests.py [pytest args for every session]
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from contextlib import ExitStack

# Name -> marker expression; together they select every test once. tests/conftest.py marks
# `spark_session` each test that uses the shared SparkSession (the `spark` fixture).
AIRFLOW_AND_CLUSTER = "e2e or cluster"
ON_SPARK_SESSION = f"spark_session and not ({AIRFLOW_AND_CLUSTER})"
SESSIONS = {
    "the rest": f"not ({AIRFLOW_AND_CLUSTER} or spark_session)",
    "on the Spark session": ON_SPARK_SESSION,
    "Airflow and the cluster": AIRFLOW_AND_CLUSTER,
}
NO_TESTS_COLLECTED = 5  # pytest.ExitCode.NO_TESTS_COLLECTED, without importing pytest here


def main(extra: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest", *extra]
    (_, first), *others = SESSIONS.items()
    with ExitStack() as stack:
        logs = [
            stack.enter_context(tempfile.TemporaryFile(mode="w+", prefix="pytest-session-"))
            for _ in others
        ]
        procs = [subprocess.Popen([*pytest, "-m", first])]
        procs += [
            subprocess.Popen([*pytest, "-m", expression], stdout=log, stderr=subprocess.STDOUT)
            for (_, expression), log in zip(others, logs, strict=True)
        ]
        try:
            statuses = [proc.wait() for proc in procs]
        except KeyboardInterrupt:
            # pytest tears its fixtures down on SIGINT: forward it, by PID, and wait for each.
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in procs:
                proc.wait()
            raise
        finally:
            for (name, expression), log in zip(others, logs, strict=True):
                log.seek(0)
                print(f"\n===== {name}: pytest -m '{expression}' =====")
                sys.stdout.write(log.read())
            sys.stdout.flush()
    outcome = ", ".join(
        f"{status} ({name})" for status, name in zip(statuses, SESSIONS, strict=True)
    )
    print(f"\nexit {outcome}")
    # A session whose markers select none of the tests asked for (a path given) finds none.
    ran = [status for status in statuses if status != NO_TESTS_COLLECTED]
    return next((status for status in ran if status), 0) if ran else NO_TESTS_COLLECTED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
