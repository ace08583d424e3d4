"""The format of values that cross from a sandboxed submission back to the grader.

Nothing from the child is ever unpickled: a frame is a JSON tree plus raw array bytes, and
``decode`` builds only plain Python values and base-class ``np.ndarray`` of a numeric dtype from it.
Whatever the child returns — an ndarray subclass with patched comparisons, an object array, a
self-referencing list — arrives as plain data or as an ``Opaque`` marker that the grader rejects.

This module is loaded both by the grader and, by file path, inside the child (which must not import
the ``bpcheck`` package), so it imports NumPy and the standard library only.

Frame layout: 8-byte little-endian length of the JSON header, the header, then the array bytes
the header's ``nd`` nodes point into (``off``, ``len``).
"""

from __future__ import annotations

import collections
import json
import keyword
import math
import struct

import numpy as np

MAX_DEPTH = 32
MAX_NODES = 200_000
MAX_HEADER = 8 * 2**20
MAX_DIMENSION = 2**31
MAX_NAME = 64  # characters of a record's name or field, and fields of a record
MAX_NEW_RECORDS = 16  # record types one frame may introduce
MAX_RECORD_TYPES = 256  # record types remembered (the oldest are forgotten first)
NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float: what a gradient can honestly be


class WireError(Exception):
    """A frame that is not well formed (too deep, too large, a bad dtype or length)."""


