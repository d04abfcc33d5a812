"""The ``taxsim`` command line (click).

    taxsim demo [--out DIR]                       offline demo (ledger walkthrough + a run)
    taxsim run CONFIG [--out DIR]                 one run from a TOML config
    taxsim sweep SPEC --out DIR [--workers N] [--backend inprocess|process] [--scheduler ADDRESS]
    taxsim fetch TICKERS...                       Yahoo Finance history into the local cache
    taxsim report RESULTS [--out DIR]             factsheet and charts of a results folder

Errors print one line (``error: ...``) on stderr and exit with status 1 (2 for usage errors);
``TAXSIM_DEBUG=1`` shows the traceback. ``taxsim sweep`` also exits with status 1, after
writing the whole table, when any scenario failed (one ``error:`` line with the count and the
first failure).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from click.core import ParameterSource

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


# The figures `run` and `demo` print, each with what it is: annualized or not, pre- or
# post-liquidation (the "liquidation" conventions printed below say what that means).
_FIGURES = (
    ("start", ""),
    ("end", ""),
    ("years", ""),
    ("pre_tax_return", "annualized, before tax (the pre-tax twin's, where the run has one)"),
    ("pre_tax_return_this_run", "annualized, this run with its taxes paid as withdrawals"),
    ("after_tax_return_pre_liquidation", "annualized"),
    ("after_tax_return_post_liquidation", "annualized"),
    ("tax_cost_ratio", "pre-liquidation (Morningstar), against this run's pre-tax return"),
    ("tax_cost_ratio_post_liquidation", ""),
    ("tax_alpha_pre_liquidation", "annualized, vs the non-managed twin"),
    ("tax_alpha_post_liquidation", "annualized, vs the non-managed twin"),
    ("end_value", "pre-liquidation"),
    ("liquidation_value", "post-liquidation: after a full sale and every tax owed"),
    ("taxes_paid", "during the run; not accrued or liquidation tax"),
    ("harvested_losses", "realized losses"),
    ("turnover_mean", "mean of calendar years"),
)
_WIDTH = 100


def _figure_text(key: str, value) -> str:
    if not isinstance(value, float):
        return str(value)
    if value != value:
        return "n/a"
    if "return" in key or "alpha" in key or "ratio" in key or "turnover" in key:
        return f"{100 * value:.3f}%"
    if key == "years":
        return f"{value:.2f}"
    return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"


def _echo_wrapped(text: str, indent: str = "  ", hanging: str = "      ") -> None:
    import textwrap

    click.echo(textwrap.fill(text, _WIDTH, initial_indent=indent, subsequent_indent=hanging,
                             break_on_hyphens=False))


def _print_conventions(conventions: dict) -> None:
    """The conventions block under every printed summary: the chart footnote's entries
    (``taxsim.charts.style.FOOTNOTE_KEYS``: rates, loss convention, tax payment, lot method,
    liquidation, costs, ...) one a line, then what pre-/post-liquidation and after-tax
    figures mean (the metrics' conventions). ``conventions``: ``conventions_of(result)``, or a
    summary's ``convention_*`` entries without the prefix."""
    from taxsim.charts.style import FOOTNOTE_KEYS

    click.echo("Conventions (hypothetical results from a simulation, not the performance of "
               "any account):")
    for key, label in FOOTNOTE_KEYS:
        if key == "tax_profile" and conventions.get("tax_rates"):
            continue
        value = conventions.get(key)
        if value not in (None, ""):
            _echo_wrapped(f"{label}: {value}")
    for key, label in (("metric_liquidation", "Pre-/post-liquidation"),
                       ("metric_after_tax", "After-tax returns")):
        if conventions.get(key):
            _echo_wrapped(f"{label}: {conventions[key]}")


def _print_pieces(summary: dict) -> None:
    """``= harvested_losses x% + deferral y% + ...``: the post-liquidation tax alpha's pieces,
    wrapped between terms."""
    from taxsim.metrics.attribution import PIECES

    terms = [f"{piece} {_figure_text('tax_alpha', summary[f'tax_alpha_{piece}'])}"
             for piece in PIECES]
    lines = [f"    = {terms[0]}"]
    for term in terms[1:]:
        if len(lines[-1]) + 3 + len(term) > _WIDTH:
            lines.append(f"    + {term}")
        else:
            lines[-1] += f" + {term}"
    label = "(tax_alpha_<piece>)"
    if len(lines[-1]) + 1 + len(label) > _WIDTH:
        lines.append(f"      {label}")
    else:
        lines[-1] += f" {label}"
    click.echo("\n".join(lines))


def _print_summary(summary: dict) -> None:
    """The main figures of ``taxsim.metrics.summarize`` (each with what it is), the
    post-liquidation tax alpha's pieces, then the conventions they were measured under."""
    from taxsim.metrics.attribution import PIECES

    for key, note in _FIGURES:
        if key not in summary:
            continue
        text = _figure_text(key, summary[key])
        if key == "tax_alpha_post_liquidation" and summary.get("twin_strategy"):
            note = f"{note}: {summary['twin_strategy']}"
        click.echo(f"  {key:<36} {text:>12}  {note}".rstrip())
        if key == "tax_alpha_post_liquidation" and all(
                f"tax_alpha_{piece}" in summary for piece in PIECES):
            _print_pieces(summary)
    _print_conventions({key[len("convention_"):]: value for key, value in summary.items()
                        if key.startswith("convention_")})


_RUN_OUTPUTS = ("result", "twins", "summary.json", "config.json", "charts")
"""What ``run`` and ``demo`` write into OUT (``charts`` with --charts or ``report``)."""


def _refuse_another_run(out: str | Path, config) -> None:
    """Stop before writing a run into ``out`` when it holds the results of another
    configuration (its ``config.json`` differs, or run outputs without one): writing over
    them would leave that run's twins and charts beside the new results, and ``report``
    would mix the two. The same configuration again overwrites its own results."""
    from taxsim.config import RunConfigError

    folder = Path(out)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise RunConfigError(f"{folder}: not a folder (--out names the results folder)")
    stored = folder / "config.json"
    if stored.exists():
        from taxsim.demo import _read_config

        try:
            if _read_config(stored.read_text()).fingerprint() == config.fingerprint():
                return
        except ValueError:  # unreadable or invalid config.json: not this run's
            pass
    elif not any((folder / name).exists() for name in _RUN_OUTPUTS):
        return
    held = ", ".join(name for name in _RUN_OUTPUTS if (folder / name).exists())
    raise RunConfigError(f"{folder}: holds the results of another run ({held}); writing this "
                         "run there would leave that run's files beside it: give another --out,"
                         " or remove the folder first")


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
    and a factsheet to OUT, and prints the summary. No network needed. An OUT holding the
    results of another run (another --years or --seed) is refused before anything runs.
    """
    from taxsim.config import run_config
    from taxsim.demo import demo_config, ledger_walkthrough, write_report, write_run_folder

    config = demo_config(years, seed)
    _refuse_another_run(out, config)
    click.echo(ledger_walkthrough())
    click.echo()
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

    Writes OUT/result/*.parquet (daily, trades, lots, form_8949, annual_tax, conventions,
    tax_rates), OUT/twins/<name>/ with twins, OUT/summary.json and OUT/config.json, and prints
    the summary with its conventions (rates, loss convention, tax payment, lot method,
    liquidation). An OUT holding the results of another configuration is refused before
    anything runs (the same configuration again overwrites its results).
    """
    from taxsim.config import load_config, run_config
    from taxsim.demo import write_report, write_run_folder

    parsed = load_config(config)
    out = out or str(Path("results") / Path(config).stem)
    _refuse_another_run(out, parsed)
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
              "process: a process pool. --scheduler runs on dask instead (not with "
              "--backend or --workers).")
