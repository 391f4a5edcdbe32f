"""Read a Parquet file's schema from its footer, as Hive column types.

A Parquet file ends with ``<FileMetaData, Thrift compact protocol><u32 length>PAR1``. This
module decodes just enough of the compact protocol to read ``FileMetaData.schema`` and
``num_rows``. Why not pyarrow or Spark: pyarrow is not a dependency, and starting a Spark JVM
costs seconds per crawl, while the crawler only needs the footer (a ranged S3 read of a few
KiB) and this reader is a small, well-specified decoder.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

MAGIC = b"PAR1"

# Thrift compact protocol type ids
_BOOL_TRUE, _BOOL_FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY = 1, 2, 3, 4, 5, 6, 7, 8
_LIST, _SET, _MAP, _STRUCT, _UUID = 9, 10, 11, 12, 13

# parquet.thrift enums
_PHYSICAL = {0: "BOOLEAN", 1: "INT32", 2: "INT64", 3: "INT96", 4: "FLOAT", 5: "DOUBLE"}
_PHYSICAL |= {6: "BYTE_ARRAY", 7: "FIXED_LEN_BYTE_ARRAY"}
_CONVERTED = {0: "UTF8", 1: "MAP", 2: "MAP_KEY_VALUE", 3: "LIST", 4: "ENUM", 5: "DECIMAL"}
_CONVERTED |= {6: "DATE", 7: "TIME_MILLIS", 8: "TIME_MICROS", 9: "TIMESTAMP_MILLIS"}
_CONVERTED |= {10: "TIMESTAMP_MICROS", 11: "UINT_8", 12: "UINT_16", 13: "UINT_32"}
_CONVERTED |= {14: "UINT_64", 15: "INT_8", 16: "INT_16", 17: "INT_32", 18: "INT_64"}
_CONVERTED |= {19: "JSON", 20: "BSON", 21: "INTERVAL"}
_LOGICAL = {1: "STRING", 2: "MAP", 3: "LIST", 4: "ENUM", 5: "DECIMAL", 6: "DATE", 7: "TIME"}
_LOGICAL |= {8: "TIMESTAMP", 10: "INTEGER", 11: "UNKNOWN", 12: "JSON", 13: "BSON"}
_LOGICAL |= {14: "UUID", 15: "FLOAT16"}
_REPEATED = 2


class ParquetError(ValueError):
    """Not a readable Parquet file."""


@dataclass(frozen=True)
class ParquetSchema:
    columns: list[tuple[str, str]]  # (name, Hive type)
    num_rows: int


def footer_length(tail: bytes) -> int:
    """Length of the metadata block, from the file's last 8 bytes."""
    if len(tail) < 8 or tail[-4:] != MAGIC:
        raise ParquetError("missing PAR1 magic at the end of the file")
    return struct.unpack("<I", tail[-8:-4])[0]


def read_schema(footer: bytes) -> ParquetSchema:
    """Schema from the footer bytes (the metadata block, optionally followed by the tail)."""
    if footer[-4:] == MAGIC:
        footer = footer[-8 - footer_length(footer) : -8]
    try:
        meta = _CompactReader(footer).read_struct()
    except (IndexError, struct.error) as exc:
        raise ParquetError(f"corrupt Parquet footer: {exc}") from exc
    elements = meta.get(2)
    if not elements:
        raise ParquetError("Parquet footer has no schema")
    root, pos = _build_tree(elements, 0)
    if pos != len(elements):
        raise ParquetError("Parquet schema tree is inconsistent")
    columns = [(child["name"].lower(), _hive_type(child)) for child in root["children"]]
    return ParquetSchema(columns=columns, num_rows=int(meta.get(3, 0)))


# -- schema tree -> Hive types --------------------------------------------------------------


def _build_tree(elements: list[dict[int, Any]], pos: int) -> tuple[dict[str, Any], int]:
    element = elements[pos]
    node = {
        "name": element.get(4, b"").decode("utf-8", "replace"),
        "physical": _PHYSICAL.get(element.get(1, -1)),
        "repetition": element.get(3, 0),
        "converted": _CONVERTED.get(element.get(6, -1)),
        "scale": element.get(7, 0),
        "precision": element.get(8, 0),
        "logical": None,
        "children": [],
    }
    logical = element.get(10)
    if isinstance(logical, dict) and logical:
        kind_id, params = next(iter(logical.items()))
        node["logical"] = _LOGICAL.get(kind_id)
        if node["logical"] == "DECIMAL" and isinstance(params, dict):
            node["scale"], node["precision"] = params.get(1, 0), params.get(2, 0)
        if node["logical"] == "INTEGER" and isinstance(params, dict):
            node["bits"], node["signed"] = params.get(1, 32), params.get(2, True)
    pos += 1
    for _ in range(element.get(5, 0)):
        child, pos = _build_tree(elements, pos)
        node["children"].append(child)
    return node, pos


