"""Tests for deploy.artifacts against moto in-process (S3, IAM, Lambda)."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deploy.artifacts import (
    GLUE_ENTRY_MODULE,
    GLUE_LAUNCHER,
    ArtifactError,
    build_lambda_zip,
    code_sha256,
    contract_entries,
    ensure_bucket,
    publish_glue_scripts,
    publish_lambda,
)
from deploy.s3_objects import CONTENT_HASH_METADATA
from local.provision import LAMBDA_SERVICE, ensure_role

REGION = "us-east-1"
BUCKET = "sales-etl-artifacts"
# Every code zip carries the cross-runtime contract package beside its own files.
CONTRACT = sorted(contract_entries())


@pytest.fixture
def aws(fake_aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    return boto3.client("s3", region_name=REGION)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- ensure_bucket


def test_ensure_bucket_us_east_1_is_idempotent(s3: Any) -> None:
    assert ensure_bucket(s3, BUCKET, "us-east-1") is True
    s3.put_object(Bucket=BUCKET, Key="keep.txt", Body=b"x")

    assert ensure_bucket(s3, BUCKET, "us-east-1") is False
    assert s3.get_object(Bucket=BUCKET, Key="keep.txt")["Body"].read() == b"x"


def test_ensure_bucket_other_region_sets_location(aws: None) -> None:
    s3 = boto3.client("s3", region_name="eu-west-1")

    assert ensure_bucket(s3, BUCKET, "eu-west-1") is True
    assert ensure_bucket(s3, BUCKET, "eu-west-1") is False
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "eu-west-1"


# --------------------------------------------------------------------------- Glue scripts


@pytest.fixture
def scripts_dir(tmp_path: Path) -> Path:
    root = tmp_path / "glue_scripts"
    write(root / "sales_etl_job.py", "from sales_job import transforms\n")
    write(root / "sales_job" / "__init__.py", "")
    write(root / "sales_job" / "transforms.py", "def clean(df):\n    return df\n")
    write(root / "schema.py", "COLUMNS = ()\n")
    # None of these belong on S3.
    write(root / "test_transforms.py", "def test_x():\n    pass\n")
    write(root / "sales_job" / "test_transforms.py", "def test_x():\n    pass\n")
    write(root / "transforms_test.py", "")
    write(root / "conftest.py", "")
    write(root / "notes.md", "# notes\n")
    write(root / "nested" / "deep.py", "")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "transforms.cpython-311.pyc").write_bytes(b"\x00")
    return root


def s3_keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def zip_names(s3: Any, key: str) -> list[str]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return archive.namelist()


def test_publish_glue_scripts_uploads_entry_and_module_zip(s3: Any, scripts_dir: Path) -> None:
    ensure_bucket(s3, BUCKET, REGION)

    result = publish_glue_scripts(s3, BUCKET, scripts_dir)

    assert result.script_location == f"s3://{BUCKET}/scripts/sales_etl_job.py"
    assert result.extra_py_files == f"s3://{BUCKET}/scripts/sales_etl_lib.zip"
    expected = ["scripts/sales_etl_job.py", "scripts/sales_etl_lib.zip"]
    assert sorted(result.uploaded) == expected
    assert result.unchanged == ()
    assert s3_keys(s3) == expected
    # Packages and top-level modules: no tests, caches, notes or other nested files; the entry
    # script too, which the fixed launcher at the script location runs.
    assert zip_names(s3, "scripts/sales_etl_lib.zip") == sorted(
        [
            "sales_job/__init__.py",
            "sales_job/transforms.py",
            "schema.py",
            f"{GLUE_ENTRY_MODULE}.py",
            *CONTRACT,
        ]
    )
    library = s3.get_object(Bucket=BUCKET, Key="scripts/sales_etl_lib.zip")["Body"].read()
    with zipfile.ZipFile(io.BytesIO(library)) as archive:
        entry = archive.read(f"{GLUE_ENTRY_MODULE}.py")
    assert entry == (scripts_dir / "sales_etl_job.py").read_bytes()
    body = s3.get_object(Bucket=BUCKET, Key="scripts/sales_etl_job.py")["Body"].read()
    assert body == GLUE_LAUNCHER


def test_a_change_to_any_glue_code_replaces_only_the_library_zip(
    s3: Any, scripts_dir: Path
) -> None:
    # One PUT switches the job's code: a deploy stopped part-way cannot split a pair.
    ensure_bucket(s3, BUCKET, REGION)
    publish_glue_scripts(s3, BUCKET, scripts_dir)
    write(scripts_dir / "sales_etl_job.py", "from sales_job import transforms as t\n")
    write(scripts_dir / "sales_job" / "transforms.py", "def clean(df):\n    return df\n\n")

    changed = publish_glue_scripts(s3, BUCKET, scripts_dir)

    assert changed.uploaded == ("scripts/sales_etl_lib.zip",)
    assert changed.unchanged == ("scripts/sales_etl_job.py",)


def test_publish_glue_scripts_skips_unchanged_and_reuploads_changed(
    s3: Any, scripts_dir: Path
) -> None:
    ensure_bucket(s3, BUCKET, REGION)
    first = publish_glue_scripts(s3, BUCKET, scripts_dir)

    again = publish_glue_scripts(s3, BUCKET, scripts_dir)
    assert again.uploaded == ()
    assert sorted(again.unchanged) == sorted(first.uploaded)
    assert (again.script_location, again.extra_py_files) == (
        first.script_location,
        first.extra_py_files,
    )

    write(scripts_dir / "sales_job" / "transforms.py", "def clean(df):\n    return df.dropna()\n")
    changed = publish_glue_scripts(s3, BUCKET, scripts_dir)
    assert changed.uploaded == ("scripts/sales_etl_lib.zip",)
    assert changed.unchanged == ("scripts/sales_etl_job.py",)


def test_publish_glue_scripts_trusts_etag_of_foreign_upload(s3: Any, scripts_dir: Path) -> None:
    # Objects put by another tool carry no hash metadata; identical content is still skipped.
    ensure_bucket(s3, BUCKET, REGION)
    s3.put_object(Bucket=BUCKET, Key="scripts/sales_etl_job.py", Body=GLUE_LAUNCHER)
    s3.put_object(Bucket=BUCKET, Key="scripts/sales_etl_lib.zip", Body=b"stale")

    result = publish_glue_scripts(s3, BUCKET, scripts_dir)

    assert result.unchanged == ("scripts/sales_etl_job.py",)
    assert result.uploaded == ("scripts/sales_etl_lib.zip",)
    head = s3.head_object(Bucket=BUCKET, Key="scripts/sales_etl_lib.zip")
    assert CONTENT_HASH_METADATA in head["Metadata"]


def test_publish_glue_scripts_custom_prefix_and_no_modules(s3: Any, tmp_path: Path) -> None:
    ensure_bucket(s3, BUCKET, REGION)
    write(tmp_path / "sales_etl_job.py", "print('hi')\n")

    result = publish_glue_scripts(s3, BUCKET, tmp_path, prefix="code/glue")

    assert result.script_location == f"s3://{BUCKET}/code/glue/sales_etl_job.py"
    assert s3_keys(s3) == ["code/glue/sales_etl_job.py", "code/glue/sales_etl_lib.zip"]
    # The job definition always names the zip, so it exists with no modules of the job's own.
    assert zip_names(s3, "code/glue/sales_etl_lib.zip") == sorted(
        [f"{GLUE_ENTRY_MODULE}.py", *CONTRACT]
    )


def test_publish_glue_scripts_without_entry_script_fails(s3: Any, tmp_path: Path) -> None:
    write(tmp_path / "transforms.py", "")
    with pytest.raises(ArtifactError, match="Glue entry script not found"):
        publish_glue_scripts(s3, BUCKET, tmp_path)


# --------------------------------------------------------------------------- Lambda zip


def make_lambda_tree(root: Path, order: list[str]) -> Path:
    files = {
        "handler.py": "def lambda_handler(event, context):\n    return event\n",
        "helpers/util.py": "X = 1\n",
        "data/rules.json": "{}\n",
    }
    for name in order:  # creation order differs between trees; the zip must not
        write(root / name, files[name])
    write(root / "__pycache__" / "handler.cpython-311.pyc", "junk")
    write(root / "helpers" / "__pycache__" / "util.cpython-312.pyc", "junk")
    write(root / "stray.pyc", "junk")
    return root


def test_lambda_zip_is_deterministic_and_has_exactly_the_sources(tmp_path: Path) -> None:
    a = make_lambda_tree(tmp_path / "a", ["handler.py", "helpers/util.py", "data/rules.json"])
    b = make_lambda_tree(tmp_path / "b", ["data/rules.json", "helpers/util.py", "handler.py"])
    # Different mtimes and permissions must not leak into the archive.
    os.utime(b / "handler.py", (2_000_000_000, 2_000_000_000))
    (b / "helpers" / "util.py").chmod(0o755)

    first = build_lambda_zip(a)
    assert build_lambda_zip(a) == first
    assert build_lambda_zip(b) == first

    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == sorted(
            ["data/rules.json", "handler.py", "helpers/util.py", *CONTRACT]
        )
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert archive.read("handler.py") == (a / "handler.py").read_bytes()
        assert (
            archive.read("sales_contract/rules.py") == contract_entries()["sales_contract/rules.py"]
        )


def test_lambda_zip_changes_with_content(tmp_path: Path) -> None:
    tree = make_lambda_tree(tmp_path / "src", ["handler.py", "helpers/util.py", "data/rules.json"])
    before = build_lambda_zip(tree)
    write(tree / "helpers" / "util.py", "X = 2\n")
    assert build_lambda_zip(tree) != before


def test_lambda_zip_rejects_missing_or_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        build_lambda_zip(tmp_path / "nope")
    write(tmp_path / "empty" / "__pycache__" / "x.pyc", "")
    with pytest.raises(ArtifactError, match="no files to package"):
        build_lambda_zip(tmp_path / "empty")


# --------------------------------------------------------------------------- publish_lambda


FUNCTION = "sales-etl-post-process"


@pytest.fixture
def lambda_client(aws: None) -> Any:
    return boto3.client("lambda", region_name=REGION)


@pytest.fixture
def role_arn(aws: None) -> str:
    # moto, like AWS, refuses create_function for a role that does not exist.
    return ensure_role(boto3.client("iam", region_name=REGION), "post-process", LAMBDA_SERVICE)


@pytest.fixture
def calls(lambda_client: Any) -> list[str]:
    """Names of the Lambda API operations the client sends, in order."""
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    lambda_client.meta.events.register("before-call.lambda.*", record)
    return seen


def zip_of(tmp_path: Path, body: str) -> bytes:
    write(tmp_path / "src" / "handler.py", body)
    return build_lambda_zip(tmp_path / "src")


def publish(lambda_client: Any, role_arn: str, zip_bytes: bytes, **overrides: Any) -> str:
    kwargs: dict[str, Any] = {
        "timeout": 120,
        "memory": 256,
        "environment": {"PIPELINE_NAME": "sales_etl"},
        "waiter_delay": 1,
        "waiter_max_attempts": 5,
    }
    kwargs.update(overrides)
    return publish_lambda(lambda_client, FUNCTION, role_arn, zip_bytes, **kwargs)


def updates(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith(("Create", "Update"))]


def test_publish_lambda_creates_function(
    lambda_client: Any, role_arn: str, tmp_path: Path, calls: list[str]
) -> None:
    code = zip_of(tmp_path, "def lambda_handler(e, c):\n    return 1\n")

    arn = publish(lambda_client, role_arn, code)

    config = lambda_client.get_function(FunctionName=FUNCTION)["Configuration"]
    assert arn == config["FunctionArn"]
    assert arn.endswith(f":function:{FUNCTION}")
    assert updates(calls) == ["CreateFunction"]
    assert config["CodeSha256"] == code_sha256(code)
    assert (config["Handler"], config["Runtime"]) == ("handler.lambda_handler", "python3.12")
    assert (config["Timeout"], config["MemorySize"], config["Role"]) == (120, 256, role_arn)
    assert config["Environment"]["Variables"] == {"PIPELINE_NAME": "sales_etl"}
    assert config["State"] == "Active"


def test_publish_lambda_again_changes_nothing(
    lambda_client: Any, role_arn: str, tmp_path: Path, calls: list[str]
) -> None:
    code = zip_of(tmp_path, "def lambda_handler(e, c):\n    return 1\n")
    arn = publish(lambda_client, role_arn, code)
    calls.clear()

    assert publish(lambda_client, role_arn, code) == arn
    assert updates(calls) == []


def test_publish_lambda_updates_only_code_when_code_changes(
    lambda_client: Any, role_arn: str, tmp_path: Path, calls: list[str]
) -> None:
    publish(lambda_client, role_arn, zip_of(tmp_path, "def lambda_handler(e, c):\n    return 1\n"))
    calls.clear()
    new_code = zip_of(tmp_path, "def lambda_handler(e, c):\n    return 2\n")

    publish(lambda_client, role_arn, new_code)

    assert updates(calls) == ["UpdateFunctionCode"]
    config = lambda_client.get_function(FunctionName=FUNCTION)["Configuration"]
    assert config["CodeSha256"] == code_sha256(new_code)


def test_publish_lambda_updates_only_configuration_when_it_changes(
    lambda_client: Any, role_arn: str, tmp_path: Path, calls: list[str]
) -> None:
    code = zip_of(tmp_path, "def lambda_handler(e, c):\n    return 1\n")
    publish(lambda_client, role_arn, code)
    calls.clear()

    publish(
        lambda_client,
        role_arn,
        code,
        memory=512,
        environment={"PIPELINE_NAME": "sales_etl", "SNS_TOPIC_ARN": ""},
    )

    assert updates(calls) == ["UpdateFunctionConfiguration"]
    config = lambda_client.get_function(FunctionName=FUNCTION)["Configuration"]
    assert config["MemorySize"] == 512
    assert config["Timeout"] == 120
    assert config["Environment"]["Variables"] == {"PIPELINE_NAME": "sales_etl", "SNS_TOPIC_ARN": ""}


def test_publish_lambda_updates_code_then_configuration(
    lambda_client: Any, role_arn: str, tmp_path: Path, calls: list[str]
) -> None:
    publish(lambda_client, role_arn, zip_of(tmp_path, "def lambda_handler(e, c):\n    return 1\n"))
    calls.clear()

    publish(
        lambda_client,
        role_arn,
        zip_of(tmp_path, "def lambda_handler(e, c):\n    return 3\n"),
        environment=None,
    )

    assert updates(calls) == ["UpdateFunctionCode", "UpdateFunctionConfiguration"]
    config = lambda_client.get_function(FunctionName=FUNCTION)["Configuration"]
    assert "Environment" not in config or config["Environment"]["Variables"] == {}


def test_a_source_file_named_like_the_contract_is_refused(tmp_path: Path) -> None:
    tree = make_lambda_tree(tmp_path / "src", ["handler.py"])
    write(tree / "sales_contract" / "rules.py", "MAX = 1\n")
    with pytest.raises(ArtifactError, match="named like the contract package"):
        build_lambda_zip(tree)
