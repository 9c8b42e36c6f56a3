"""Running the server: uvicorn on the app, and the first-start bootstrap (demo data, an admin key)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labelport.api.app import ServerConfig, create_app
from labelport.service import auth
from labelport.service.hub import Hub
from labelport.store import default_home

DEMO_KEY_NAME = "demo (labelport serve --demo)"


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """What a start printed: the admin key (None when one existed and no new one was asked for)."""

    key: auth.CreatedKey | None
    demo_project: str | None


def bootstrap(config: ServerConfig, *, demo: bool, organization: str = "default") -> Bootstrap:
    """Before serving: with ``demo``, the demo workspace and a fresh demo admin key (earlier demo keys
    are revoked, so one is live); without it, an admin key only when the organisation has none."""
    home = config.home or default_home()
    home.mkdir(parents=True, exist_ok=True)
    hub = Hub.open(home=home, database_url=config.database_url, organization=organization, actor=auth.DEFAULT_ADMIN)
    try:
        project = None
        if demo:
            from labelport.service.demo import run_demo

            project = run_demo(hub, home / "demo-media").project.id
            for old in auth.list_api_keys(hub.db, organization, include_revoked=False):
                if old.name == DEMO_KEY_NAME:
                    auth.revoke_api_key(hub.db, old.id, organization)
            key = auth.create_api_key(hub.db, organization=organization, name=DEMO_KEY_NAME, is_admin=True)
            return Bootstrap(key, project)
        if auth.list_api_keys(hub.db, organization, include_revoked=False):
            return Bootstrap(None, None)
        key = auth.create_api_key(hub.db, organization=organization, name="first admin key", is_admin=True)
        return Bootstrap(key, None)
    finally:
        hub.db.dispose()


def _print(line: str) -> None:
    print(line, flush=True)


def serve(
    config: ServerConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    demo: bool = False,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Bootstrap, print the URL (and a new admin key, once), then serve until interrupted."""
    import uvicorn

    announce = announce or _print
    started = bootstrap(config, demo=demo)
    url = f"http://{host}:{port}"
    announce(f"labelport server: {url}  (viewer: {url}/, OpenAPI: {url}/openapi.json, docs: {url}/docs)")
    if started.demo_project:
        announce(f"demo project: {started.demo_project}")
    if started.key is not None:
        announce(f"admin API key (shown once, store it): {started.key.secret}")
        announce(f'  client = labelport.Client(api_key="{started.key.secret}", endpoint="{url}")')
    else:
        announce("admin API keys exist already; `labelport keys create --admin` makes another")
    uvicorn.run(create_app(config), host=host, port=port, log_level="info")


def main(argv: list[str] | None = None) -> None:
    """``python -m labelport.api [--home H] [--database-url U] [--host H] [--port P] [--demo]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m labelport.api", description=main.__doc__)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--database-url")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args(argv)
    serve(ServerConfig(home=args.home, database_url=args.database_url), host=args.host, port=args.port, demo=args.demo)
