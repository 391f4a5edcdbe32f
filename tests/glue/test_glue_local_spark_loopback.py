"""A local run of the Glue entry point (the README's command) keeps Spark on loopback, no UI.

Run as the README says, with no ``SPARK_LOCAL_IP`` and no ``PYSPARK_SUBMIT_ARGS``, Spark would
bind its driver to the machine's address and serve its UI on ``*:4040`` for anyone on the
network. Outside Glue (no ``awsglue``) the entry point configures its session itself.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.repo import REPO_ROOT
from tests.support.lake import read_manifest, write_customers, write_sales
from tests.support.spark_settings import NO_CODEGEN, QUICK_JIT, system_properties

pytestmark = pytest.mark.child_process

DAY = "2024-01-15"
# Runs the entry point's main, then reports, while its session still runs, the session's
# settings and every socket the process and its JVM listen on.
PROBE = """
import json, sys
import psutil
from pyspark.sql import SparkSession
from sales_etl_job import main
from tests.support.fake_catalog import catalog_for

main(
    ["sales_etl_job.py", "--run_date", sys.argv[1], "--data_uri", sys.argv[2]],
    catalog_for(sys.argv[2]),
)
spark = SparkSession.getActiveSession()
conf = spark.sparkContext.getConf()
me = psutil.Process()
listening = sorted(
    {(c.laddr.ip, c.laddr.port)
     for p in [me, *me.children(recursive=True)]
     for c in p.net_connections(kind="inet")
     if c.status == psutil.CONN_LISTEN}
)
print("PROBE " + json.dumps({
    "ui": conf.get("spark.ui.enabled", "true"),
    "ui_url": spark.sparkContext.uiWebUrl,
    "driver_host": conf.get("spark.driver.host"),
    "listening": listening,
}))
"""


def is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    # A JVM on a dual-stack socket shows 127.0.0.1 as ::ffff:127.0.0.1.
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def test_a_local_run_listens_on_loopback_only_and_serves_no_ui(tmp_path: Path) -> None:
    write_customers(tmp_path)
    write_sales(tmp_path, DAY, ["O1,C001,P1,2,29.99,2024-01-15,East"])
    env = {
        k: v for k, v in os.environ.items() if k not in ("SPARK_LOCAL_IP", "PYSPARK_SUBMIT_ARGS")
    }
    # Speed only, nothing the check looks at (tests/support/spark_settings.py).
    env["JAVA_TOOL_OPTIONS"] = " ".join([QUICK_JIT, *system_properties(NO_CODEGEN)])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, DAY, str(tmp_path)],
        cwd=REPO_ROOT / "glue_scripts",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert read_manifest(tmp_path, DAY)["status"] == "succeeded"
    probe = json.loads(done.stdout.split("PROBE ", 1)[1])
    assert probe["listening"], "the driver listens on nothing?"
    assert all(is_loopback(ip) for ip, _ in probe["listening"]), probe["listening"]
    assert (probe["ui"], probe["ui_url"], probe["driver_host"]) == ("false", None, "127.0.0.1")
