"""Which share of a class a shard grades, and the manifest it leaves for ``bpcheck grade merge``.

A class is split into N shards by position: the submissions' names, sorted, are dealt round-robin,
so shard i of N (counted from 0) grades names ``i, i + N, i + 2N, …``. Every shard lists the same
folder, so they agree on the split without talking to each other, and the shares are as even as
they can be. Kubernetes' Indexed Jobs give each pod its index in ``JOB_COMPLETION_INDEX``; the
count is the job's ``completions``, which a pod does not see, so the manifest passes it in
``BPCHECK_SHARDS`` (``deploy/grade-job.yaml``).

A shard leaves ``OUT/__shards/shard-<i>-of-<N>.json`` once its share is graded: the share's names
and what a merge must find equal across shards (bpcheck's version, the rubric, the class seed, the
class). ``__shards`` cannot be a submission's results folder: no submission's name starts with
``__``. Several shards may write into one OUT (a shared volume) or each into its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

MANIFESTS = "__shards"
INDEX_VARIABLE = "JOB_COMPLETION_INDEX"  # set by Kubernetes in each pod of an Indexed Job
COUNT_VARIABLE = "BPCHECK_SHARDS"  # set by our job manifest to the job's completions
_NAME = re.compile(r"shard-(\d+)-of-(\d+)\.json")


class ShardError(ValueError):
    """A shard specification or a set of shards that cannot be used (one sentence)."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``, counted from 0."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def share(self, names: list[str]) -> list[str]:
        """The names this shard grades: every ``count``-th of the sorted names from ``index``."""
        return sorted(names)[self.index::self.count]

    @property
    def file_name(self) -> str:
        return f"shard-{self.index}-of-{self.count}.json"


def parse(text: str) -> Shard:
    """``"i/N"`` (0 ≤ i < N) as a Shard; ShardError naming the problem otherwise."""
    index, slash, count = text.strip().partition("/")
    if not slash or not index.isdigit() or not count.isdigit():
        raise ShardError(f"--shard {text!r}: expected i/N, e.g. 0/4 for the first of four shards")
    return _checked(int(index), int(count), f"--shard {text}")


def _checked(index: int, count: int, where: str) -> Shard:
    if count < 1:
        raise ShardError(f"{where}: the number of shards must be at least 1")
    if not 0 <= index < count:
        raise ShardError(f"{where}: the shard index must be between 0 and {count - 1} "
                         f"(shards are counted from 0)")
    return Shard(index, count)


def from_environment(environ: Mapping[str, str] = os.environ) -> Shard | None:
    """The shard Kubernetes' Indexed Job variables name, or None when they are not set."""
    index = environ.get(INDEX_VARIABLE)
    if index is None:
        return None
    count = environ.get(COUNT_VARIABLE)
    if count is None:
        raise ShardError(f"{INDEX_VARIABLE} is set but {COUNT_VARIABLE} (the number of shards, "
                         f"the job's completions) is not")
    if not index.strip().isdigit() or not count.strip().isdigit():
        raise ShardError(f"{INDEX_VARIABLE}={index!r} and {COUNT_VARIABLE}={count!r} must be "
                         f"whole numbers")
    return _checked(int(index), int(count), f"{INDEX_VARIABLE}={index}, {COUNT_VARIABLE}={count}")


def digest(value: Any) -> str:
    """A short, stable fingerprint of ``value``'s repr (a rubric, a list of names)."""
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def manifest(shard: Shard, version: str, rubric: Any, seed: int, names: list[str],
             share: list[str], ignored: list[str]) -> dict[str, Any]:
    """What a shard records: its place, what must agree across shards, and its share."""
    return {"shard": [shard.index, shard.count], "version": version, "rubric": digest(rubric),
            "seed": seed, "class": digest(sorted(names)), "class_size": len(names),
            "submissions": share, "ignored": ignored}


def write_manifest(out: Path, shard: Shard, document: dict[str, Any]) -> Path:
    """Write the manifest atomically (its presence says the share is graded)."""
    folder = out / MANIFESTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / shard.file_name
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(partial, path)
    return path


def read_manifests(outs: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Every shard manifest in ``outs`` (each once, however often its folder is named)."""
    found: dict[Path, dict[str, Any]] = {}
    for out in outs:
        if not out.is_dir():
            raise ShardError(f"{out}: not a folder")
        folder = out / MANIFESTS
        paths = sorted(p for p in folder.glob("shard-*-of-*.json") if _NAME.fullmatch(p.name)) \
            if folder.is_dir() else []
        if not paths:
            raise ShardError(f"{out}: no shard manifest in {MANIFESTS}/: not the output of "
                             f"`bpcheck grade --shard`, or its shard has not finished")
        for path in paths:
            try:
                document = json.loads(path.read_text())
                index, count = document["shard"]
                document["submissions"] = list(document["submissions"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ShardError(f"{path}: not a readable shard manifest ({exc})") from None
            found.setdefault(path.resolve(), document)
    return sorted(found.items(), key=lambda item: tuple(item[1]["shard"]))


AGREED = (("count", "the number of shards"), ("version", "the bpcheck version"),
          ("rubric", "the rubric"), ("seed", "the seed"), ("class", "the class of submissions"))


def check_complete(manifests: list[tuple[Path, dict[str, Any]]]) -> None:
    """ShardError (one sentence) unless the manifests are the N shards of one run, each once."""
    first_path, first = manifests[0]
    for path, document in manifests[1:]:
        for key, meaning in AGREED:
            mine = document["shard"][1] if key == "count" else document.get(key)
            theirs = first["shard"][1] if key == "count" else first.get(key)
            if mine != theirs:
                raise ShardError(f"{path} and {first_path} were graded with different {meaning} "
                                 f"({mine} and {theirs}): they are not shards of one run")
    count = first["shard"][1]
    seen: dict[int, Path] = {}
    for path, document in manifests:
        index = document["shard"][0]
        if index in seen:
            raise ShardError(f"shard {index}/{count} appears twice ({seen[index]} and {path}): "
                             f"give each shard's output once")
        seen[index] = path
    missing = [f"{i}/{count}" for i in range(count) if i not in seen]
    if missing:
        raise ShardError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} of "
                         f"{count} {'are' if len(missing) > 1 else 'is'} missing: run "
                         f"{'them' if len(missing) > 1 else 'it'} (or wait for "
                         f"{'them' if len(missing) > 1 else 'it'} to finish) before merging")
    owner: dict[str, Path] = {}
    for path, document in manifests:
        for name in document["submissions"]:
            if name in owner:
                raise ShardError(f"submission {name!r} was graded by two shards ({owner[name]} "
                                 f"and {path}): the shards overlap")
            owner[name] = path
    if len(owner) != first.get("class_size"):
        raise ShardError(f"the shards hold {len(owner)} submissions but the class has "
                         f"{first.get('class_size')}: a manifest was edited or truncated")
