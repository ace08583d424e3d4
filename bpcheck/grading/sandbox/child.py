"""The sandboxed child: loads one submission and runs its functions on request.

Started by ``process.spawn`` as ``python -I -S child.py FD CURATED [UID]`` (no site-packages, no
environment, no script folder on sys.path; CURATED is a folder holding only NumPy). Given a UID
(in a bubblewrap sandbox started by root) it first drops to it, for good. It reads its set-up from
the grader, copies its submission into its scratch folder when told to, sets its limits, loads
``guard`` by file path from its own folder and installs it, then imports NumPy and ``wire``, loads
the submission and serves requests from the grader over the socket FD:

- the grader → child direction is the grader's own pickles (trusted);
- the child → grader direction is ``wire`` frames only, which the grader decodes without pickle;
  each answer echoes the token of the request it answers (``{"re": token, "answer": ...}``), so
  that a frame a submission writes onto the socket itself is seen as out of turn.

A forward's cache never leaves the child: it stays in ``caches`` and the grader holds its id.
After every call the child reports which arguments the function changed in place (compared by
their bytes, with methods a submission cannot patch), which returned arrays are the very memory
of an argument, and a fingerprint (SHA-256 of its contents) of the cache the call used, so that
the grader's checks of mutation and aliasing see what they would see in-process.
"""

import copy
import importlib.util
import inspect
import os
import resource
import sys
import traceback
import types
import warnings

HANDLE = "\x00bpcheck-cache"  # a cache reference inside a request's arguments: (HANDLE, id)


def _load_sibling(name):
    spec = importlib.util.spec_from_file_location(f"_bpcheck_{name}", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _source_module(name, source):
    """A module of bpcheck's own sent as source by the grader (``modelcall``: the child may not
    read bpcheck's folder); standard library and NumPy only."""
    module = types.ModuleType(f"_bpcheck_{name}")
    exec(compile(source, f"<bpcheck {name}>", "exec"), module.__dict__)
    return module


def _where(exc, submission):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == submission]
    if not frames:
        return ""
    last = frames[-1]
    code = f": {last.line.strip()}" if last.line else ""
    return f" (at {os.path.basename(last.filename)}:{last.lineno}{code})"


