"""Group the objects under a crawler's S3 target into tables and partitions.

The rules follow what Glue does for Hive-style layouts:

- A table's root is the folder just above its first ``key=value`` folder (or the folder that
  holds its files). ``key=value`` folders below the root are partitions, in path order.
- Files directly in the target or in its ``key=value`` folders form ONE table named after
  the target folder: ``s3://b/raw-data/sales/`` -> ``sales`` partitioned by ``order_date``.
- Files in named subfolders form a table per subfolder: ``s3://b/processed-data/`` ->
  ``daily_sales``, ``customer_daily``, ... each with its own partition keys.
- Ignored: hidden and Hadoop-private paths (any segment starting with ``.`` or ``_``, e.g.
  ``_SUCCESS``, ``_temporary``), ``*.crc``, ``$folder$`` and zero-byte objects (folder
  markers), and keys matching the target's ``Exclusions`` (Glue globs: ``*`` stays within
  one folder, ``**`` crosses folders, ``{a,b}`` alternatives).

- With the crawler Configuration's ``Grouping.TableLevelConfiguration`` = N, each table's
  root is the folder at absolute level N of the key (the bucket's top folder is level 1): the
  folders below it must be ``key=value`` partitions, files above it are skipped (warned).

Not modelled: Glue's schema-similarity grouping of *unnamed* folders into ``partition_0``
columns (``logs/2024/01/...``); each such folder becomes its own table here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

_PARTITION = re.compile(r"^([^=/]+)=(.*)$")


@dataclass
class DataFile:
    key: str
    size: int
    partition_values: tuple[str, ...]


@dataclass
class TableLayout:
    name: str
    bucket: str
    root: str  # key prefix of the table folder, ending with "/" (or "" for a bucket root)
    partition_keys: list[str]
    files: list[DataFile] = field(default_factory=list)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.root}"

    def partitions(self) -> dict[tuple[str, ...], str]:
        """Partition values -> folder URI, for every partition that holds data files."""
        result: dict[tuple[str, ...], str] = {}
        for data_file in self.files:
            if data_file.partition_values:
                folder = data_file.key.rsplit("/", 1)[0] + "/"
                depth = len(self.partition_keys)
                parts = folder[len(self.root) :].strip("/").split("/")[:depth]
                result[data_file.partition_values] = self.location + "/".join(parts) + "/"
        return result


def table_name(raw: str) -> str:
    """Catalog-safe table name: lower case, anything but ``[a-z0-9_]`` becomes ``_``."""
    return re.sub(r"[^a-z0-9_]", "_", raw.lower()) or "table"


def is_ignored(relative_key: str, size: int) -> bool:
    if size == 0 or relative_key.endswith("/") or relative_key.endswith("$folder$"):
        return True
    parts = relative_key.split("/")
    return parts[-1].endswith(".crc") or any(p.startswith((".", "_")) for p in parts)


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "{":
            end = pattern.find("}", i)
            if end > i:
                alternatives = pattern[i + 1 : end].split(",")
                out.append("(?:" + "|".join(re.escape(a) for a in alternatives) + ")")
                i = end + 1
                continue
            out.append(re.escape(ch))
        elif ch == "[":
            end = pattern.find("]", i)
            if end > i:
                out.append(pattern[i : end + 1].replace("[!", "[^"))
                i = end + 1
                continue
            out.append(re.escape(ch))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def table_level(configuration: str | None) -> int | None:
    """``Grouping.TableLevelConfiguration`` of a crawler's Configuration JSON, if set."""
    if not configuration:
        return None
    level = json.loads(configuration).get("Grouping", {}).get("TableLevelConfiguration")
    if level is not None and (not isinstance(level, int) or level < 1):
        raise ValueError(f"TableLevelConfiguration must be a positive integer, got {level!r}")
    return level


def plan_tables(
    bucket: str,
    prefix: str,
    objects: list[tuple[str, int]],
    exclusions: list[str] | None = None,
    level: int | None = None,
) -> tuple[list[TableLayout], list[str]]:
    """Tables found under ``s3://bucket/prefix`` and warnings about skipped objects; ``level``
    pins each table's root at that absolute folder level."""
    warnings: list[str] = []
    if prefix and not prefix.endswith("/"):
        if any(key == prefix for key, _ in objects):  # the target names a single file
            prefix = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
        else:
            prefix += "/"
    excluded = [glob_to_regex(p) for p in exclusions or []]
    groups: dict[tuple[str, ...], list[tuple[str, int, list[tuple[str, str]]]]] = {}
    for key, size in sorted(objects):
        if not key.startswith(prefix):
            continue
        relative = key[len(prefix) :]
        if is_ignored(relative, size) or any(rx.match(relative) for rx in excluded):
            continue
        dirs = relative.split("/")[:-1]
        first = next((i for i, d in enumerate(dirs) if _PARTITION.match(d)), len(dirs))
        if level is not None:
            first = level - prefix.count("/")
            if first < 0 or len(dirs) < first:
                warnings.append(f"skipped s3://{bucket}/{key}: above table level {level}")
                continue
        pairs = [_PARTITION.match(d) for d in dirs[first:]]
        if not all(pairs):
            warnings.append(f"skipped s3://{bucket}/{key}: folders below a partition")
            continue
        parts = [(m[1].lower(), unquote(m[2])) for m in pairs if m]
        groups.setdefault(tuple(dirs[:first]), []).append((key, size, parts))

    target_name = prefix.rstrip("/").rsplit("/", 1)[-1] if prefix else bucket
    tables = []
    for root_dirs, files in groups.items():
        root = prefix + "".join(f"{d}/" for d in root_dirs)
        keys = [k for k, _ in files[0][2]]
        layout = TableLayout(
            name=table_name(root_dirs[-1] if root_dirs else target_name),
            bucket=bucket,
            root=root,
            partition_keys=keys,
        )
        for key, size, parts in files:
            if [k for k, _ in parts] != keys:
                warnings.append(
                    f"skipped s3://{bucket}/{key}: partition keys {[k for k, _ in parts]} "
                    f"differ from the table's {keys}"
                )
                continue
            layout.files.append(DataFile(key, size, tuple(v for _, v in parts)))
        tables.append(layout)
    return tables, warnings


def dedupe_names(tables: list[TableLayout]) -> None:
    """Give colliding table names a hash suffix, as Glue does."""
    seen: set[str] = set()
    for table in tables:
        if table.name in seen:
            digest = hashlib.md5(table.location.encode(), usedforsecurity=False).hexdigest()
            table.name = f"{table.name}_{digest[:8]}"
        seen.add(table.name)