@click.option("--scheduler", default=None,
              help="dask.distributed scheduler address (tcp://host:8786); runs there, on the "
              "cluster's workers.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Scenarios per task and parquet part (default: the spec's).")
@click.option("--retry-failed", is_flag=True, help="Run again the scenarios that failed.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def sweep(spec: str, out: str | None, workers: int, backend: str, scheduler: str | None,
          chunk_size: int | None, retry_failed: bool, no_progress: bool) -> None:
    """Run the scenarios of the sweep SPEC (TOML); resumes an interrupted sweep in OUT.

    Every scenario's config is checked first: a misspelled override or a bad value stops
    the sweep before anything runs. Finished scenarios (by stable id) are never run again;
    a scenario that fails while running is recorded with its error (its row in the table) and
    the sweep goes on; at the end, if any scenario failed, one error line gives the count and
    the first failure and the exit status is 1 (--retry-failed runs them again).
    """
    from taxsim.sweep import load_spec, run_sweep

    context = click.get_current_context()
    if scheduler:  # given options that dask would ignore are errors, not silently dropped
        given = [f"--{name}" for name in ("backend", "workers")
                 if context.get_parameter_source(name) is not ParameterSource.DEFAULT]
        if given:
            raise click.UsageError(f"{' and '.join(given)}: not used with --scheduler (the "
                                   "dask cluster's workers run the scenarios); remove "
                                   f"{'them' if len(given) > 1 else 'it'}")
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
        lines = str(first["error"]).strip().splitlines()
        reason = " ".join(lines[0].split()) if lines else "error"
        click.echo(f"error: {failed} of {len(table)} scenarios failed (rows recorded in "
                   f"{Path(out) / 'results.parquet'}; --retry-failed runs them again); first "
                   f"failure ({first['scenario_id']}): {reason}", err=True)
        sys.exit(1)


@main.command()
@click.argument("tickers", nargs=-1, required=True)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache root (default: $TAXSIM_CACHE_DIR, else data/cache).")
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
    """Factsheet (one-page PDF, PNG preview) and charts (PNG and SVG) of RESULTS, a folder
    written by `taxsim run`, `taxsim demo` or Result.to_parquet; prints the files and the
    run's conventions (the rates it stored).

    A folder written before taxsim stored the rates (no tax_rates.parquet, no config.json)
    gets a warning, and its charts say that the rates are unknown.
    """
    from taxsim.demo import load_run_folder, write_report
    from taxsim.metrics import conventions_of

    result = load_run_folder(results)
    if not result.rates_recorded:
        click.echo(f"warning: {results}: the tax rates of this run are not recorded (a folder "
                   "written before taxsim stored tax_rates.parquet); the charts say the rates "
                   "are unknown: run the simulation again to record them", err=True)
    for path in write_report(results, out, result=result):
        click.echo(str(path))
    _print_conventions(conventions_of(result))


if __name__ == "__main__":
    main()
