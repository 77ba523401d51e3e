"""The fenced code blocks of the docs pages, and the checks that run them (used by test_pages.py).

What each kind of block must do:

- ``python``: runs. A page's blocks run top to bottom in one namespace (a module registered in
  ``sys.modules``, so functions defined on a page can be pickled to a process pool), with line numbers
  in tracebacks that are the page's own. A block that prints, followed at once by a ``text`` block,
  must print exactly that text ("…" in it stands for anything within a line).
- ``yaml``: a scenario file (it has ``participants``) loads with ``vroom.scenario``; a fragment (a
  ``publish`` list, an ``events`` list) loads inside a minimal scenario. If the next block shows
  ``$ vroom validate FILE``, the file is written to ``FILE`` first; a file shown as refused must be
  refused with the page's message.
- ``text`` starting with ``$ vroom validate``: the command runs (in process) and prints what the page
  shows, with the exit status ``$ echo $?`` shows.
- ``bash``: ``vroom validate FILE`` runs and succeeds; for ``vroom run FILE ...`` the file must load
  (the runs themselves are not repeated here: some take minutes).
- ``json``: every line is a JSON document.
"""

from __future__ import annotations

import contextlib
import io
import json
import linecache
import re
import shlex
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LANGUAGES = ("python", "yaml", "bash", "text", "json")
#: A page that needs an optional module says so in an HTML comment: <!-- docs-test: requires vroom.widgets -->
REQUIRES = re.compile(r"<!--\s*docs-test:\s*requires\s+([\w.]+)\s*-->")

_OPEN = re.compile(r"^(?P<indent> *)(?P<fence>`{3,})(?P<lang>[\w-]*)[^`]*$")


@dataclass
class Block:
    lang: str
    code: str
    line: int  # the page line of the block's first line of code


def pages() -> list[Path]:
    """Every Markdown page of the docs, and the README."""
    return sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"]


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a page, in order, with their indentation removed."""
    lines = path.read_text().splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        body = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        out.append(Block(m["lang"], "\n".join(body) + "\n", i + 2))
        i = j + 1
    return out


def source_name(path: Path) -> str:
    """The file name a page's blocks run under: tracebacks show it with the page's own line numbers."""
    return f"{path} (code blocks)"


def page_module(path: Path) -> types.ModuleType:
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else Path(path.name)
    name = "docs_" + re.sub(r"\W", "_", str(where.with_suffix("")))
    module = types.ModuleType(name)
    module.__file__ = source_name(path)  # where inspect looks for its classes' source
    sys.modules[name] = module
    return module


def run_python(block: Block, path: Path, module: types.ModuleType) -> None:
    name = source_name(path)
    # linecache holds the page with everything but its code blocks blanked, so that inspect.getsource
    # (hypothesis, pytest) finds a block's functions, and nothing else, at their page lines
    _, _, lines, _ = linecache.cache.get(name, (0, None, ["\n"] * len(path.read_text().splitlines()), name))
    code = block.code.splitlines(keepends=True)
    lines[block.line - 1 : block.line - 1 + len(code)] = code
    linecache.cache[name] = (sum(map(len, lines)), None, lines, name)
    exec(compile("\n" * (block.line - 1) + block.code, name, "exec"), module.__dict__)


def shows(text: str, printed: str) -> bool:
    """Whether ``printed`` is what a page's text block shows, line for line ("…" stands for anything in a line)."""
    want, got = text.rstrip("\n").splitlines(), printed.rstrip("\n").splitlines()
    return len(want) == len(got) and all(
        re.fullmatch(".*?".join(map(re.escape, w.split("…"))), g) is not None for w, g in zip(want, got))


def cli(*argv: str) -> tuple[int, str]:
    """``vroom ARGV`` in process: its exit status and everything it printed."""
    from vroom.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(list(argv))
    return status, out.getvalue()


