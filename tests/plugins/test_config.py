from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from local.stack_config import LOCAL_CONFIG_VARIABLE, local_config
from sales_etl.config import ConfigError, load_config

LOCAL = json.dumps(LOCAL_CONFIG_VARIABLE)


def test_without_the_variable_the_error_names_the_keys_it_needs():
    # No fallback to local names: a bucket name anyone could claim, another account's role.
    needs = r"\['alert_topic_arn', 'bucket', 'glue_role_arn'\]"
    for unset in (None, ""):
        with pytest.raises(ConfigError, match=rf"'sales_etl_config' is not set; .* keys {needs}"):
            load_config(unset)


@pytest.mark.parametrize("key", ["bucket", "glue_role_arn", "alert_topic_arn"])
def test_an_environment_name_has_no_default(key):
    variable = {k: v for k, v in LOCAL_CONFIG_VARIABLE.items() if k != key}
    with pytest.raises(ConfigError, match=f"config key '{key}' is required"):
        load_config(variable)


def test_the_other_keys_have_defaults_and_can_be_overridden():
    cfg = local_config(glue_workers=5, max_quarantine_ratio=0)
    assert (cfg.glue_workers, cfg.max_quarantine_ratio) == (5, 0)
    assert (cfg.glue_job, cfg.glue_database, cfg.glue_worker_type) == (
        "sales_etl_job",
        "sales_etl",
        "G.1X",
    )
    assert local_config(alert_topic_arn="").alert_topic_arn == ""  # no alerts, said explicitly


def test_completion_marker_defaults_to_success_and_can_be_turned_off():
    assert local_config().completion_marker == "_SUCCESS"
    assert local_config(completion_marker=None).completion_marker is None
    assert local_config(min_rows=100).min_rows == 100


def test_mapping_and_json_give_the_same_config():
    assert load_config(LOCAL_CONFIG_VARIABLE) == load_config(LOCAL)


def test_config_is_immutable():
    with pytest.raises(ValidationError, match="frozen"):
        local_config().bucket = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("[1, 2]", "must be a JSON object, got list"),
        ('{"bucket": "a"}', "'bucket' must be a valid S3 bucket name"),
        ('{"bucket": "192.168.1.1"}', "'bucket' must be a valid S3 bucket name"),
        ('{"glue_role_arn": "my-role"}', "'glue_role_arn' must be an IAM role ARN"),
        ('{"glue_job": "has space"}', "'glue_job' must be a valid Glue name"),
        ('{"lambda_function": "x:y"}', "'lambda_function' must be a valid Lambda function name"),
        ('{"glue_worker_type": "huge"}', "'glue_worker_type' must be a Glue worker type"),
        ('{"glue_version": "five"}', "'glue_version' must look like '5.0'"),
        ('{"glue_workers": 1}', "'glue_workers' must be 2..1000"),
        ('{"glue_workers": true}', "'glue_workers' must be int, got bool"),
        ('{"glue_workers": 2.5}', "'glue_workers' must be int, got float"),
        ('{"glue_timeout_minutes": 0}', "'glue_timeout_minutes' must be 1..2880"),
        ('{"max_quarantine_ratio": -0.1}', "'max_quarantine_ratio' must be between 0 and 1"),
        ('{"max_quarantine_ratio": "5%"}', "'max_quarantine_ratio' must be float, got str"),
        ('{"raw_table_prefix": "Raw-"}', "'raw_table_prefix' must be lowercase"),
        ('{"bucket": null}', "'bucket' must be str, got NoneType"),
        ('{"completion_marker": "done.txt"}', "'completion_marker' must be a file name starting"),
        ('{"completion_marker": "_a/_b"}', "'completion_marker' must be a file name starting"),
        ('{"completion_marker": "_*"}', "'completion_marker' must be a file name starting"),
        ('{"completion_marker": 1}', "'completion_marker' must be str | None, got int"),
        ('{"min_rows": 0}', "'min_rows' must be at least 1"),
        ('{"min_rows": 10000000000000}', "'min_rows' must be at least 1 and at most 999999999999"),
        ('{"alert_topic_arn": "alerts"}', "'alert_topic_arn' must be empty or an SNS topic ARN"),
    ],
)
def test_invalid_values_are_rejected_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as excinfo:
        load_config(overrides)
    assert message in str(excinfo.value)


def test_unknown_keys_are_listed_with_the_known_ones():
    with pytest.raises(ConfigError) as excinfo:
        load_config({"bucket_name": "x", "region": "y"})
    message = str(excinfo.value)
    assert "['bucket_name', 'region']" in message
    assert "'bucket'" in message
