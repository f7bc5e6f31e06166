"""`python -m harness.batch merge DIR...`: the documented command, kept at this path (the
batch package itself is harness/grade/batch/)."""
import sys

from harness.grade.batch.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
