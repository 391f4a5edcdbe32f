"""Before a task starts the Glue job or a crawler: is it there, as the deploy defined it?

The DAG may start them, never create or change them (``sales_etl.glue_resources``). A missing
or different one fails the task here, naming what differs, instead of the operator creating
it (AccessDenied on AWS; silently, locally) or running code nobody deployed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sales_etl.config import PipelineConfig
from sales_etl.glue_resources import RUN_TIME_JOB_KEYS, differences, glue_job_definition
from sales_etl.runtime import check_glue_timeout, pipeline_config

log = logging.getLogger(__name__)

Context = Mapping[str, Any]


class NotAsDeployedError(RuntimeError):
    """The Glue job or crawler is missing or differs from its definition; the message says how."""


def prepare_transform(context: Context) -> None:
    """Check the job against its definition, then size this run from config.

    Sizing is a StartJobRun setting (numbers Jinja cannot render: a pre_execute hook sets
    them), so a config change takes effect on the next run without a deploy.
    """
    cfg = pipeline_config()
    check_glue_timeout(cfg.glue_timeout_minutes)
    defined = glue_job_definition(cfg)
    task = context["task"]
    live = _live_job(task.hook.conn, cfg.glue_job)
    _require_as_defined("job", defined, live, ignore=RUN_TIME_JOB_KEYS)
    sizing = {key: defined[key] for key in sorted(RUN_TIME_JOB_KEYS)}
    task.run_job_kwargs = {**(task.run_job_kwargs or {}), **sizing}
    log.info("Glue job %s as deployed; this run's sizing from config: %s", cfg.glue_job, sizing)


def check_crawler(
    definition: Callable[[PipelineConfig], dict[str, Any]],
) -> Callable[[Context], None]:
    """A pre_execute hook checking the crawler ``definition`` describes."""

    def check(context: Context) -> None:
        defined = definition(pipeline_config())
        live = _live_crawler(context["task"].hook.glue_client, defined["Name"])
        _require_as_defined("crawler", defined, live)
        log.info("Glue crawler %s as deployed", defined["Name"])

    return check


def _require_as_defined(
    kind: str, defined: dict[str, Any], live: dict[str, Any] | None, ignore=frozenset()
) -> None:
    name = defined["Name"]
    if live is None:
        raise NotAsDeployedError(
            f"Glue {kind} {name!r} does not exist: the stack creates it (infra/sales-etl.yaml;"
            f" locally, provisioning does); the DAG only starts it"
        )
    found = differences(live, defined, ignore)
    if found:
        raise NotAsDeployedError(
            f"Glue {kind} {name!r} differs from what the deploy defines: {'; '.join(found)}."
            " Update the stack, or the config Variable if it names other values; the DAG does"
            f" not change the {kind}"
        )


# The Glue client is the operator's own (its hook's): one client a task, not two.
def _live_job(glue: Any, name: str) -> dict[str, Any] | None:
    return _unless_missing(glue, lambda: glue.get_job(JobName=name)["Job"])


def _live_crawler(glue: Any, name: str) -> dict[str, Any] | None:
    return _unless_missing(glue, lambda: glue.get_crawler(Name=name)["Crawler"])


def _unless_missing(glue: Any, read: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return read()
    except glue.exceptions.EntityNotFoundException:
        return None
