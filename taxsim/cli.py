"""The ``taxsim`` command line (click).

    taxsim demo [--out DIR]                       offline demo (ledger walkthrough + a run)
    taxsim run CONFIG [--out DIR]                 one run from a TOML config
    taxsim sweep SPEC --out DIR [--workers N] [--backend inprocess|process] [--scheduler ADDRESS]
    taxsim fetch TICKERS...                       Yahoo Finance history into the local cache
    taxsim report RESULTS [--out DIR]             factsheet and charts of a results folder

Errors print one line (``error: ...``) on stderr and exit with status 1 (2 for usage errors);
``TAXSIM_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

# Errors whose message is meant for the user (config, data, I/O); anything else is a bug and
# still prints one line (with its type) unless TAXSIM_DEBUG is set.


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted (finished work is kept; run again to resume)", err=True)
            sys.exit(130)
        except Exception as error:  # one clear line, no traceback
            if os.environ.get("TAXSIM_DEBUG"):
                raise
            message = " ".join(str(error).split()) or type(error).__name__
            known = ("RunConfigError", "ConfigError", "MarketDataError", "FileNotFoundError",
                     "SimulationError", "ChartError", "LedgerError")
            if type(error).__name__ not in known:
                message = f"{type(error).__name__}: {message}"
            click.echo(f"error: {message}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="taxsim")
def main() -> None:
    """taxsim: measure tax alpha with a real US tax ledger."""


def _print_summary(summary: dict) -> None:
    keys = ("start", "end", "years", "pre_tax_return", "after_tax_return_pre_liquidation",
            "after_tax_return_post_liquidation", "tax_cost_ratio", "tax_alpha_post_liquidation",
            "end_value", "liquidation_value", "taxes_paid", "harvested_losses", "turnover_mean")
    for key in keys:
        if key not in summary:
            continue
        value = summary[key]
        if isinstance(value, float):
            if "return" in key or "alpha" in key or "ratio" in key or "turnover" in key:
                text = f"{100 * value:.3f}%"
            elif key == "years":
                text = f"{value:.2f}"
            else:
                text = f"${value:,.0f}"
        else:
            text = str(value)
        click.echo(f"  {key:<36} {text}")


@main.command()
@click.option("--out", "out", type=click.Path(file_okay=False), default="taxsim-demo",
              show_default=True, help="Results folder (parquet, summary.json, charts/).")
@click.option("--years", type=float, default=3.0, show_default=True,
              help="Length of the synthetic market.")
@click.option("--seed", type=int, default=11, show_default=True, help="Synthetic market seed.")
@click.option("--no-charts", is_flag=True, help="Skip the charts.")
def demo(out: str, years: float, seed: int, no_charts: bool) -> None:
    """Run the offline demo on built-in synthetic data and print what happened.

    Prints the ledger walkthrough, then runs tax-loss harvesting for a two-account household
    on a synthetic market (with its non-managed and pre-tax twins), writes parquet, a summary
    and a factsheet to OUT, and prints the summary. No network needed.
    """
    from taxsim.config import run_config
    from taxsim.demo import demo_config, ledger_walkthrough, write_report, write_run_folder

    click.echo(ledger_walkthrough())
    click.echo()
    config = demo_config(years, seed)
    click.echo(f"Simulation: {config.name} ({years:g} synthetic years, seed {seed}; the first "
               "run compiles the strategy, about 20-40 s)")
    result = run_config(config)
    summary = write_run_folder(result, out, config)
    _print_summary(summary)
    if not no_charts:
        written = write_report(out)
        click.echo(f"charts: {', '.join(str(p) for p in written)}")
    click.echo(f"results written to {out}/")


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Results folder (default: results/<config file stem>).")
@click.option("--charts/--no-charts", default=False, show_default=True,
              help="Also write the factsheet and charts.")
def run(config: str, out: str | None, charts: bool) -> None:
    """Run the simulation described by the TOML file CONFIG.

    Writes OUT/result/*.parquet (daily, trades, lots, form_8949, annual_tax, conventions),
    OUT/twins/<name>/ with twins, OUT/summary.json and OUT/config.json, and prints the summary.
    """
    from taxsim.config import load_config, run_config
    from taxsim.demo import write_report, write_run_folder

    parsed = load_config(config)
    out = out or str(Path("results") / Path(config).stem)
    result = run_config(parsed)
    summary = write_run_folder(result, out, parsed)
    click.echo(f"{parsed.name}")
    _print_summary(summary)
    if charts:
        write_report(out)
    click.echo(f"results written to {out}/")


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Sweep folder: parts/*.parquet, results.parquet (default: results/<stem>).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Parallel workers: threads in this process, or processes with "
              "--backend process.")
@click.option("--backend", type=click.Choice(["inprocess", "process"]), default="inprocess",
              show_default=True,
              help="inprocess: threads sharing the market (the day loop releases the GIL); "
              "process: a process pool. --scheduler runs on dask instead.")
@click.option("--scheduler", default=None,
              help="dask.distributed scheduler address (tcp://host:8786); runs there.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Scenarios per task and parquet part (default: the spec's).")
@click.option("--retry-failed", is_flag=True, help="Run again the scenarios that failed.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def sweep(spec: str, out: str | None, workers: int, backend: str, scheduler: str | None,
          chunk_size: int | None, retry_failed: bool, no_progress: bool) -> None:
    """Run the scenarios of the sweep SPEC (TOML); resumes an interrupted sweep in OUT.

    Finished scenarios (by stable id) are never run again; failing scenarios are recorded with
    their error and the sweep goes on (exit status 0; the count is printed).
    """
    from taxsim.sweep import load_spec, run_sweep

    parsed = load_spec(spec)
    out = out or str(Path("results") / Path(spec).stem)
    table = run_sweep(parsed, out, backend="dask" if scheduler else backend, workers=workers,
                      scheduler=scheduler, chunk_size=chunk_size, retry_failed=retry_failed,
                      progress=not no_progress)
    failed = int((table["status"] != "ok").sum()) if len(table) else 0
    click.echo(f"{parsed.name}: {len(table)} scenarios, {failed} failed; "
               f"table in {Path(out) / 'results.parquet'}")
    if failed:
        first = table[table["status"] != "ok"].iloc[0]
        click.echo(f"  first failure ({first['scenario_id']}): {first['error']}")


@main.command()
@click.argument("tickers", nargs=-1, required=True)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache root (default: TAXSIM_CACHE or ~/.cache/taxsim).")
@click.option("--refresh", is_flag=True, help="Download again even when cached.")
def fetch(tickers: tuple[str, ...], cache_dir: str | None, refresh: bool) -> None:
    """Download the Yahoo Finance history of TICKERS into the local cache (needs network)."""
    import logging

    from taxsim.market import MarketDataError
    from taxsim.market.yahoo import cached_history

    logging.getLogger("yfinance").setLevel(logging.CRITICAL)  # its own retries and warnings
    failed = []
    for ticker in tickers:
        try:
            frame = cached_history(ticker, cache_dir=cache_dir, refresh=refresh)
        except Exception as error:  # network, Yahoo or data errors: report, go on
            message = " ".join(str(error).split()) or type(error).__name__
            click.echo(f"{ticker}: failed ({message})", err=True)
            failed.append(ticker)
            continue
        dates = frame["date"] if "date" in frame.columns else frame.index
        click.echo(f"{ticker}: {len(frame)} days, {str(min(dates))[:10]} .. {str(max(dates))[:10]}")
    if failed:
        raise MarketDataError(
            f"could not fetch {', '.join(failed)} (no network, or Yahoo refused); "
            "cached tickers are still usable with source = \"yfinance\", offline = true"
        )


@main.command()
@click.argument("results", type=click.Path(file_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Charts folder (default: RESULTS/charts).")
def report(results: str, out: str | None) -> None:
    """Factsheet and charts (PNG) of RESULTS, a folder written by `taxsim run`, `taxsim demo`
    or Result.to_parquet."""
    from taxsim.demo import write_report

    for path in write_report(results, out):
        click.echo(str(path))


if __name__ == "__main__":
    main()
