"""``bpcheck grade merge``: the shards of one run put together, as if one run had graded the class.

Every check comes before any write: the shards must be the N shards of one run
(``shards.check_complete``) and each must hold the results of every submission its manifest
lists. Then each submission's results.json is copied into DEST (where a shard wrote into DEST
itself there is nothing to copy); a results.json already in DEST that differs from the shard's
is never overwritten: the merge refuses, naming it. The class report is then written from the
merged documents, by the code that writes a single run's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bpcheck.grading.grade import results_path
from bpcheck.grading.shards import ShardError, check_complete, read_manifests


def merge(outs: list[Path], dest: Path) -> dict[str, dict[str, Any]]:
    """Copy every shard's results into ``dest`` and return {name: document}; ShardError (one
    sentence) and nothing written when the shards cannot be merged."""
    manifests = read_manifests(outs)
    check_complete(manifests)
    sources: dict[str, tuple[Path, bytes]] = {}
    for path, document in manifests:
        out = path.parent.parent
        shard = "{}/{}".format(*document["shard"])
        for name in document["submissions"]:
            source = results_path(out, name)
            try:
                sources[name] = (source, source.read_bytes())
                json.loads(sources[name][1])
            except OSError:
                raise ShardError(f"shard {shard} in {out} lists {name!r} but holds no "
                                 f"{source.relative_to(out)}: was its output moved or cut "
                                 f"short?") from None
            except ValueError:
                raise ShardError(f"{source}: not valid JSON (shard {shard}): regrade that "
                                 f"shard") from None
    dest.mkdir(parents=True, exist_ok=True)
    for name, (source, data) in sources.items():
        target = results_path(dest, name)
        if target.exists() and target.resolve() != source.resolve() and \
                target.read_bytes() != data:
            raise ShardError(f"{target} already exists and differs from {source}: merge into "
                             f"an empty folder, or remove it if it is stale")
    for name, (source, data) in sources.items():
        target = results_path(dest, name)
        if target.exists() and target.resolve() == source.resolve():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, target)
    return {name: json.loads(data) for name, (_, data) in sorted(sources.items())}
