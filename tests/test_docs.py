"""The documentation (README.md and docs/*.md) stays true to the repository: (a) every relative
link resolves to a file that exists, and every #anchor to a heading of its page (GitHub's slugs);
(b) every command in a ```sh block that runs the harness (`python -m pytest ...`, `python -m
harness ...`, `.../python -m MODULE ...`, `lc-harness ...`, `tox -e ...`, a repository script)
uses only options that the harness, pytest and the scripts accept, and names repository paths
that exist; (c) the README stays at most README_MAX_LINES lines. The options come from the
commands' own --help (`python -m pytest properties benchmarks --help` once, `python -m harness
--help`, ...). Each check is also tried on a page that breaks it (the *_can_fail tests)."""
import configparser
import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import pytest

from tests.harness_run import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200

# Pages another change is writing (issue 20): a link to one is accepted while the file is
# missing, and checked like any other once it exists. Remove an entry once its page has landed.
EXPECTED_LATER = set()  # links to pages still to be written (none now)

FENCE = re.compile(r"^(```|~~~)(.*)$")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# Option values that name what a command writes, not a path that must exist already.
OUTPUT_OPTIONS = {"--report", "--report-dir", "--e2e-plot", "--journal", "--out", "--bench-results"}
SEPARATORS = {"&&", "||", ";", "|", "(", ")", "&", ";;"}


# ------------------------------------------------------------------ reading a page

