"""A submission loaded in a sandboxed child, seen by the battery as an ordinary Implementation.

``Sandbox(path, limits)`` is a context manager. Inside it, ``sandbox.impl`` maps each protocol
function the submission defines to a proxy that sends plain arguments to the child and returns
plain values, so the same checks that run in-process run here unchanged:

- arguments the function changed in place are written back into the grader's arrays, and a
  returned array that is the memory of an argument comes back as a view of the grader's array, so
  the mutation and aliasing checks see what they would see in-process;
- a forward's cache stays in the child; the grader holds a ``CacheHandle`` whose copy is a copy in
  the child (made just before the next call, so it costs no round trip) and whose equality
  compares the fingerprints of the cache's contents the child reported.

Every failure of the child becomes an ``ImplementationError`` naming the function: an exception,
a call over its time limit, a function over its time budget (it is then not called again), a
crash (``os._exit``, a memory bomb killed by the limit), a malformed answer, an object that is not
data. After a crash, a timeout or a malformed answer the child is killed with everything it
started, and restarted for the next function.

The channel is read as a submission could have written it (``channel``, ``wire``): one deadline
for a whole answer, its size bounded before it is read and its arrays' elements by what was sent,
and each answer must carry the token of the request it answers. Whatever goes wrong while a child
runs ends that child (``__enter__`` and ``_start`` clean up on any error), so nothing of it
reaches the next submission.

Without OS isolation (``process.isolation()`` is weak) a Sandbox refuses to start unless
``allow_weak`` is given: ``IsolationUnavailable`` says why and how to fix it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bpcheck import modelcall
from bpcheck.implementation import (
    Audit, Change, Evaluation, Implementation, ImplementationError,
)
from bpcheck.layer import Layer
from bpcheck import standins
from bpcheck.grading.sandbox import guard, process, wire
from bpcheck.grading.sandbox.channel import Channel, ChannelClosed, ChannelError, ChannelTimeout
from bpcheck.grading.sandbox.child import HANDLE
from bpcheck.grading.text import printable

MAX_FRAME = 64 * 2**20  # bytes of one answer
MAX_MESSAGE = 600  # characters of a child's error message kept
#: An answer's arrays hold at most this many times the elements its request sent, plus a margin:
#: gradients have their arguments' shapes and outputs their douts', so honest answers stay far
#: below it, and a child cannot make the grader allocate more.
ANSWER_GROWTH, ANSWER_MARGIN = 64, 1 << 16
SEND_SECONDS = 10.0  # to hand a request to a child that has stopped reading


class IsolationUnavailable(Exception):
    """The child cannot be isolated by the operating system here (the message says why and how
    to fix it), and weak isolation was not accepted."""


def refusal(isolated: process.Isolation) -> str:
    """One sentence: why submissions are not run here, and the two ways on."""
    return (f"bpcheck will not run submissions without operating-system isolation, and "
            f"{isolated.why_weak}: install bubblewrap (apt-get install bubblewrap) and grade "
            f"as root, or pass --allow-weak-isolation to accept a child guarded only by "
            f"{'a uid of its own and ' if isolated.per_uid else ''}an audit hook (see the README's "
            f"'What a submission cannot do')")


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 5.0  # one call (a correct one takes milliseconds)
    function_seconds: float = 20.0  # all calls of one function (then it is not called again);
    # a correct function needs well under a second for 50 examples
    submission_seconds: float = 600.0  # the whole submission
    memory_mb: int = 1024  # address space of the child (it can start no other process)
    file_mb: int = 64  # largest file the child may write (in its scratch folder)
    scratch_mb: int = 128  # all it may write (bubblewrap: a tmpfs, also its /tmp and /dev/shm)


class CacheHandle:
    """A forward's cache, which stays in the child; ``state`` is the fingerprint of its contents
    that the child last reported."""

    def __init__(self, sandbox: Sandbox, id: int, generation: int, state: Any):
        self.sandbox, self.id, self.generation, self.state = sandbox, id, generation, state
        weakref.finalize(self, sandbox.freed.append, id)

    def __deepcopy__(self, memo) -> CacheHandle:
        return self.sandbox.clone(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CacheHandle) and self.state == other.state

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<cache #{self.id} in the sandbox>"


@dataclass
class Sandbox:
    path: Path
    layers: tuple[Layer, ...]
    limits: Limits = Limits()
    forbidden_reads: tuple[Path, ...] = ()
    allow_weak: bool = False  # run without OS isolation where it is unavailable
    load_error: str | None = None
    problems: dict[str, str] = field(default_factory=dict)
    functions: tuple[str, ...] = ()
    stand_ins: tuple[standins.Missing, ...] = ()  # read from the submission's source at start
    freed: list[int] = field(default_factory=list)
    _dead: dict[str, str] = field(default_factory=dict)
    _spent: dict[str, float] = field(default_factory=dict)
    _errors: dict[str, str] = field(default_factory=dict)  # a function's latest error
    _clones: list[tuple[int, int]] = field(default_factory=list)  # (copy, original) to make
    _next_clone: int = 0
    _pairs_off: bool = False
    _child: process.Child | None = None
    _generation: int = 0
    _root: Path | None = None
    _uid: process.ClaimedUid | None = None
    skipped: list[str] = field(default_factory=list)  # what the copy of the submission left out

    # ---------------------------------------------------------------- life cycle

    def __enter__(self) -> Sandbox:
        self.isolated = process.isolation()
        if not self.isolated.full and not self.allow_weak:
            raise IsolationUnavailable(refusal(self.isolated))
        try:
            self._uid = process.claim_uid() if self.isolated.per_uid else None
            self._root = Path(tempfile.mkdtemp(prefix=f"bpcheck-sandbox-{os.getpid()}-"))
            self._layout = process.prepare(self._root, self.path, self.isolated, self.uid,
                                           self.limits.file_mb * 2**20)
            self.skipped = [printable(s) for s in self._layout.skipped]
            self._started = time.monotonic()
            self.load_error = self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self._stop()
        finally:
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
            if self._uid is not None:
                self._uid.release()
                self._uid = None

    @property
    def uid(self) -> int | None:
        return self._uid.uid if self._uid is not None else None

    @property
    def impl(self) -> Implementation:
        return Implementation(str(self.path), {name: self._proxy(name) for name in self.functions},
                              batched=self._batched)

    @property
    def isolation(self) -> dict:
        """What was in force for this submission (results.json's ``isolation``)."""
        return self.isolated.describe(self.uid, self.limits)

    def _protocol(self) -> dict[str, tuple[str, ...]]:
        calls = {}
        for layer in self.layers:
            calls[layer.forward_name] = layer.arg_names
            if not layer.is_loss:
                calls[layer.backward_name] = (*layer.dout_names, "cache")
        return calls

    def _start(self) -> str | None:
        """Start a child and load the submission; the load error, if any. Whatever goes wrong on
        the way ends the child."""
        layout, isolated = self._layout, self.isolated
        self._generation += 1
        self._clones, self.freed[:] = [], []
        scratch = process.INSIDE_SCRATCH if isolated.full else str(layout.scratch)
        entry = Path(scratch) / ("layers.py" if self.path.is_dir() else self.path.name)
        limits = self.limits
        self._token = secrets.randbits(62)
        try:
            self._child = process.spawn(layout, isolated, self.uid, limits.scratch_mb,
                                        tuple(str(p) for p in self.forbidden_reads))
            self._channel = Channel(self._child.channel)
            self._send({
                "token": self._token, "scratch": scratch, "submission": str(entry),
                "copy_from": process.INSIDE_SUBMISSION if isolated.full else None,
                "forbidden_reads": [str(p) for p in self.forbidden_reads],
                "protocol": self._protocol(),
                # the model adapters, as source: the child cannot read bpcheck's own folder
                "modelcall": Path(modelcall.__file__).read_text(),
                "stand_ins": [[m.module, m.line, m.path] for m in self._stand_ins()],
                "limits": {"memory": limits.memory_mb * 2**20, "file": limits.file_mb * 2**20,
                           "no_new_processes": isolated.full or self.uid is not None},
            }, "starting")
            answer = self._receive(limits.call_seconds * 3, "being imported", 1 << 12)
            if not isinstance(answer, dict):
                raise ImplementationError("sent a malformed answer while being imported")
            if "load_error" in answer:
                self._stop()
                return f"{entry.name}: {printable(str(answer['load_error']))[:MAX_MESSAGE]}"
            known = set(self._protocol())
            functions = answer.get("functions", [])
            problems = answer.get("problems") or {}
            if not isinstance(functions, list) or not isinstance(problems, dict):
                raise ImplementationError("sent a malformed answer while being imported")
            self.functions = tuple(n for n in functions if isinstance(n, str) and n in known)
            self.problems = {k: printable(str(v))[:MAX_MESSAGE]
                             for k, v in problems.items() if k in known}
        except ImplementationError as exc:
            self._stop()
            return str(exc)
        except BaseException:
            self._stop()
            raise
        return None

    def _stand_ins(self) -> list[standins.Missing]:
        """The modules the submission imports that the child does not have (it has the standard
        library and NumPy; the guard's forbidden modules count as absent), read from its source
        here: the child loads it with stand-ins for them, which raise when used
        (``bpcheck.standins``), so that a forbidden module stays forbidden and an unused one
        costs nothing."""
        def here(top: str) -> bool:
            return top == "numpy" or (top in sys.stdlib_module_names
                                      and top not in guard.BLOCKED_MODULES)

        source = self.path / "layers.py" if self.path.is_dir() else self.path
        self.stand_ins = tuple(standins.scan(source, here))
        return list(self.stand_ins)

    def _stop(self) -> None:
        if self._child is not None:
            child, self._child = self._child, None
            child.end()

    # ---------------------------------------------------------------- talking to the child

    def _send(self, message: Any, during: str) -> None:
        try:
            self._channel.send(message, SEND_SECONDS)
        except ChannelError as exc:
            self._stop()
            raise ImplementationError(f"stopped taking requests while {during} ({exc})") from None

    def _receive(self, seconds: float, during: str, max_elements: int) -> Any:
        """The child's next answer, decoded and checked to answer the latest request;
        ImplementationError when it dies, is too slow or sends a malformed answer (the child is
        then ended)."""
        try:
            frame = self._channel.receive(seconds, MAX_FRAME)
        except ChannelTimeout:
            self._stop()
            raise ImplementationError(f"did not finish within {seconds:g} s while {during} "
                                      f"(an endless loop, or far too slow?)") from None
        except ChannelClosed:
            status = self._child.process.poll() if self._child else None
            if status is None and self._child is not None:
                try:
                    status = self._child.process.wait(timeout=2)
                except Exception:
                    status = None
            self._stop()
            if self.isolated.full and status is not None and status > 128:
                status = 128 - status  # bwrap reports a child killed by a signal as 128 + it
            raise ImplementationError(f"ended the sandbox process while {during} "
                                      f"({_exit_status(status)})") from None
        except ChannelError as exc:
            self._stop()
            raise ImplementationError(f"sent a malformed answer while {during}: {exc}") from None
        try:
            envelope = wire.decode(frame, max_elements)
        except (wire.WireError, ValueError, TypeError, OverflowError, MemoryError) as exc:
            self._stop()
            raise ImplementationError(f"sent a malformed answer while {during}: "
                                      f"{printable(str(exc))[:MAX_MESSAGE]}") from None
        if not isinstance(envelope, dict) or envelope.get("re") != self._token or set(
                envelope) != {"re", "answer"}:
            self._stop()
            raise ImplementationError(f"sent an answer out of turn while {during} (a frame "
                                      f"written onto the sandbox's channel?)")
        return envelope["answer"]

    def _request(self, message: tuple, seconds: float, during: str) -> dict:
        if self._child is None:
            error = self._start()
            if error is not None:
                raise ImplementationError(f"the sandbox could not be restarted: {error}")
        freed, self.freed[:] = list(self.freed), []
        clones, self._clones = self._clones, []
        self._token = secrets.randbits(62)
        self._send((self._token, *message[1:], clones, freed), during)
        answer = self._receive(seconds, during, _answer_bound(message))
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            self._stop()
            raise ImplementationError(f"sent a malformed answer while {during}")
        if not answer["ok"]:
            raise _child_error(answer)
        return answer

    def clone(self, handle: CacheHandle) -> CacheHandle:
        """A copy of a cache, made by the child just before the next call: no call can come in
        between, so it is the cache as it is now, without a round trip of its own."""
        self._check_generation(handle)
        self._next_clone -= 1  # the grader numbers its copies below zero, the child above
        self._clones.append((self._next_clone, handle.id))
        return CacheHandle(self, self._next_clone, self._generation, handle.state)

    def _check_generation(self, handle: CacheHandle) -> None:
        if handle.generation != self._generation:
            raise ImplementationError("this cache was lost when the sandbox restarted after an "
                                      "earlier failure")

    def _proxy(self, name: str):
        # by the records' names, not the suffix: max_pool_forward_naive is a forward (its cache
        # must stay in the child: sent as data, a NamedTuple came back a plain tuple)
        forwards = {layer.forward_name for layer in self.layers if not layer.is_loss}
        backwards = {layer.backward_name for layer in self.layers if not layer.is_loss}
        kind = ("forward" if name in forwards else "backward" if name in backwards else "loss")

        def call_in_sandbox(*args: Any) -> Any:
            return self._call(name, kind, args)

        call_in_sandbox.__name__ = name
        if name in modelcall.MODELS:  # its test-mode scores (``modelcall.adapt``), by name
            call_in_sandbox.scores = lambda *args: self._call(name + ".scores", "loss", args)
        return call_in_sandbox

    def _batched(self, forward: str, backward: str | None, requests: list,
                 outputs: int = 1) -> list | None:
        """``implementation.evaluations`` in one round trip: for each (args, douts), the forward
        and then, for a layer, the backward on each dout, each on its own copy of that forward's
        cache (which stays in the child). None when the calls must go one by one: one of the
        functions is out, or a batch crashed before and only separate calls can tell which
        function did it."""
        names = (forward,) if backward is None else (forward, backward)
        if self._pairs_off or any(name in self._dead for name in names):
            return None
        left = self.limits.submission_seconds - (time.monotonic() - self._started)
        budget = self.limits.function_seconds - max(self._spent.get(n, 0.0) for n in names)
        calls = sum(1 + (len(douts) if backward else 0) for _, douts in requests)
        seconds = min(self.limits.call_seconds * calls, budget, left)
        if seconds <= 0:
            return None
        started = time.monotonic()
        items = [(tuple(self._outgoing(a) for a in args), [self._outgoing(d) for d in douts])
                 for args, douts in requests]
        during = f"running {forward}" + (f" then {backward}" if backward else "")
        try:
            answer = self._request(("call", forward, "pairs", (backward, items, outputs)), seconds,
                                   during)
        except ImplementationError:
            # the batch failed as a whole (a crash, a timeout, an answer that could not be sent
            # or read): from now on calls go one at a time, so that the function to blame is named
            self._pairs_off = True
            return None
        finally:
            elapsed = time.monotonic() - started
        forward_seconds = answer.get("forward_seconds")
        forward_seconds = min(max(forward_seconds, 0.0), elapsed) if isinstance(
            forward_seconds, float) else elapsed
        self._spent[forward] = self._spent.get(forward, 0.0) + forward_seconds
        if backward is not None:
            self._spent[backward] = self._spent.get(backward, 0.0) + elapsed - forward_seconds
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != len(requests) or not all(
                isinstance(r, dict) for r in results):
            self._stop()
            raise ImplementationError(f"sent a malformed answer while {during}")
        return self._checked(during, lambda: [self._evaluation(forward, backward, r)
                                              for r in results])

    def _evaluation(self, forward: str, backward: str | None, entry: dict) -> Evaluation:
        if "forward_error" in entry:
            return Evaluation(self._failed(forward, entry["forward_error"]))
        result = entry.get("forward")
        try:
            _reject_opaque(forward, result)
        except ImplementationError as exc:
            return Evaluation(exc)
        changed = tuple(_change(c) for c in entry.get("changed") or [] if _change(c) is not None)
        backwards = []
        for raw in entry.get("backward") or []:
            if not isinstance(raw, dict) or raw.get("ok") is not True:
                backwards.append(self._failed(backward, raw))
                continue
            try:
                _reject_opaque(backward, raw.get("result"))
                backwards.append(raw.get("result"))
            except ImplementationError as exc:
                backwards.append(exc)
        audits = tuple(_audit(a) for a in entry.get("audits") or [])
        return Evaluation(result, changed, tuple(backwards), audits)

    def _failed(self, name: str | None, answer: Any) -> ImplementationError:
        error = _child_error(answer if isinstance(answer, dict) else {})
        if name is not None:
            self._errors[name] = str(error)
        return error

    def _call(self, name: str, kind: str, args: tuple[Any, ...]) -> Any:
        if name in self._dead:
            raise ImplementationError(self._dead[name])
        left = self.limits.submission_seconds - (time.monotonic() - self._started)
        if left <= 0:
            raise ImplementationError(f"the submission used up its time limit of "
                                      f"{self.limits.submission_seconds:g} s")
        budget = self.limits.function_seconds - self._spent.get(name, 0.0)
        seconds = min(self.limits.call_seconds, budget, left)
        started = time.monotonic()
        try:
            answer = self._request(("call", name, kind, tuple(self._outgoing(a) for a in args)),
                                   seconds, f"running {name}")
        except ImplementationError as exc:
            message = str(exc)
            if self._child is None:  # it crashed or timed out: do not call this function again
                if seconds == budget and "did not finish" in message:
                    message = (f"{name} used up its time budget of "
                               f"{self.limits.function_seconds:g} s")
                    if name in self._errors:
                        message += f" (an earlier call: {self._errors[name]})"
                self._dead[name] = message if message.startswith(name) else f"{name} {message}"
                raise ImplementationError(self._dead[name]) from None
            self._errors[name] = message
            raise
        finally:
            self._spent[name] = self._spent.get(name, 0.0) + time.monotonic() - started
        return self._checked(f"running {name}",
                             lambda: self._incoming(name, kind, args, answer))

    def _checked(self, during: str, read: Any) -> Any:
        """``read()`` of an answer; an answer it cannot read (one no honest child sends) ends
        the child and is reported as malformed."""
        try:
            return read()
        except ImplementationError:
            raise
        except Exception as exc:
            self._stop()
            raise ImplementationError(f"sent a malformed answer while {during} "
                                      f"({type(exc).__name__})") from None

    def _outgoing(self, value: Any) -> Any:
        if isinstance(value, CacheHandle):
            self._check_generation(value)
            return (HANDLE, value.id)
        if isinstance(value, np.ndarray):
            return np.asarray(value)
        if isinstance(value, tuple):
            return tuple(self._outgoing(v) for v in value)
        if isinstance(value, list):
            return [self._outgoing(v) for v in value]
        if isinstance(value, dict):
            return {k: self._outgoing(v) for k, v in value.items()}
        return value

    def _incoming(self, name: str, kind: str, args: tuple[Any, ...], answer: dict) -> Any:
        for position, after in answer.get("changed") or []:
            if isinstance(position, int) and 0 <= position < len(args):
                _write_back(args[position], after)
        result = answer.get("result")
        _reject_opaque(name, result)
        for out_path, position, arg_path in answer.get("aliases") or []:
            try:
                source = _at(args[position], arg_path)
                result = _replace(result, out_path, source.reshape(_at(result, out_path).shape))
            except (LookupError, TypeError, ValueError, AttributeError):
                continue
        state = answer.get("cache")
        if kind == "forward" and isinstance(result, tuple) and len(result) >= 2 and isinstance(
                result[-1], wire.Handle):  # (*outputs, cache)
            result = (*result[:-1], CacheHandle(self, result[-1].id, self._generation, state))
        elif kind == "backward" and args and isinstance(args[-1], CacheHandle):  # (*douts, cache)
            args[-1].state = state
        return result


def _change(fact: Any) -> Change | None:
    """A child's report of one argument the forward edited: [position, added keys, altered
    keys], keeping only a well-formed one."""
    if not (type(fact) is list and len(fact) == 3 and type(fact[0]) is int):
        return None
    keys = [k for k in fact[1:] if type(k) is list and all(type(s) is str for s in k)]
    if len(keys) != 2:
        return None
    return Change(fact[0], tuple(keys[0]), tuple(keys[1]))


def _audit(answer: Any) -> Audit:
    """A child's report of what a backward edited or aliased, keeping only well-formed facts."""
    if not isinstance(answer, dict):
        return Audit()
    aliases = tuple((index, source) for index, source in (
        item for item in answer.get("aliases") or [] if isinstance(item, list) and len(item) == 2)
        if type(index) is int and (source == "dout" or type(source) is int))
    return Audit(answer.get("dout_changed") is True, answer.get("cache_changed") is True, aliases)


def _exit_status(status: int | None) -> str:
    if status is None:
        return "it stopped answering"
    if status < 0:
        import signal
        name = signal.Signals(-status).name if -status in signal.valid_signals() else str(-status)
        hint = " — out of memory?" if -status == 9 else ""
        return f"killed by {name}{hint}"
    return f"exit status {status}"


def _answer_bound(message: tuple) -> int:
    """The most array elements an answer to ``message`` may hold (``ANSWER_GROWTH``)."""
    sent = [0]

    def walk(value: Any, depth: int) -> None:
        if isinstance(value, np.ndarray):
            sent[0] += value.size
        elif isinstance(value, (tuple, list)) and depth < 40:
            for item in value:
                walk(item, depth + 1)
        elif isinstance(value, dict) and depth < 40:
            for item in value.values():
                walk(item, depth + 1)

    walk(message, 0)
    return ANSWER_GROWTH * sent[0] + ANSWER_MARGIN


def _child_error(answer: dict) -> ImplementationError:
    """The error a child's failure answer reports. A floating-point warning keeps it as its
    cause, so that it is diagnosed as it would be in-process."""
    message = printable(str(answer.get("error")))[:MAX_MESSAGE]
    error = ImplementationError(message)
    if answer.get("floating_point") is True:
        error.__cause__ = RuntimeWarning(message)
    return error


def _reject_opaque(name: str, value: Any) -> None:
    opaque = _first_opaque(value)
    if opaque is not None:
        raise ImplementationError(f"{name} returned {opaque!r}, which is not an array or a number")


def _first_opaque(value: Any) -> wire.Opaque | None:
    if isinstance(value, wire.Opaque):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = _first_opaque(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        return _first_opaque(list(value.values()))
    return None


def _write_back(target: Any, after: Any) -> None:
    """Make the grader's argument hold what the child's argument holds after the call."""
    if isinstance(target, np.ndarray):
        if isinstance(after, np.ndarray) and after.shape == target.shape:
            np.copyto(target, after, casting="unsafe")
    elif isinstance(target, dict) and isinstance(after, dict):
        for key in list(target):
            if key not in after:
                del target[key]
        for key, value in after.items():
            if (key in target and isinstance(target[key], np.ndarray)
                    and isinstance(value, np.ndarray) and value.shape == target[key].shape):
                np.copyto(target[key], value, casting="unsafe")
            else:
                target[key] = value
    elif isinstance(target, list) and isinstance(after, list):
        target[:] = after
    elif isinstance(target, tuple) and isinstance(after, tuple) and len(target) == len(after):
        for inner, value in zip(target, after):
            _write_back(inner, value)


def _at(value: Any, path: list) -> Any:
    for key in path:
        value = value[key]
    return value


def _replace(value: Any, path: list, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, tuple):
        items = list(value)
        items[head] = _replace(items[head], rest, new)
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    value[head] = _replace(value[head], rest, new)
    return value
