"""What every ``labelport`` command shares: its consoles, its one way to fail, the store, progress bars."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from labelport.errors import LabelportError
from labelport.service import Hub

P = ParamSpec("P")
R = TypeVar("R")

out = Console()
err = Console(stderr=True)


def fail_line(message: str) -> None:
    """The one line a failed command ends with."""
    # Messages quote values ("[server]", "[0, 0, 255]"): escaped, so rich prints them, not reads markup.
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def os_error_message(exc: OSError) -> str:
    """An OSError as a sentence naming the file."""
    reason = exc.strerror or str(exc)
    return f"{reason}: {str(exc.filename)!r}" if exc.filename is not None else reason


def subcommands(help_text: str) -> typer.Typer:
    """A command group of the ``labelport`` app (plain help: option placeholders say what to type)."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a known error into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except LabelportError as exc:
            fail_line(str(exc))
            raise typer.Exit(1) from None
        except OSError as exc:
            fail_line(os_error_message(exc))
            raise typer.Exit(1) from None

    return wrapper


def hub() -> Hub:
    return Hub.open()


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )
