"""Local Spark for Glue job runs: one warm driver, and the class archive drivers start from.

- ``warm_spark.py``: the warm driver process, handed to one run at a time.
- ``spark_worker.py``: what that process runs (executed by path; imports nothing of the endpoint).
- ``class_archive.py``: every local driver's settings and the class archive they map, and its
  recording (``make venv`` runs it through ``local/spark_class_archive.py``).
"""
