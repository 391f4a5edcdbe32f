"""The provider's GlueJobOperator, telling the task log what the run did.

The provider's operator ends with "Error in glue job: {...}" or a bare run id. This subclass
changes only how a finished run is reported, from the manifest the run wrote
(``sales_etl.run_outcome``): on success the day's summary line; on a failed try its reason,
every try; and when the job refused the day's data, the task fails at once: the same data
would be refused again, so a retry would cost Glue minutes and delay the alert for nothing.
Infrastructure failures (no manifest of the run's own) keep their retries.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

try:  # Airflow 3's task SDK; Airflow 2 has it only in airflow.exceptions
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:
    from airflow.exceptions import AirflowFailException

from sales_etl.config import ConfigError
from sales_etl.failure_reasons import failure_reason
from sales_etl.run_outcome import data_refusal, read_manifest, run_manifest, summary
from sales_etl.runtime import pipeline_config, resolve_run_date


class DailyGlueJobOperator(GlueJobOperator):
    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> str:
        try:
            run_id = super().execute_complete(context, event)
        except Exception as failure:
            context = {**context, "exception": failure}
            refusal = self._refusal(context, (event or {}).get("run_id"))
            if refusal is not None:
                raise AirflowFailException(
                    f"the Glue job refused the day's data, not retried: {refusal}"
                ) from failure
            self.log.error("Reason: %s", self._reason(context))
            raise
        # post_process reads the run id under this key; providers before 9.25 (MWAA 3.0.6,
        # 2.11.2) do not push it, later ones already have (the same value).
        context["ti"].xcom_push(key="glue_job_run_id", value=run_id)
        self._log_summary(context, run_id)
        return run_id

    def _refusal(self, context: Any, run_id: str | None) -> str | None:
        run_id = run_id or context["ti"].xcom_pull(task_ids=self.task_id, key="glue_job_run_id")
        try:
            manifest = _own_manifest(context, run_id)
        except Exception as err:  # no manifest of its own: not the data's verdict
            self.log.info("Glue run %s wrote no manifest of its own (%s)", run_id, err)
            return None
        return data_refusal(manifest)

    def _reason(self, context: Any) -> str:
        try:
            return failure_reason(
                self.task_id, context, pipeline_config(), resolve_run_date(context)
            )
        except (ConfigError, ValueError) as err:
            return f"{type(err).__name__}: {err}"

    def _log_summary(self, context: Any, run_id: str) -> None:
        try:
            manifest = _own_manifest(context, run_id)
        except Exception as err:  # the post_process Lambda checks the manifest and fails loudly
            self.log.warning("Glue run %s succeeded; its manifest cannot be read: %s", run_id, err)
            return
        self.log.info("%s", summary(manifest))


def _own_manifest(context: Any, run_id: str) -> dict[str, Any]:
    """The day's manifest if ``run_id`` wrote it (ManifestNotWritten if not)."""
    return run_manifest(read_manifest(pipeline_config().bucket, resolve_run_date(context)), run_id)
