"""The grading commands: ``bpcheck grade``, ``bpcheck gradescope``, ``bpcheck gradescope-bundle``.

``grade`` grades a folder of submissions into OUT (results.json each, summary.csv, report.md);
``gradescope`` grades the one submission Gradescope gives a container; ``gradescope-bundle``
writes the zip an instructor uploads. Exit status 2 for a usage error (a missing folder, a bad
rubric, no OS isolation without ``--allow-weak-isolation``), else 0: a submission's failures are
its grade, not the command's. Text a submission chose (its name, its error messages) is shown
with its control characters escaped.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

GRADESCOPE = Path("/autograder")
WEAK_HELP = ("grade even where bubblewrap cannot isolate the child (a uid of its own when root, "
             "and the audit hook): it does not stop a submission from reading what its uid may "
             "read, such as the solution or classmates' work (see README)")


def _rubric(path: Path | None, console: Console, assignment: str | None = None):
    from bpcheck.registry import REGISTRY
    from bpcheck.grading import presets
    from bpcheck.grading.rubric import RubricError, load

    try:
        preset = presets.path_of(assignment) if assignment else None
        return load(path, REGISTRY, preset)
    except RubricError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return None


def _shown(text: str, limit: int | None = None) -> str:
    """A submission's text, safe for the terminal and for rich's markup."""
    from bpcheck.grading.text import printable

    text = printable(text, keep_newlines=False)
    return escape(text if limit is None else text[:limit])


def cmd_grade(args: argparse.Namespace, console: Console) -> int:
    from bpcheck.grading.grade import GradeError, grade_all
    from bpcheck.grading.report import write_class_report

    rubric = _rubric(args.rubric, console, args.assignment)
    if rubric is None:
        return 2
    if args.jobs < 1:
        console.print("[red]error:[/] --jobs must be at least 1")
        return 2
    if args.out.resolve() == args.submissions.resolve() or args.submissions.resolve() in (
            args.out.resolve().parents):
        console.print("[red]error:[/] --out must not be inside SUBMISSIONS")
        return 2
    started = time.perf_counter()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True)
    try:
        with progress:
            task = progress.add_task("grading", total=None)

            def advance(name: str, done: int, total: int) -> None:
                progress.update(task, total=total, completed=done,
                                description=f"graded {_shown(name, 40)}")

            documents, graded_now, ignored = grade_all(
                args.submissions, args.out, rubric, jobs=args.jobs, seed=args.seed,
                force=args.force, progress=advance, allow_weak=args.allow_weak_isolation)
    except GradeError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    elapsed = time.perf_counter() - started
    written = write_class_report(args.out, documents)
    table = Table(title=f"bpcheck grade: {args.submissions}")
    counted = ("passed", "failed", "missing")
    for column in ("submission", "score", *counted, "note"):
        table.add_column(column, justify="right" if column == "score" or column in counted
                         else "left")
    for name in sorted(documents):
        document = documents[name]
        data = (document.get("extra_data") or {}).get("bpcheck") or {}
        functions = data.get("functions") or {}
        total = sum(f.get("max_score", 0) for f in functions.values())
        statuses = [f.get("status") for f in functions.values()]
        passed = sum(s in ("passed", "warning") for s in statuses)
        missing = statuses.count("missing")
        note = ("skipped: graded before (--force to regrade)" if name not in graded_now else
                str(data.get("load_error") or ""))
        table.add_row(_shown(name), f"{document.get('score', 0):.2f}/{total:g}", str(passed),
                      str(len(statuses) - passed - missing), str(missing), _shown(note, 60))
    console.print(table)
    isolation = next((((d.get("extra_data") or {}).get("bpcheck") or {}).get("isolation")
                      for n, d in documents.items() if n in graded_now), None)
    if isinstance(isolation, dict) and isinstance(isolation.get("summary"), str):
        console.print(f"[dim]isolation: {escape(isolation['summary'])}[/]")
    if ignored:
        console.print(f"[dim]ignored (not a folder or .py file): "
                      f"{', '.join(_shown(i) for i in ignored)}[/]")
    rate = len(graded_now) / elapsed * 60 if graded_now and elapsed > 0 else 0.0
    console.print(f"graded {len(graded_now)} submission(s) in {elapsed:.1f} s ({rate:.1f} per "
                  f"minute, {args.jobs} job(s)); wrote {', '.join(str(p) for p in written)}")
    return 0


def cmd_gradescope(args: argparse.Namespace, console: Console) -> int:
    from bpcheck.grading.grade import grade_submission, protected_folders, write_results
    from bpcheck.grading.sandbox.session import IsolationUnavailable

    rubric = _rubric(args.rubric, console)
    if rubric is None:
        return 2
    submission = args.submission
    if not submission.is_dir():
        console.print(f"[bold red]error:[/] {submission}: no submission folder")
        return 2
    entry = submission
    if not (submission / "layers.py").is_file():
        files = sorted(submission.rglob("*.py"))
        entry = files[0] if len(files) == 1 else submission
    name = "submission"
    metadata = submission.parent / "submission_metadata.json"
    try:
        users = json.loads(metadata.read_text()).get("users") or []
        name = str(users[0].get("email") or users[0].get("name") or name)
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        pass
    forbidden = protected_folders(args.results.parent)
    try:
        document = grade_submission(entry, rubric, args.seed, forbidden, name=name,
                                    allow_weak=args.allow_weak_isolation)
    except IsolationUnavailable as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    write_results(args.results, document)
    console.print(f"score {document['score']:.2f}; results written to {args.results}")
    return 0


def cmd_bundle(args: argparse.Namespace, console: Console) -> int:
    from bpcheck.grading.bundle import write_bundle

    if args.rubric is not None and _rubric(args.rubric, console) is None:
        return 2
    root = Path(__file__).resolve().parent.parent
    try:
        path = write_bundle(args.zip, root, args.rubric)
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    console.print(f"wrote {path}: upload it as the autograder of a Gradescope programming "
                  f"assignment")
    return 0


def add_commands(commands) -> None:
    grade = commands.add_parser("grade", help="grade a folder of submissions in a sandbox")
    grade.add_argument("submissions", type=Path,
                       help="a folder: each sub-folder holding layers.py, or each .py file, is one "
                            "submission")
    grade.add_argument("--out", type=Path, required=True, help="where results go")
    grade.add_argument("--rubric", type=Path, default=None, help="a rubric (TOML; see README)")
    grade.add_argument("--assignment", default=None, metavar="PRESET",
                       help="grade an assignment by its preset rubric (cs231n-a1, cs231n-a2, "
                            "cs231n-a3, or a year's: see docs/grading/presets.md); --rubric "
                            "adds to it")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    grade.add_argument("--seed", type=int, default=0,
                       help="class seed; each submission's seed derives from it and its name")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--allow-weak-isolation", action="store_true",
                       help=WEAK_HELP)
    grade.set_defaults(run=cmd_grade)
    gradescope = commands.add_parser("gradescope", help="grade inside a Gradescope container")
    gradescope.add_argument("--submission", type=Path, default=GRADESCOPE / "submission")
    gradescope.add_argument("--results", type=Path,
                            default=GRADESCOPE / "results" / "results.json")
    gradescope.add_argument("--rubric", type=Path, default=None)
    gradescope.add_argument("--seed", type=int, default=0)
    gradescope.add_argument("--allow-weak-isolation", action="store_true", help=WEAK_HELP)
    gradescope.set_defaults(run=cmd_gradescope)
    bundle = commands.add_parser("gradescope-bundle",
                                 help="write the autograder zip to upload to Gradescope")
    bundle.add_argument("zip", type=Path, help="the zip to write, e.g. autograder.zip")
    bundle.add_argument("--rubric", type=Path, default=None)
    bundle.set_defaults(run=cmd_bundle)
