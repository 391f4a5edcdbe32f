"""How much slower the pipeline DAG parses than a minimal DAG with the same Airflow imports.

Each sample parses one file in a fresh Python process, in two modes:
- cold: the file's imports are paid by the parse, as in a fresh DAG-processor process;
- warm: the Airflow and provider modules both files use are imported first (the DAG
  processor pre-imports a file's ``airflow`` imports), so only what our DAG file and its
  ``sales_etl`` package add is timed. Reported in milliseconds, since the warm baseline
  does almost nothing and a ratio of two tiny numbers says little.

    .venv/bin/python benchmarks/dag_parse_benchmark.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from local.repo import REPO_ROOT

DAG_FILE = REPO_ROOT / "dags" / "sales_etl_dag.py"
TARGET_RATIO = 1.3

SHARED_IMPORTS = textwrap.dedent(
    """\
    import pendulum
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
    from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator
    from airflow.providers.amazon.aws.operators.lambda_function import (
        LambdaInvokeFunctionOperator,
    )
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
    from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, chain
    """
)

MINIMAL_DAG = SHARED_IMPORTS + textwrap.dedent(
    """\
    with DAG("minimal", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
        S3KeySensor(task_id="wait", bucket_name="b", bucket_key="k")
    """
)

# Runs in the child: load the DAG processor (and, warm, pre-import), then time one file.
PARSE_ONE = textwrap.dedent(
    """\
    import sys, time
    from airflow.dag_processing.dagbag import DagBag
    if sys.argv[2] == "warm":
        exec(compile({imports!r}, "<pre-import>", "exec"))
    start = time.perf_counter()
    bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
    elapsed = time.perf_counter() - start
    assert not bag.import_errors, bag.import_errors
    assert bag.dags, "no DAG parsed"
    print(elapsed)
    """
).format(imports=SHARED_IMPORTS)


def parse_seconds(dag_file: Path, mode: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", PARSE_ONE, str(dag_file), mode],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"parsing {dag_file} failed:\n{result.stderr[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dag-parse-bench-") as tmp:
        minimal = Path(tmp) / "minimal_dag.py"
        minimal.write_text(MINIMAL_DAG)
        env = {
            **os.environ,
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "plugins"), str(REPO_ROOT / "dags")]),
        }
        samples: dict[tuple[str, str], list[float]] = {}
        # Alternate so drift on a noisy machine hits both sides alike.
        for _ in range(args.rounds):
            for mode in ("cold", "warm"):
                for name, path in (("minimal", minimal), ("sales_etl", DAG_FILE)):
                    seconds = parse_seconds(path, mode, env)
                    samples.setdefault((mode, name), []).append(seconds)

    ms = {key: statistics.median(values) * 1000 for key, values in samples.items()}
    ratio = ms["cold", "sales_etl"] / ms["cold", "minimal"]
    print(f"rounds: {args.rounds}, median of fresh-process parses")
    print(f"{'':28}{'cold':>10}{'warm':>10}")
    for name, label in (("minimal", "minimal DAG, same imports"), ("sales_etl", "sales_etl DAG")):
        print(f"{label:28}{ms['cold', name]:8.1f}ms{ms['warm', name]:8.1f}ms")
    verdict = "OK" if ratio <= TARGET_RATIO else "ABOVE TARGET"
    print(f"cold ratio: {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})")
    extra = ms["warm", "sales_etl"] - ms["warm", "minimal"]
    print(f"warm: the pipeline DAG adds {extra:.1f} ms per parse over the minimal DAG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