def blocks_and_prose(text: str) -> Tuple[List[Tuple[str, List[str]]], List[str]]:
    """([(language, lines)] of the fenced blocks, the lines outside them)."""
    blocks, prose, current = [], [], None
    for line in text.splitlines():
        fence = FENCE.match(line.strip())
        if current is None and fence:
            current = (fence.group(2).strip().lower(), [])
        elif current is not None and fence and not fence.group(2).strip():
            blocks.append(current)
            current = None
        elif current is not None:
            current[1].append(line)
        else:
            prose.append(line)
    return blocks, prose


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (link text for links, no markup), lowercase,
    punctuation dropped but for hyphens and underscores, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(text: str) -> Set[str]:
    """Every anchor a page's headings give, duplicates numbered as GitHub does (-1, -2, ...)."""
    seen: Dict[str, int] = {}
    found = set()
    for line in blocks_and_prose(text)[1]:
        heading = HEADING.match(line)
        if not heading:
            continue
        base = slug(heading.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(text: str) -> List[str]:
    """The targets of the page's markdown links and images, code left out."""
    prose = "\n".join(blocks_and_prose(text)[1])
    prose = re.sub(r"(`+).*?\1", "", prose, flags=re.S)  # inline code spans
    return LINK.findall(prose)


# ------------------------------------------------------------------ (a) links

def link_problems(page: Path, text: str, root: Path = ROOT, expected_later=EXPECTED_LATER) -> List[str]:
    problems = []
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # http:, https:, mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        shown = f"{page.relative_to(root)}: [..]({target})"
        if not file.exists():
            relative = file.relative_to(root).as_posix() if file.is_relative_to(root) else str(file)
            if relative not in expected_later:
                problems.append(f"{shown}: no file {relative}")
            continue
        if anchor:
            if file.suffix != ".md" or file.is_dir():
                problems.append(f"{shown}: an anchor into a file that has no headings")
            elif anchor not in anchors(file.read_text()):
                problems.append(f"{shown}: no heading of {file.relative_to(root)} has the anchor #{anchor}")
    return problems


# ------------------------------------------------------------------ (b) commands

def _help(*args: str) -> str:
    done = subprocess.run([sys.executable, *args, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def options_of(help_text: str) -> Dict[str, bool]:
    """{option: takes a value} from argparse's or pytest's --help: the lines that define one
    (two spaces, then the options, then two spaces or the end of the line)."""
    found: Dict[str, bool] = {}
    for line in help_text.splitlines():
        head = re.match(r"^ {2,4}(-[^ ].*?)(?: {2,}|$)", line)
        if not head:
            continue
        for spec in head.group(1).split(", "):
            name = re.match(r"^(--?[\w][\w-]*)(.*)$", spec.strip())
            if name:
                found[name.group(1)] = bool(name.group(2).strip()) and name.group(2).strip()[0] in "= [A-Za-z"
    return found


@functools.lru_cache(maxsize=None)
def accepted() -> Dict[str, Dict[str, bool]]:
    """The options each command accepts, from its own --help."""
    pytest_options = options_of(_help("-m", "pytest", "properties", "benchmarks"))
    harness_help = _help("-m", "harness")
    commands = set(re.findall(r"^  ([a-z]+) ", harness_help, re.M))
    return {
        "pytest": pytest_options,
        "harness commands": {c: False for c in commands},
        "check": {**pytest_options, "--fresh": False},
        "grade": pytest_options,
        "merge": options_of(_help("-m", "harness.batch", "merge")),
        "stop": {},
        "mutation.run": options_of(_help("-m", "mutation.run")),
    }


def commands(text: str) -> List[List[str]]:
    """Each simple command of the page's sh blocks, as words (comments, continuations and
    `&&`, `|`, `;`, parentheses taken apart)."""
    found = []
    for language, lines in blocks_and_prose(text)[0]:
        if language not in ("sh", "bash", "shell", "console"):
            continue
        source = "\n".join(lines).replace("\\\n", " ")
        for line in source.splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            words: List[str] = []
            for token in lexer:
                if token in SEPARATORS:
                    if words:
                        found.append(words)
                    words = []
                else:
                    words.append(token)
            if words:
                found.append(words)
    return found


def is_repository_path(word: str, root: Path = ROOT) -> bool:
    """A word that names something in the checkout (its first part is a top-level entry of
    the repository) and is not a placeholder (FILE, MUTANT, test_FAMILY.py, ..., a glob)."""
    if word.startswith(("-", "~", "/", "$", ".")) or "..." in word or any(c in word for c in "*?[{<"):
        return False
    first = word.split("/", 1)[0]
    if not first or not (root / first).exists():
        return False
    return not re.search(r"(^|[/_.-])[A-Z]{3,}([/_.-]|$)", word)


def path_problems(words: List[str], takes_value: Dict[str, bool], root: Path = ROOT) -> List[str]:
    """The repository paths among a command's words (option values included, but for the
    options that name an output) that do not exist."""
    problems, skip_next = [], False
    for i, word in enumerate(words):
        if skip_next:
            skip_next = False
            continue
        if word.startswith("-"):
            name, eq, value = word.partition("=")
            if name in OUTPUT_OPTIONS:
                skip_next = not eq
                continue
            if not eq:
                continue
            word = value
        word = word.split("::", 1)[0]
        if is_repository_path(word, root) and not (root / word).exists():
            problems.append(f"no {word} in the repository")
    return problems


def option_problems(words: List[str], known: Dict[str, bool], what: str) -> List[str]:
    problems = []
    for word in words:
        if not word.startswith("-") or word == "-" or re.match(r"^-\d", word):
            continue
        name = word.split("=", 1)[0]
        if name in known:
            continue
        if not name.startswith("--") and len(name) > 2 and all(f"-{c}" in known for c in name[1:]):
            continue  # short flags together: -xq
        problems.append(f"{what} has no option {name}")
    return problems


def command_problems(words: List[str], root: Path = ROOT) -> List[str]:
    """What is wrong with one command of a page, if it runs the harness; [] otherwise."""
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]  # VAR=value before the command
    if not words:
        return []
    program, rest = words[0], words[1:]
    shown = " ".join(words)
    if program == "lc-harness":
        return [f"{shown}: {p}" for p in _harness_problems(rest, root)]
    if program == "tox":
        config = configparser.ConfigParser(interpolation=None)
        config.read(root / "tox.ini")
        problems = [f"{shown}: tox.ini has no [testenv:{env}]" for i, env in enumerate(rest)
                    if i > 0 and rest[i - 1] == "-e" and f"testenv:{env}" not in config]
        return problems + [f"{shown}: {p}" for p in option_problems(
            [w for w in rest if w.startswith("-")], {"-e": True, "-r": False, "-p": True}, "tox (as documented)")]
    if re.fullmatch(r"(\S*/)?python3?(\.\d+)?", program):
        if rest[:1] == ["-m"] and len(rest) > 1:
            module, args = rest[1], rest[2:]
            if module == "pytest":
                return [f"{shown}: {p}" for p in option_problems(args, accepted()["pytest"], "pytest")
                        + path_problems(args, accepted()["pytest"], root)]
            if module == "harness":
                return [f"{shown}: {p}" for p in _harness_problems(args, root)]
            if module == "harness.batch":
                if args[:1] != ["merge"]:
                    return [f"{shown}: python -m harness.batch has only `merge`"]
                return [f"{shown}: {p}" for p in option_problems(args[1:], accepted()["merge"], "merge")]
            if module == "mutation.run":
                return [f"{shown}: {p}" for p in option_problems(args, accepted()["mutation.run"], "mutation.run")
                        + path_problems(args, accepted()["mutation.run"], root)]
            first = module.split(".", 1)[0]
            if (root / first).is_dir() and not any((root / module.replace(".", "/")).with_suffix(s).exists()
                                                   for s in (".py", "")):
                return [f"{shown}: no module {module} in the repository"]
            return []
        if rest and rest[0].endswith(".py"):
            return [f"{shown}: {p}" for p in _script_problems(rest, root)]
        return []
    if program == "bash" and rest and is_repository_path(rest[0], root):
        return [f"{shown}: {p}" for p in _script_problems(rest, root)]
    if re.fullmatch(r"(\S*/)?pip3?", program):
        return [f"{shown}: no {rest[i + 1]} in the repository" for i, w in enumerate(rest[:-1])
                if w == "-r" and not (root / rest[i + 1]).exists()]
    return []


def _harness_problems(args: List[str], root: Path) -> List[str]:
    known = accepted()
    if not args or args[0] not in known["harness commands"]:
        return [f"python -m harness has no command {args[0] if args else '(none)'}"]
    command, rest = args[0], args[1:]
    return option_problems(rest, known[command], f"python -m harness {command}") + path_problems(rest, known[command], root)


def _script_problems(args: List[str], root: Path) -> List[str]:
    """A repository script: it exists, and every option given appears in its source."""
    script = root / args[0]
    if not is_repository_path(args[0], root):
        return []
    if not script.exists():
        return [f"no {args[0]} in the repository"]
    source = script.read_text(errors="replace")
    return [f"{args[0]} has no option {w.split('=', 1)[0]}" for w in args[1:]
            if w.startswith("--") and w.split("=", 1)[0] not in source] + path_problems(args[1:], {}, root)


# ------------------------------------------------------------------ the checks

@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_and_anchors_resolve(page):
    problems = link_problems(page, page.read_text())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_harness_commands_parse(page):
    problems = [p for words in commands(page.read_text()) for p in command_problems(words)]
    assert not problems, "\n".join(problems)


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move text to docs/ (at most {README_MAX_LINES})"


def test_every_page_has_harness_commands_and_links():
    """The checks above see something: the pages' commands are found and classified."""
    found = [words for page in PAGES for words in commands(page.read_text())]
    assert any(w[1:3] == ["-m", "pytest"] for w in found) and any(w[1:3] == ["-m", "harness"] for w in found)
    assert all(links(page.read_text()) for page in PAGES)


# ------------------------------------------------------------------ each check can fail

def test_slugs_follow_github():
    assert slug("Batch mode's workers: forked from one zygote") == "batch-modes-workers-forked-from-one-zygote"
    assert slug("The report (`--report FILE`)") == "the-report---report-file"
    assert slug("The harness's own tests") == "the-harnesss-own-tests"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def test_link_check_can_fail():
    page = ROOT / "docs" / "students.md"
    broken = ("[gone](no-such-page.md) [bad anchor](maintainers.md#no-such-heading) "
              "[bad here](#nowhere) [ok](../SPEC.md) [later](install.md) `[code](not-a-link.md)`\n"
              "```\n[fenced](not-a-link-either.md)\n```\n# Here\n")
    problems = link_problems(page, broken, expected_later={"docs/install.md"})
    assert len(problems) == 3, problems
    assert "no file docs/no-such-page.md" in problems[0] and "#no-such-heading" in problems[1]
    assert "#nowhere" in problems[2]
    assert len(link_problems(page, "[later](install.md)", expected_later=set())) == (
        0 if (ROOT / "docs" / "install.md").exists() else 1)


def test_command_check_can_fail():
    bad = ("```sh\n"
           "../lc-venv/bin/python -m pytest properties --impl x.py --no-such-option\n"
           "python -m pytest tests/hostile/no_such_attack.py -k 'NAME or repros'\n"
           "python -m harness check FILE --frsh\n"
           "python -m harness regrade submissions/\n"
           "lc-harness merge reports-1 --report-dri out\n"
           "python -m harness.batch merge a b --shards 2\n"
           "python -m mutation.run --jobs 2 --jobz 3\n"
           "tox -e no-such-env\n"
           "../lc-venv/bin/pip install -r requirements-none.txt && python benchmarks/gate.py --no-such-flag\n"
           "AUTOGRADER_ROOT=/tmp/ag bash integrations/gradescope/no_such_script\n"
           "```\n")
    problems = [(" ".join(w), command_problems(w)) for w in commands(bad)]
    assert all(found for _, found in problems), [c for c, found in problems if not found]
    good = ("```sh\n"
            "../lc-venv/bin/python -m pytest properties --impl ~/A2/linear_classifier.py -m e2e --report r.json\n"
            "python -m pytest tests/test_zoo.py -k 'NAME or repros' -xq -n 2 --dist loadgroup --durations=15\n"
            "python -m harness check FILE --fresh --strict && python -m harness stop\n"
            "python -m harness merge r1 r2 --report-dir out   # a comment --not-an-option\n"
            "tox -e mutation\n"
            "```\n")
    assert [p for w in commands(good) for p in command_problems(w)] == []
