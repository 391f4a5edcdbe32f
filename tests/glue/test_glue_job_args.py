"""Job arguments (no Spark) and the Hadoop-FileSystem helpers."""

from __future__ import annotations

import sys
import types
from datetime import date

import pytest

from sales_job.args import JobArgumentError, resolve_job_args, validate_job_args
from sales_job.lake_fs import LakeFs, normalize_base_uri

GLUE_STYLE = [
    "sales_etl_job.py",
    "--JOB_ID", "j_1", "--JOB_RUN_ID", "jr_abc", "--JOB_NAME", "sales",
    "--job-bookmark-option", "job-bookmark-disable", "--TempDir", "s3://b/temp/",
    "--enable-metrics", "", "--run_date", "2024-01-15", "--data_uri", "s3://bucket/",
]  # fmt: skip
# What the job definition and the Airflow provider add to every run (glue_resources.py).
DAG_STYLE = [
    *GLUE_STYLE,
    "--job-language", "python", "--extra-py-files", "s3://bucket/scripts/sales_etl_lib.zip",
    "--enable-continuous-cloudwatch-log", "true", "--airflow_task_uuid", "3f2a-uuid",
    "--continuous-log-logGroup", "/aws-glue/jobs", "--python-modules-installer-option",
    "--upgrade", "--max_quarantine_ratio", "0.2", "--min_rows", "5", "--completion_marker", "none",
]  # fmt: skip


def test_glue_style_argv_is_parsed_locally_and_glues_own_arguments_are_accepted():
    args = resolve_job_args(GLUE_STYLE)
    assert args.run_date == date(2024, 1, 15)
    assert args.data_uri == "s3://bucket"
    assert args.max_quarantine_ratio == 0.05
    assert args.min_rows == 1
    assert args.job_run_id == "jr_abc"
    assert args.completion_marker == "_SUCCESS"

    args = resolve_job_args(DAG_STYLE)
    assert (args.max_quarantine_ratio, args.min_rows, args.completion_marker) == (0.2, 5, None)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--max_quarantine_ration", "0.9"], "--max_quarantine_ration"),
        (["--help"], "--help"),
        (["--min-rows", "3"], "--min-rows"),
        (["stray"], "'stray'"),
    ],
)
def test_an_unknown_argument_fails_the_run_naming_it(extra, named):
    with pytest.raises(JobArgumentError, match="unknown") as caught:
        resolve_job_args([*GLUE_STYLE, *extra])
    assert named in str(caught.value)


@pytest.mark.parametrize(
    ("value", "marker"), [("_SUCCESS", "_SUCCESS"), ("_READY", "_READY"), ("", None)]
)
def test_the_completion_marker_argument(value, marker):
    assert resolve_job_args([*GLUE_STYLE, "--completion_marker", value]).completion_marker == marker


BAD_DATE = "--run_date must be a real date in YYYY-MM-DD form"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data_uri", "/tmp/x"], "missing required argument --run_date"),
        (["--run_date", "2024-01-15"], "missing required argument --data_uri"),
        (
            ["--run_date", "2024-1-15", "--data_uri", "/x"],
            BAD_DATE,
        ),
        (
            ["--run_date", "2024-02-30", "--data_uri", "/x"],
            BAD_DATE,
        ),
        (
            ["--run_date", "2024-W03-1", "--data_uri", "/x"],
            BAD_DATE,
        ),
        (
            ["--run_date", "2024-01-15", "--data_uri", "/x", "--max_quarantine_ratio", "1.5"],
            "--max_quarantine_ratio must be a number in [0, 1], got '1.5'",
        ),
        (
            ["--run_date", "2024-01-15", "--data_uri", "/x", "--max_quarantine_ratio", "lots"],
            "--max_quarantine_ratio must be a number in [0, 1], got 'lots'",
        ),
        (
            ["--run_date", "2024-01-15", "--data_uri", "/x", "--min_rows", "0"],
            "--min_rows must be a whole number >= 1, got '0'",
        ),
        (
            ["--run_date", "2024-01-15", "--data_uri", "/x", "--min_rows", "ten"],
            "--min_rows must be a whole number >= 1, got 'ten'",
        ),
        (["--run_dat", "2024-01-15", "--data_uri", "/x"], "unknown argument --run_dat"),
        (
            ["--run_date", "2024-01-15", "--data_uri", "/x", "--completion_marker", "done.txt"],
            "--completion_marker must be a file name starting with '_' or '.'",
        ),
    ],
)
def test_bad_arguments_name_the_argument(argv, message):
    with pytest.raises(JobArgumentError) as caught:
        resolve_job_args(["sales_etl_job.py", *argv])
    assert message in str(caught.value)


