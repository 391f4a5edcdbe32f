"""Start and stop the local AWS endpoint: moto's threaded server plus the in-process patches."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from local.aws_local import ACCESS_KEYS, REGION, EndpointClients
from local.endpoint import state as endpoint_state
from local.endpoint.athena import api as athena_api
from local.endpoint.awslambda import invoke
from local.endpoint.glue_crawlers import crawler
from local.endpoint.glue_jobs import job_runs
from local.endpoint.glue_jobs.launch import job_environment
from local.endpoint.http.browser_guard import BrowserGuard
from local.endpoint.http.call_log import CallLog
from local.endpoint.http.call_recorder import CallRecorder
from local.endpoint.http.signature import SignatureCheck
from local.endpoint.patching import Patcher
from local.endpoint.s3 import object_keys
from local.endpoint.spark.warm_spark import WarmSparkPool
from local.endpoint.state import EndpointState
from local.endpoint_file import STATE_FILE, write_endpoint_file
from local.process_group import StopsOnExit

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 4599
WORKER_JOIN_SECONDS = 15.0


class EndpointError(RuntimeError):
    """The endpoint cannot start (bad host, port in use, ...)."""


class _LoopbackMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer behind a ``BrowserGuard``, the signature check and the call log's
    recorder, that reports a failed bind instead of waiting for it forever."""

    def __init__(self, port: int, call_log: CallLog, secret_key: str) -> None:
        super().__init__(ip_address=LOOPBACK, port=port, verbose=False)
        self.bind_error: BaseException | None = None
        self._call_log = call_log
        self._secret_key = secret_key

    def _server_entry(self) -> None:
        # moto's own entry, with the guard (refusing browsers first), the signature check
        # (refusing anyone without the key) and the recorder in front.
        try:
            recorder = CallRecorder(DomainDispatcherApplication(create_backend_app), self._call_log)
            signed = SignatureCheck(recorder, self._secret_key, ACCESS_KEYS)
            guard = BrowserGuard(signed)
            self._server = make_server(
                self._ip_address, self._port, guard, True, request_handler=MotoRequestHandler
            )
            guard.port = self._server.server_address[1]
            self._server_ready_event.set()
            self._server.serve_forever()
        except BaseException as exc:
            if self._server_ready_event.is_set():
                raise
            self.bind_error = exc
            self._server_ready_event.set()


class RunningEndpoint(StopsOnExit):
    """A started endpoint; use as a context manager or call ``stop()``."""

    def __init__(
        self,
        server: _LoopbackMotoServer,
        state: EndpointState,
        patcher: Patcher,
        owns_work_dir: bool,
    ) -> None:
        self._server = server
        self._state = state
        self._patcher = patcher
        self._owns_work_dir = owns_work_dir
        self._stopped = False
        self.host, self.port = server.get_host_and_port()
        self.url = state.url
        self.work_dir = state.work_dir
        # The URL and the secret key every request must be signed with; also in state_file.
        self.clients: EndpointClients = state.clients
        self.state_file = state.work_dir / STATE_FILE
        self.call_log = state.call_log  # off until a ``recording()`` block opens

    def wait_for_warm_spark(self) -> bool:
        """Wait until the warm Spark driver can take a Glue run, as a first run would.

        False if there is none (``warm_spark`` off) or it failed to start; a run then gets a
        fresh process, as it would anyway.
        """
        pool = self._state.warm_spark
        worker = pool.acquire() if pool else None
        if pool and worker:
            pool.release(worker)
        return worker is not None

    def child_pids(self) -> list[int]:
        """PIDs of the Glue job and Lambda processes running right now."""
        return self._state.processes.pids()

    def stop(self) -> None:
        """Stop running job/Lambda processes (by their PIDs), then the server."""
        if self._stopped:
            return
        self._stopped = True
        self._state.stopping.set()
        try:
            self._state.processes.stop_all()
            if self._state.warm_spark:
                self._state.warm_spark.close()
            self._state.join_workers(WORKER_JOIN_SECONDS)
        finally:
            self.state_file.unlink(missing_ok=True)
            self._server.stop()
            self._patcher.undo()
            endpoint_state.deactivate(self._state)  # running_endpoint() is None from here
            if self._owns_work_dir:
                shutil.rmtree(self.work_dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"RunningEndpoint(url={self.url!r}, work_dir={str(self.work_dir)!r})"


def check_host(host: str) -> None:
    if host != LOOPBACK:
        raise EndpointError(
            f"refusing to bind {host!r}: the local AWS endpoint runs what it is sent as you, "
            f"so it only listens on {LOOPBACK}"
        )


def start_endpoint(
    port: int = 0,
    work_dir: Path | None = None,
    *,
    host: str = LOOPBACK,
    warm_spark: bool = True,
    prewarm_spark: bool = False,
) -> RunningEndpoint:
    """Start the endpoint on ``127.0.0.1:port`` (0 = any free port).

    ``work_dir`` holds the S3 mirrors, job run folders and unpacked Lambda packages; without
    one a temporary folder is used and removed on ``stop()``. With ``warm_spark`` Glue runs
    reuse one warm Spark driver (``spark/warm_spark.py``) instead of each starting Python and a JVM;
    ``prewarm_spark`` starts that driver now rather than at the first run.

    Every request must be signed with a secret key made up here (``RunningEndpoint.clients``);
    ``<work_dir>/endpoint.json`` (0600) holds it with the URL while the endpoint runs.
    """
    check_host(host)
    if not 0 <= port <= 65535:
        raise EndpointError(f"port must be between 0 and 65535, got {port}")
    owns_work_dir = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="local-aws-endpoint-")) if work_dir is None else work_dir
    work = work.resolve()
    # Its files are the developer's: S3 mirrors, job logs, Lambda code and the state file.
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret_key = secrets.token_urlsafe(30)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per request
    # moto keeps its state per process: an endpoint started after another one stopped (the
    # next test suite) must not find that one's buckets, catalog and job runs.
    moto_api_backend.reset()
    call_log = CallLog()
    server = _LoopbackMotoServer(port, call_log, secret_key)
    server.start()
    if server.bind_error is not None:
        if owns_work_dir:
            shutil.rmtree(work, ignore_errors=True)
        raise EndpointError(
            f"cannot listen on {LOOPBACK}:{port}: {server.bind_error}"
        ) from server.bind_error
    actual_host, actual_port = server.get_host_and_port()
    state = EndpointState(
        url=f"http://{actual_host}:{actual_port}",
        work_dir=work,
        secret_key=secret_key,
        call_log=call_log,
    )
    if warm_spark:
        state.warm_spark = WarmSparkPool(
            state.processes,
            lambda: job_environment(state, REGION, work / "glue" / "spark-tmp"),
            work,
        )
    patcher = Patcher()
    try:
        endpoint_state.activate(state)
        job_runs.install(patcher)
        crawler.install(patcher)
        invoke.install(patcher)
        object_keys.install(patcher)
        athena_api.install(patcher)
    except BaseException:
        patcher.undo()
        server.stop()
        endpoint_state.deactivate(state)
        if owns_work_dir:
            shutil.rmtree(work, ignore_errors=True)
        raise
    if state.warm_spark and prewarm_spark:
        state.warm_spark.prewarm()
    endpoint = RunningEndpoint(server, state, patcher, owns_work_dir)
    state.endpoint = endpoint
    try:
        write_endpoint_file(
            endpoint.state_file,
            endpoint.clients,
            pid=os.getpid(),
            port=actual_port,
            host=actual_host,
            work_dir=str(work),
        )
    except BaseException:
        endpoint.stop()
        raise
    return endpoint
