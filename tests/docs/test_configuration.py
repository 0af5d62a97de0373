"""docs/configuration.md names every flag and variable of the three commands.

The option parsers of ``cisizer-server``, ``cisizer-agent`` and ``cisizer``
(click) are walked; each program's flags and ``envvar`` variables must
appear in its section of the page (from its ``## `program` `` heading to the
next program's), and the page must name no flag that does not exist. In the
tables whose header has a *commands* column, that column must list exactly
the commands that take the flag, and a *default* given as one literal in
backticks must be the parser's default. Variables the packages read from the
environment themselves (CI variables, ``DOCKER_HOST``, ...) are found in
their source and must be named too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import click
import pytest

from cisizer.agent._cli import cli as agent_cli
from cisizer.client._cli import main as client_cli
from cisizer.server._cli import main as server_cli

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "configuration.md"
PROGRAMS: dict[str, tuple[click.Group, str]] = {
    "cisizer-server": (server_cli, "cisizer-server"),
    "cisizer-agent": (agent_cli, "cisizer-agent"),
    "cisizer": (client_cli, "cisizer-client"),
}
FLAG = re.compile(r"(?<![\w-])(-{1,2}[a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
VARIABLE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
# An environment variable read in the packages' source by its literal name.
# (A WSGI ``environ`` or ``req.env`` is not the process environment.)
ENV_READ = re.compile(
    r"""(?:\bos\.environ\)?|(?<!\.)\benv)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']"""
)


@attrs.frozen
class Option:
    """One option of one command, as the parser declares it."""

    command: str  # "" for the program's group itself, else "metrics job"
    flags: tuple[str, ...]
    variables: tuple[str, ...]
    default: Any


def options(group: click.Group) -> Iterator[Option]:
    """Every option of a program: the group's own, then its commands'."""

    def walk(command: click.Command, path: str) -> Iterator[Option]:
        for param in command.params:
            if isinstance(param, click.Option):
                envvar = param.envvar
                variables = (envvar,) if isinstance(envvar, str) else envvar or ()
                yield Option(
                    path,
                    (*param.opts, *param.secondary_opts),
                    tuple(variables),
                    param.default,
                )
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}".strip())

    yield from walk(group, "")


def leaf_commands(group: click.Group, path: str = "") -> set[str]:
    """The names of every command that does something (``metrics job``)."""
    found: set[str] = set()
    for name, sub in group.commands.items():
        full = f"{path} {name}".strip()
        if isinstance(sub, click.Group):
            found |= leaf_commands(sub, full)
        else:
            found.add(full)
    return found


def without_fences(text: str) -> str:
    """The page's text with its fenced blocks blanked out."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def sections() -> dict[str, str]:
    """Each program's part of the page, fences left out."""
    text = without_fences(PAGE.read_text(encoding="utf-8"))
    heads = [
        (match.start(), match["name"])
        for match in re.finditer(r"^## `(?P<name>[a-z-]+)`", text, re.MULTILINE)
    ]
    names = [name for _, name in heads]
    assert sorted(names) == sorted(PROGRAMS), f"program sections: {names}"
    bounds = [start for start, _ in heads] + [len(text)]
    return {name: text[bounds[i] : bounds[i + 1]] for i, (_, name) in enumerate(heads)}


def code_spans(text: str) -> list[str]:
    """The inline code spans of a text."""
    return re.findall(r"`([^`\n]+)`", text)


@attrs.frozen
class Row:
    """One row of a settings table: its cells by header name."""

    cells: dict[str, str]

    def flags(self) -> list[str]:
        """The flags the first column names (``--docker/--no-docker`` is two)."""
        first = self.cells["flag"]
        return [
            match
            for span in code_spans(first)
            for part in span.split("/")
            for match in FLAG.findall(part.split(" ")[0])
        ]


def table_rows(text: str) -> Iterator[Row]:
    """Rows of every table whose first header is ``flag``."""
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if header is None:
            header = cells
        elif set("".join(cells)) <= set("-: "):
            continue
        elif header[0] == "flag" and len(cells) == len(header):
            yield Row(dict(zip(header, cells, strict=True)))


