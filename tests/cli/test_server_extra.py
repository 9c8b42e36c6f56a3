"""Without the ``server`` extra, ``labelport serve`` says which extra to install; API keys need no server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# FastAPI made unimportable, as in an install without the extra (``sys.modules[name] = None``).
SCRIPT = """
import sys

sys.modules["fastapi"] = None
from typer.testing import CliRunner

from labelport.cli.main import app

for args in (["serve"], ["keys", "create", "--name", "ci"]):
    result = CliRunner().invoke(app, args)
    print(result.exit_code, repr(result.stderr.strip()))
print("fastapi loaded:", sys.modules.get("fastapi") is not None)
"""


def test_serve_names_the_missing_extra(tmp_path: Path) -> None:
    env = {"LABELPORT_HOME": str(tmp_path), "COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    serve, keys, loaded = result.stdout.strip().splitlines()
    message = (
        "error: labelport serve needs the optional package 'fastapi', which is not installed; "
        "install the 'server' extra: pip install 'labelport[server]'"
    )
    assert serve == f"1 {message!r}"
    assert keys.startswith("0 'API key ")  # keys are made without the server's packages
    assert loaded == "fastapi loaded: False"
