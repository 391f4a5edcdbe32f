#!/usr/bin/env bash
# Fail early, with the fix named, when the machine lacks what the toolchain needs.
set -euo pipefail
python_bin="${1:-python3.11}"

if ! command -v "$python_bin" >/dev/null 2>&1; then
  echo "error: $python_bin not found. Install Python 3.11 (Glue 5 runs Python 3.11) or run make PYTHON=/path/to/python3.11" >&2
  exit 2
fi
py_version=$("$python_bin" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$py_version" != "3.11" ]; then
  echo "error: $python_bin is Python $py_version; this project needs Python 3.11 (set PYTHON=...)" >&2
  exit 2
fi

if ! command -v java >/dev/null 2>&1; then
  echo "error: java not found. Install a Java 17 runtime (PySpark 3.5 and Glue 5 use Java 17), e.g. openjdk-17-jre-headless" >&2
  exit 2
fi
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
if [ "$java_major" != "17" ]; then
  echo "error: java is version ${java_major:-unknown}; this project needs Java 17 (set JAVA_HOME and PATH)" >&2
  exit 2
fi
