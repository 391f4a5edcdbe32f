"""The class archive local Spark drivers start from (``local/endpoint/spark/class_archive.py``)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from local.endpoint.spark import class_archive
from local.endpoint.spark.class_archive import (
    ARCHIVE,
    QUICK_JIT,
    driver_java_options,
    local_spark_submit_args,
)


def test_without_an_archive_a_driver_gets_the_quick_jit_only(monkeypatch, tmp_path):
    monkeypatch.setattr(class_archive, "ARCHIVE", tmp_path / "missing.jsa")
    assert driver_java_options() == QUICK_JIT


def test_an_archive_is_passed_to_the_endpoints_spark_driver(monkeypatch, tmp_path):
    archive = tmp_path / "spark-classes.jsa"
    archive.write_bytes(b"")
    monkeypatch.setattr(class_archive, "ARCHIVE", archive)
    args = shlex.split(local_spark_submit_args())
    [java_options] = [a for a in args if a.startswith("spark.driver.extraJavaOptions=")]
    assert java_options.split("=", 1)[1].split() == [
        QUICK_JIT,
        f"-XX:SharedArchiveFile={archive}",
        "-Xlog:cds=off",
        "-Xlog:cds+dynamic=off",
    ]
    assert args[-1] == "pyspark-shell"


def test_an_archive_path_spark_would_split_is_left_out(monkeypatch, tmp_path):
    archive = tmp_path / "with space" / "spark-classes.jsa"
    archive.parent.mkdir()
    archive.write_bytes(b"")
    monkeypatch.setattr(class_archive, "ARCHIVE", archive)
    assert driver_java_options() == QUICK_JIT


def test_the_venvs_archive_serves_spark_classes_to_a_local_driver(tmp_path):
    assert ARCHIVE.is_file(), f"{ARCHIVE} is missing: `make venv` records it"
    class_log = tmp_path / "classes.log"
    java_options = f"{driver_java_options()} -Xlog:class+load=info:file={class_log}"
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_SUBMIT_ARGS": (
            f"--conf spark.ui.enabled=false --conf "
            f"{shlex.quote('spark.driver.extraJavaOptions=' + java_options)} pyspark-shell"
        ),
    }
    script = "from pyspark.sql import SparkSession; SparkSession.builder.getOrCreate().stop()"
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
    loaded = _spark_class_sources(class_log)
    shared = [name for name, source in loaded.items() if "shared objects file (top)" in source]
    # Spark's classes come from the archive (its top layer), not from Spark's jars.
    assert len(shared) > 0.9 * len(loaded), (len(shared), len(loaded))


def _spark_class_sources(class_log: Path) -> dict[str, str]:
    sources = {}
    for line in class_log.read_text().splitlines():
        # [0.123s][info][class,load] org.apache.spark.SparkContext source: <where>
        _, _, rest = line.partition("[class,load] ")
        name, _, source = rest.partition(" source: ")
        # Lambdas are made at run time: they have no jar to be loaded from instead.
        if name.startswith("org.apache.spark.") and "$$Lambda" not in name:
            sources[name] = source
    if not sources:
        pytest.fail(f"no Spark class was loaded, per {class_log}")
    return sources
