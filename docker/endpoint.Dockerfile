# The project's local AWS endpoint (moto with Glue jobs on local PySpark, real crawlers and
# Lambda handlers) as a container for docker-compose.yaml.
#
# Python 3.11 and Java 17, as in the project's dev environment (Glue 5: Spark 3.5, Python
# 3.11, Java 17). Dependencies come from the committed, hash-pinned dev lock so the
# container runs exactly the versions the tests run. The project's code is bind-mounted by
# compose, not copied, so edits apply on restart without a rebuild.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*

COPY requirements/dev.lock /tmp/dev.lock
RUN pip install --no-cache-dir --no-deps --require-hashes -r /tmp/dev.lock \
    && rm /tmp/dev.lock

RUN useradd --create-home --uid 1000 endpoint \
    && install -d -m 0700 -o endpoint /tmp/endpoint
USER endpoint
WORKDIR /opt/project
# The same import roots as the venv's sales_etl_paths.pth (see README, Layout).
ENV PYTHONPATH=/opt/project:/opt/project/plugins:/opt/project/glue_scripts \
    PYTHONUNBUFFERED=1 \
    SPARK_LOCAL_IP=127.0.0.1

# Binds 127.0.0.1 (the endpoint refuses anything else): only containers sharing this
# container's network namespace can reach it. See docker-compose.yaml. /tmp/endpoint is a
# volume there: a state file a killed endpoint left in it (an old key) goes first, so the
# healthcheck sees only this start's.
CMD ["sh", "-c", "rm -f /tmp/endpoint/endpoint.json && exec python -m local.endpoint --port 4599 --work-dir /tmp/endpoint"]
