"""``python -m deploy ENVIRONMENT``: deploy this project to an Amazon MWAA environment.

Exit codes: 0 deployed (or nothing to do, or dry run); 1 the deploy failed part-way (the
message lists what had changed); 2 bad usage or a pre-flight check failed (nothing changed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from deploy import preflight
from deploy.apply import DeployOutcome, Report, apply_plan
from deploy.artifacts import build_lambda_zip, build_zip, glue_script_objects
from deploy.dag_check import DagChecker, check_dags_in_subprocess
from deploy.errors import DeployError
from deploy.files import PRIMARY_AIRFLOW_VERSION, dag_files, plugin_snapshot, requirements_file
from deploy.mwaa import EnvironmentOverrides, MwaaEnvironment, apply_overrides, get_environment
from deploy.plan import DeployPlan, describe_offline, plan_code, plan_dag_sync, plan_env_file
from deploy.snapshot import read_bytes, read_text, snapshot
from deploy.stack import CodeTargets, code_targets, config_variable_json, stack_outputs
from sales_etl.config import CONFIG_VARIABLE

EXIT_OK = 0
EXIT_DEPLOY_FAILED = 1
EXIT_PREFLIGHT_FAILED = 2  # also argparse's code for bad usage

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Recorded on every DAG file this project uploads; only objects carrying it are ever deleted.
DEFAULT_OWNER = "sales_etl"


@dataclass(frozen=True)
class ProjectLayout:
    """Where the project keeps what a deploy ships, relative to ``--project-dir``."""

    root: Path

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def plugins(self) -> Path:
        return self.root / "plugins"

    def requirements(self, airflow_version: str) -> Path:
        """The environment's Airflow version picks it (``deploy.files``)."""
        return requirements_file(self.root, airflow_version)

    @property
    def glue_scripts(self) -> Path:
        return self.root / "glue_scripts"

    @property
    def lambda_source(self) -> Path:
        return self.root / "lambdas" / "post_process"


class PreflightFailed(DeployError):
    """Every problem the pre-flight checks found; nothing was changed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description="Deploy the DAGs, plugins.zip, requirements.txt, Glue scripts and Lambda "
        "code to an Amazon MWAA environment; only what changed is uploaded.",
        epilog="Exit codes: 0 ok (or dry run, or nothing to do); 1 deploy failed part-way; "
        "2 bad usage or a pre-flight check failed (nothing was changed).",
    )
    parser.add_argument("environment", help="MWAA environment name")
    parser.add_argument("--region", help="AWS region (default: the AWS config's)")
    parser.add_argument("--profile", help="AWS profile (default: the AWS config's)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_ROOT, help="project root")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="offline, no AWS account: list the files, zip contents and requirements a deploy "
        "would upload (for --airflow-version), then exit",
    )
    parser.add_argument(
        "--airflow-version",
        default=PRIMARY_AIRFLOW_VERSION,
        help=f"with --plan-only: the environment's Airflow (default {PRIMARY_AIRFLOW_VERSION})",
    )

    safety = parser.add_argument_group("what the deploy may delete from the DAG folder")
    safety.add_argument(
        "--owner",
        default=DEFAULT_OWNER,
        help="owner recorded on uploaded DAG files; only objects of this owner are deleted "
        f"(default: {DEFAULT_OWNER})",
    )
    safety.add_argument(
        "--max-deletes",
        type=int,
        default=preflight.DEFAULT_MAX_DELETES,
        help="refuse a plan deleting more of our DAG-folder objects than this "
        f"(default: {preflight.DEFAULT_MAX_DELETES})",
    )
    safety.add_argument(
        "--allow-empty-dags",
        action="store_true",
        help="allow a DAG folder with no Python file (removes this project's DAGs)",
    )

    code = parser.add_argument_group("Glue scripts and Lambda code")
    code.add_argument("--stack", help="CloudFormation stack made from infra/sales-etl.yaml")
    code.add_argument("--data-bucket", help="pipeline data bucket (default: stack output Bucket)")
    code.add_argument("--lambda-function", help="default: stack output LambdaFunction")
    code.add_argument("--lambda-role-arn", help="default: stack output LambdaRoleArn")
    code.add_argument("--skip-code", action="store_true", help="deploy only the Airflow files")
    code.add_argument(
        "--config-out",
        type=Path,
        help=f"write the {CONFIG_VARIABLE!r} Variable JSON here instead of printing it",
    )

    env = parser.add_argument_group("overrides of what GetEnvironment reports")
    env.add_argument("--source-bucket", help="the environment's S3 bucket name")
    env.add_argument("--dags-path", help="DAG folder key prefix")
    env.add_argument("--plugins-path", help="plugins.zip key")
    env.add_argument("--requirements-path", help="requirements.txt key")
    env.add_argument("--startup-script", type=Path, help="local startup script to deploy")
    env.add_argument("--startup-script-path", help="startup script key (default: startup.sh)")
    return parser


@dataclass(frozen=True)
class LocalInputs:
    """Every byte the deploy ships, read once: pre-flight checks and uploads use these."""

    dags: dict[str, bytes]
    plugins: dict[str, bytes]
    plugins_zip: bytes
    requirements: str
    requirements_source: str  # the project file, relative to its root
    startup_script: bytes | None
    glue_objects: list[tuple[str, bytes, str]] | None
    lambda_zip: bytes | None


@dataclass(frozen=True)
class Prepared:
    plan: DeployPlan
    clients: dict[str, Any]
    outputs: dict[str, str]
    inputs: LocalInputs


def _local_inputs(
    layout: ProjectLayout, args: argparse.Namespace, airflow_version: str
) -> LocalInputs:
    root = layout.root
    plugins = plugin_snapshot(layout.plugins, root)
    code = not args.skip_code
    return LocalInputs(
        dags=snapshot(dag_files(layout.dags, root), root),
        plugins=plugins,
        plugins_zip=build_zip(plugins),
        requirements=read_text(layout.requirements(airflow_version), root),
        requirements_source=layout.requirements(airflow_version).relative_to(root).as_posix(),
        # The startup script is named on the command line and may live anywhere.
        startup_script=read_bytes(args.startup_script, None) if args.startup_script else None,
        glue_objects=glue_script_objects(layout.glue_scripts, project_root=root) if code else None,
        lambda_zip=build_lambda_zip(layout.lambda_source, root) if code else None,
    )


def _resolve_targets(
    args: argparse.Namespace, clients: dict[str, Any]
) -> tuple[MwaaEnvironment, dict[str, str], CodeTargets | None]:
    """The environment (with CLI overrides), the stack's outputs and the code targets."""
    env = get_environment(clients["mwaa"], args.environment)
    env = apply_overrides(
        env,
        EnvironmentOverrides(
            bucket=args.source_bucket,
            dags_path=args.dags_path,
            plugins_path=args.plugins_path,
            requirements_path=args.requirements_path,
            startup_script_path=args.startup_script_path,
        ),
    )
    outputs = stack_outputs(clients["cloudformation"], args.stack) if args.stack else {}
    targets = None
    if not args.skip_code:
        targets = code_targets(
            outputs,
            data_bucket=args.data_bucket,
            lambda_function=args.lambda_function,
            lambda_role_arn=args.lambda_role_arn,
        )
    return env, outputs, targets


