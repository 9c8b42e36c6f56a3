"""The HTTP client is light: building ``labelport.Client(api_key, endpoint)`` loads neither the service nor
SQLAlchemy (nor the server's FastAPI). Checked in a fresh interpreter, where nothing else loaded them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys

import labelport
from labelport.sdk.http import HttpBackend

client = labelport.Client("lp_not-a-real-key", "http://127.0.0.1:9")
assert isinstance(client.backend, HttpBackend), client.backend
job = labelport.MALPredictionImport  # the SDK's verbs are there without the embedded store
heavy = ("sqlalchemy", "alembic", "labelport.service", "labelport.store", "fastapi", "uvicorn")
print(sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy))))
"""


def test_the_http_client_loads_neither_the_service_nor_sqlalchemy() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_embedded_client_loads_them_when_asked(tmp_path: Path) -> None:
    script = (
        "import sys, labelport\n"
        f"client = labelport.Client(home={str(tmp_path)!r})\n"
        "print('sqlalchemy' in sys.modules, 'labelport.service.jobs' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True True"
