"""Tests of the public surface of cisizer.core."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import cisizer.core


def _isort_key(name: str) -> tuple[int, str]:
    """Sort constants first, then classes, then functions, as ruff does."""
    if name.isupper():
        return (0, name)
    return (1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_unique() -> None:
    """__all__ is sorted (constants, classes, functions) without repeats."""
    names = cisizer.core.__all__

    assert names == sorted(names, key=_isort_key)
    assert len(names) == len(set(names))


def test_all_lists_every_public_name() -> None:
    """Every public name of every private module is re-exported in __all__."""
    package = Path(cisizer.core.__file__).parent
    public: set[str] = set()
    for module in package.glob("_*.py"):
        if module.name == "__init__.py":
            continue
        tree = ast.parse(module.read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                public.update(ast.literal_eval(node.value))

    assert public == set(cisizer.core.__all__)
    assert all(hasattr(cisizer.core, name) for name in public)


def test_every_public_name_is_documented() -> None:
    """Each class and function has a docstring; each value is in the package's."""
    package_doc = cisizer.core.__doc__ or ""
    for name in cisizer.core.__all__:
        obj = getattr(cisizer.core, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            assert inspect.getdoc(obj), name
        else:
            assert f"``{name}``" in package_doc, name


def test_contract_names_exist() -> None:
    """The names other distributions import are all there."""
    expected = {
        "converter",
        "format_datetime",
        "parse_datetime",
        "parse_push",
        "parse_push_token_request",
        "parse_override",
        "qualify_repository",
        "check_name",
        "percentile",
        "time_weighted_average",
        "summarize",
        "format_cpu",
        "format_memory",
        "parse_cpu",
        "parse_memory",
        "parse_quantity",
        "resolve_sizing_params",
        "compute_sizing",
        "RunFigures",
        "run_figures",
        "EnergyProfile",
        "ENERGY_PROFILES",
        "estimate_energy",
        "PushTokenSigner",
        "read_token_matches",
        "CoreError",
        "ValidationError",
        "Problem",
        "QuantityError",
        "NoHistoryError",
        "TokenError",
        "MalformedTokenError",
        "InvalidSignatureError",
        "ExpiredTokenError",
        "WrongAudienceError",
    }

    assert expected <= set(cisizer.core.__all__)


def test_core_imports_no_framework() -> None:
    """Importing cisizer.core in a fresh interpreter loads no framework or I/O lib."""
    forbidden = ["falcon", "sqlalchemy", "httpx", "psutil", "psycopg", "requests"]
    code = (
        "import sys, cisizer.core\n"
        f"print(sorted(m for m in {forbidden!r} if m in sys.modules))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
