"""The running endpoint's state: the one process-global the endpoint keeps.

moto's backends are process-global, so the endpoint is too: at most one runs per process.
The patched moto code (every service folder beside this file) looks the active endpoint's
state up here (``current()``) to find its URL (children call back into it), its work folder,
its child-process registry, its call log and its warm Spark driver; ``running_endpoint()``
finds the ``RunningEndpoint`` that owns it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from local.aws_local import DEVELOPER_ACCESS_KEY, REGION, EndpointClients
from local.endpoint.awslambda.environments import EnvironmentPool
from local.endpoint.http.call_log import CallLog
from local.process_group import ProcessRegistry

if TYPE_CHECKING:
    from local.endpoint.server import RunningEndpoint
    from local.endpoint.spark.warm_spark import WarmSparkPool


@dataclass
class EndpointState:
    url: str
    work_dir: Path
    secret_key: str = field(repr=False)  # every request must be signed with it
    processes: ProcessRegistry = field(default_factory=ProcessRegistry)
    stopping: threading.Event = field(default_factory=threading.Event)
    warm_spark: WarmSparkPool | None = None  # None: every Glue run gets a fresh process
    call_log: CallLog = field(default_factory=CallLog)
    # Lambda execution environments kept warm between invocations (awslambda/environments.py).
    lambda_environments: EnvironmentPool = field(default_factory=EnvironmentPool)
    endpoint: RunningEndpoint | None = None  # set once the endpoint has started
    _workers: list[threading.Thread] = field(default_factory=list)
    _clients: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def clients(self) -> EndpointClients:
        return EndpointClients(self.url, self.secret_key)

    def client(
        self, service: str, region: str = REGION, *, access_key: str = DEVELOPER_ACCESS_KEY
    ) -> Any:
        """A boto3 client for this endpoint, as any local caller would build it.

        ``access_key`` names the principal the calls are made for (``local.aws_local``).
        Built once per service, region and key (clients are thread-safe; building one takes
        ~0.15 s, which every crawl and job run would otherwise pay).
        """
        key = (service, region, access_key)
        with self._clients_lock:
            if key not in self._clients:
                config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
                self._clients[key] = self.clients.client(
                    service, region, config, access_key=access_key
                )
            return self._clients[key]

    def child_env(self, region: str, access_key: str) -> dict[str, str]:
        """AWS settings for child processes: this endpoint, its key under the principal's key
        id, no user config. Job scripts and Lambda handlers call back into the endpoint."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            **self.clients.credentials(access_key),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            # Keep a developer's real ~/.aws files out of the children.
            "AWS_CONFIG_FILE": str(self.work_dir / "aws-config-none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.work_dir / "aws-credentials-none"),
        }

    def start_worker(self, target: Any, name: str) -> threading.Thread:
        """Run ``target`` in a background thread that ``join_workers`` waits for."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        with self._lock:
            self._workers = [t for t in self._workers if t.is_alive()]
            self._workers.append(thread)
        thread.start()
        return thread

    def join_workers(self, timeout: float) -> None:
        with self._lock:
            workers = list(self._workers)
        for thread in workers:
            thread.join(timeout)


_active: EndpointState | None = None
_active_lock = threading.Lock()


def activate(state: EndpointState) -> None:
    global _active
    with _active_lock:
        if _active is not None:
            raise RuntimeError(
                f"a local AWS endpoint already runs in this process at {_active.url}; "
                "moto's state is process-global, so stop it before starting another"
            )
        _active = state


def deactivate(state: EndpointState) -> None:
    global _active
    with _active_lock:
        if _active is state:
            _active = None


def current() -> EndpointState:
    state = _active
    if state is None:
        raise RuntimeError("no local AWS endpoint is running in this process")
    return state


def running_endpoint() -> RunningEndpoint | None:
    """The endpoint running in this process, if any (moto allows one per process)."""
    state = _active
    return state.endpoint if state is not None else None
