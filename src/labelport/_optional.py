"""Optional dependencies: imported when a feature needs them, with an error naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from labelport.errors import MissingDependencyError


def require(modules: tuple[str, ...], feature: str, extra: str) -> list[ModuleType]:
    """Import ``modules`` for ``feature``; MissingDependencyError names the first missing one and the extra."""
    loaded = []
    for name in modules:
        try:
            loaded.append(importlib.import_module(name))
        except ImportError as exc:
            raise MissingDependencyError(
                f"{feature} needs the optional package {name!r}, which is not installed; "
                f"install the {extra!r} extra: pip install 'labelport[{extra}]'"
            ) from exc
    return loaded
