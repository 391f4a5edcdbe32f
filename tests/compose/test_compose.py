"""docker-compose.yaml, checked without Docker: Compose schema, pins, healthchecks, loopback
ports, no secrets, and the endpoint reachable only through its own network namespace."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.aws_local import DEVELOPER_ACCESS_KEY, REGION, EndpointClients
from local.endpoint_file import write_endpoint_file
from local.repo import REPO_ROOT
from local.stack_config import LOCAL_CONFIG_VARIABLE
from sales_etl.config import load_config

COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")
ENDPOINT_SERVICE = "aws-endpoint"
AIRFLOW_COMPONENTS = {"api-server", "scheduler", "dag-processor", "triggerer"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|SQL_ALCHEMY_CONN", re.IGNORECASE)
INTERPOLATED = re.compile(r"\$\{[A-Z0-9_]+(:?-[^}]*)?\}")
# Where Airflow reads the aws_default connection (the endpoint's URL and key) from.
SECRETS_BACKEND = "airflow.secrets.local_filesystem.LocalFilesystemBackend"
CONNECTIONS_FILE = "/opt/airflow/secrets/connections.json"
ENDPOINT_STATE_FILE = "/tmp/endpoint/endpoint.json"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def airflow_version_from_lock() -> str:
    lock = (REPO_ROOT / "requirements" / "dev.lock").read_text()
    return re.search(r"^apache-airflow==([\d.]+)", lock, re.MULTILINE).group(1)


def constraint_pin() -> tuple[str, str]:
    """(Airflow version, Python version) of the MWAA constraint line in requirements.txt."""
    first = (REPO_ROOT / "requirements.txt").read_text().splitlines()[0]
    match = re.search(r"constraints-([\d.]+)/constraints-(\d+\.\d+)\.txt", first)
    assert first.startswith("--constraint") and match, first
    return match.group(1), match.group(2)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def one_shot_services(services: dict[str, dict[str, Any]]) -> set[str]:
    """Services others wait on to *finish* (init jobs): no healthcheck expected."""
    return {
        name
        for service in services.values()
        for name, dep in (service.get("depends_on") or {}).items()
        if isinstance(dep, dict) and dep.get("condition") == "service_completed_successfully"
    }


def test_compose_file_matches_the_compose_specification() -> None:
    result = validate(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_an_invalid_file(tmp_path: Path) -> None:
    """The validator is really applied: a misspelt key fails it."""
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(COMPOSE_FILE.read_text().replace("\nservices:", "\nservicez:"))
    assert validate(broken).returncode != 0


def test_airflow_image_equals_the_pinned_airflow_and_mwaa_python(services) -> None:
    version = airflow_version_from_lock()
    constraint_version, python = constraint_pin()
    assert version == constraint_version
    expected = f"apache/airflow:{version}-python{python}"
    airflow_images = {
        name: s["image"] for name, s in services.items() if "apache/airflow" in s.get("image", "")
    }
    assert set(airflow_images) == AIRFLOW_COMPONENTS | {"airflow-init"}
    assert set(airflow_images.values()) == {expected}


def test_mwaa_layout_components_are_present(services) -> None:
    commands = {
        name: " ".join(s["command"]) if isinstance(s.get("command"), list) else s.get("command")
        for name, s in services.items()
    }
    for component in AIRFLOW_COMPONENTS:
        assert commands[component].split()[0] == component, commands[component]
    assert services["postgres"]["image"].startswith("postgres:")
    conn = environment(services["scheduler"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert conn.startswith("postgresql+psycopg2://") and "@postgres:5432/" in conn
    assert environment(services["scheduler"])["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_project_folders_are_mounted(services) -> None:
    for name in AIRFLOW_COMPONENTS:
        mounts = {v.split(":")[0]: v.split(":")[1] for v in services[name]["volumes"]}
        assert mounts.get("./dags") == "/opt/airflow/dags", name
        assert mounts.get("./plugins") == "/opt/airflow/plugins", name
        assert mounts.get("./glue_scripts") == "/opt/airflow/glue_scripts", name
        env = environment(services[name])
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags"
        assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/airflow/plugins"


def test_long_running_services_have_healthchecks(services) -> None:
    one_shots = one_shot_services(services)
    assert one_shots == {"airflow-init", "aws-init"}
    for name, service in services.items():
        if name in one_shots:
            assert service.get("restart") == "no", name
            continue
        test = (service.get("healthcheck") or {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits on {dep}'s health"


def published_ports(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host_ip, spec) for each published port, short or long syntax."""
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append((str(port.get("host_ip", "")), str(port)))
        else:
            # ${VAR:-default} may hold colons: resolve it to a placeholder before splitting.
            parts = INTERPOLATED.sub("VAR", str(port)).split(":")
            ports.append((parts[0] if len(parts) == 3 else "", str(port)))
    return ports


def test_every_published_port_binds_loopback_only(services) -> None:
    published = {name: published_ports(s) for name, s in services.items() if s.get("ports")}
    assert published, "the UI must be published"
    for name, ports in published.items():
        for host_ip, spec in ports:
            assert host_ip == "127.0.0.1", f"{name} publishes {spec} beyond loopback"


