"""`python -m harness.batch merge DIR... [--report-dir OUT]`: joins the shards' folders into
one summary, row for row the one an unsharded run writes."""
import json
import shutil
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from harness.errors import MergeError
from harness.grade.batch.discover import Graded, Submission
from harness.grade.batch.launch import _valid
from harness.grade.batch.summary import MANIFEST, MANIFEST_FORMAT, write_manifest, write_summary


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except OSError:
        raise MergeError(f"{folder} holds no {MANIFEST}: not the report folder of a batch run "
                         "(or one that did not finish)") from None
    except ValueError:
        raise MergeError(f"{path} is not readable JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise MergeError(f"{path}: unknown format (expected {MANIFEST_FORMAT})")
    return manifest


def _check_shards(folders: Sequence[Path], manifests: Sequence[dict]) -> None:
    """Every shard K/N of one class, each once, all graded the same way."""
    first = manifests[0]
    for folder, m in zip(folders, manifests):
        for key in ("class_size", "profile", "policy"):
            if m.get(key) != first.get(key):
                raise MergeError(f"{folder} and {folders[0]} differ in {key} "
                                 f"({m.get(key)!r} against {first.get(key)!r}): not one grading run")
    shards = [tuple(m["shard"]) if m.get("shard") else None for m in manifests]
    if any(s is None for s in shards):
        if len(manifests) > 1:
            whole = folders[shards.index(None)]
            raise MergeError(f"{whole} is a whole class (no --shard); it cannot be merged with others")
        return
    counts = {n for _, n in shards}
    if len(counts) != 1:
        raise MergeError(f"the folders come from different numbers of shards: {sorted(counts)}")
    count = counts.pop()
    seen: Dict[int, Path] = {}
    for folder, (index, _) in zip(folders, shards):
        if index in seen:
            raise MergeError(f"shard {index}/{count} is given twice: {seen[index]} and {folder}")
        seen[index] = folder
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in seen]
    if missing:
        raise MergeError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"missing: {len(folders)} of {count} folders given")


def merge(folders: Sequence[Path], out: Path) -> Tuple[List[Graded], dict]:
    """Join the report folders of the N shards of one class into `out`: every
    submission's report and log, and one summary.csv / summary.md / .batch.json with the
    rows in the order of the whole class, as an unsharded run writes them."""
    folders = [Path(f).resolve() for f in folders]
    if not folders:
        raise MergeError("no folders to merge")
    manifests = [_read_manifest(f) for f in folders]
    _check_shards(folders, manifests)
    entries: Dict[str, Tuple[dict, Path]] = {}
    for folder, m in zip(folders, manifests):
        for entry in m["submissions"]:
            if entry["name"] in entries:
                raise MergeError(f"{entry['name']} was graded in two shards: "
                                 f"{entries[entry['name']][1]} and {folder}")
            entries[entry["name"]] = (entry, folder)
    size = manifests[0]["class_size"]
    if len(entries) != size:
        raise MergeError(f"the shards hold {len(entries)} submissions, but the class has {size}")
    graded: List[Graded] = []
    for entry, folder in sorted(entries.values(), key=lambda e: e[0]["position"]):
        path = folder / f"{entry['name']}.json"
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            report = None
        if not _valid(report):
            raise MergeError(f"{path}: missing, or not a report of the harness")
        graded.append(Graded(Submission(entry["name"], Path(entry["file"])), report,
                             entry.get("returncode"), float(entry.get("seconds", 0.0))))
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for g, folder in ((g, entries[g.submission.name][1]) for g in graded):
        if folder != out:
            for suffix in (".json", ".log"):
                source = folder / f"{g.submission.name}{suffix}"
                if source.is_file():
                    shutil.copyfile(source, out / source.name)
    first = manifests[0]
    shards = f"{len(folders)} shards" if first.get("shard") else "1 run"
    header = (f"{len(graded)} submissions from `{first['impl']}`, merged from {shards}, "
              f"Hypothesis profile `{first['profile']}`, {first['policy']} policy, "
              f"{sum(g.seconds for g in graded):.0f} s of grading in all.")
    write_summary(out, graded, header)
    write_manifest(out, graded, {g.submission.name: i for i, g in enumerate(graded)}, size, None,
                   first["impl"], first["profile"], first["policy"])
    return graded, first


