"""The HTTP layer in front of moto: who may send requests, and who sent which call.

- ``browser_guard.py``: requests a web browser could make are refused.
- ``call_recorder.py``: each request recorded as the IAM call it stands for.
- ``call_log.py``: the record of calls per principal (off unless asked for); the endpoint's
  own calls for a principal (crawls, Glue job staging, log delivery) land there too.
- ``iam_arns.py``: the ARNs of the resources those calls act on.
"""
