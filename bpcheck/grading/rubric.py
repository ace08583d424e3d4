"""What a grade is made of: points per function, weight and visibility per check, limits.

A rubric is a TOML file; every key is optional::

    examples = 100                 # examples per layer, each through every check
    [points]                       # the functions graded and their points; absent: every
    affine_forward = 1             # protocol function, 1 point each
    affine_backward = 3
    [checks.vjp]                   # per check: its share of a function's points, and whether
    weight = 4                     # students see it ("visible", "hidden", "after_due_date",
    visibility = "visible"         # "after_published": Gradescope's values)
    values_first = true            # protocol checks earn nothing while the values are wrong
    [limits]                       # the sandbox's limits (see bpcheck.sandbox.Limits)
    call_seconds = 10
    [gradescope]                   # how results.json is shown (bpcheck.grading.gradescope)
    output_format = "md"           # "text" (default) or "md" (Markdown)
    stdout_visibility = "hidden"   # whether students see run_autograder's output
    leaderboard = false            # score and functions right as leaderboard columns

A function's points are split over the checks that judge it in proportion to their weights, so a
backward that matches jax.vjp but modifies dout in place keeps most of its points. With
``values_first`` (the default) the reverse does not hold: a gradient that is wrong earns nothing
for having the right shape or leaving its inputs alone.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from bpcheck.battery.checks import BATTERY, Check, checks_for
from bpcheck.layer import Layer
from bpcheck.grading.gradescope import OUTPUT_FORMATS, STDOUT_VISIBILITIES, Presentation
from bpcheck.grading.sandbox import Limits

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
DEFAULT_WEIGHTS = {"forward": 1.0, "vjp": 4.0, "finite_differences": 2.0, "shapes": 1.0,
                   "no_mutation": 1.0, "linearity": 1.0, "batch": 1.0, "properties": 1.0}
DEFAULT_EXAMPLES = 30  # per layer: caught every planted mistake in 16 seeds (20 missed one)


class RubricError(Exception):
    """A rubric that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Rubric:
    points: dict[str, float] | None = None  # None: every protocol function, 1 point each
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    visibility: dict[str, str] = field(default_factory=dict)  # check -> visibility
    examples: int = DEFAULT_EXAMPLES
    limits: Limits = Limits()
    values_first: bool = True
    presentation: Presentation = Presentation()  # the [gradescope] table

    def functions(self, layers: tuple[Layer, ...]) -> list[tuple[str, Layer]]:
        """(function, layer) for every graded function, in registry order; a function two
        records share (batchnorm_forward, the forward of batchnorm_backward_alt too) once."""
        seen: set[str] = set()
        graded = [(name, layer) for layer in layers for name in layer.functions
                  if not (name in seen or seen.add(name))]
        if self.points is None:
            return graded
        return [(name, layer) for name, layer in graded if name in self.points]

    def points_of(self, function: str) -> float:
        return 1.0 if self.points is None else self.points[function]

    def tests_of(self, function: str, layer: Layer) -> list[tuple[Check, float, str]]:
        """(check, max score, visibility) for each check that judges ``function``."""
        judged = [c for c in checks_for(layer) if c.function(layer) == function]
        total = sum(self.weights[c.name] for c in judged) or 1.0
        return [(c, self.points_of(function) * self.weights[c.name] / total,
                 self.visibility.get(c.name, "visible")) for c in judged]


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RubricError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: not valid TOML: {exc}") from None


def _merged(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``: tables merged key by key (a check's table too)."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def load(path: Path | None, layers: tuple[Layer, ...], preset: Path | None = None) -> Rubric:
    """The rubric in ``path`` (None: the default one), on top of an assignment's ``preset``
    (a rubric file too: ``bpcheck.grading.presets``), checked against the protocol."""
    if path is None and preset is None:
        return Rubric()
    data = _merged(_read(preset) if preset is not None else {},
                   _read(path) if path is not None else {})
    path = path if path is not None else preset
    unknown = set(data) - {"examples", "points", "checks", "limits", "values_first", "gradescope"}
    if unknown:
        raise RubricError(f"{path}: unknown key {sorted(unknown)[0]!r} (known: examples, points, "
                          f"checks, limits, values_first, gradescope)")
    values_first = data.get("values_first", True)
    if not isinstance(values_first, bool):
        raise RubricError(f"{path}: values_first must be true or false")
    protocol = {name for layer in layers for name in layer.functions}
    points = data.get("points")
    if points is not None:
        if not isinstance(points, dict) or not points:
            raise RubricError(f"{path}: [points] must map function names to points")
        for name, value in points.items():
            if name not in protocol:
                raise RubricError(f"{path}: [points] {name!r} is not a protocol function")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise RubricError(f"{path}: [points] {name} must be a number ≥ 0")
        points = {k: float(v) for k, v in points.items()}
    weights, visibility = dict(DEFAULT_WEIGHTS), {}
    for check, spec in (data.get("checks") or {}).items():
        if check not in DEFAULT_WEIGHTS or not isinstance(spec, dict):
            raise RubricError(f"{path}: [checks.{check}]: unknown check (known: "
                              f"{', '.join(c.name for c in BATTERY)})")
        if "weight" in spec:
            weight = spec["weight"]
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
                raise RubricError(f"{path}: [checks.{check}] weight must be a number ≥ 0")
            weights[check] = float(weight)
        if "visibility" in spec:
            if spec["visibility"] not in VISIBILITIES:
                raise RubricError(f"{path}: [checks.{check}] visibility must be one of "
                                  f"{', '.join(VISIBILITIES)}")
            visibility[check] = spec["visibility"]
        if set(spec) - {"weight", "visibility"}:
            raise RubricError(f"{path}: [checks.{check}] takes weight and visibility only")
    examples = data.get("examples", DEFAULT_EXAMPLES)
    if not isinstance(examples, int) or isinstance(examples, bool) or examples < 1:
        raise RubricError(f"{path}: examples must be a whole number ≥ 1")
    limit_names = {f.name for f in fields(Limits)}
    limits = data.get("limits") or {}
    for key, value in limits.items():
        if key not in limit_names:
            raise RubricError(f"{path}: [limits] unknown key {key!r} (known: "
                              f"{', '.join(sorted(limit_names))})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise RubricError(f"{path}: [limits] {key} must be a number > 0")
    return Rubric(points, weights, visibility, examples, Limits(**limits), values_first,
                  _presentation(path, data.get("gradescope") or {}))


def _presentation(path: Path, table) -> Presentation:
    """The ``[gradescope]`` table, checked."""
    if not isinstance(table, dict):
        raise RubricError(f"{path}: [gradescope] must be a table")
    known = {f.name for f in fields(Presentation)}
    for key in table:
        if key not in known:
            raise RubricError(f"{path}: [gradescope] unknown key {key!r} (known: "
                              f"{', '.join(sorted(known))})")
    for key, allowed in (("output_format", OUTPUT_FORMATS),
                         ("stdout_visibility", STDOUT_VISIBILITIES)):
        if key in table and table[key] not in allowed:
            raise RubricError(f"{path}: [gradescope] {key} must be one of {', '.join(allowed)}")
    if not isinstance(table.get("leaderboard", False), bool):
        raise RubricError(f"{path}: [gradescope] leaderboard must be true or false")
    return Presentation(**table)
