"""The grading commands: ``bpcheck grade``, ``bpcheck grade merge``, ``bpcheck gradescope``,
``bpcheck gradescope-bundle``, ``bpcheck prairielearn``.

``grade`` grades a folder of submissions into OUT (results.json each, summary.csv, report.md), or
with ``--shard i/N`` one shard's share of it, which ``grade merge`` puts together;
``gradescope`` grades the one submission Gradescope gives a container; ``gradescope-bundle``
writes the zip an instructor uploads; ``prairielearn`` grades the one submission a PrairieLearn
external grader's container holds. Exit status 2 for a usage error (a missing folder, a bad
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
#: ``bpcheck grade merge …`` is parsed as this command (``grade`` takes a folder as its argument)
MERGE_COMMAND = "grade-merge"
PRAIRIELEARN = Path("/grade")
PRAIRIELEARN_RUBRIC = PRAIRIELEARN / "tests" / "rubric.toml"  # the question's tests/ folder
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


def _shard(args: argparse.Namespace, console: Console):
    """(ok, the shard to grade or None): from --shard, else Kubernetes' Indexed Job variables."""
    from bpcheck.grading import shards

    try:
        return True, (shards.parse(args.shard) if args.shard is not None else
                      shards.from_environment())
    except shards.ShardError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return False, None


def cmd_grade(args: argparse.Namespace, console: Console) -> int:
    from bpcheck.grading.grade import GradeError, grade_all
    from bpcheck.grading.report import write_class_report

    rubric = _rubric(args.rubric, console, args.assignment)
    if rubric is None:
        return 2
    ok, shard = _shard(args, console)
    if not ok:
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
                force=args.force, progress=advance, allow_weak=args.allow_weak_isolation,
                shard=shard)
    except GradeError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    elapsed = time.perf_counter() - started
    written = [] if shard is not None else write_class_report(args.out, documents)
    _print_table(console, f"bpcheck grade: {args.submissions}"
                 + (f" (shard {shard})" if shard is not None else ""), documents, graded_now)
    if ignored:
        console.print(f"[dim]ignored (not a folder or .py file): "
                      f"{', '.join(_shown(i) for i in ignored)}[/]")
    rate = len(graded_now) / elapsed * 60 if graded_now and elapsed > 0 else 0.0
    wrote = (f"wrote {', '.join(str(p) for p in written)}" if written else
             "when every shard has finished, put them together with `bpcheck grade "
             "merge OUT...`")
    console.print(f"graded {len(graded_now)} submission(s) in {elapsed:.1f} s ({rate:.1f} per "
                  f"minute, {args.jobs} job(s)); {wrote}")
    return 0


def cmd_merge(args: argparse.Namespace, console: Console) -> int:
    from bpcheck.grading.merge import merge
    from bpcheck.grading.report import write_class_report
    from bpcheck.grading.shards import ShardError

    dest = args.into
    if dest is None:
        if len(set(p.resolve() for p in args.outs)) > 1:
            console.print("[bold red]error:[/] several shard outputs: name the folder the "
                          "merged class goes to with --into")
            return 2
        dest = args.outs[0]
    try:
        documents = merge(args.outs, dest)
    except ShardError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    written = write_class_report(dest, documents)
    _print_table(console, f"bpcheck grade merge: {dest}", documents, list(documents))
    console.print(f"merged {len(documents)} submission(s); wrote "
                  f"{', '.join(str(p) for p in written)}")
    return 0


def _print_table(console: Console, title: str, documents: dict, graded_now: list[str]) -> None:
    """The class as a table (a submission not graded now was skipped as graded before)."""
    table = Table(title=title)
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


def cmd_gradescope(args: argparse.Namespace, console: Console) -> int:
    from bpcheck.grading.grade import (grade_submission, platform_entry, protected_folders,
                                       write_results)
    from bpcheck.grading.sandbox.session import IsolationUnavailable

    rubric = _rubric(args.rubric, console)
    if rubric is None:
        return 2
    submission = args.submission
    if not submission.is_dir():
        console.print(f"[bold red]error:[/] {submission}: no submission folder")
        return 2
    entry = platform_entry(submission)
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


