"""``labelport``: the command line. Commands live beside this module by subject (catalog, transfer, workflow,
imaging, server); this one holds the app, its one way to fail, and the demo.

Every command is a thin call into ``labelport.service``. Known errors, usage errors and files that cannot be
read or written end in one line on stderr, ``error: ...``, and a non-zero exit (1; 2 for usage), never a
traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from labelport.cli.common import fail_line, handles_errors, hub, os_error_message, out
from labelport.errors import LabelportError


class LabelportGroup(TyperGroup):
    """The command group: usage errors and unreadable files end in one ``error:`` line, never a traceback."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except typer.Abort:
            fail_line("aborted")
            sys.exit(1)
        except _USAGE_ERRORS as exc:
            fail_line(_usage_message(exc))
            sys.exit(getattr(exc, "exit_code", 2))
        except LabelportError as exc:
            fail_line(str(exc))
            sys.exit(1)
        except OSError as exc:
            fail_line(os_error_message(exc))
            sys.exit(1)
        # Without standalone mode click hands back a command's exit code instead of exiting with it.
        sys.exit(result if isinstance(result, int) else 0)


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's exception base: typer's vendored copy (typer >= 0.20) and click itself (older typer)."""
    found: list[type[Exception]] = []
    if hasattr(typer, "TyperException"):
        found.append(typer.TyperException)
    try:
        import click
    except ImportError:  # pragma: no cover - typer that vendors click needs no click
        pass
    else:
        found.append(click.ClickException)
    return tuple(found)


_USAGE_ERRORS = _usage_errors()


def _usage_message(exc: Exception) -> str:
    message = str(getattr(exc, "format_message", lambda: str(exc))())
    context = getattr(exc, "ctx", None)
    path = getattr(context, "command_path", None)
    return f"{message} (see `{path} --help`)" if path else message


app = typer.Typer(
    name="labelport",
    cls=LabelportGroup,
    help="labelport: an open, self-hosted annotation hub for medical imaging.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from labelport import __version__

        out.print(f"labelport {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    home: Annotated[
        Path | None,
        typer.Option(metavar="FOLDER", help="Store location (default: $LABELPORT_HOME or ./.labelport)."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    if home is not None:
        os.environ["LABELPORT_HOME"] = str(home)


@app.command()
@handles_errors
def demo() -> None:
    """Create a demo workspace (synthetic DICOM series, image, ontology, project, batch) and print it."""
    from labelport.service.demo import run_demo

    h = hub()
    home = Path(os.environ.get("LABELPORT_HOME") or ".labelport").absolute()
    workspace = run_demo(h, home / "demo-media")
    if not workspace.created:
        out.print(f"demo already present in {home}: project {workspace.project.name!r} ({workspace.project.id})")
        for b in workspace.batches:
            out.print(f"  batch {b.name!r}: {b.size} data row(s), priority {b.priority}")
        return
    out.print(f"[bold]labelport demo[/bold] created in {home}", highlight=False)
    table = Table("what", "id", "details")
    table.columns[1].no_wrap = True
    if workspace.dataset:
        table.add_row("dataset", workspace.dataset.id, workspace.dataset.name)
    for row_id, key, kind, attrs in workspace.data_rows:
        dims = " x ".join(str(attrs[k]) for k in ("columns", "rows", "slices") if k in attrs) or " x ".join(
            str(attrs[k]) for k in ("width", "height") if k in attrs
        )
        table.add_row(f"data row ({kind})", row_id, f"{key}  {dims}")
    if workspace.ontology:
        tools = ", ".join(f"{t.name} ({t.type.value})" for t in workspace.ontology.ontology.tools)
        table.add_row("ontology", workspace.ontology.id, tools)
    table.add_row("project", workspace.project.id, f"{workspace.project.name} ({workspace.project.media_type.value})")
    for b in workspace.batches:
        table.add_row("batch", b.id, f"{b.name}, {b.size} data row(s), priority {b.priority}")
    out.print(table)


def _register() -> None:
    from labelport.cli import (
        catalog_commands,
        imaging_commands,
        server_commands,
        transfer_commands,
        workflow_commands,
    )

    catalog_commands.register(app)
    imaging_commands.register(app)
    server_commands.register(app)
    workflow_commands.register(app)
    transfer_commands.register(app)


_register()


def main() -> None:
    app()
