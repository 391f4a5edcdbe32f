"""Glue crawlers that really crawl (patches moto's ``FakeCrawler`` and ``GlueResponse``).

Stock moto 5.2.5 never crawls, keeps a crawl RUNNING until someone calls ``ListCrawls``
(so the provider's ``crawler_ready`` waiter hangs), reports ``LastCrawl.Status`` with crawl
states (``COMPLETED``) instead of crawler ones (``SUCCEEDED``), and lacks ``UpdateCrawler``
and ``GetCrawlerMetrics``. Patched here:

- ``FakeCrawler.start_crawler``: CrawlerRunningException while a crawl runs or stops, else a
  ``LocalCrawl`` whose worker thread lists the S3 targets, infers tables and writes the catalog.
  The crawler state goes RUNNING (listing, schema inference) -> STOPPING (catalog writes) ->
  READY, with LastCrawl ``SUCCEEDED``/``FAILED``/``CANCELLED`` and ``ErrorMessage``.
- ``FakeCrawler.stop_crawler``: cancels the crawl between tables.
- ``FakeCrawler.as_dict``: ``LastCrawl`` is the last *finished* crawl in crawler terms, plus
  ``CrawlElapsedTime`` while running.
- ``GlueResponse.update_crawler`` / ``get_crawler_metrics``: the missing actions
  (``GlueCrawlerOperator`` updates an existing crawler; ``wait_for_crawler_completion`` reads
  the metrics).
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.glue.exceptions import CrawlerNotRunningException, CrawlerRunningException
from moto.glue.models import FakeCrawl, FakeCrawler
from moto.glue.responses import GlueResponse

from local.aws_local import GLUE_ROLE_ACCESS_KEY
from local.endpoint import state as endpoint_state
from local.endpoint.glue_crawlers.catalog import CatalogChanges, RecordCatalogCall, apply_to_catalog
from local.endpoint.glue_crawlers.layout import (
    TableLayout,
    dedupe_names,
    plan_tables,
    table_level,
)
from local.endpoint.glue_crawlers.table_schema import infer_table
from local.endpoint.http import iam_arns
from local.endpoint.logs.log_streams import LogStreamWriter
from local.endpoint.patching import Patcher
from local.endpoint.s3.mirror import parse_s3_uri
from local.endpoint.state import EndpointState

CRAWLER_LOG_GROUP = "/aws-glue/crawlers"
_LAST_CRAWL_STATUS = {"COMPLETED": "SUCCEEDED", "FAILED": "FAILED", "STOPPED": "CANCELLED"}
_UPDATABLE = {
    "Role": "role",
    "DatabaseName": "database_name",
    "Description": "description",
    "Targets": "targets",
    "Schedule": "schedule",
    "Classifiers": "classifiers",
    "TablePrefix": "table_prefix",
    "SchemaChangePolicy": "schema_change_policy",
    "RecrawlPolicy": "recrawl_policy",
    "LineageConfiguration": "lineage_configuration",
    "Configuration": "configuration",
    "CrawlerSecurityConfiguration": "crawler_security_configuration",
}


class CrawlCancelled(Exception):
    pass


class LocalCrawl(FakeCrawl):
    """One crawl; its state is set by the crawl thread, never by moto's state manager."""

    def __init__(self, crawler_name: str) -> None:
        super().__init__(crawler_name)
        self._state = "RUNNING"
        self.started_monotonic = time.monotonic()
        self.duration_seconds: float | None = None
        self.error_message: str | None = None
        self.changes = CatalogChanges()
        self.cancel = threading.Event()

    @property  # type: ignore[override]
    def status(self) -> str:
        return self._state

    @status.setter
    def status(self, value: str) -> None:
        self._state = value

    def advance(self) -> None:
        """moto advances crawls on ListCrawls; here only the crawl thread moves the state."""

    def finish(self, state: str, error: str | None = None) -> None:
        self.duration_seconds = time.monotonic() - self.started_monotonic
        self.error_message = error
        self.end_time = utcnow()
        self._state = state

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        if self.error_message:
            data["ErrorMessage"] = self.error_message
        if self.duration_seconds is not None:
            data["Summary"] = (
                f'{{"TABLE":{{"ADD":{{"Count":{len(self.changes.tables_created)}}},'
                f'"UPDATE":{{"Count":{len(self.changes.tables_updated)}}},'
                f'"DELETE":{{"Count":{len(self.changes.tables_deleted)}}}}},'
                f'"PARTITION":{{"ADD":{{"Count":{self.changes.partitions_added}}}}}}}'
            )
        return data


