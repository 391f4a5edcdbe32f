"""What the DAG, the Glue job and the Lambda must agree on, written once.

Standard library only, and it imports nothing else of the repository, so every runtime can
carry it: MWAA finds it in ``plugins.zip`` (it lives under ``plugins/``), and the deploy's
artifact builders put a copy into the Glue job's library zip and the Lambda's zip.
"""
