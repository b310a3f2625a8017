"""Names of a package imported on first use (PEP 562), so that importing the package, and
``undercount --help``, does not import what the names need (pandas, scipy, numba)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any


def lazy_names(
    package: str, namespace: dict[str, Any], names: Mapping[str, tuple[str, str | None]],
    public: Iterable[str],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: ``names`` maps each lazy name to
    (module, attribute in it; None for the module itself). A name, once imported, is stored
    in the package's ``namespace``, so later look-ups do not come back here."""
    public = sorted(public)

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = names[name]
        value = import_module(module) if attr is None else getattr(import_module(module), attr)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
