"""Render a task's templated fields the way a task run does, for one logical day."""

from __future__ import annotations

import copy
from typing import Any

# What upstream tasks pushed, as a run that got this far has it.
RENDERED_XCOMS = {("transform", "glue_job_run_id"): "jr_rendered"}


class StubTaskInstance:
    """The part of a task instance templates read: upstream tasks' XComs."""

    def __init__(self, xcoms: dict[tuple[str, str], Any]) -> None:
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: str, key: str = "return_value", **_: Any) -> Any:
        return self.xcoms.get((task_ids, key))


def render(dag: Any, task_id: str, ds: str | None, **params: Any) -> Any:
    task = copy.deepcopy(dag.get_task(task_id))
    run_params = copy.deepcopy(dag.params)
    run_params.update(params)
    context: dict[str, Any] = {
        "params": run_params.validate(),
        "task": task,
        "dag": dag,
        "ti": StubTaskInstance(RENDERED_XCOMS),
    }
    if ds is not None:
        context["ds"] = ds
    task.render_template_fields(context)
    return task, context
