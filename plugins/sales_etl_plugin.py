"""The Airflow plugin: registers the DAG's timetable, which Airflow accepts only from a plugin.

The DAG processor serializes the DAG's timetable by its class path, and the scheduler and API
server load it back, only if a plugin lists that class. This file is the only module Airflow's
plugin manager imports (``.airflowignore`` keeps it out of the two packages beside it); MWAA
gets it at the root of plugins.zip, the local runners from ``plugins/``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sales_etl.params import DayRunIdTimetable


class SalesEtlPlugin(AirflowPlugin):
    name = "sales_etl"
    timetables = [DayRunIdTimetable]
