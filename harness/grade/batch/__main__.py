"""`python -m harness.batch merge DIR...` (harness/grade/batch/ runs this)."""
import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from harness.errors import MergeError
from harness.grade.batch.merge import merge
from harness.grade.batch.summary import DEFAULT_REPORT_DIR, table_lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.batch",
        description="Batch grading tools. Grading itself: python -m pytest properties "
                    "--impl FOLDER [--shard K/N] --report-dir DIR.")
    commands = parser.add_subparsers(dest="command", required=True)
    joining = commands.add_parser(
        "merge", help="join the report folders of the shards of one class into one summary",
        description="Join the report folders of `--shard 1/N` ... `--shard N/N` runs into one "
                    "summary.csv, summary.md and summary.html (the rows in the order an unsharded run gives), "
                    "with every submission's report and log. Exit status: 0 if every submission "
                    "passes, 1 if any does not, 2 if the folders are not every shard of one class.")
    joining.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    joining.add_argument("--report-dir", type=Path, default=Path(DEFAULT_REPORT_DIR), metavar="OUT",
                         help=f"where the merged summary goes (default: ./{DEFAULT_REPORT_DIR})")
    args = parser.parse_args(argv)
    try:
        graded, _ = merge(args.folders, args.report_dir)
    except MergeError as exc:
        print(f"harness: cannot merge: {exc}", file=sys.stderr)
        return 2
    if graded:
        print("\n".join(table_lines(graded)))
    passed = sum(1 for g in graded if g.report["verdict"] == "pass")
    out = args.report_dir.resolve()
    print(f"{passed} of {len(graded)} pass (merged from {len(args.folders)} folders); "
          f"summary: {out / 'summary.csv'}, {out / 'summary.md'}, {out / 'summary.html'}")
    return 0 if passed == len(graded) else 1


if __name__ == "__main__":
    sys.exit(main())