def source_variables(distribution: str) -> set[str]:
    """Environment variables a distribution's source reads by literal name."""
    package = ROOT / "packages" / distribution / "src"
    return {
        name
        for path in package.rglob("*.py")
        for name in ENV_READ.findall(path.read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_flag_and_variable_is_documented(program: str) -> None:
    """Each flag and variable of a program appears in its section, in code."""
    group, distribution = PROGRAMS[program]
    spans = set(code_spans(sections()[program]))
    words = {word for span in spans for word in re.split(r"[\s/,=]+", span)}
    missing = [
        f"{option.command or program}: {name}"
        for option in options(group)
        for name in (*option.flags, *option.variables)
        if name not in words
    ]
    missing += [
        f"{program} reads {name}"
        for name in sorted(source_variables(distribution))
        if name not in words
    ]
    assert not missing, "not in docs/configuration.md:\n" + "\n".join(missing)


def test_no_documented_flag_is_unknown() -> None:
    """Every flag the page names outside its examples exists in some program."""
    known = {
        flag
        for group, _ in PROGRAMS.values()
        for option in options(group)
        for flag in option.flags
    } | {"--help", "-h"}
    text = without_fences(PAGE.read_text(encoding="utf-8"))
    unknown = sorted(
        {
            flag
            for span in code_spans(text)
            if span.startswith("-")
            for flag in FLAG.findall(span.split(" ")[0])
        }
        - known
    )
    assert not unknown, (
        f"docs/configuration.md names flags that do not exist: {unknown}"
    )


def test_no_documented_variable_is_unknown() -> None:
    """Every CISIZER_* variable the page names is read by some program."""
    known = {
        variable
        for group, _ in PROGRAMS.values()
        for option in options(group)
        for variable in option.variables
    }
    text = without_fences(PAGE.read_text(encoding="utf-8"))
    named = {name for name in VARIABLE.findall(text) if name.startswith("CISIZER_")}
    assert not named - known, f"unknown variables: {sorted(named - known)}"


def _commands_cell(cell: str, group: click.Group) -> set[str]:
    if cell.startswith("(none"):
        return {""}
    if cell == "every command":
        return leaf_commands(group)
    return {name.strip() for name in cell.split(",")}


@pytest.mark.parametrize("program", PROGRAMS)
def test_tables_agree_with_the_parsers(program: str) -> None:
    """Each table row's flags, variables, commands and default match the code."""
    group, _ = PROGRAMS[program]
    by_flag: dict[str, list[Option]] = {}
    for option in options(group):
        for flag in option.flags:
            by_flag.setdefault(flag, []).append(option)

    problems = []
    rows = list(table_rows(sections()[program]))
    assert rows, f"no settings table for {program}"
    for row in rows:
        for flag in row.flags():
            declared = by_flag.get(flag)
            if not declared:
                problems.append(f"{flag}: no such flag of {program}")
                continue
            problems += _row_problems(row, flag, declared, group)
    assert not problems, "\n".join(problems)


def _row_problems(
    row: Row, flag: str, declared: list[Option], group: click.Group
) -> list[str]:
    problems = []
    variables = {v for option in declared for v in option.variables}
    named = set(VARIABLE.findall(row.cells.get("variable", "")))
    if named != variables:
        problems.append(
            f"{flag}: variables {sorted(named)} in the table, "
            f"{sorted(variables)} in the code"
        )
    if "commands" in row.cells:
        documented = _commands_cell(row.cells["commands"], group)
        actual = {option.command for option in declared}
        if documented != actual:
            problems.append(
                f"{flag}: commands {sorted(documented)} in the table, "
                f"{sorted(actual)} in the code"
            )
    spans = code_spans(row.cells.get("default", ""))
    default = declared[0].default
    # Defaults applied after parsing (stop's, the receiver's) cannot be read.
    unset = default is None or callable(default) or type(default).__name__ == "Sentinel"
    literal = len(spans) == 1 and row.cells["default"] == f"`{spans[0]}`"
    if literal and not unset and not _same(spans[0], default):
        problems.append(
            f"{flag}: default {spans[0]!r} in the table, {default!r} in the code"
        )
    return problems


def _same(text: str, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return text == str(value)


COMMAND_LINE = re.compile(
    r"(?:^|[;&|(`]\s*|\$\(\s*|^\$ |-\s+|\[|run:\s*)"
    r"(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?P<program>cisizer(?:-agent|-server)?)(?![\w.-])"
    r"(?P<rest>(?:\s.*)?)$"
)
SHELL_STOP = {"|", "||", "&&", ";", ")", "&", ">", "2>&1", ">>", "<"}


def cisizer_commands(text: str) -> Iterator[tuple[str, list[str]]]:
    """Each ``cisizer*`` command line of a block: the program and its arguments."""
    import shlex

    lines = text.replace("\\\n", " ").splitlines()
    if any(line.startswith("$ ") for line in lines):
        lines = [line for line in lines if line.startswith("$ ")]  # a transcript
    for line in lines:
        match = COMMAND_LINE.search(line.strip())
        if match is None:
            continue
        rest = match["rest"].split("#")[0] if " #" in match["rest"] else match["rest"]
        try:
            words = shlex.split(rest.strip().rstrip("]"))
        except ValueError:
            words = rest.split()
        arguments: list[str] = []
        for word in words:
            if word in SHELL_STOP or word.startswith((">", "2>")):
                break
            arguments.append(word)
        yield match["program"], arguments


def unknown_flags(program: str, arguments: list[str]) -> list[str]:
    """Flags a command line gives that its command does not take."""
    command: click.Command = PROGRAMS[program][0]
    problems: list[str] = []
    words = list(arguments)
    path = program
    while isinstance(command, click.Group) and words:
        word = words.pop(0)
        if word in command.commands:
            command = command.commands[word]
            path += f" {word}"
        elif word.startswith("-"):
            if not _takes(command, word):
                problems.append(f"{path}: {word.split('=')[0]}")
        else:
            return [*problems, f"{path}: no command {word!r}"]
    for word in words:
        if word == "--":
            break
        if word.startswith("-") and len(word) > 1 and not _takes(command, word):
            problems.append(f"{path}: {word.split('=')[0]}")
    return problems


def _takes(command: click.Command, word: str) -> bool:
    name = word.split("=")[0]
    # Every program names its help flags -h and --help.  Asking click with
    # get_params() instead would cache on the command a help option built
    # from a bare context, which drops -h for whoever parses next.
    if name in ("-h", "--help"):
        return True
    return any(
        name in (*param.opts, *param.secondary_opts) for param in command.params
    ) or (not name.startswith("--") and name[1:].isdigit())


def test_commands_in_the_docs_use_existing_flags(doc_block: Any) -> None:
    """Every cisizer command line of a block, run or skipped, takes its flags."""
    if doc_block.language not in {"console", "sh", "bash", "shell", "yaml", "yml"}:
        pytest.skip("no command lines")
    problems = [
        problem
        for program, arguments in cisizer_commands(doc_block.text)
        for problem in unknown_flags(program, arguments)
    ]
    assert not problems, f"{doc_block.id}: unknown flags or commands:\n" + "\n".join(
        problems
    )
