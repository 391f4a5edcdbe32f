"""AWS Lambda: ``Invoke`` really runs the deployed handler (named ``awslambda`` as in moto).

- ``invoke.py``: the patch on moto's ``LambdaFunction.invoke``: the package unpacked, the
  handler run in a child process, its output shipped to CloudWatch Logs.
- ``bootstrap.py``: what that child runs (standard library only, executed by path).
"""
