"""The pickle-free format of a sandboxed child's answers: what it builds, and what it refuses."""

import json
import struct

import numpy as np
import pytest

from bpcheck.grading.sandbox import wire


class Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)


def test_values_round_trip_as_plain_data():
    record = wire.Record("Cache", ["x", "mode"], [np.arange(3.0), "train"])
    value = {"a": (np.eye(2, dtype=np.float32), [1, 2.5, float("nan")]), "b": None, "r": record,
             "s": np.float64(3.0), "h": wire.Handle(7)}
    back = wire.decode(wire.encode(value))
    assert back["a"][0].dtype == np.float32 and np.array_equal(back["a"][0], np.eye(2))
    assert back["a"][1][:2] == [1, 2.5] and np.isnan(back["a"][1][2])
    assert back["r"].x.tolist() == [0.0, 1.0, 2.0] and back["r"].mode == "train"
    assert back["s"] == 3.0 and isinstance(back["s"], np.floating)
    assert isinstance(back["h"], wire.Handle) and back["h"].id == 7


def test_subclasses_arrive_as_base_arrays_and_objects_as_opaque():
    lying = (np.arange(4.0) * 0).view(Agreeable)
    back = wire.decode(wire.encode((lying, np.array([object()]), 1j, object())))
    assert type(back[0]) is np.ndarray and (back[0] == np.ones(4)).sum() == 0
    assert all(isinstance(v, wire.Opaque) for v in back[1:])


def test_a_self_referencing_list_is_opaque_not_a_hang():
    loop = [1]
    loop.append(loop)
    assert isinstance(wire.decode(wire.encode(loop))[1], wire.Opaque)


def _frame(tree, body=b""):
    header = json.dumps(tree).encode()
    return struct.pack("<Q", len(header)) + header + body


@pytest.mark.parametrize("frame", [
    b"short",
    _frame({"t": "nd", "dtype": "|O", "shape": [1], "off": 0, "len": 8}, b"\0" * 8),
    _frame({"t": "nd", "dtype": "<f8", "shape": [2], "off": 0, "len": 8}, b"\0" * 8),
    _frame({"t": "nd", "dtype": "<f8", "shape": [1], "off": 4, "len": 8}, b"\0" * 8),
    _frame({"t": "nd", "dtype": "<f8", "shape": [-1], "off": 0, "len": 8}, b"\0" * 8),
    _frame({"t": "nd", "dtype": "<c16", "shape": [1], "off": 0, "len": 16}, b"\0" * 16),
    _frame({"t": "pickle", "v": "cos\nsystem\n"}),
    _frame({"t": "record", "name": "X", "fields": ["__class__"], "items": [{"t": "none"}]}),
    _frame(json.loads("[" * 40 + "]" * 40)),
    struct.pack("<Q", 10**9) + b"{}",
])
def test_malformed_frames_are_refused(frame):
    with pytest.raises(wire.WireError):
        wire.decode(frame)


def test_deep_nesting_is_refused():
    tree = {"t": "none"}
    for _ in range(wire.MAX_DEPTH + 5):
        tree = {"t": "list", "items": [tree]}
    with pytest.raises(wire.WireError):
        wire.decode(_frame(tree))


def _record(name, fields=("x",)):
    return {"t": "record", "name": name, "fields": list(fields),
            "items": [{"t": "none"} for _ in fields]}


def test_a_frame_may_introduce_only_a_few_record_types_and_few_are_remembered():
    many = {"t": "list", "items": [_record(f"Kind{i}") for i in range(wire.MAX_NEW_RECORDS + 1)]}
    with pytest.raises(wire.WireError, match="too many kinds of record"):
        wire.decode(_frame(many))
    for start in range(0, 2 * wire.MAX_RECORD_TYPES, wire.MAX_NEW_RECORDS):
        frame = {"t": "list", "items": [_record(f"Other{i}")
                                         for i in range(start, start + wire.MAX_NEW_RECORDS)]}
        wire.decode(_frame(frame))
    assert len(wire._RECORD_TYPES) <= wire.MAX_RECORD_TYPES
    with pytest.raises(wire.WireError, match="bad record"):
        wire.decode(_frame(_record("X" * (wire.MAX_NAME + 1))))


def test_array_elements_are_bounded_by_what_was_sent_before_they_are_copied():
    body = b"\0" * 8 * 1000
    tree = {"t": "nd", "dtype": "<f8", "shape": [1000], "off": 0, "len": 8000}
    assert wire.decode(_frame(tree, body), max_elements=1000).shape == (1000,)
    with pytest.raises(wire.WireError, match="more than 999 elements"):
        wire.decode(_frame(tree, body), max_elements=999)
    huge = {"t": "nd", "dtype": "<f8", "shape": [2**40, 0], "off": 0, "len": 0}
    with pytest.raises(wire.WireError, match="bad shape"):
        wire.decode(_frame(huge))


def test_a_header_of_too_many_containers_is_refused_before_it_is_parsed():
    header = b"[" * (3 * wire.MAX_NODES + 1)
    with pytest.raises(wire.WireError, match="structure too large"):
        wire.decode(struct.pack("<Q", len(header)) + header)
