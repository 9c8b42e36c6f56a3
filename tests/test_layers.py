"""Layer rules read from the source: ``api/``, ``jobs/`` and ``cli/`` are shells over the service and
never import SQLAlchemy (queries live in ``store/`` and the service). Imports are parsed, not grepped."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "labelport"
SHELLS = ("api", "jobs", "cli")


def imported_modules(source: str) -> set[str]:
    """Every module a source imports, at any depth (imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            found.add(node.module)
    return found


def is_sqlalchemy(module: str) -> bool:
    return module == "sqlalchemy" or module.startswith("sqlalchemy.")


def test_the_check_sees_every_spelling_of_an_import() -> None:
    source = (
        "import os, sqlalchemy\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "def f():\n"
        "    import sqlalchemy.dialects.postgresql as pg\n"
        "from . import sqlalchemy_like\n"
        "text = 'import sqlalchemy'\n"
    )
    assert sorted(m for m in imported_modules(source) if is_sqlalchemy(m)) == [
        "sqlalchemy",
        "sqlalchemy.dialects.postgresql",
        "sqlalchemy.exc",
    ]


@pytest.mark.parametrize("package", SHELLS)
def test_shells_never_import_sqlalchemy(package: str) -> None:
    files = sorted((SRC / package).rglob("*.py"))
    assert files, f"no modules under {package}/"
    offenders = {
        str(path.relative_to(SRC)): sorted(m for m in imported_modules(path.read_text()) if is_sqlalchemy(m))
        for path in files
    }
    assert {name: found for name, found in offenders.items() if found} == {}