def _make_plan(
    args: argparse.Namespace,
    clients: dict[str, Any],
    env: MwaaEnvironment,
    targets: CodeTargets | None,
    inputs: LocalInputs,
) -> DeployPlan:
    s3 = clients["s3"]
    slots = [env.plugins, env.requirements, env.startup]
    try:
        env_files = [
            plan_env_file(s3, env.bucket, env.plugins, inputs.plugins_zip, "application/zip"),
            plan_env_file(
                s3, env.bucket, env.requirements, inputs.requirements.encode(), "text/plain"
            ),
        ]
        if inputs.startup_script is not None:
            env_files.append(
                plan_env_file(s3, env.bucket, env.startup, inputs.startup_script, "text/x-sh")
            )
        code = None
        if targets is not None and inputs.glue_objects is not None and inputs.lambda_zip:
            code = plan_code(s3, clients["lambda"], targets, inputs.glue_objects, inputs.lambda_zip)
        dags = plan_dag_sync(
            s3,
            env.bucket,
            env.dags_prefix,
            inputs.dags,
            owner=args.owner,
            env_file_keys=frozenset(slot.key for slot in slots),
        )
        return DeployPlan(
            environment=env,
            dags=dags,
            env_files=tuple(env_files),
            code=code,
            requirements_source=inputs.requirements_source,
        )
    except (ClientError, BotoCoreError, DeployError) as exc:
        raise PreflightFailed([f"cannot work out the plan: {exc}"]) from exc


