"""Read a Parquet file's schema from its footer, as Hive column types.

A Parquet file ends with ``<FileMetaData><u32 metadata length>PAR1``. The crawler fetches only
that tail (two ranged S3 reads: the last 8 bytes, then the metadata block) and pyarrow parses
the metadata from those bytes alone, so a crawl neither downloads whole files nor starts a JVM.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

MAGIC = b"PAR1"
TAIL_BYTES = 8  # the u32 metadata length, then MAGIC

# Fixed Arrow types and their Hive names. An unsigned integer needs the next wider signed type.
_HIVE_NAMES = {
    pa.bool_(): "boolean",
    pa.int8(): "tinyint",
    pa.int16(): "smallint",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.uint8(): "smallint",
    pa.uint16(): "int",
    pa.uint32(): "bigint",
    pa.uint64(): "bigint",
    pa.float32(): "float",
    pa.float64(): "double",
    pa.string(): "string",
    pa.large_string(): "string",
    pa.string_view(): "string",
    pa.null(): "int",  # an all-null column is stored as INT32
}
# Extension types Hive reads as text; other extensions are typed by their storage.
_TEXT_EXTENSIONS = {"arrow.uuid", "arrow.json"}
_LIST_KINDS = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)


class ParquetError(ValueError):
    """Not a readable Parquet file."""


@dataclass(frozen=True)
class ParquetSchema:
    columns: list[tuple[str, str]]  # (name, Hive type)
    num_rows: int


def footer_length(tail: bytes, name: str) -> int:
    """Length of the metadata block, from the file's last 8 bytes."""
    if len(tail) < TAIL_BYTES or tail[-4:] != MAGIC:
        raise ParquetError(f"{name}: missing PAR1 magic at the end of the file")
    return struct.unpack("<I", tail[-TAIL_BYTES:-4])[0]


def read_schema(footer: bytes, name: str) -> ParquetSchema:
    """Schema from the file's end: the metadata block followed by its length and MAGIC."""
    try:
        # Extension types keep UUID columns apart from plain 16-byte binary ones.
        parquet = pq.ParquetFile(pa.BufferReader(footer), arrow_extensions_enabled=True)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:  # OSError: metadata that is not valid Thrift
        raise ParquetError(f"{name}: unreadable Parquet footer: {exc}") from exc
    columns = [(field.name.lower(), hive_type(field.type)) for field in schema]
    return ParquetSchema(columns=columns, num_rows=parquet.metadata.num_rows)


def hive_type(arrow_type: pa.DataType) -> str:
    """The Hive type a Glue crawler gives a column read back as ``arrow_type``."""
    if isinstance(arrow_type, pa.BaseExtensionType):
        if arrow_type.extension_name in _TEXT_EXTENSIONS:
            return "string"
        return hive_type(arrow_type.storage_type)
    if pa.types.is_dictionary(arrow_type):  # pyarrow's stored schema restores dictionaries
        return hive_type(arrow_type.value_type)
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):  # INT96 included
        return "timestamp"
    # Hive has no time or duration type: the column is its stored integer.
    if pa.types.is_time32(arrow_type):
        return "int"
    if pa.types.is_time64(arrow_type) or pa.types.is_duration(arrow_type):
        return "bigint"
    if any(is_list(arrow_type) for is_list in _LIST_KINDS):
        return f"array<{hive_type(arrow_type.value_type)}>"
    if pa.types.is_map(arrow_type):
        return f"map<{hive_type(arrow_type.key_type)},{hive_type(arrow_type.item_type)}>"
    if pa.types.is_struct(arrow_type):
        fields = ",".join(f"{f.name.lower()}:{hive_type(f.type)}" for f in arrow_type.fields)
        return f"struct<{fields}>"
    return _HIVE_NAMES.get(arrow_type, "binary")
