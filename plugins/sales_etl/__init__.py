"""Shared code for the sales ETL DAG: config, S3 layout and run-time template helpers."""
