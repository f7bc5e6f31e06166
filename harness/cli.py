"""`python -m harness` (installed: `lc-harness`): the harness's commands by what the user
does. Each is a short way to a command docs/students.md and docs/graders.md also give in full:

  check FILE [OPTION...]     the single-file command, warm (harness/grade/warm.py): as
                             `python -m pytest properties --impl FILE [OPTION...]`, with the
                             grade's profile (ci) and the verdict cache (--no-cache: without)
  grade FOLDER [OPTION...]   batch mode: `python -m pytest properties --impl FOLDER ...`
  merge DIR... [--report-dir OUT]   join shards' report folders (harness/grade/batch/)
  stop                       stop this user's warm grading servers

OPTION: any option of the single-file command (--report FILE, --strict, --e2e, ...;
`python -m pytest properties --help` lists them), passed on as given.
Imports only the standard library before it knows what to run.
"""
import os
import subprocess
import sys
from typing import Optional, Sequence

USAGE = __doc__.split("\n\n", 1)[1].rsplit("\nImports", 1)[0]


def check_options(rest: Sequence[str]) -> list:
    """The check command's options: the grade's profile (ci: deterministic) unless one is
    given, and the verdict cache (harness/grade/cache.py) unless --no-cache."""
    rest = list(rest)
    if not any(a.startswith("--hypothesis-profile") for a in rest):
        rest.append("--hypothesis-profile=ci")
    if "--no-cache" not in rest:
        rest.append("--verdict-cache")
    return rest


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("usage: python -m harness COMMAND ...\n\n" + USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    from harness.grade import warm
    if command == "check":
        fresh = "--fresh" in rest
        rest = [a for a in rest if a != "--fresh"]
        files = [a for a in rest if not a.startswith("-")][:1]
        if not files or (rest.index(files[0]) > 0 and rest[rest.index(files[0]) - 1].startswith("--")
                         and "=" not in rest[rest.index(files[0]) - 1]):
            print("usage: python -m harness check FILE [--report R] [--strict] [--fresh] [OPTION...]",
                  file=sys.stderr)
            return 2
        rest.remove(files[0])
        return warm.run(["--impl", files[0], *check_options(rest)], fresh=fresh)
    if command == "grade":
        if not rest or rest[0].startswith("-"):
            print("usage: python -m harness grade FOLDER|'GLOB' [--report-dir DIR] [OPTION...]", file=sys.stderr)
            return 2
        args = [*warm.locate.PYTEST_ARGS] + warm.absolute(["--impl", rest[0], *rest[1:]], os.getcwd())
        return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=warm.ROOT)
    if command == "merge":
        from harness.grade.batch.__main__ import main as batch_main
        return batch_main(["merge", *rest])
    if command == "stop":
        stopped = warm.stop()
        print(f"stopped {stopped} grading server{'s' if stopped != 1 else ''}")
        return 0
    print(f"python -m harness: no command {command!r}\n\n" + USAGE, file=sys.stderr)
    return 2
