"""docs/client.md's method tables match the SDK's ``Client`` and ``AsyncClient``.

Every public method is in a table (a report's ``iter_*`` twin counts with
its report, as the page says), every method a table names exists on both
clients, with the positional arguments, keyword-only parameters, defaults
and result the row shows.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import attrs
import pytest

from cisizer.client import AsyncClient, Client

PAGE = Path(__file__).resolve().parents[2] / "docs" / "client.md"
ROW = re.compile(r"^\| `(?P<name>[a-z_]+)\((?P<params>[^)]*)\)`(?P<rest>.*)$")


@attrs.frozen
class Documented:
    """One method row: its name, parameters as shown, result and table."""

    name: str
    params: str
    result: str
    report: bool  # a row of the reports table, whose iter_* twin is implied


def documented() -> list[Documented]:
    """The method rows of the page's two method tables."""
    rows = []
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        rows.append(
            Documented(match["name"], match["params"], cells[2], len(cells) == 4)
        )
    return rows


def public_methods(cls: type) -> set[str]:
    """The public methods of a client class."""
    return {
        name
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in {"close", "aclose"}
    }


def test_every_method_is_in_a_table() -> None:
    """Each public method of Client has a row, or is the iter_* twin of a report."""
    rows = documented()
    named = {row.name for row in rows}
    named |= {f"iter_{row.name}" for row in rows if row.report}
    named |= set(re.findall(r"\(`(iter_[a-z_]+)\(\)`\)", PAGE.read_text()))
    assert public_methods(Client) - named == set()


@pytest.mark.parametrize("client", [Client, AsyncClient])
@pytest.mark.parametrize("row", documented(), ids=lambda row: row.name)
def test_a_row_matches_its_method(row: Documented, client: type) -> None:
    """The row's arguments and result are the method's, on both clients."""
    method = getattr(client, row.name, None)
    assert method is not None, f"{client.__name__} has no {row.name}"
    signature = inspect.signature(method)
    parameters = list(signature.parameters.values())[1:]
    shown = [part.strip() for part in row.params.split(",") if part.strip()]
    star = shown.index("*") if "*" in shown else len(shown)

    positional = [p for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert len(shown[:star]) == len(positional), (row.params, signature)
    for text, parameter in zip(shown[:star], positional, strict=True):
        _, equals, default = text.partition("=")
        if equals:
            assert default == repr(parameter.default), (text, signature)

    keywords = {p.name: p for p in parameters if p.kind is p.KEYWORD_ONLY}
    for text in shown[star + 1 :]:
        name, equals, default = text.partition("=")
        assert name in keywords, f"{row.name}: no keyword {name!r} in {signature}"
        if equals:
            assert default == repr(keywords[name].default), (text, signature)
    assert set(keywords) <= {t.partition("=")[0] for t in shown[star + 1 :]} | {
        "from_",
        "to",
        "limit",
        "offset",
        "page_size",
    }, f"{row.name}: keywords {sorted(keywords)} not all shown"

    result = row.result.replace("`", "")
    annotation = str(signature.return_annotation)
    expected = re.sub(r"^(?:Async)?Iterator\[(.*)\]$", r"iterator of \1", annotation)
    assert result == expected, f"{row.name}: {row.result} shown, {annotation} in code"


@pytest.mark.parametrize("client", [Client, AsyncClient])
def test_the_constructor_is_shown_as_it_is(client: type) -> None:
    """The Construction block names every parameter with its default."""
    text = PAGE.read_text(encoding="utf-8")
    block = re.search(r"```python\nClient\(\n(?P<body>.*?)\n\)\n```", text, re.S)
    assert block is not None, "no Client(...) signature block in docs/client.md"
    shown = dict(re.findall(r"^\s*(\w+)=([^,\s]+),", block["body"], re.MULTILINE))
    parameters = list(inspect.signature(client.__init__).parameters.values())[1:]
    assert {p.name: repr(p.default) for p in parameters} == shown