def _finished_crawls(crawler: FakeCrawler) -> list[LocalCrawl]:
    return [
        c for c in crawler.crawls if isinstance(c, LocalCrawl) and c.duration_seconds is not None
    ]


def _start_crawler(self: FakeCrawler) -> None:
    state = endpoint_state.current()
    with _crawler_lock(self):
        if self.crawls and self.crawls[-1].status in ("RUNNING", "STOPPING"):
            raise CrawlerRunningException(f"Crawler with name {self.name} has already started")
        crawl = LocalCrawl(self.name)
        self.crawls.append(crawl)
    state.start_worker(lambda: _crawl(state, self, crawl), name=f"glue-crawl-{self.name}")


def _stop_crawler(self: FakeCrawler) -> None:
    crawl = self.crawls[-1] if self.crawls else None
    if crawl is None or crawl.status != "RUNNING":
        raise CrawlerNotRunningException(f"Crawler with name {self.name} isn't running")
    if isinstance(crawl, LocalCrawl):
        crawl.cancel.set()
    crawl.status = "STOPPING"


_original_as_dict = FakeCrawler.as_dict


def _crawler_as_dict(self: FakeCrawler) -> dict[str, Any]:
    data = _original_as_dict(self)
    data.pop("LastCrawl", None)
    finished = _finished_crawls(self)
    if finished:
        last = finished[-1]
        data["LastCrawl"] = {
            "Status": _LAST_CRAWL_STATUS.get(last.status, "FAILED"),
            "LogGroup": last.log_group,
            "LogStream": last.log_stream,
            "MessagePrefix": last.message_prefix,
            "StartTime": last.start_time,
        }
        if last.error_message:
            data["LastCrawl"]["ErrorMessage"] = last.error_message
    current = self.crawls[-1] if self.crawls else None
    if isinstance(current, LocalCrawl) and current.duration_seconds is None:
        data["CrawlElapsedTime"] = int((time.monotonic() - current.started_monotonic) * 1000)
    else:
        data["CrawlElapsedTime"] = 0
    return data


def _update_crawler(self: GlueResponse) -> ActionResult:
    name = self.parameters.get("Name")
    crawler = self.glue_backend.get_crawler(name)  # type: ignore[arg-type]
    with _crawler_lock(crawler):
        if crawler.status != "READY":
            raise CrawlerRunningException(f"Crawler with name {name} is running; cannot update")
        for field, attribute in _UPDATABLE.items():
            if field in self.parameters:
                setattr(crawler, attribute, self.parameters[field])
        crawler.version += 1
        crawler.last_updated = utcnow()
    return ActionResult({})


def _get_crawler_metrics(self: GlueResponse) -> ActionResult:
    names = self.parameters.get("CrawlerNameList") or [
        c.name for c in self.glue_backend.crawlers.values()
    ]
    metrics = []
    for name in names:
        crawler = self.glue_backend.get_crawler(name)
        finished = _finished_crawls(crawler)
        durations = [c.duration_seconds or 0.0 for c in finished]
        last = finished[-1] if finished else None
        running = crawler.status != "READY"
        metrics.append(
            {
                "CrawlerName": name,
                "TimeLeftSeconds": 0.0,
                "StillEstimating": running,
                "LastRuntimeSeconds": round(durations[-1], 3) if durations else 0.0,
                "MedianRuntimeSeconds": round(statistics.median(durations), 3)
                if durations
                else 0.0,
                "TablesCreated": len(last.changes.tables_created) if last else 0,
                "TablesUpdated": len(last.changes.tables_updated) if last else 0,
                "TablesDeleted": len(last.changes.tables_deleted) if last else 0,
            }
        )
    return ActionResult({"CrawlerMetricsList": metrics})


# -- the crawl -----------------------------------------------------------------------------

_locks_guard = threading.Lock()
_crawler_locks: dict[int, threading.Lock] = {}


def _crawler_lock(crawler: FakeCrawler) -> threading.Lock:
    with _locks_guard:
        return _crawler_locks.setdefault(id(crawler), threading.Lock())