def _hive_type(node: dict[str, Any]) -> str:
    kind = node["logical"] or node["converted"]
    if node["children"]:
        return _group_type(node, kind)
    if node["repetition"] == _REPEATED:  # legacy unannotated repeated primitive
        return f"array<{_primitive_type(node, kind)}>"
    return _primitive_type(node, kind)


def _group_type(node: dict[str, Any], kind: str | None) -> str:
    children = node["children"]
    if kind == "LIST" and len(children) == 1:
        repeated = children[0]
        inner = repeated["children"]
        if not inner:  # two-level list of a primitive
            kind = repeated["logical"] or repeated["converted"]
            return f"array<{_primitive_type(repeated, kind)}>"
        if len(inner) == 1:  # the standard three-level list
            return f"array<{_hive_type(inner[0])}>"
        return f"array<{_struct_type(repeated)}>"
    if kind in ("MAP", "MAP_KEY_VALUE") and len(children) == 1:
        key_value = children[0]["children"]
        if len(key_value) == 2:
            return f"map<{_hive_type(key_value[0])},{_hive_type(key_value[1])}>"
    if node["repetition"] == _REPEATED:
        return f"array<{_struct_type(node)}>"
    return _struct_type(node)


def _struct_type(node: dict[str, Any]) -> str:
    fields = ",".join(f"{c['name'].lower()}:{_hive_type(c)}" for c in node["children"])
    return f"struct<{fields}>"


def _primitive_type(node: dict[str, Any], kind: str | None) -> str:
    physical = node["physical"]
    if kind == "DECIMAL":
        return f"decimal({node['precision']},{node['scale']})"
    if kind == "DATE":
        return "date"
    if kind in ("TIMESTAMP", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS") or physical == "INT96":
        return "timestamp"
    if kind in ("UTF8", "STRING", "ENUM", "JSON", "UUID"):
        return "string"
    if kind == "INTEGER":
        bits, signed = node.get("bits", 32), node.get("signed", True)
        widths = {8: "tinyint", 16: "smallint", 32: "int", 64: "bigint"}
        if not signed:  # an unsigned value needs the next wider signed type
            bits = min(bits * 2, 64)
        return widths.get(bits, "bigint")
    if kind in ("INT_8", "INT_16", "UINT_8", "UINT_16"):
        return {"INT_8": "tinyint", "INT_16": "smallint"}.get(kind, "int")
    if kind in ("UINT_32", "INT_64", "UINT_64"):
        return "bigint"
    return {
        "BOOLEAN": "boolean",
        "INT32": "int",
        "INT64": "bigint",
        "FLOAT": "float",
        "DOUBLE": "double",
    }.get(physical or "", "binary")


# -- Thrift compact protocol ---------------------------------------------------------------


class _CompactReader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def _varint(self) -> int:
        shift = result = 0
        while True:
            byte = self._byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def _zigzag(self) -> int:
        n = self._varint()
        return (n >> 1) ^ -(n & 1)

    def read_struct(self) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        last_id = 0
        while True:
            header = self._byte()
            if header == 0:
                return fields
            ftype, delta = header & 0x0F, header >> 4
            field_id = last_id + delta if delta else self._zigzag()
            last_id = field_id
            if ftype in (_BOOL_TRUE, _BOOL_FALSE):
                fields[field_id] = ftype == _BOOL_TRUE
            else:
                fields[field_id] = self._value(ftype)

    def _value(self, ftype: int) -> Any:
        if ftype == _BYTE:
            return struct.unpack("b", bytes([self._byte()]))[0]
        if ftype in (_I16, _I32, _I64):
            return self._zigzag()
        if ftype == _DOUBLE:
            value = struct.unpack("<d", self.data[self.pos : self.pos + 8])[0]
            self.pos += 8
            return value
        if ftype == _BINARY:
            size = self._varint()
            value = self.data[self.pos : self.pos + size]
            self.pos += size
            return value
        if ftype in (_LIST, _SET):
            header = self._byte()
            size, etype = header >> 4, header & 0x0F
            if size == 15:
                size = self._varint()
            if etype in (_BOOL_TRUE, _BOOL_FALSE):
                return [self._byte() == 1 for _ in range(size)]
            return [self._value(etype) for _ in range(size)]
        if ftype == _MAP:
            size = self._varint()
            if not size:
                return {}
            types = self._byte()
            return {self._value(types >> 4): self._value(types & 0x0F) for _ in range(size)}
        if ftype == _STRUCT:
            return self.read_struct()
        if ftype == _UUID:
            value = self.data[self.pos : self.pos + 16]
            self.pos += 16
            return value
        raise ParquetError(f"unknown Thrift compact type {ftype}")
