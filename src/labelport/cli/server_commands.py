"""``labelport serve`` and ``labelport keys create|list|revoke``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labelport._optional import require
from labelport.errors import LabelportError
from labelport.store import BlobStore, Database, default_home

# What only the server needs (the ``server`` extra); API keys are made without it.
SERVER_PACKAGES = ("fastapi", "uvicorn")

out = Console()
err = Console(stderr=True)

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)

Organization = Annotated[str, typer.Option(help="Organisation name.")]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="Database URL (default: $LABELPORT_DATABASE_URL or SQLite in the home).")
]


def _fail(exc: LabelportError) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _db(database_url: str | None) -> Database:
    return Database(database_url, home=default_home())


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Create the demo workspace and print a fresh demo admin key.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the HTTP API (uvicorn); print the URL and, once, an admin API key."""
    try:
        require(SERVER_PACKAGES, "labelport serve", "server")
        from labelport.api import ServerConfig
        from labelport.api.server import serve as run

        run(ServerConfig(home=default_home(), database_url=database_url), host=host, port=port, demo=demo)
    except LabelportError as exc:
        raise _fail(exc) from None


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="What the key is for.")] = "api key",
    email: Annotated[str, typer.Option(help="The user the key acts as (created when new).")] = "local@labelport",
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an organisation admin.")] = False,
    project: Annotated[str | None, typer.Option(help="Give the user a role in this project id.")] = None,
    role: Annotated[str, typer.Option(help="Role in --project: admin, labeler, reviewer or viewer.")] = "viewer",
    organization: Organization = "default",
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API key and print it; it is shown this once (only its hash is stored)."""
    from labelport.service import auth
    from labelport.service.hub import Hub

    db = _db(database_url)
    try:
        if project is not None:
            org_id, _ = auth.ensure_user(db, organization, email)
            hub = Hub(db=db, blobs=BlobStore(default_home() / "blobs"), organization_id=org_id, actor="labelport keys")
            auth.set_member(hub, project, email, role)
        is_admin = admin or email == auth.DEFAULT_ADMIN
        key = auth.create_api_key(db, organization=organization, email=email, name=name, is_admin=is_admin)
    except LabelportError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    err.print(f"API key {key.id} ({key.prefix}...) for {key.email}; store it now, it is not shown again:")
    out.print(key.secret, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    organization: Organization = "default",
    database_url: DatabaseUrl = None,
) -> None:
    """List API keys (prefix, user, creation, revocation); secrets are never shown."""
    from labelport.service import auth

    db = _db(database_url)
    try:
        found = auth.list_api_keys(db, organization, include_revoked=all_keys)
    finally:
        db.dispose()
    table = Table("id", "prefix", "name", "user", "admin", "created", "revoked")
    for k in found:
        revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else ""
        table.add_row(
            k.id,
            k.prefix,
            k.name,
            k.email,
            "yes" if k.is_admin else "",
            k.created_at.isoformat(timespec="seconds"),
            revoked,
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id or its shown prefix.")],
    organization: Organization = "default",
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke an API key: requests with it fail with 401 from now on."""
    from labelport.service import auth

    db = _db(database_url)
    try:
        revoked = auth.revoke_api_key(db, key, organization)
    except LabelportError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    out.print(f"revoked API key {revoked.id} ({revoked.prefix}...) of {revoked.email}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
