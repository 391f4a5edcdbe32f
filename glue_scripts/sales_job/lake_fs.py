"""File operations that are not Spark reads or writes, through Hadoop's FileSystem API.

Going through the SparkSession's JVM means one code path for s3:// on Glue (EMRFS) and
file:// locally, with the credentials Spark already has: no boto3, no second client.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from pyspark.sql import SparkSession

LINE_READER_BUFFER = 4096  # bytes
# Hadoop reads a path given to Spark as a glob: these characters would match other files
# (`sales[1].csv` reads `sales1.csv`), so a listed file's path is escaped before it is read.
GLOB_CHARACTERS = frozenset("\\[]{}*?")
# Hadoop names a file's checksum `.<name>.crc` and parses that as a path: with a ':' it is a
# URI scheme and the read fails. Such a name cannot be read reliably: the run refuses it.
UNREADABLE_NAME_CHARACTERS = frozenset(":")


@dataclass(frozen=True)
class Entry:
    name: str
    uri: str
    is_dir: bool
    size: int

    @property
    def hidden(self) -> bool:
        return is_hidden(self.name)


def normalize_base_uri(data_uri: str) -> str:
    """`s3://bucket/` stays a URI; a plain local path becomes an absolute file:// URI."""
    text = data_uri.strip()
    if not text:
        raise ValueError("empty URI")
    if urlparse(text).scheme and not os.path.isabs(text):
        return text.rstrip("/")
    return "file://" + os.path.abspath(os.path.expanduser(text)).rstrip("/")


def is_hidden(name: str) -> bool:
    # Same rule as Spark's file listing, plus the S3 console's "folder" marker objects.
    return name.startswith(("_", ".")) or name.endswith("$folder$")


def literal_path(uri: str) -> str:
    """`uri` as a path Hadoop's glob expansion reads as exactly that file (a backslash
    escapes the next character in a Hadoop glob)."""
    return "".join(f"\\{c}" if c in GLOB_CHARACTERS else c for c in uri)


class LakeFs:
    def __init__(self, spark: SparkSession) -> None:
        self._jvm: Any = spark._jvm  # type: ignore[attr-defined]
        self._conf: Any = spark._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
        # Looked up once: each package of the dotted name is a Py4J round trip.
        self._path_class: Any = self._jvm.org.apache.hadoop.fs.Path

    def _resolve(self, uri: str) -> tuple[Any, Any]:
        path = self._path_class(uri)
        return path.getFileSystem(self._conf), path

    def name(self, uri: str) -> str:
        """The file's name as Hadoop (and Spark's file listing) decodes it."""
        return str(self._resolve(uri)[1].getName())

    def exists(self, uri: str) -> bool:
        fs, path = self._resolve(uri)
        return bool(fs.exists(path))

    def list(self, uri: str, *, hidden: bool = False) -> list[Entry]:
        """Visible children of a folder (every child with `hidden`), sorted by name; [] when
        the folder does not exist."""
        fs, path = self._resolve(uri)
        if not fs.exists(path):
            return []
        entries = []
        for status in fs.listStatus(path):
            child = status.getPath()
            name = child.getName()
            if is_hidden(name) and not hidden:
                continue
            is_dir = bool(status.isDirectory())
            entries.append(Entry(name, child.toString(), is_dir, 0 if is_dir else status.getLen()))
        return sorted(entries, key=lambda e: e.name)

    def lines(self, uri: str, max_line_bytes: int) -> Iterator[str | None]:
        """The file's lines as Spark's text reader splits them (LF, CRLF or CR; decompressed),
        decoded as UTF-8 (an invalid byte becomes U+FFFD); None for a line longer than
        `max_line_bytes`, which is skipped without being held.

        Lazy: reading the first few lines reads only the first few kilobytes.
        """
        fs, path = self._resolve(uri)
        # Small buffers: Spark sets Hadoop's to 64 KiB, which would read that much of every
        # file for its first line.
        stream = fs.open(path, LINE_READER_BUFFER)
        codec = self._jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(
            self._conf
        ).getCodec(path)
        if codec is not None:
            stream = codec.createInputStream(stream)
        try:
            reader = self._jvm.org.apache.hadoop.util.LineReader(stream, LINE_READER_BUFFER)
            line = self._jvm.org.apache.hadoop.io.Text()
            # Keeps at most one byte over the limit of a line, and consumes the rest of it.
            while reader.readLine(line, max_line_bytes + 1, 2**31 - 1) > 0:
                yield None if line.getLength() > max_line_bytes else line.toString()
        finally:
            stream.close()

    def write_text(self, uri: str, text: str) -> None:
        fs, path = self._resolve(uri)
        if fs.getScheme() == "file":
            # The raw local FS writes no hidden .crc file beside the manifest; changing the
            # cached FileSystem's checksum flag instead would leak into Spark's own writes.
            fs = fs.getRawFileSystem()
        stream = fs.create(path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def delete(self, uri: str) -> bool:
        """Delete a file or folder tree; False when nothing was there."""
        fs, path = self._resolve(uri)
        if not fs.exists(path):
            return False
        return bool(fs.delete(path, True))
