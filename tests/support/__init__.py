"""What the test suites share besides fixtures: one module per thing a test needs help with
(the local endpoint, Airflow runs, lakes, the deploy harness, ...). Test modules and conftest.py
files import from here; conftest.py files hold only fixtures, and no test imports a conftest."""