# -- yaml -------------------------------------------------------------------------------------------
def _identities(events: list) -> list[str]:
    """Everyone an events fragment names, in order of appearance."""
    found: list[str] = []
    for ev in events:
        for key in ("link", "mute", "unmute", "unpublish"):
            if key in ev:
                found.append(ev[key].rpartition("/")[0])
        if "disconnect" in ev:
            found.append(ev["disconnect"])
        if "publish" in ev:
            found.append(ev["publish"]["identity"])
    return list(dict.fromkeys(found))


def as_scenario(data: object) -> dict:
    """A yaml block as a whole scenario: itself, or a fragment inside a minimal one."""
    assert isinstance(data, dict), f"a yaml block should be a mapping, got {data!r}"
    if "participants" in data:
        return data
    net = {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}
    if set(data) == {"publish"}:
        return {"name": "fragment", "duration": "10s",
                "participants": [{"identity": "alice", "network": net, "publish": data["publish"]}]}
    if set(data) == {"cross_traffic"}:  # on the links of the people and sites it names
        links = [flow["link"].rpartition("/")[0] for flow in data["cross_traffic"]]
        people = [{"identity": who, "network": net} for who in dict.fromkeys(links) if not who.startswith("site:")]
        sites = {who[len("site:"):]: net for who in dict.fromkeys(links) if who.startswith("site:")}
        return {"name": "fragment", "duration": "10s", "sites": sites,
                "participants": people + [{"identity": "guest", "network": net, "site": name} for name in sites],
                "cross_traffic": data["cross_traffic"]}
    if set(data) == {"events"}:
        people = [{"identity": who, "network": net} for who in _identities(data["events"]) or ["alice"]]
        return {"name": "fragment", "duration": "1h", "participants": people, "events": data["events"]}
    raise AssertionError(f"a yaml block that is neither a scenario nor a publish/events fragment: {sorted(data)}")


def validate_commands(text: str) -> list[tuple[str, list[str]]]:
    """``$ command`` lines of a text block, each with the output lines shown under it."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def check_shell_session(text: str, cwd: Path) -> int:
    """Run the ``$ vroom validate`` commands of a text block; compare with what it shows. Returns how many ran."""
    ran, status = 0, None
    for command, shown in validate_commands(text):
        argv = shlex.split(command)
        if argv[:2] == ["vroom", "validate"]:
            status, printed = cli(*argv[1:])
            assert printed.splitlines() == shown, f"$ {command}: printed {printed!r}, the page shows {shown!r}"
            ran += 1
        elif argv == ["echo", "$?"]:
            assert status is not None and [str(status)] == shown, f"exit status {status}, the page shows {shown}"
    return ran


def check_yaml(block: Block, following: Block | None, cwd: Path) -> None:
    from vroom.errors import ScenarioError
    from vroom.scenario import Scenario

    data = yaml.safe_load(block.code)
    session = following.code if following is not None and following.lang == "text" else ""
    first = validate_commands(session)[:1]
    target = shlex.split(first[0][0]) if first else []
    if target[:2] == ["vroom", "validate"]:
        assert "participants" in data, "only whole scenario files can be validated"
        path = cwd / target[2]
        path.write_text(block.code)
        assert check_shell_session(session, cwd) >= 1
        return
    try:
        Scenario.from_dict(as_scenario(data), file="page.yaml", base_dir=ROOT / "scenarios")
    except ScenarioError as error:
        shown = f"{error.path}: {error.message}"
        assert shown in session, f"the page's scenario is refused ({error}) and the page does not say so"


def check_bash(block: Block) -> int:
    """Run each ``vroom validate``; load the file of each ``vroom run``. Returns how many vroom commands."""
    from vroom.scenario import Scenario

    seen = 0
    for line in block.code.splitlines():
        for command in re.split(r"&&|\|", line.split("#")[0]):
            argv = shlex.split(command)
            if argv[:2] == ["vroom", "validate"]:
                status, printed = cli(*argv[1:])
                assert status == 0, printed
                seen += 1
            elif argv[:2] == ["vroom", "run"]:
                Scenario.load(argv[2])
                seen += 1
    return seen


def check_json(block: Block) -> None:
    for line in block.code.splitlines():
        if line.strip():
            json.loads(line)
