"""The public surface of cisizer.client: exports, mirroring, error tree."""

from __future__ import annotations

import inspect

import cisizer.client
from cisizer.client import (
    APIError,
    AsyncClient,
    CISizerError,
    Client,
    ServerError,
    TransportError,
)


def _public_methods(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and callable(member)
    }


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and lists every public class the package defines."""
    exported = cisizer.client.__all__
    defined = {
        name
        for name, value in vars(cisizer.client).items()
        if not name.startswith("_") and inspect.isclass(value)
    }

    assert exported == sorted(exported)
    assert set(exported) == defined


def test_every_public_name_has_a_docstring() -> None:
    """Each exported class and each client method explains itself in a line."""
    for name in cisizer.client.__all__:
        assert getattr(cisizer.client, name).__doc__, name
    for cls in (Client, AsyncClient):
        for name, method in _public_methods(cls).items():
            assert method.__doc__, f"{cls.__name__}.{name}"


def test_async_client_mirrors_the_sync_client() -> None:
    """Both clients have the same methods with the same parameters and defaults."""
    sync_methods = _public_methods(Client)
    async_methods = _public_methods(AsyncClient)

    assert set(sync_methods) - {"close"} == set(async_methods) - {"aclose"}
    for name, method in sync_methods.items():
        if name == "close":
            continue
        twin = async_methods[name]
        assert inspect.signature(method).parameters == (
            inspect.signature(twin).parameters
        ), name


def test_async_methods_are_coroutines_or_async_iterators() -> None:
    """Every AsyncClient method is awaited, except iter_* which are async-iterated."""
    for name, method in _public_methods(AsyncClient).items():
        returns = inspect.signature(method).return_annotation
        if name.startswith("iter_"):
            assert "AsyncIterator" in str(returns), name
        else:
            assert inspect.iscoroutinefunction(method), name


def test_error_tree() -> None:
    """Every error derives from CISizerError; API and transport errors stay apart."""
    for name in cisizer.client.__all__:
        value = getattr(cisizer.client, name)
        if name.endswith("Error"):
            assert issubclass(value, CISizerError), name

    assert issubclass(ServerError, APIError)
    assert not issubclass(TransportError, APIError)
