"""The Python API: the verdicts of ``bpcheck check`` from a test suite or a notebook.

>>> import bpcheck
>>> verdict = bpcheck.check("cs231n/layers.py")          # a file, a module, or manual/ (None)
>>> verdict.passed, verdict["affine_backward"].status
>>> bpcheck.assert_passes("cs231n/layers.py", only="affine")   # AssertionError with the report

>>> def swish_forward(x): ...
>>> def swish_backward(dout, cache): ...
>>> bpcheck.check_pair(swish_forward, swish_backward, reference=lambda x: x * jax.nn.sigmoid(x))

Every call loads its target afresh (a module edited under ``%autoreload``, a file saved since the
last call), runs the battery in this process by default (``jobs=1``; a file can use worker
processes), and returns a ``Verdict``: per function its status, worst errors, failures with their
diagnosis and a repro line; ``report()`` is its text.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Mapping

from bpcheck.battery.target import Target, file_target, module_target, run_target, target_of
from bpcheck.battery.verdict import Verdict
from bpcheck.implementation import Implementation
from bpcheck.layer import Layer
from bpcheck.loader import LoadError, load, one_array_sample, protocol_problems
from bpcheck.profiles import DEFAULT_EXAMPLES
from bpcheck.tiers import TIERS, check_tier

__all__ = ["check", "check_pair", "assert_passes", "LoadError"]


def _tiers(tier: str) -> tuple[str, ...]:
    return TIERS if tier == "both" else (check_tier(tier),)


def _target(target: Any, numpy_aliases: bool = False) -> Target:
    if target is None:
        return target_of(None)
    if isinstance(target, (str, Path)):
        # afresh: the file may have changed since the last call
        return file_target(load(target, numpy_aliases=numpy_aliases), str(target))
    if isinstance(target, ModuleType):
        return module_target(target)
    if isinstance(target, Mapping):
        impl = Implementation("functions given", dict(target))
        return Target(impl.label, impl, target_of(None).layers,
                      protocol_problems(impl, target_of(None).layers), portable=False)
    raise TypeError(f"bpcheck.check() takes a path, a module or a dict of functions (or None for "
                    f"manual/), not {type(target).__name__}")


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (Jupyter, JupyterLab, VS Code, Colab)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


@contextlib.contextmanager
def _progress(show: bool | None) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress callback for ``run_target``: in a notebook an HTML bar updated in place (no
    widget library needed: Colab and plain Jupyter both update a display by its id), in a
    terminal rich's bar on stderr; ``show`` None means "in a notebook or a terminal"."""
    notebook = in_notebook()
    if show is False or (show is None and not notebook and not sys.stderr.isatty()):
        yield None
        return
    if notebook:
        from IPython.display import HTML, display

        from bpcheck.battery.render import progress_html

        started = time.perf_counter()
        handle = display(HTML(progress_html("…", 0, 0)), display_id=True)
        last = [0]

        def update(layer: str, done: int, total: int) -> None:
            last[0] = done
            handle.update(HTML(progress_html(layer, done, total)))

        try:
            yield update
        finally:
            handle.update(HTML(f'<div class="bpcheck-progress" style="font-family: system-ui, '
                               f'sans-serif; font-size: 13px">checked {last[0]} '
                               f'layer{"s" * (last[0] != 1)} in '
                               f'{time.perf_counter() - started:.1f} s</div>'))
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True)
    with bar:
        task = bar.add_task("checking", total=None)
        yield lambda layer, done, total: bar.update(task, description=f"checked {layer}",
                                                    completed=done, total=total)


def check(target: str | Path | ModuleType | Mapping[str, Callable[..., Any]] | None = None, *,
          examples: int = DEFAULT_EXAMPLES, only: str | list[str] | None = None,
          tier: str = "float64", jobs: int | None = 1, shrink: bool = True,
          profile: str | None = None, progress: bool | None = None,
          numpy_aliases: bool = False) -> Verdict:
    """Check every protocol function ``target`` defines and return the verdict.

    target: a path to a layers.py, an imported module, a dict {protocol name: function}, or None
        for bpcheck's own manual/.
    examples: examples per layer, each through every check. only: layer or function names (a
        list, or comma-separated). tier: "float64", "float32" or "both". jobs: worker processes
        (None: one per core; only a file can be sent to workers). shrink: find the smallest
        failing example (slower on failure). profile: the hypothesis profile (dev, ci, thorough).
        progress: show a progress bar (default: in a notebook, or a terminal's stderr).
        numpy_aliases: for a file, give NumPy back the aliases 1.24 removed (np.int, np.float …)
        first, each the builtin it was (``bpcheck check --numpy-aliases``; see bpcheck.legacy).
    Raises LoadError when the file cannot be loaded, ValueError for an unknown name in ``only``.
    """
    resolved = _target(target, numpy_aliases)
    with _progress(progress) as callback:
        return run_target(resolved, examples=examples, only=only, tiers=_tiers(tier),
                          shrink=shrink, jobs=jobs, profile=profile, progress=callback)


def check_pair(forward: Callable[..., Any], backward: Callable[..., Any] | None = None, *,
               reference: Callable[..., Any], sample: Callable[..., tuple[Any, ...]] | None = None,
               name: str | None = None, examples: int = DEFAULT_EXAMPLES, tier: str = "float64",
               shrink: bool = True, profile: str | None = None, progress: bool | None = None,
               **record: Any) -> Verdict:
    """Check one forward/backward pair — or a loss, ``forward`` alone returning (loss, grads) —
    against its JAX twin ``reference`` (same arguments as the forward, returning its value).

    sample(dims, values): the forward's arguments (default: one array x of shape (N, ...), as
        for an activation). name: the layer's name (default: the forward's, less ``_forward``).
    record: further ``Layer`` fields (differentiable, batched, kinks, magnitudes, outputs, dims,
        writes, backward_in, observed, properties, tolerance; see bpcheck.layer).
    """
    if name is None:
        name = forward.__name__.removesuffix("_forward")
    is_loss = backward is None
    if is_loss and not name.endswith("_loss"):
        raise ValueError(f"a forward without a backward is a loss, whose name ends in _loss "
                         f"(got {name!r}): pass name='..._loss' or the backward")
    layer = Layer(name, reference, sample or one_array_sample, **record)
    functions = {layer.forward_name: forward}
    if backward is not None:
        functions[layer.backward_name] = backward
    impl = Implementation(name, functions)
    target = Target(name, impl, (layer,), protocol_problems(impl, (layer,)), portable=False)
    with _progress(progress) as callback:
        return run_target(target, examples=examples, tiers=_tiers(tier), shrink=shrink, jobs=1,
                          profile=profile, progress=callback)


def assert_passes(target: Any = None, **options: Any) -> Verdict:
    """``check(target, **options)``, raising AssertionError with the report unless it passed
    (warnings and missing functions pass). For a project's own tests."""
    verdict = check(target, **options)
    if not verdict.passed:
        raise AssertionError(verdict.report())
    return verdict
