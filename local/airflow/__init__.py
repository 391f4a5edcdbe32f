"""Airflow on this machine, against the local AWS endpoint.

- ``python -m local.airflow`` (``make airflow``): the API server, scheduler, triggerer and DAG
  processor on 127.0.0.1 (``airflow_stack``), with their settings (``stack_settings``).
- ``DagTestRunner`` (``make demo``, the end-to-end tests): ``airflow dags test`` for several
  days in one child process (``dag_test_child``).
"""