def _crawl(state: EndpointState, crawler: FakeCrawler, crawl: LocalCrawl) -> None:
    backend = crawler.backend
    log_writer = LogStreamWriter(
        backend.account_id,
        backend.region_name,
        CRAWLER_LOG_GROUP,
        crawler.name,
        state.call_log,
        GLUE_ROLE_ACCESS_KEY,
    )

    def log(message: str) -> None:
        log_writer.write([f"[{crawl.crawl_id}] {message}"])

    log("BENCHMARK : Running Start Crawl for Crawler " + crawler.name)
    try:
        s3 = state.client("s3", backend.region_name, access_key=GLUE_ROLE_ACCESS_KEY)
        tables, locations = _discover(s3, crawler, log)
        inferred = []
        for layout in tables:
            if crawl.cancel.is_set():
                raise CrawlCancelled
            table = infer_table(s3, layout, crawler.name, log)
            if table is not None:
                inferred.append(table)
        if crawl.cancel.is_set():
            raise CrawlCancelled
        crawl.status = "STOPPING"  # AWS finishes a crawl in STOPPING while it writes the catalog
        with _crawler_lock(crawler):
            crawl.changes = apply_to_catalog(
                backend, crawler, inferred, locations, log, _catalog_recorder(state, crawler)
            )
    except CrawlCancelled:
        log("crawl cancelled by StopCrawler")
        crawl.finish("STOPPED")
        return
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        log(f"ERROR : {message}")
        crawl.finish("FAILED", message)
        return
    changes = crawl.changes
    log(
        f"BENCHMARK : Crawler has finished running: {len(changes.tables_created)} table(s) "
        f"created, {len(changes.tables_updated)} updated, {len(changes.tables_deleted)} deleted, "
        f"{changes.partitions_added} partition(s) added"
    )
    crawl.finish("COMPLETED")


def _catalog_recorder(state: EndpointState, crawler: FakeCrawler) -> RecordCatalogCall:
    """Records a catalog call as the Glue role makes it: on the catalog, the database and
    the table, each of which the call is authorized against (AWS Glue Developer Guide,
    "Specifying AWS Glue resource ARNs")."""
    region, account = crawler.backend.region_name, crawler.backend.account_id
    database = crawler.database_name

    def record(action: str, table: str | None) -> None:
        resources = ["catalog", f"database/{database}"]
        if table is not None:
            resources.append(f"table/{database}/{table}")
        for resource in resources:
            arn = iam_arns.glue(region, account, resource)
            state.call_log.record(GLUE_ROLE_ACCESS_KEY, action, arn)

    return record


def _discover(s3: Any, crawler: FakeCrawler, log: Any) -> tuple[list[TableLayout], list[str]]:
    targets = crawler.targets or {}
    unsupported = [kind for kind, items in targets.items() if items and kind != "S3Targets"]
    if unsupported:
        raise ValueError(f"only S3Targets are supported locally, not {', '.join(unsupported)}")
    s3_targets = targets.get("S3Targets") or []
    if not s3_targets:
        raise ValueError(f"crawler {crawler.name} has no S3Targets")
    tables: list[TableLayout] = []
    locations = []
    level = table_level(crawler.configuration)
    for target in s3_targets:
        parsed = parse_s3_uri(target.get("Path", ""))
        if parsed is None:
            raise ValueError(f"S3 target path {target.get('Path')!r} is not an s3:// URI")
        bucket, prefix = parsed
        objects = []
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            objects += [(o["Key"], o["Size"]) for o in page.get("Contents", [])]
        found, warnings = plan_tables(bucket, prefix, objects, target.get("Exclusions"), level)
        for warning in warnings:
            log(f"WARN : {warning}")
        log(f"s3://{bucket}/{prefix}: {len(objects)} object(s), {len(found)} table(s)")
        tables += found
        locations.append(f"s3://{bucket}/{prefix}")
    dedupe_names(tables)
    return tables, locations


def install(patcher: Patcher) -> None:
    patcher.setattr(FakeCrawler, "start_crawler", _start_crawler)
    patcher.setattr(FakeCrawler, "stop_crawler", _stop_crawler)
    patcher.setattr(FakeCrawler, "as_dict", _crawler_as_dict)
    patcher.setattr(GlueResponse, "update_crawler", _update_crawler)
    patcher.setattr(GlueResponse, "get_crawler_metrics", _get_crawler_metrics)
