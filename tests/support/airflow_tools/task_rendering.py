"""Render a task's templated fields the way a task run does, for one logical day."""

from __future__ import annotations

import copy
from typing import Any


def render(dag: Any, task_id: str, ds: str | None, **params: Any) -> Any:
    task = copy.deepcopy(dag.get_task(task_id))
    run_params = copy.deepcopy(dag.params)
    run_params.update(params)
    context: dict[str, Any] = {"params": run_params.validate(), "task": task, "dag": dag}
    if ds is not None:
        context["ds"] = ds
    task.render_template_fields(context)
    return task, context
