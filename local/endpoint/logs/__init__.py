"""Amazon CloudWatch Logs: moto as is; the endpoint writes its services' logs straight in.

- ``log_streams.py``: Glue job output, crawler progress and Lambda output appended to their
  log streams in moto's backend, as the service's role delivers them on AWS.
"""