def test_endpoint_stays_on_loopback_and_is_shared_by_namespace(services) -> None:
    endpoint = services[ENDPOINT_SERVICE]
    command = endpoint.get("command") or []
    assert "--host" not in command, "the endpoint must keep its loopback-only default"
    dockerfile = (REPO_ROOT / endpoint["build"]["dockerfile"]).read_text()
    assert "--host" not in dockerfile
    sharing = {n for n, s in services.items() if s.get("network_mode") == "service:aws-endpoint"}
    assert sharing == AIRFLOW_COMPONENTS | {"airflow-init", "aws-init"}
    for name in sharing:
        # Compose cannot publish ports from a container in another's namespace.
        assert not services[name].get("ports"), name
    # No connection with a key in the file: the endpoint makes its key up when it starts.
    for name, service in services.items():
        assert "AIRFLOW_CONN_AWS_DEFAULT" not in environment(service), name


def test_no_literal_secrets(services) -> None:
    for name, service in services.items():
        for key, value in environment(service).items():
            if not SECRET_NAME.search(key) or key.endswith("_CMD"):
                continue
            if key == "AIRFLOW__SECRETS__BACKEND":
                assert value == SECRETS_BACKEND, value
                continue
            if key == "AIRFLOW__SECRETS__BACKEND_KWARGS":
                assert json.loads(value) == {"connections_file_path": CONNECTIONS_FILE}, value
                continue
            if key in ("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",):
                assert value.startswith("/opt/airflow/secrets/"), value
                continue
            # A secret-named value must come from the environment, with at most a default
            # that says it is for development only.
            found = INTERPOLATED.findall(value)
            assert INTERPOLATED.search(value), f"{name}: {key} is a literal value"
            for default in found:
                assert default in ("", ":-") or "dev-only" in default, f"{name}: {key}={value}"
        for key, value in environment(service).items():
            if key.endswith("_CMD"):
                assert value.startswith("cat /opt/airflow/secrets/"), f"{name}: {key}"


def test_airflow_components_share_generated_secrets(services) -> None:
    """JWTs signed by the API server must validate in every component: one secret source."""
    for name in AIRFLOW_COMPONENTS | {"airflow-init"}:
        env = environment(services[name])
        assert env["AIRFLOW__API_AUTH__JWT_SECRET_CMD"] == "cat /opt/airflow/secrets/jwt_secret"
        assert "airflow-secrets:/opt/airflow/secrets" in services[name]["volumes"]
    init_script = (REPO_ROOT / "docker" / "airflow-init.sh").read_text()
    for secret in ("jwt_secret", "api_secret_key", "fernet_key", "passwords.json"):
        assert f"new_secret {secret} " in init_script


def test_the_stacks_config_is_a_metastore_variable_no_environment_shadows(services) -> None:
    for name in AIRFLOW_COMPONENTS | {"airflow-init"}:
        assert "AIRFLOW_VAR_SALES_ETL_CONFIG" not in environment(services[name]), name
    variable = environment(services["airflow-init"])["SALES_ETL_CONFIG"]
    assert json.loads(variable) == LOCAL_CONFIG_VARIABLE
    assert load_config(variable).bucket == LOCAL_CONFIG_VARIABLE["bucket"]
    init_script = (REPO_ROOT / "docker" / "airflow-init.sh").read_text()
    assert (
        "airflow variables get sales_etl_config >/dev/null 2>&1 ||\n"
        '    as_airflow airflow variables set sales_etl_config "$SALES_ETL_CONFIG"'
    ) in init_script


def test_airflow_signs_with_the_key_the_endpoint_wrote(services, tmp_path: Path) -> None:
    """The endpoint's state file reaches aws-init and airflow-init; airflow-init turns it into
    the aws_default connection every component reads (its script is run here, and the result
    read with Airflow's own backend)."""
    volume = "endpoint-state"
    assert f"{volume}:/tmp/endpoint" in services[ENDPOINT_SERVICE]["volumes"]
    assert f"{volume}:/tmp/endpoint" in services["aws-init"]["volumes"]
    assert services["aws-init"]["command"][-2:] == ["--endpoint-file", ENDPOINT_STATE_FILE]
    assert f"{volume}:/opt/endpoint:ro" in services["airflow-init"]["volumes"]
    assert (
        "./docker/endpoint_connection.py:/opt/endpoint_connection.py:ro"
        in (services["airflow-init"]["volumes"])
    )
    init_script = (REPO_ROOT / "docker" / "airflow-init.sh").read_text()
    script_call = "python3 /opt/endpoint_connection.py /opt/endpoint/endpoint.json"
    assert f'{script_call} "$secrets/connections.json"' in init_script
    dockerfile = (REPO_ROOT / services[ENDPOINT_SERVICE]["build"]["dockerfile"]).read_text()
    assert f"rm -f {ENDPOINT_STATE_FILE} && exec python -m local.endpoint" in dockerfile

    state_file, connections = tmp_path / "endpoint.json", tmp_path / "connections.json"
    endpoint = EndpointClients("http://127.0.0.1:4599", "the-endpoint-key")
    write_endpoint_file(state_file, endpoint, pid=1, port=4599)
    script = REPO_ROOT / "docker" / "endpoint_connection.py"
    done = subprocess.run(
        [sys.executable, str(script), str(state_file), str(connections)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(connections.stat().st_mode) == 0o600

    from airflow.secrets.local_filesystem import LocalFilesystemBackend

    conn = LocalFilesystemBackend(connections_file_path=str(connections)).get_connection(
        "aws_default"
    )
    assert (conn.conn_type, conn.login, conn.password) == (
        "aws",
        DEVELOPER_ACCESS_KEY,
        "the-endpoint-key",
    )
    assert conn.extra_dejson == {"region_name": REGION, "endpoint_url": endpoint.url}
