"""Amazon S3: moto as is, plus the local mirrors Glue job runs read and write through.

- ``mirror.py``: a bucket mirrored to a local folder and synced back (a job run's staging).
- ``object_keys.py``: keys the mirror cannot name as files are refused at upload (patches
  moto's ``S3Backend``).
"""
