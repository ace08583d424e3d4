"""A per-machine store of the reference programs, compiled: trace, lower and compile once per
machine, then load in every process.

JAX's persistent compilation cache (``jaxsetup``) skips only XLA's compile: a fresh process still
traces and lowers each program (~60 ms each, 250–350 of them in a full verdict) before it can even
ask that cache. This store keeps the compiled executable itself (``jax.experimental.
serialize_executable``, ~10–20 KB each; ~15 MB for a full check of manual/) under
``CACHE_DIR/programs``, in a folder per environment (below): loading one takes ~2 ms.
Output shapes, found by tracing, are kept there too.

An entry is found by a key naming everything that shapes the program — the twin (its module and
name), the sources it may come from (a hash of ``reference/``, ``bpcheck/registry/`` and
``bpcheck/autodiff.py``), the program's kind, argument structure, baked-in values and input
shapes and dtypes — and the machine and JAX that compiled it (versions, XLA flags, CPU). A twin
whose code cannot be named that way (a lambda, a closure, a user's own twin) is never stored: it
is compiled in each process, as before. Entries are written atomically (a temporary file, then a
rename), so concurrent workers can share the folder; an entry that cannot be read is ignored and
compiled again. An environment's folder unused for UNUSED_DAYS is removed when another is used. The folder is trusted like JAX's own cache beside it: only bpcheck writes there.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import platform
import shutil
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any, Callable

from bpcheck.jaxsetup import CACHE_DIR, jax

#: The packages whose source a stored twin may come from, relative to their parents.
TWIN_PACKAGES = ("reference", "bpcheck.registry")

FOLDER = None if CACHE_DIR is None else CACHE_DIR / "programs"

#: This process's use of the store: executables loaded from it, and compiled and stored in it.
COUNTS = {"loaded": 0, "stored": 0}


def twin_name(twin: Callable[..., Any]) -> str | None:
    """``module:qualname`` of a twin whose code the key can name (a module-level function of a
    twin package), else None."""
    module, qualname = getattr(twin, "__module__", None), getattr(twin, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(qualname, str)) or "<" in qualname:
        return None
    if not any(module == p or module.startswith(p + ".") for p in TWIN_PACKAGES):
        return None
    return f"{module}:{qualname}"


@cache
def _environment() -> str:
    """What the stored programs depend on besides their own key: the sources twins are made of,
    JAX's versions and flags, and the CPU that compiled them."""
    import jaxlib

    here = Path(__file__).parent  # bpcheck/
    twins = importlib.util.find_spec("reference")
    roots = [here / "registry"] + ([Path(twins.origin).parent] if twins and twins.origin else [])
    files = [f for root in roots for f in sorted(root.rglob("*.py"))] + [here / "autodiff.py",
                                                                         here / "programs.py"]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), "")
    except OSError:
        flags = ""
    backend = jax.devices()[0].client
    return "|".join((digest.hexdigest(), jax.__version__, jaxlib.__version__,
                     backend.platform_version, os.environ.get("XLA_FLAGS", ""),
                     str(jax.config.jax_enable_x64), platform.machine(), flags))


def key(parts: tuple[Any, ...]) -> str | None:
    """The file name of the entry for ``parts`` (strings, tuples, numbers, treedefs), or None when
    there is no store or a part has no stable text (an object shown by its address)."""
    if FOLDER is None:
        return None
    text = repr(parts)
    if " at 0x" in text:
        return None
    return f"{_generation()}/{hashlib.sha256(text.encode()).hexdigest()}"


#: A generation of the store (a folder per environment: bpcheck's sources, JAX, the CPU) unused
#: for this long is removed when another generation is first used.
UNUSED_DAYS = 14


@cache
def _generation() -> str:
    """This environment's folder in the store; older generations unused for UNUSED_DAYS go."""
    generation = hashlib.sha256(_environment().encode()).hexdigest()[:24]
    try:
        for folder in FOLDER.iterdir():
            if folder.name != generation and folder.is_dir() and (
                    time.time() - folder.stat().st_mtime > UNUSED_DAYS * 86400):
                shutil.rmtree(folder, ignore_errors=True)
        (FOLDER / generation).mkdir(parents=True, exist_ok=True)
        os.utime(FOLDER / generation)  # in use
    except OSError:
        pass
    return generation


def _read(name: str | None) -> Any:
    if name is None:
        return None
    try:
        return pickle.loads((FOLDER / name).read_bytes())
    except Exception:  # absent, truncated or stale: compile again, and replace it
        return None


def _write(name: str | None, value: Any) -> None:
    """Keep ``value`` under ``name``; a store that cannot be written (read-only, full) is skipped
    silently: it only saves time."""
    if name is None:
        return
    temporary = None
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        (FOLDER / name).parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=(FOLDER / name).parent, prefix=".partial-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, FOLDER / name)
    except Exception:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def compile_storable(lowered: Any) -> Any:
    """``lowered`` compiled afresh, bypassing JAX's persistent cache: an executable that came out
    of that cache serializes into one that cannot run (jaxlib 0.10: "NOT_FOUND: Function
    add_subtract_fusion not found" at its first call)."""
    enabled = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", False)
    try:
        return lowered.compile()
    finally:
        jax.config.update("jax_enable_compilation_cache", enabled)


def load_executable(name: str | None) -> Callable[..., Any] | None:
    """The stored executable, loaded and ready to call, or None."""
    stored = _read(name)
    if stored is None:
        return None
    from jax.experimental.serialize_executable import deserialize_and_load

    try:
        executable = deserialize_and_load(*stored)
    except Exception:  # built by another jaxlib or for another machine despite the key
        return None
    COUNTS["loaded"] += 1
    return executable


def save_executable(name: str | None, compiled: Any) -> None:
    if name is not None:
        from jax.experimental.serialize_executable import serialize

        _write(name, serialize(compiled))
        COUNTS["stored"] += 1


def load_value(name: str | None) -> Any:
    """A stored plain value (an output shape), or None."""
    return _read(name)


def save_value(name: str | None, value: Any) -> None:
    _write(name, value)
