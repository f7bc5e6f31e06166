"""A folder of this user's that nobody else can enter: where the warm command's servers
listen (harness/grade/warm.py) and where the verdict cache keeps its outcomes
(harness/grade/cache.py). Imports only the standard library (the warm client's rule)."""
import os
import stat
from pathlib import Path


class FolderRefused(Exception):
    """Why the folder cannot be used (one line)."""


def private_folder(base: str) -> Path:
    """`base`, created 0700 where absent; FolderRefused unless it is a folder of this
    user's closed to others."""
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.lstat(base)
    except OSError as exc:
        raise FolderRefused(f"{base}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise FolderRefused(f"{base} is not a folder of this user's closed to others")
    return Path(base)
