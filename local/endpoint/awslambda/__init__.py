"""AWS Lambda: ``Invoke`` really runs the deployed handler (named ``awslambda`` as in moto).

- ``invoke.py``: the patch on moto's ``LambdaFunction.invoke``: the package unpacked, the
  handler run in an execution environment, its output shipped to CloudWatch Logs.
- ``environments.py``: execution environments (child processes), reused between invocations.
- ``bootstrap.py``: what such a child runs (standard library only, executed by path).
"""
