"""The isolation of a grading batch, piece by piece: refusal without OS isolation, the copy of a
submission into its sandbox, the channel's deadline and bounds, and a worker that dies.

The hostile submissions themselves are graded in tests/test_grade.py; these are the parts that
can be checked without a class.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import time
from pathlib import Path

import pytest

from class_fixtures import grader_that_dies, submission

from bpcheck.cli import main as cli
from bpcheck.grading.grade import GradeError, grade_all
from bpcheck.grading.rubric import load
from bpcheck.grading.sandbox import process
from bpcheck.grading.sandbox.channel import Channel, ChannelClosed, ChannelError, ChannelTimeout
from bpcheck.registry import REGISTRY

pytestmark = pytest.mark.xdist_group(name="isolation")


@pytest.fixture
def no_bwrap(monkeypatch):
    """As on a machine without bubblewrap."""
    monkeypatch.setattr(process, "BWRAP", "bpcheck-no-such-bwrap")
    process.isolation.cache_clear()
    yield
    process.isolation.cache_clear()


def _one_function_class(tmp_path: Path) -> tuple[Path, Path]:
    submissions = tmp_path / "class"
    submissions.mkdir()
    submission(submissions, "alice", "")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("examples = 2\n[points]\nrelu_forward = 1\n")
    return submissions, rubric


def test_without_os_isolation_grading_refuses_in_one_sentence(no_bwrap, tmp_path, capsys):
    submissions, rubric = _one_function_class(tmp_path)
    with pytest.raises(GradeError) as refused:
        grade_all(submissions, tmp_path / "out", load(rubric, REGISTRY))
    message = str(refused.value)
    assert "apt-get install bubblewrap" in message and "--allow-weak-isolation" in message
    assert message.count(". ") == 0  # one sentence
    status = cli.main(["grade", str(submissions), "--out", str(tmp_path / "out2"), "--rubric",
                       str(rubric)])
    shown = capsys.readouterr().out
    assert status == 2 and "apt-get install bubblewrap" in " ".join(shown.split())
    assert not (tmp_path / "out2" / "alice").exists()


def test_weak_isolation_is_explicit_and_says_so(no_bwrap, tmp_path):
    submissions, rubric = _one_function_class(tmp_path)
    documents, _, _ = grade_all(submissions, tmp_path / "out", load(rubric, REGISTRY),
                                allow_weak=True)
    document = documents["alice"]
    isolation = document["extra_data"]["bpcheck"]["isolation"]
    assert document["score"] == pytest.approx(1.0)
    assert isolation["mode"] == "weak" and "bwrap is not installed" in isolation["why_weak"]
    assert isolation["namespaces"] == [] and "--allow-weak-isolation" in isolation["summary"]


def test_a_worker_that_dies_is_blamed_on_its_own_submission_only(tmp_path):
    submissions = tmp_path / "class"
    names = ["ann", "bob", "culprit", "dan", "eve", "fay"]
    for name in names:
        (submissions / name).mkdir(parents=True)
        (submissions / name / "layers.py").write_text("")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("[points]\nrelu_forward = 1\n")
    documents, graded_now, _ = grade_all(submissions, tmp_path / "out", load(rubric, REGISTRY),
                                         jobs=2, allow_weak=True, grader=grader_that_dies)
    assert sorted(graded_now) == names
    for name in names:
        output = documents[name]["output"]
        if name == "culprit":
            assert documents[name]["score"] == 0 and "worker died" in output
            assert "alone" in output
        else:
            assert documents[name]["score"] == 1.0, (name, output)


# ------------------------------------------------------------------ the copy into the sandbox


def test_the_copy_never_follows_a_link_nor_opens_a_special_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the solution")
    secret.chmod(stat.S_IRUSR)
    source = tmp_path / "alice"
    (source / "inner").mkdir(parents=True)
    (source / "layers.py").write_text("x = 1\n")
    (source / "inner" / "helper.py").write_text("y = 2\n")
    os.mkfifo(source / "pipe")
    (source / "loop").symlink_to("loop")
    (source / "secret.txt").symlink_to(secret)
    (source / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    (source / "inner" / "up.py").symlink_to("../layers.py")
    if os.geteuid() == 0:
        os.mknod(source / "device", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    target = tmp_path / "copy"
    started = time.monotonic()
    skipped = process.copy_submission(source, target, None, 2**20)
    assert time.monotonic() - started < 5  # a FIFO opened for reading would block for ever
    copied = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    assert copied == ["inner", "inner/helper.py", "layers.py"]
    assert all(not p.is_symlink() for p in target.rglob("*"))
    text = "\n".join(skipped)
    for name in ("pipe", "loop", "secret.txt", "elsewhere", "inner/up.py"):
        assert name in text, name
    if os.geteuid() == 0:
        assert "device (a special file" in text


def test_the_copy_is_bounded_and_owned_by_the_submission(tmp_path):
    source = tmp_path / "bob"
    source.mkdir()
    (source / "layers.py").write_text("x = 1\n")
    (source / "big.bin").write_bytes(bytes(3000))
    skipped = process.copy_submission(source, tmp_path / "copy", os.getuid(), 1000)
    assert not (tmp_path / "copy" / "big.bin").exists()
    assert any("big.bin (too large" in s for s in skipped)
    assert (tmp_path / "copy" / "layers.py").stat().st_uid == os.getuid()


# ------------------------------------------------------------------ the channel


@pytest.fixture
def pair():
    grader, child = socket.socketpair()
    yield Channel(grader), child
    grader.close()
    child.close()


def test_half_a_frame_runs_into_the_deadline_of_the_whole_frame(pair):
    channel, child = pair
    child.sendall(struct.pack("!i", 1000) + b"only part")
    started = time.monotonic()
    with pytest.raises(ChannelError, match="part of an answer of 1000 bytes"):
        channel.receive(0.5, 10_000)
    assert time.monotonic() - started < 2


def test_silence_is_a_timeout_and_a_closed_end_is_closed(pair):
    channel, child = pair
    with pytest.raises(ChannelTimeout):
        channel.receive(0.2, 100)
    child.sendall(struct.pack("!i", 3) + b"ab")
    child.close()
    with pytest.raises(ChannelClosed):
        channel.receive(1, 100)


def test_an_announced_size_over_the_bound_is_refused_before_reading(pair):
    channel, child = pair
    child.sendall(struct.pack("!iQ", -1, 2**40))
    with pytest.raises(ChannelError, match="announced an answer of 1099511627776 bytes"):
        channel.receive(1, 2**20)


def test_a_whole_frame_arrives_in_pieces(pair):
    channel, child = pair
    data = bytes(range(256)) * 4096
    child.sendall(struct.pack("!i", len(data)) + data[:1000])

    import threading

    later = threading.Timer(0.1, lambda: child.sendall(data[1000:]))
    later.start()
    assert channel.receive(5, 2**22) == data
    later.join()


def test_a_child_that_stops_reading_cannot_hold_the_grader(pair):
    channel, _ = pair
    with pytest.raises(ChannelTimeout):
        for _ in range(1000):  # fills the socket's buffers: the child reads nothing
            channel.send(bytes(2**20), 0.3)
