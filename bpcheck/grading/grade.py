"""Grade submissions: the battery on each one, run in a sandbox, scored by a rubric.

One submission is a folder holding ``layers.py`` or a single ``.py`` file. Its functions run only
in a sandboxed child (``bpcheck.grading.sandbox``); the references, comparisons, scoring and every
file written happen here, in the grader. ``grade_submission`` returns the submission's document in
Gradescope's ``results.json`` schema (plus ``extra_data.bpcheck``: seed, isolation, per-function
status and diagnoses); ``grade_all`` grades a folder of them, in parallel, skipping what is already
graded.

The batch is kept apart from each submission: without OS isolation it refuses to start (unless
``allow_weak``); each submission gets its own sandbox (scratch folder, uid, child) that ends with
it; a worker that dies has the submissions it held regraded one at a time, each in a worker of its
own, so that only the one that kills its worker is blamed; a submission whose name is one of the
class report's files keeps its results in ``OUT/__<name>``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpcheck import __version__, package, profiles, workers
from bpcheck.battery.checks import checks_available
from bpcheck.registry import REGISTRY
from bpcheck.grading.rubric import Rubric
from bpcheck.battery.checks import VALUE_CHECKS
from bpcheck.battery.runner import CheckRun, run_checks
from bpcheck.grading.report import CLASS_FILES
from bpcheck.grading import copies, shards
from bpcheck.grading.gradescope import present
from bpcheck.grading.sandbox import Sandbox, process
from bpcheck.grading.sandbox.session import IsolationUnavailable, refusal

RESULTS = "results.json"


class GradeError(Exception):
    """SUBMISSIONS or OUT cannot be used (exit status 2)."""


def entries(submissions: Path) -> tuple[list[Path], list[str]]:
    """The submissions in a folder (sub-folders, .py files and zips of the course's package),
    and what was ignored."""
    if not submissions.is_dir():
        raise GradeError(f"{submissions}: not a folder of submissions")
    found, ignored = [], []
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith((".", "__")):
            continue
        if entry.is_dir() or (entry.is_file() and entry.suffix in (".py", ".zip")):
            found.append(entry)
        else:
            ignored.append(entry.name)
    return found, ignored


def platform_entry(folder: Path) -> Path:
    """What to grade in the folder a platform gives one submission (Gradescope's
    /autograder/submission, PrairieLearn's /grade/student): the folder when it holds layers.py,
    else its one .py file if it has exactly one, else the folder (reported as holding no
    layers.py)."""
    if (folder / "layers.py").is_file():
        return folder
    files = sorted(folder.rglob("*.py"))
    return files[0] if len(files) == 1 else folder


def submission_name(entry: Path) -> str:
    return entry.stem if entry.is_file() else entry.name


def results_path(out: Path, name: str) -> Path:
    """Where a submission's results.json goes: ``OUT/<name>/``, or ``OUT/__<name>/`` for a name
    that is one of the class report's files (no submission's name starts with ``__``)."""
    return out / (f"__{name}" if name in CLASS_FILES else name) / RESULTS


def check_isolation(allow_weak: bool) -> None:
    """GradeError (one sentence: why, and how to fix it) when submissions cannot be isolated by
    the operating system here and weak isolation was not accepted."""
    isolated = process.isolation()
    if not isolated.full and not allow_weak:
        raise GradeError(refusal(isolated))


def submission_seed(seed: int, name: str) -> int:
    """A seed per submission from the class seed and its name: a regrade sees the same examples."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:4], "little")


def protected_folders(*extra: Path) -> tuple[Path, ...]:
    """Folders a submission may not read: the project's solution, engine and tests, and ``extra``
    (the other submissions, the output)."""
    folders = [Path(p).resolve() for p in extra]
    for package in ("manual", "reference", "bpcheck"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            folders.extend(Path(p).resolve() for p in spec.submodule_search_locations)
    project = Path(__file__).resolve().parent.parent.parent
    folders.extend(_git_folders(project))  # a source checkout's history holds the solution
    if (project / "tests").is_dir():
        folders.append(project / "tests")
    return tuple(dict.fromkeys(folders))


def _git_folders(project: Path) -> list[Path]:
    """The repository folders of a checkout at ``project``: its .git, or for a worktree (whose
    .git is a file naming it) the worktree's folder and the repository's own .git."""
    dot_git = project / ".git"
    if dot_git.is_dir():
        return [dot_git]
    try:
        named = dot_git.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return []
    if not named.startswith("gitdir:"):
        return []
    worktree = (project / named.partition(":")[2].strip()).resolve()
    return [dot_git, worktree, worktree.parent.parent]


@dataclass
class _Outcome:
    """What grading found for one function."""
    status: str
    message: str = ""
    runs: dict[str, CheckRun] | None = None


def _source(entry: Path) -> tuple[Path | None, str | None]:
    if package.holds_package(entry):  # the course's package (or its zip): staged with its entry
        try:
            return package.stage(entry, REGISTRY), None
        except package.PackageError as exc:
            return None, str(exc)
    if entry.is_file():
        return entry, None
    try:
        info = os.lstat(entry / "layers.py")
    except OSError:
        return None, f"{entry.name}/ holds no layers.py"
    if stat.S_ISREG(info.st_mode):
        return entry, None
    kind = "a symbolic link (links are never followed)" if stat.S_ISLNK(info.st_mode) else (
        "not a regular file")
    return None, f"{entry.name}/layers.py is {kind}"


def grade_submission(entry: Path, rubric: Rubric, seed: int,
                     forbidden_reads: tuple[Path, ...] = (), name: str | None = None,
                     allow_weak: bool = False) -> dict[str, Any]:
    """The results.json document for one submission (``name``, which its seed derives from,
    defaults to the entry's name). IsolationUnavailable when the child cannot be isolated here
    and ``allow_weak`` is false."""
    started = time.perf_counter()
    profiles.load()  # no deadline: a first example includes a JAX compilation
    name = name or submission_name(entry)
    own_seed = submission_seed(seed, name)
    graded = rubric.functions(REGISTRY)
    layers = list(dict.fromkeys(layer for _, layer in graded))
    outcomes: dict[str, _Outcome] = {}
    isolation: dict[str, Any] = {}
    skipped: list[str] = []
    stand_ins: list[str] = []
    path, load_error = _source(entry)
    if path is not None:
        with Sandbox(path, REGISTRY, rubric.limits, forbidden_reads, allow_weak) as sandbox:
            isolation, load_error, skipped = sandbox.isolation, sandbox.load_error, sandbox.skipped
            stand_ins = [m.describe() for m in sandbox.stand_ins]
            if load_error is None:
                outcomes = _run(sandbox, layers, rubric, own_seed)
    if load_error is not None:
        outcomes = {f: _Outcome("error", f"the file could not be loaded: {load_error}")
                    for f, _ in graded}
    document = _document(name, own_seed, rubric, graded, outcomes, load_error, isolation,
                         time.perf_counter() - started)
    # modules it imports that are not available in the sandbox (see bpcheck.standins)
    document["extra_data"]["bpcheck"]["stand_ins"] = stand_ins
    # its functions' syntax-tree fingerprints, for the class report's possible copies
    document["extra_data"]["bpcheck"]["fingerprints"] = (
        copies.fingerprints(entry if path is None else path))
    if stand_ins and load_error is None:
        document["output"] += (" Not available here, so loaded as stand-ins that fail when "
                               f"used: {', '.join(stand_ins)}.")
    if skipped:
        document["extra_data"]["bpcheck"]["not_copied"] = skipped
        document["output"] += (f"\nNot copied into the sandbox: {'; '.join(skipped[:10])}"
                               f"{' …' if len(skipped) > 10 else ''}.")
    return present(document, rubric.presentation)


def _run(sandbox: Sandbox, layers, rubric: Rubric, seed: int) -> dict[str, _Outcome]:
    impl, problems = sandbox.impl, sandbox.problems
    outcomes = {}
    for layer in layers:
        checks = checks_available(layer, impl, problems)
        runs: dict[str, CheckRun] = {}
        crash = None
        if checks:
            try:
                found = run_checks(layer, impl, checks, max_examples=rubric.examples,
                                   random_seed=submission_seed(seed, layer.name))
                runs = {run.check: run for run in found}
            except Exception as exc:  # hypothesis gave up on it (e.g. flaky behaviour)
                crash = f"grading could not finish: {type(exc).__name__}: {exc}"
        for function in layer.functions:
            if function not in impl.functions:
                outcomes[function] = _Outcome("missing", f"{function} is not defined")
            elif function in problems:
                outcomes[function] = _Outcome("error", problems[function])
            elif crash is not None:
                outcomes[function] = _Outcome("error", crash)
            else:
                outcomes[function] = _Outcome("graded", runs=runs)
    return outcomes


def _test(function: str, check, max_score: float, visibility: str,
          outcome: _Outcome) -> dict[str, Any]:
    title = f"{function}: {check.title}"
    if outcome.status != "graded":
        return _entry(title, 0.0, max_score, outcome.message, visibility)
    run = (outcome.runs or {}).get(check.name)
    if run is None:
        return _entry(title, 0.0, max_score, "could not run: a function it needs is missing or "
                      "unusable", visibility)
    failure = run.failure
    if failure is not None and failure.function == function:
        lines = [failure.message]
        if failure.example is not None:
            lines += [f"example: {failure.example.shapes()}",
                      f"reproduce: {failure.example.reproduce()}"]
        return _entry(title, 0.0, max_score, "\n".join(lines), visibility, failure.diagnosis)
    note = f"passed on {run.passed} examples"
    if run.warning is not None:
        note += f"; note: {run.warning.message}"
    if failure is not None:
        note += f" (this check failed in {failure.function}, which is scored there)"
    return _entry(title, max_score, max_score, note, visibility)


def _entry(name, score, max_score, output, visibility, diagnosis=None) -> dict[str, Any]:
    entry = {"name": name, "score": round(score, 6), "max_score": round(max_score, 6),
             "status": "passed" if score >= max_score else "failed", "output": output,
             "visibility": visibility}
    if diagnosis:
        entry["extra_data"] = {"diagnosis": diagnosis}
    return entry


def _values_first(tests: list[dict[str, Any]], checks: list[str]) -> None:
    """No points for a function's protocol checks while its values are wrong."""
    wrong = [t for t, c in zip(tests, checks) if c in VALUE_CHECKS and t["status"] == "failed"]
    if not wrong:
        return
    for test, check in zip(tests, checks):
        if check not in VALUE_CHECKS and test["score"] > 0:
            test["score"], test["status"] = 0.0, "failed"
            test["output"] += ("\nno points while the values are wrong (see "
                               f"{wrong[0]['name'].partition(': ')[2]})")


def _document(name, seed, rubric, graded, outcomes, load_error, isolation, elapsed):
    tests, functions = [], {}
    for function, layer in graded:
        outcome = outcomes.get(function, _Outcome("error", "not graded"))
        specs = rubric.tests_of(function, layer)
        own = [_test(function, check, points, visibility, outcome)
               for check, points, visibility in specs]
        if rubric.values_first:
            _values_first(own, [check.name for check, _, _ in specs])
        tests.extend(own)
        failed = [t for t in own if t["status"] == "failed"]
        warned = outcome.runs and any(
            r.warning is not None for r in outcome.runs.values() if r.function == function)
        status = (outcome.status if outcome.status != "graded" else
                  "failed" if failed else "warning" if warned else "passed")
        functions[function] = {
            "status": status,
            "score": round(sum(t["score"] for t in own), 6),
            "max_score": round(sum(t["max_score"] for t in own), 6),
            "diagnoses": sorted({t["extra_data"]["diagnosis"] for t in failed
                                 if "extra_data" in t}),
        }
    score = sum(t["score"] for t in tests)
    total = sum(t["max_score"] for t in tests)
    counts = {s: sum(f["status"] == s for f in functions.values())
              for s in ("passed", "warning", "failed", "error", "missing")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    output = (f"bpcheck {__version__}: {score:.2f} / {total:.2f} points ({summary}). "
              f"Each function was checked against jax.vjp and finite differences on up to "
              f"{rubric.examples} random examples (seed {seed}).")
    if load_error:
        output = f"Your file could not be loaded: {load_error}\n{output}"
    return {
        "score": round(score, 6), "execution_time": round(elapsed, 3), "output": output,
        "visibility": "visible", "tests": tests,
        "extra_data": {"bpcheck": {"version": __version__, "submission": name, "seed": seed,
                                   "load_error": load_error, "isolation": isolation,
                                   "examples": rubric.examples, "functions": functions}},
    }


def write_results(path: Path, document: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(partial, path)


def _grade_one(entry: Path, out: Path, rubric: Rubric, seed: int,
               forbidden: tuple[Path, ...], allow_weak: bool) -> tuple[str, dict[str, Any]]:
    """Grade and write one submission (in a worker); never raises."""
    name = submission_name(entry)
    try:
        document = grade_submission(entry, rubric, seed, forbidden, allow_weak=allow_weak)
    except IsolationUnavailable as exc:
        document = _failed_document(name, str(exc))
    except Exception as exc:  # a bug of the grader: recorded, the batch goes on
        document = _failed_document(name, f"{type(exc).__name__}: {exc}\n"
                                          f"{traceback.format_exc(limit=5)}")
    write_results(results_path(out, name), document)
    return name, document


def _failed_document(name: str, why: str) -> dict[str, Any]:
    return {"score": 0.0, "execution_time": 0.0, "visibility": "visible", "tests": [],
            "output": f"bpcheck could not grade this submission: {why}",
            "extra_data": {"bpcheck": {"version": __version__, "submission": name,
                                       "load_error": f"grading failed: {why}", "functions": {}}}}


def grade_all(submissions: Path, out: Path, rubric: Rubric, *, jobs: int = 1, seed: int = 0,
              force: bool = False, progress: Callable[[str, int, int], None] | None = None,
              allow_weak: bool = False, grader: Callable = _grade_one,
              shard: shards.Shard | None = None,
              ) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
    """Grade every submission not yet graded (all with ``force``) and write its results.json.

    With ``shard``, only that shard's share (``bpcheck.grading.shards``), and then its manifest.
    Refuses (GradeError) when submissions cannot be isolated by the operating system here, unless
    ``allow_weak``. ``grader`` grades one entry in a worker (a test replaces it). Returns
    (documents of every submission graded, names graded now, entries ignored).
    """
    found, ignored = entries(submissions)
    check_isolation(allow_weak)
    names = [submission_name(e) for e in found]
    clashes = {n for n in names if names.count(n) > 1}
    if clashes:
        raise GradeError(f"two submissions would share the name {sorted(clashes)[0]!r} "
                         f"(a folder and a .py file?)")
    if shard is not None:
        share = set(shard.share(names))
        found = [e for e in found if submission_name(e) in share]
    out.mkdir(parents=True, exist_ok=True)
    forbidden = protected_folders(submissions, out)
    documents, todo = {}, []
    for entry in found:
        existing = results_path(out, submission_name(entry))
        if existing.is_file() and not force:
            try:
                documents[submission_name(entry)] = json.loads(existing.read_text())
                continue
            except ValueError:
                pass  # a broken earlier result: grade again
        todo.append(entry)
    done = [0]

    def finished(name: str, document: dict[str, Any]) -> None:
        documents[name] = document
        done[0] += 1
        if progress:
            progress(name, done[0], len(todo))

    arguments = (out, rubric, seed, forbidden, allow_weak)
    if jobs <= 1 or len(todo) <= 1:
        for entry in todo:
            finished(*grader(entry, *arguments))
    else:
        suspects = _in_workers(todo, jobs, grader, arguments, finished)
        for entry in suspects:  # one at a time, each alone in a worker: only a culprit dies
            if _in_workers([entry], 1, grader, arguments, finished):
                name = submission_name(entry)
                document = _failed_document(name, "the grading worker died while grading this "
                                                  "submission alone")
                write_results(results_path(out, name), document)
                finished(name, document)
    graded_now = [submission_name(e) for e in todo]
    if shard is not None:
        shards.write_manifest(out, shard, shards.manifest(
            shard, __version__, rubric, seed, names, sorted(documents), ignored))
    return documents, graded_now, ignored


def _in_workers(todo: list[Path], jobs: int, grader: Callable, arguments: tuple,
                finished: Callable[[str, dict[str, Any]], None]) -> list[Path]:
    """Grade ``todo`` in ``jobs`` worker processes, handing each worker one submission at a
    time. When a worker dies, the submissions the pool held then are returned (suspects, to be
    regraded one at a time) and the others go on in a new pool."""
    queue, suspects = deque(todo), []
    context = workers.context()
    while queue:
        running: dict[Any, Path] = {}
        with ProcessPoolExecutor(min(jobs, len(queue)), mp_context=context) as pool:
            broken = False
            while (queue or running) and not broken:
                while queue and len(running) < jobs:
                    entry = queue.popleft()
                    running[pool.submit(grader, entry, *arguments)] = entry
                ready, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in ready:
                    entry = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:  # a worker died: every submission it held is
                        suspects.append(entry)  # a suspect
                        broken = True
                        continue
                    finished(*result)
            suspects.extend(running.values())
    return suspects