def _prepare(
    args: argparse.Namespace, session: Any, checker: DagChecker, report: Report
) -> Prepared:
    """Everything before the first write: checks and the plan, with read-only calls only."""
    problems = preflight.check_session(session)
    if problems:
        raise PreflightFailed(problems)
    clients = {name: session.client(name) for name in ("mwaa", "s3", "cloudformation", "lambda")}
    layout = ProjectLayout(args.project_dir)
    env, outputs, targets = _resolve_targets(args, clients)
    problems = preflight.check_supported_version(env)
    if problems:  # before any other call: an unsupported environment is left untouched
        raise PreflightFailed(problems)
    inputs = _local_inputs(layout, args, env.airflow_version)

    # All checks run, so one attempt reports every problem.
    problems = preflight.check_versioning(clients["s3"], env.bucket)
    problems += preflight.check_airflow_version(env, inputs.requirements, inputs.dags)
    problems += preflight.check_dags(checker, inputs.dags, inputs.plugins, report)
    if problems:
        raise PreflightFailed(problems)

    plan = _make_plan(args, clients, env, targets, inputs)
    problems = preflight.check_updatable(env, plan.env_update_needed)
    if problems:
        raise PreflightFailed(problems)
    return Prepared(plan, clients, outputs, inputs)


def _plan_only(args: argparse.Namespace, report: Report, err: TextIO) -> int:
    """What a deploy would upload, from the local files alone: no AWS call, no credentials."""
    layout = ProjectLayout(args.project_dir)
    try:
        inputs = _local_inputs(layout, args, args.airflow_version)
    except DeployError as exc:
        print(f"plan-only: {exc}", file=err)
        return EXIT_PREFLIGHT_FAILED
    for line in describe_offline(
        args.airflow_version,
        dags=inputs.dags,
        plugins=inputs.plugins,
        requirements=(inputs.requirements_source, inputs.requirements),
        glue_objects=inputs.glue_objects,
        lambda_zip=inputs.lambda_zip,
    ):
        report(line)
    report("plan only: no AWS call was made; the environment decides what actually changes")
    return EXIT_OK


def _emit_config(args: argparse.Namespace, outputs: dict[str, str], out: TextIO) -> None:
    if not args.stack:
        print(f"(pass --stack to get the {CONFIG_VARIABLE!r} Variable for this stack)", file=out)
        return
    text = config_variable_json(outputs)
    if args.config_out:
        args.config_out.write_text(text)
        print(f"wrote the {CONFIG_VARIABLE!r} Variable JSON to {args.config_out}", file=out)
    else:
        print(f"Airflow Variable {CONFIG_VARIABLE!r} for stack {args.stack}:", file=out)
        print(text, end="", file=out)


def main(
    argv: Sequence[str] | None = None,
    *,
    session: Any | None = None,
    dag_checker: DagChecker | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error
        return int(exc.code or 0)
    if args.config_out and not args.stack:
        print("error: --config-out needs --stack (the Variable comes from its outputs)", file=err)
        return EXIT_PREFLIGHT_FAILED

    def report(line: str) -> None:
        print(line, file=out, flush=True)

    if args.plan_only:
        return _plan_only(args, report, err)
    try:
        if session is None:
            session = boto3.Session(profile_name=args.profile, region_name=args.region)
        prepared = _prepare(args, session, dag_checker or check_dags_in_subprocess, report)
        # The Variable is resolved before any write, so a bad stack stops the deploy here.
        if args.stack:
            config_variable_json(prepared.outputs)
    # Any deploy error up to here is raised before the first write.
    except (DeployError, BotoCoreError) as exc:
        problems = exc.problems if isinstance(exc, PreflightFailed) else [str(exc)]
        for problem in problems:
            print(f"pre-flight: {problem}", file=err)
        print("pre-flight failed: nothing was changed", file=err)
        return EXIT_PREFLIGHT_FAILED

    for line in prepared.plan.describe():
        report(line)
    # Shown after the plan, so a refused run (or dry run) says what it would have deleted.
    problems = preflight.check_dag_selection(prepared.inputs.dags, args.allow_empty_dags)
    problems += preflight.check_deletes(prepared.plan.dags.deletes, args.max_deletes)
    if problems:
        for problem in problems:
            print(f"refused: {problem}", file=err)
        print("refused: nothing was changed", file=err)
        return EXIT_PREFLIGHT_FAILED
    if args.dry_run:
        report("dry run: nothing was changed")
        _emit_config(args, prepared.outputs, out)
        return EXIT_OK
    if prepared.plan.empty:
        report("nothing to deploy: everything is up to date")
        _emit_config(args, prepared.outputs, out)
        return EXIT_OK

    outcome = DeployOutcome()
    clients = prepared.clients
    try:
        apply_plan(
            prepared.plan,
            mwaa=clients["mwaa"],
            s3=clients["s3"],
            lambda_client=clients["lambda"],
            report=report,
            outcome=outcome,
        )
    except (ClientError, BotoCoreError, DeployError) as exc:
        print(f"deploy failed: {exc}", file=err)
        print(f"changed before the failure: {outcome.describe()}", file=err)
        return EXIT_DEPLOY_FAILED
    report(f"deployed: {outcome.describe()}")
    _emit_config(args, prepared.outputs, out)
    return EXIT_OK
