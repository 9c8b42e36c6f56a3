"""``labelport serve`` and ``labelport keys create|list|revoke``."""

from __future__ import annotations

from typing import Annotated

import typer

from labelport._optional import require
from labelport.cli.common import handles_errors, out, subcommands
from labelport.cli.output import Column, FormatOption, OutputFormat, emit
from labelport.errors import LabelportError
from labelport.store import BlobStore, Database, default_home

# What only the server needs (the ``server`` extra); API keys are made without it.
SERVER_PACKAGES = ("fastapi", "uvicorn")

keys_app = subcommands("API keys: create (shown once), list, revoke.")

Organization = Annotated[str, typer.Option(metavar="NAME", help="Organisation name.")]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(metavar="URL", help="Database URL (default: $LABELPORT_DATABASE_URL or SQLite in the home)."),
]


def _db(database_url: str | None) -> Database:
    return Database(database_url, home=default_home())


@handles_errors
def serve(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Create the demo workspace and print a fresh demo admin key (the previous one is revoked).",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the HTTP API (uvicorn); print the URL and, once, an admin API key."""
    require(SERVER_PACKAGES, "labelport serve", "server")
    from labelport.api import ServerConfig
    from labelport.api.server import serve as run

    run(ServerConfig(home=default_home(), database_url=database_url), host=host, port=port, demo=demo)


@keys_app.command("create")
@handles_errors
def keys_create(
    name: Annotated[str, typer.Option(metavar="TEXT", help="What the key is for.")] = "api key",
    email: Annotated[
        str, typer.Option(metavar="EMAIL", help="The user the key acts as (created when new).")
    ] = "local@labelport",
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an organisation admin.")] = False,
    project: Annotated[
        str | None, typer.Option(metavar="PROJECT_ID", help="Give the user a role in this project.")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(metavar="admin|labeler|reviewer|viewer", help="The user's role in --project (default: viewer)."),
    ] = None,
    organization: Organization = "default",
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API key and print it; it is shown this once (only its hash is stored)."""
    from labelport.cli.common import err
    from labelport.service import auth
    from labelport.service.hub import Hub

    if role is not None and project is None:
        raise LabelportError(f"--role {role} is a role in a project; name the project with --project PROJECT_ID")
    db = _db(database_url)
    try:
        if project is not None:
            org_id, _ = auth.ensure_user(db, organization, email)
            hub = Hub(db=db, blobs=BlobStore(default_home() / "blobs"), organization_id=org_id, actor="labelport keys")
            auth.set_member(hub, project, email, role or "viewer")
        is_admin = admin or email == auth.DEFAULT_ADMIN
        key = auth.create_api_key(db, organization=organization, email=email, name=name, is_admin=is_admin)
    finally:
        db.dispose()
    err.print(f"API key {key.id} ({key.prefix}...) for {key.email}; store it now, it is not shown again:")
    out.print(key.secret, highlight=False, soft_wrap=True)


@keys_app.command("list")
@handles_errors
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    organization: Organization = "default",
    database_url: DatabaseUrl = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List API keys (prefix, user, creation, revocation); secrets are never shown."""
    from labelport.service import auth

    db = _db(database_url)
    try:
        found = auth.list_api_keys(db, organization, include_revoked=all_keys)
    finally:
        db.dispose()
    rows = [
        {
            "id": k.id,
            "prefix": k.prefix,
            "name": k.name,
            "email": k.email,
            "is_admin": k.is_admin,
            "created_at": k.created_at.isoformat(timespec="seconds"),
            "revoked_at": k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else None,
        }
        for k in found
    ]
    columns = [
        Column("id", "id", whole=True),
        Column("prefix", "prefix", whole=True),
        Column("name", "name"),
        Column("email", "user", whole=True),
        Column("is_admin", "admin"),
        Column("created_at", "created"),
        Column("revoked_at", "revoked"),
    ]
    emit(out, columns, rows, fmt)


@keys_app.command("revoke")
@handles_errors
def keys_revoke(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The key's id or its shown prefix.")],
    organization: Organization = "default",
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke an API key: requests with it fail with 401 from now on."""
    from labelport.service import auth

    db = _db(database_url)
    try:
        revoked = auth.revoke_api_key(db, key, organization)
    finally:
        db.dispose()
    out.print(f"revoked API key {revoked.id} ({revoked.prefix}...) of {revoked.email}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
