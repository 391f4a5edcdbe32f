"""AWS Glue jobs: ``StartJobRun`` and friends really run the job's script.

- ``job_runs.py``: the patches on moto's ``FakeJob`` and ``GlueResponse`` (runs, their states
  and times, ``GetJobRuns``, ``BatchStopJobRun``, ``UpdateJob``).
- ``runner.py``: one run from start to finish, and how it ends (state, ``ErrorMessage``).
- ``staging.py``: the run's S3 side: buckets mirrored down before, synced back after.
- ``launch.py``: the script's environment, and its start in the warm Spark driver or in a new
  process.
- ``driver_logs.py``: the run's output shipped to CloudWatch Logs as Glue 5.0 names it.
- ``job_errors.py``: a failed script's output turned into Glue's ``ErrorMessage``.
"""