class Opaque:
    """Something the child returned that cannot cross as data (a custom object, an object array,
    a complex array). Kept by its type name, so that it can be named in an error."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.type_name == self.type_name

    def __hash__(self) -> int:
        return hash(self.type_name)

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


class Handle:
    """A reference to an object that stays in the child (a forward's cache): the child puts one
    in a result in place of the object, and the grader receives it."""

    __slots__ = ("id",)

    def __init__(self, id: int):
        self.id = id

    def __repr__(self) -> str:
        return f"Handle({self.id})"


# ------------------------------------------------------------------ encoding (in the child)


def encode(value) -> bytes:
    """One frame for ``value``. Never raises for an unknown type: it becomes an Opaque node."""
    blobs: list[bytes] = []
    size = [0]
    seen: set[int] = set()

    def array_node(array: np.ndarray) -> dict:
        if not array.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d array 1-d)
            array = array.copy(order="C")
        if array.dtype.kind not in NUMERIC_KINDS or array.dtype.itemsize > 8:
            return {"t": "opaque", "type": f"ndarray of dtype {array.dtype}"}
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        node = {"t": "nd", "dtype": array.dtype.newbyteorder("<").str, "shape": list(array.shape),
                "off": size[0], "len": len(data)}
        blobs.append(data)
        size[0] += len(data)
        return node

    def node(obj, depth: int) -> dict:
        if type(obj) is Handle:
            return {"t": "handle", "id": int(obj.id)}
        if depth > MAX_DEPTH:
            return {"t": "opaque", "type": "structure nested too deeply"}
        if obj is None:
            return {"t": "none"}
        kind = type(obj)
        if kind is bool:
            return {"t": "bool", "v": obj}
        if kind is int:
            return {"t": "int", "v": str(obj)}
        if kind is float:
            return {"t": "float", "v": repr(obj)}
        if kind is str:
            return {"t": "str", "v": obj}
        if isinstance(obj, np.generic):
            return {"t": "scalar", "of": array_node(np.asarray(obj))}
        if isinstance(obj, np.ndarray):  # subclasses are reduced to their base-class data
            return array_node(np.asarray(obj).view(np.ndarray))
        if id(obj) in seen:
            return {"t": "opaque", "type": "self-referencing structure"}
        if kind in (tuple, list) or (isinstance(obj, tuple) and hasattr(kind, "_fields")):
            seen.add(id(obj))
            items = [node(item, depth + 1) for item in obj]
            seen.discard(id(obj))
            if kind is tuple or kind is list:
                return {"t": kind.__name__, "items": items}
            return {"t": "record", "name": kind.__name__, "fields": list(kind._fields),
                    "items": items}
        if kind is dict:
            seen.add(id(obj))
            items = [[k, node(v, depth + 1)] for k, v in obj.items() if type(k) is str]
            seen.discard(id(obj))
            if len(items) != len(obj):
                return {"t": "opaque", "type": "dict with keys that are not strings"}
            return {"t": "dict", "items": items}
        return {"t": "opaque", "type": kind.__name__}

    header = json.dumps(node(value, 0)).encode()
    return struct.pack("<Q", len(header)) + header + b"".join(blobs)


# ------------------------------------------------------------------ decoding (in the grader)


def decode(frame: bytes, max_elements: int | None = None):
    """The plain value a frame holds; WireError when the frame is malformed.

    Everything is bounded before it is allocated: the header's length and its count of
    containers before it is parsed, its nesting and node count while it is walked, each array's
    shape against the bytes the frame really holds, all arrays' elements together against
    ``max_elements`` (the grader derives it from what it sent), and the record types a frame may
    introduce."""
    if len(frame) < 8:
        raise WireError("frame too short")
    (header_length,) = struct.unpack("<Q", frame[:8])
    if header_length > min(MAX_HEADER, len(frame) - 8):
        raise WireError("header length out of range")
    header = frame[8:8 + header_length]
    if header.count(b"[") + header.count(b"{") > 3 * MAX_NODES:
        raise WireError("structure too large")
    try:
        tree = json.loads(header)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"header is not JSON: {exc}") from None
    body = frame[8 + header_length:]
    count = [0]
    elements = [0]
    new_records = [0]

    def array(n: dict) -> np.ndarray:
        dtype = _numeric_dtype(n.get("dtype"))
        shape = n.get("shape")
        if (not isinstance(shape, list) or len(shape) > 32
                or not all(type(d) is int and 0 <= d <= MAX_DIMENSION for d in shape)):
            raise WireError("bad shape")
        offset, length = n.get("off"), n.get("len")
        if type(offset) is not int or type(length) is not int or offset < 0 or length < 0:
            raise WireError("bad array extent")
        count = math.prod(shape)
        if length != count * dtype.itemsize:
            raise WireError("array length does not match its shape")
        if offset + length > len(body):
            raise WireError("array extends past the frame")
        elements[0] += count
        if max_elements is not None and elements[0] > max_elements:
            raise WireError(f"arrays of more than {max_elements} elements in all, far more "
                            f"than the arguments sent could give")
        data = np.frombuffer(body, dtype=dtype, count=count, offset=offset).reshape(shape)
        return data.copy() if dtype.isnative else data.astype(dtype.newbyteorder("="))

    def build(n, depth: int):
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH + 1 or not isinstance(n, dict):
            raise WireError("structure too large or malformed")
        t = n.get("t")
        if t == "none":
            return None
        if t == "bool":
            return n.get("v") is True
        if t == "int":
            text = _text(n.get("v"))
            if len(text) > 64:
                raise WireError("integer too long")
            return int(text)
        if t == "float":
            return float(_text(n.get("v")))
        if t == "str":
            return _text(n.get("v"))
        if t == "nd":
            return array(n)
        if t == "scalar":
            return array(n.get("of") or {})[()]
        if t in ("tuple", "list", "record"):
            items = [build(item, depth + 1) for item in _items(n)]
            if t == "list":
                return items
            if t == "record":
                fields = _items(n, "fields")
                if len(fields) > MAX_NAME:
                    raise WireError("bad record")
                key = (_text(n.get("name")), tuple(_text(f) for f in fields))
                if key not in _RECORD_TYPES:
                    new_records[0] += 1
                    if new_records[0] > MAX_NEW_RECORDS:
                        raise WireError("too many kinds of record")
                return Record(key[0], list(key[1]), items)
            return tuple(items)
        if t == "dict":
            pairs = _items(n)
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise WireError("bad dict")
            return {_text(k): build(v, depth + 1) for k, v in pairs}
        if t == "handle":
            if type(n.get("id")) is not int:
                raise WireError("bad handle")
            return Handle(n["id"])
        if t == "opaque":
            return Opaque(_text(n.get("type")))
        raise WireError(f"unknown node {t!r}")

    return build(tree, 0)


_DTYPES: dict[str, np.dtype] = {}


def _numeric_dtype(text) -> np.dtype:
    """The dtype a header names, if it is a plain numeric one (remembered: there are few)."""
    dtype = _DTYPES.get(text) if isinstance(text, str) else None
    if dtype is None:
        if len(_text(text)) > 8:  # "<f8", "|b1": what encode writes
            raise WireError("dtype name too long")
        try:
            dtype = np.dtype(text)
        except TypeError:
            raise WireError(f"{text!r} is not a dtype") from None
        if dtype.kind not in NUMERIC_KINDS or dtype.itemsize > 8 or dtype.hasobject:
            raise WireError(f"dtype {dtype} is not numeric")
        if len(_DTYPES) < 64:
            _DTYPES[text] = dtype
    return dtype


def _text(value) -> str:
    if not isinstance(value, str):
        raise WireError("expected a string")
    return value


def _items(n: dict, key: str = "items") -> list:
    items = n.get(key)
    if not isinstance(items, list):
        raise WireError(f"expected a list of {key}")
    return items


_RECORD_TYPES: collections.OrderedDict[tuple[str, tuple[str, ...]], type] = (
    collections.OrderedDict())


def Record(name: str, fields: list[str], items: list):
    """A named tuple standing for the child's own (same name and fields, plain values). The
    types made are remembered, the most recent ``MAX_RECORD_TYPES`` of them."""
    key = (name, tuple(fields))
    if key not in _RECORD_TYPES:
        valid = (all(f.isidentifier() and not keyword.iskeyword(f) and len(f) <= MAX_NAME
                     for f in (name, *fields)) and len(fields) <= MAX_NAME
                 and not any(f.startswith("_") for f in fields) and len(set(fields)) == len(fields))
        if not valid or len(fields) != len(items):
            raise WireError("bad record")
        _RECORD_TYPES[key] = collections.namedtuple(name, fields)
        while len(_RECORD_TYPES) > MAX_RECORD_TYPES:
            _RECORD_TYPES.popitem(last=False)
    else:
        _RECORD_TYPES.move_to_end(key)
    if len(items) != len(key[1]):
        raise WireError("bad record")
    return _RECORD_TYPES[key](*items)