def test_local_paths_become_absolute_file_uris(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert normalize_base_uri("lake/") == f"file://{tmp_path}/lake"
    assert normalize_base_uri("/data/lake") == "file:///data/lake"
    assert normalize_base_uri("file:///data/lake/") == "file:///data/lake"
    args = validate_job_args(
        {"run_date": "2024-01-15", "data_uri": "lake", "max_quarantine_ratio": "0"}
    )
    assert (args.data_uri, args.max_quarantine_ratio) == (f"file://{tmp_path}/lake", 0.0)


def test_on_glue_arguments_come_from_get_resolved_options(monkeypatch):
    calls = []

    def get_resolved_options(argv, options):  # the real one rejects reserved names like JOB_RUN_ID
        calls.append(list(options))
        assert "JOB_RUN_ID" not in options
        values = dict(zip(argv[1::2], argv[2::2], strict=False))
        missing = [o for o in options if f"--{o}" not in values]
        if missing:
            raise RuntimeError(f"the following arguments are required: --{missing[0]}")
        return {o: values[f"--{o}"] for o in options} | {"JOB_RUN_ID": values.get("--JOB_RUN_ID")}

    utils = types.ModuleType("awsglue.utils")
    utils.getResolvedOptions = get_resolved_options  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awsglue", types.ModuleType("awsglue"))
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)

    argv = ["job.py", "--JOB_RUN_ID", "jr_9", "--run_date", "2024-01-15", "--data_uri", "s3://b"]
    args = resolve_job_args([*argv, "--max_quarantine_ratio", "0.2"])
    assert (args.job_run_id, args.max_quarantine_ratio) == ("jr_9", 0.2)
    assert calls[-1] == ["run_date", "data_uri", "max_quarantine_ratio"]
    assert resolve_job_args(argv).max_quarantine_ratio == 0.05
    assert calls[-1] == ["run_date", "data_uri"]
    with pytest.raises(JobArgumentError, match="--data_uri"):
        resolve_job_args(["job.py", "--run_date", "2024-01-15"])
    # getResolvedOptions ignores what it was not asked for: the job does not.
    with pytest.raises(JobArgumentError, match="unknown argument --max_quarantine_ration"):
        resolve_job_args([*argv, "--max_quarantine_ration", "0.9"])


def test_lake_fs_lists_visible_entries_writes_and_deletes(spark, tmp_path):
    fs = LakeFs(spark)
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("b.csv", "a.csv", "_SUCCESS", ".a.csv.crc", "x_$folder$"):
        (tmp_path / "d" / name).write_text("12345")
    entries = fs.list(f"file://{tmp_path}/d")
    assert [(e.name, e.is_dir, e.size) for e in entries] == [
        ("a.csv", False, 5),
        ("b.csv", False, 5),
        ("sub", True, 0),
    ]
    assert fs.list(f"file://{tmp_path}/missing") == []

    target = f"file://{tmp_path}/m/run_date=2024-01-15/manifest.json"
    fs.write_text(target, '{"a": "é"}\n')
    fs.write_text(target, '{"b": 1}\n')
    folder = tmp_path / "m" / "run_date=2024-01-15"
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json"]  # no .crc
    assert (folder / "manifest.json").read_text() == '{"b": 1}\n'
    assert fs.exists(target)
    assert fs.delete(f"file://{tmp_path}/m") is True
    assert fs.delete(f"file://{tmp_path}/m") is False
    assert not (tmp_path / "m").exists()