def cmd_prairielearn(args: argparse.Namespace, console: Console) -> int:
    from dataclasses import replace

    from bpcheck.grading import prairielearn
    from bpcheck.grading.grade import (grade_submission, platform_entry, protected_folders,
                                       write_results)
    from bpcheck.grading.gradescope import Presentation
    from bpcheck.grading.sandbox.session import IsolationUnavailable

    rubric_path = args.rubric
    if rubric_path is None and PRAIRIELEARN_RUBRIC.is_file():
        rubric_path = PRAIRIELEARN_RUBRIC
    rubric = _rubric(rubric_path, console)
    if rubric is None:
        return 2
    if not args.student.is_dir():
        console.print(f"[bold red]error:[/] {args.student}: no student folder (PrairieLearn "
                      f"puts the submitted files in {PRAIRIELEARN / 'student'})")
        return 2
    rubric = replace(rubric, presentation=Presentation())  # PrairieLearn shows plain text
    forbidden = protected_folders(args.results.parent)
    try:
        document = grade_submission(platform_entry(args.student), rubric, args.seed, forbidden,
                                    name=args.name, allow_weak=args.allow_weak_isolation)
        results = prairielearn.from_document(document)
    except IsolationUnavailable as exc:
        results = prairielearn.ungradable(str(exc))
    write_results(args.results, results)
    console.print(f"score {results['score']:.3f}; results written to {args.results}")
    return 0 if results["gradable"] else 2


def cmd_bundle(args: argparse.Namespace, console: Console) -> int:
    from bpcheck.grading.bundle import write_bundle

    if args.rubric is not None and _rubric(args.rubric, console) is None:
        return 2
    root = Path(__file__).resolve().parent.parent.parent  # bpcheck/cli/grade.py -> the project
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
    grade.add_argument("--shard", metavar="i/N", default=None,
                       help="grade shard i of N (from 0) only; default: from Kubernetes' "
                            "JOB_COMPLETION_INDEX and BPCHECK_SHARDS when set. Then put the "
                            "shards together with `bpcheck grade merge OUT...`")
    grade.set_defaults(run=cmd_grade)
    merge = commands.add_parser(MERGE_COMMAND, help="(`bpcheck grade merge`) put the outputs of "
                                "`bpcheck grade --shard` together")
    merge.add_argument("outs", type=Path, nargs="+", metavar="OUT",
                       help="the shards' output folders (one, when they shared it)")
    merge.add_argument("--into", type=Path, default=None,
                       help="where the merged class goes (default: the one OUT); a results.json "
                            "already there that differs is never overwritten")
    merge.set_defaults(run=cmd_merge)
    gradescope = commands.add_parser("gradescope", help="grade inside a Gradescope container")
    gradescope.add_argument("--submission", type=Path, default=GRADESCOPE / "submission")
    gradescope.add_argument("--results", type=Path,
                            default=GRADESCOPE / "results" / "results.json")
    gradescope.add_argument("--rubric", type=Path, default=None)
    gradescope.add_argument("--seed", type=int, default=0)
    gradescope.add_argument("--allow-weak-isolation", action="store_true", help=WEAK_HELP)
    gradescope.set_defaults(run=cmd_gradescope)
    learn = commands.add_parser("prairielearn", help="grade inside a PrairieLearn external "
                                "grader's container")
    learn.add_argument("--student", type=Path, default=PRAIRIELEARN / "student",
                       help="the submitted files (default /grade/student)")
    learn.add_argument("--results", type=Path,
                       default=PRAIRIELEARN / "results" / "results.json",
                       help="where results go (default /grade/results/results.json)")
    learn.add_argument("--rubric", type=Path, default=None,
                       help=f"a rubric (default {PRAIRIELEARN_RUBRIC} when there is one)")
    learn.add_argument("--seed", type=int, default=0)
    learn.add_argument("--name", default="submission",
                       help="the submission's name, from which its seed derives")
    learn.add_argument("--allow-weak-isolation", action="store_true", help=WEAK_HELP)
    learn.set_defaults(run=cmd_prairielearn)
    bundle = commands.add_parser("gradescope-bundle",
                                 help="write the autograder zip to upload to Gradescope")
    bundle.add_argument("zip", type=Path, help="the zip to write, e.g. autograder.zip")
    bundle.add_argument("--rubric", type=Path, default=None)
    bundle.set_defaults(run=cmd_bundle)
