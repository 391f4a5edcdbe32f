"""Amazon Athena answered for real: queries run in an embedded DuckDB over the endpoint's own
Glue catalog and S3.

- ``api.py``: the Athena actions on moto's ``AthenaResponse`` (``install``).
- ``executions.py``: a query's states, the history, the results CSV in S3.
- ``engine.py``: one query, from SQL to result rows.
- ``translate.py``: Athena (Trino) SQL to DuckDB with Trino's semantics, or a failure.
- ``catalog.py``: tables and partitions from the Glue catalog; ``pruning.py``: partitions a
  query's filters keep; ``storage.py``: the files under a location; ``sources.py``: how
  Parquet and CSV (with their SerDe settings) are read; ``types.py``: type names and values.
- ``errors.py``: failures in Athena's words (``StateChangeReason``).
"""
