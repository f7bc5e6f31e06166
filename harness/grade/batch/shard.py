"""Shards: --shard K/N grades the K-th of N slices of the class, a submission's slice
chosen by a hash of its name alone (the same on every re-run)."""
import argparse
import hashlib
import re
from typing import List, NamedTuple, Optional, Sequence

from harness.grade.batch.discover import Submission


class Shard(NamedTuple):
    index: int    # K, 1-based
    count: int    # N

    def __str__(self):
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 <= K <= N (argparse type for --shard)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise argparse.ArgumentTypeError(f"--shard wants K/N with 1 <= K <= N (e.g. 2/4), not {text!r}")
    return Shard(int(match.group(1)), int(match.group(2)))


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) of the submission called `name`: a hash of the name alone,
    so the same submission lands in the same shard on every run and machine, whatever
    else the class holds (Python's hash() is salted per process: not that)."""
    digest = hashlib.sha256(name.lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(subs: Sequence[Submission], shard: Optional[Shard]) -> List[Submission]:
    if shard is None:
        return list(subs)
    return [s for s in subs if shard_of(s.name, shard.count) == shard.index]