class _Channel:
    """The child's end of the socket, in ``multiprocessing.connection``'s framing (a 4-byte
    big-endian length, or -1 and an 8-byte one), without importing multiprocessing: it would
    load subprocess, _posixsubprocess, socket and threading before the guard, and a module already
    loaded raises no import event for the guard to refuse."""

    def __init__(self, fd):
        self.fd = fd

    def _read(self, size):
        chunks = []
        while size:
            chunk = os.read(self.fd, min(size, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def recv(self):
        import pickle
        import struct

        (size,) = struct.unpack("!i", self._read(4))
        if size == -1:
            (size,) = struct.unpack("!Q", self._read(8))
        return pickle.loads(self._read(size))

    def send_bytes(self, data):
        import struct

        header = (struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else
                  struct.pack("!iQ", -1, len(data)))
        for part in (header, data):
            view = memoryview(part)
            while view:
                view = view[os.write(self.fd, view):]


def _drop_to(uid):
    """Become ``uid`` for good (from root, this also clears every capability)."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _processes_of_mine():
    """How many tasks (processes and their threads) this uid has in sight: this process, and
    bwrap's init when it shares the uid. RLIMIT_NPROC at that count lets the child start none."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, ValueError, KeyError):
            continue
    return max(count, 1)


def _copy_in(source, target):
    """Copy the submission (plain files and folders only: the grader made it so) to scratch."""
    from shutil import copyfile

    for folder, _, files in os.walk(source):
        inner = os.path.join(target, os.path.relpath(folder, source))
        os.makedirs(inner, exist_ok=True)
        for name in files:
            copyfile(os.path.join(folder, name), os.path.join(inner, name))


def _raised(name, exc, submission):
    """One sentence for an exception the submission raised, as ``implementation.raised`` words it
    in-process: the first line of its message (shortened; a message that cannot be formatted is
    said to be so) and the line that raised it."""
    try:
        text = str(exc).strip()
    except BaseException as inner:  # a hostile __str__
        text = f"(cannot be shown: {type(inner).__name__})"
    text = (text.splitlines() or [""])[0].strip()
    text = text if len(text) <= 300 else text[:299] + "\u2026"
    where = _where(exc, submission)
    if isinstance(exc, SystemExit):
        return (f"{name} called sys.exit({text or None}){where}: a layer function must return "
                f"its answer, not end the program")
    if isinstance(exc, RecursionError):
        return f"{name} raised RecursionError: {text}{where}: endless recursion?"
    if getattr(exc, "bpcheck_stand_in", False):  # a module not available here (standins.py)
        return f"{name} uses {text}{where}"
    return f"{name} raised {type(exc).__name__}{': ' + text if text else ''}{where}"


def main():
    fd, curated = int(sys.argv[1]), sys.argv[2]
    if len(sys.argv) > 3:
        _drop_to(int(sys.argv[3]))
    from hashlib import sha256
    from time import perf_counter

    conn = _Channel(fd)
    setup = conn.recv()
    token = setup["token"]
    if setup.get("copy_from"):  # a read-only copy of the submission, into the scratch tmpfs
        _copy_in(setup["copy_from"], setup["scratch"])
    # Limits and the guard come first, NumPy after: then NumPy cannot import ctypes (it does
    # without), and no module a submission can reach holds it.
    limits = setup["limits"]
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory"], limits["memory"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file"], limits["file"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.get("no_new_processes"):
        count = _processes_of_mine()
        resource.setrlimit(resource.RLIMIT_NPROC, (count, count))
    guard = _load_sibling("guard")
    guard.install(setup["scratch"], tuple(setup["forbidden_reads"]))
    sys.path.insert(0, curated)
    import numpy as np

    wire = _load_sibling("wire")
    tobytes, shares_memory, ndarray = np.ndarray.tobytes, np.shares_memory, np.ndarray

    def reply(value):
        conn.send_bytes(wire.encode({"re": token, "answer": value}))

    def leaves(value, path=()):
        """(path, array) for every array in nested tuples, lists and dicts."""
        if isinstance(value, ndarray):
            yield path, value
        elif type(value) in (tuple, list) or (isinstance(value, tuple) and hasattr(value, "_fields")):
            for i, item in enumerate(value):
                yield from leaves(item, (*path, i))
        elif type(value) is dict:
            for key, item in value.items():
                yield from leaves(item, (*path, key))

    def digest(value):
        """A fingerprint of everything a cache holds (arrays by their bytes)."""
        hasher = sha256()

        def walk(item, depth):
            if depth > 40:
                return
            hasher.update(type(item).__name__.encode())
            if isinstance(item, ndarray):
                hasher.update(f"{item.shape}{item.dtype.str}".encode())
                hasher.update(tobytes(item))
            elif type(item) in (int, float, str, bool, type(None)):
                hasher.update(repr(item).encode())
            elif type(item) in (tuple, list) or isinstance(item, tuple):
                for inner in item:
                    walk(inner, depth + 1)
            elif type(item) is dict:
                for key, inner in item.items():
                    hasher.update(repr(key).encode())
                    walk(inner, depth + 1)
            elif hasattr(item, "__dict__") and type(vars(item)) is dict:
                walk(dict(vars(item)), depth + 1)
        walk(value, 0)
        return hasher.hexdigest()

    def state(value):
        """What an argument holds, as bytes and structure (unpatchable comparisons only)."""
        if isinstance(value, ndarray):
            return ("a", value.shape, value.dtype.str, tobytes(value))
        if type(value) in (tuple, list):
            return (type(value).__name__, tuple(state(v) for v in value))
        if type(value) is dict:
            return ("d", tuple((k, state(v)) for k, v in value.items()))
        return ("o", repr(value) if type(value) in (int, float, str, bool, type(None)) else id(value))

    # -- the submission
    floating_point = _load_sibling("floating_point")
    os.chdir(setup["scratch"])
    sys.path.insert(0, os.path.dirname(setup["submission"]))  # its own neighbours
    submission = setup["submission"]
    try:
        spec = importlib.util.spec_from_file_location("submission", submission)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        # Stand-ins for the modules it imports that are not here (bpcheck/standins.py, chosen by
        # the grader from its source): in sys.modules while it is imported only, then the guard
        # decides every import again; a stand-in raises when used and gives nothing.
        standins = _load_sibling("standins")
        missing = [standins.Missing(*entry) for entry in setup.get("stand_ins") or []]
        with warnings.catch_warnings(), standins.standing_in(missing):
            floating_point.raise_floating_point_errors()
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        reply({"load_error": f"line {exc.lineno}: syntax error: {exc.msg}"})
        return
    except SystemExit as exc:
        reply({"load_error": f"calls sys.exit({exc.code!r}) while being imported"})
        return
    except BaseException as exc:
        reply({"load_error": f"raised {type(exc).__name__}: {exc} while being imported"
                             f"{_where(exc, submission)}"})
        return
    functions = {}
    problems = {}
    # a model class is called as its loss, as in-process
    modelcall = _source_module("modelcall", setup["modelcall"])
    for name, arg_names in setup["protocol"].items():
        function = getattr(module, name, None)
        if not callable(function) or isinstance(function, standins.StandIn):
            continue  # (imported from a stand-in: not defined here, as in-process)
        function = modelcall.adapt(name, function)
        if function is None:
            continue  # a class of another kind under a model's name: not defined here
        if callable(getattr(function, "scores", None)):  # a model's test-mode scores, too
            functions[name + ".scores"] = function.scores
        functions[name] = function
        try:
            inspect.signature(function).bind(*arg_names)
        except TypeError:
            problems[name] = (f"{name}{inspect.signature(function)} cannot be called as "
                              f"{name}({', '.join(arg_names)}) as the protocol does")
        except ValueError:
            pass
    reply({"functions": sorted(functions), "problems": problems})

    caches, next_id = {}, [1]

    def keep(cache):
        caches[next_id[0]] = cache
        next_id[0] += 1
        return next_id[0] - 1

    def resolve(value):
        if type(value) is tuple and len(value) == 2 and value[0] == HANDLE:
            if value[1] not in caches:
                raise LookupError("this cache was lost when the sandbox restarted")
            if isinstance(caches[value[1]], LookupError):
                raise caches[value[1]]
            return caches[value[1]]
        return value

    def run(name, args):
        """(True, what ``name`` returned) or (False, the error answer naming it)."""
        try:
            with warnings.catch_warnings():  # bpcheck/floating_point.py
                floating_point.raise_floating_point_errors()
                return True, functions[name](*args)
        except BaseException as exc:  # the submission's own error (SystemExit too), reported
            return False, {"ok": False, "error": _raised(name, exc, submission),
                           "floating_point": isinstance(exc, (RuntimeWarning,
                                                              FloatingPointError))}

    def aliases(grads, upstream, given):
        """[index of a gradient, "dout" or the argument's position] for gradients that share
        memory with dout or a forward argument."""
        grads = grads if type(grads) in (tuple, list) else (grads,)
        found = []
        for i, grad in enumerate(grads):
            if not isinstance(grad, ndarray):
                continue
            if upstream is not None and any(isinstance(d, ndarray) and shares_memory(grad, d)
                                            for d in upstream):
                found.append([i, "dout"])
                continue
            for position, arg in enumerate(given):
                if any(shares_memory(grad, leaf) for _, leaf in leaves(arg)):
                    found.append([i, position])
                    break
        return found

    def edit(position, before, after, state_before):
        """[position, added keys, altered keys] for an argument the forward edited (keys only
        for a dict), or None."""
        if state(after) == state_before:
            return None
        if type(before) is dict and type(after) is dict:
            old = dict(state_before[1])
            added = sorted(str(k) for k in after if k not in old)
            altered = sorted(str(k) for k in old if k not in after or state(after[k]) != old[k])
            return [position, added, altered]
        return [position, [], []]

    def pairs(name, backward, forward_args, douts, outputs=1):
        """One forward and the backward on each set of douts (one per output; each on a copy of
        the cache, the last on the cache itself), with what each edited in place or aliased."""
        originals = [dict(a) if type(a) is dict else a for a in forward_args]
        before = [state(a) for a in forward_args]
        started = perf_counter()
        ok, result = run(name, forward_args)
        seconds = perf_counter() - started
        if not ok:
            return {"forward_error": result, "seconds": seconds}
        changed = [c for i, (a, o, b) in enumerate(zip(forward_args, originals, before))
                   if (c := edit(i, o, a, b)) is not None]
        if backward is None or type(result) not in (tuple, list) or len(result) != outputs + 1:
            # a loss's (loss, grads), or an answer off the protocol, returned as it is
            audits = [{"aliases": aliases(result[1], None, forward_args)}] if (
                backward is None and type(result) in (tuple, list) and len(result) == 2) else []
            return {"forward": result, "changed": changed, "audits": audits, "seconds": seconds}
        try:  # the outputs as returned, before a backward can edit them in place (an array
            # copied as its data, as the wire sends it: no method of a subclass runs)
            first = tuple(ndarray.copy(ndarray.view(o, ndarray)) if isinstance(o, ndarray)
                          else copy.deepcopy(o) for o in result[:outputs])
        except BaseException as exc:
            first = (f"an output that cannot be copied: {exc!r}",) * outputs
        grads, audits = [], []
        for k, dout in enumerate(douts):
            try:
                cache = result[-1] if k == len(douts) - 1 else copy.deepcopy(result[-1])
                dout_before, cache_before = state(dout), digest(cache)
            except BaseException as exc:
                grads.append({"ok": False, "error": f"the cache of {name} could not be "
                                                    f"copied: {exc!r}"})
                audits.append({})
                continue
            ok, answer = run(backward, (*dout, cache))
            grads.append({"ok": True, "result": answer} if ok else answer)
            audits.append({"dout_changed": state(dout) != dout_before,
                           "cache_changed": digest(cache) != cache_before,
                           "aliases": aliases(answer, dout, forward_args) if ok else []})
        return {"forward": (*first, None), "changed": changed, "backward": grads,
                "audits": audits, "seconds": seconds}

    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        token, name, kind, raw_args, clones, stale = request
        for new_id, source_id in clones:  # copies the grader made since its last call
            try:
                caches[new_id] = copy.deepcopy(caches[source_id])
            except BaseException as exc:
                caches[new_id] = LookupError(f"the cache could not be copied: {exc!r}")
        for old_id in stale:
            caches.pop(old_id, None)
        if kind == "pairs":  # forwards, each then its backward on copies of its cache
            backward, items, *more = raw_args
            outputs = more[0] if more and type(more[0]) is int and 0 < more[0] < 64 else 1
            results, forward_seconds = [], 0.0
            for forward_args, douts in items:
                results.append(pairs(name, backward, forward_args, douts, outputs))
                forward_seconds += results[-1].pop("seconds")
            try:
                reply({"ok": True, "results": results, "forward_seconds": forward_seconds})
            except BaseException as exc:
                reply({"ok": False, "error": f"{name} returned something that cannot be read: "
                                             f"{type(exc).__name__}: {exc}"})
            continue
        args = tuple(resolve(a) for a in raw_args)
        cache_used = args[-1] if kind == "backward" and args else None  # (*douts, cache)
        before = [state(a) for a in args]
        ok, result = run(name, args)
        if not ok:
            reply(result)
            continue
        cache_id, sent = None, result
        if kind == "forward" and type(result) in (tuple, list) and len(result) >= 2:
            cache_id = keep(result[-1])  # (*outputs, cache): the cache stays here
            sent = (*result[:-1], wire.Handle(cache_id))
        changed = {i: a for i, (a, b) in enumerate(zip(args, before))
                   if state(a) != b and not (kind == "backward" and i == len(args) - 1)}
        inputs = [(i, path, leaf) for i, a in enumerate(args) for path, leaf in leaves(a)]
        aliases = []
        for out_path, out in leaves(sent):
            for i, path, leaf in inputs:
                if (out.size == leaf.size and shares_memory(out, leaf)
                        and tobytes(out) == tobytes(leaf)):
                    aliases.append([list(out_path), i, list(path)])
                    break
        cache_now = caches.get(cache_id) if cache_id else cache_used
        try:
            reply({"ok": True, "result": sent, "changed": [[i, v] for i, v in changed.items()],
                   "aliases": aliases, "cache": digest(cache_now) if kind != "loss" else None})
        except BaseException as exc:
            reply({"ok": False, "error": f"{name} returned something that cannot be read: "
                                         f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
