"""The ``taxsim`` command line (click)."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="taxsim")
def main() -> None:
    """taxsim: measure tax alpha with a real US tax ledger."""


@main.command()
def demo() -> None:
    """Run the offline demo on built-in data and print what happened."""
    from taxsim.demo import ledger_walkthrough

    click.echo(ledger_walkthrough())


if __name__ == "__main__":
    main()
