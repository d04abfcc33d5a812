"""The command line through subprocess: success paths and one-line errors with exit status 1."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.test_config import REPO

TINY_TOML = """
name = "tiny cli run"
[market]
source = "synthetic"
seed = 3
years = 1
[household]
[[household.accounts]]
name = "taxable"
cash = 100000
[targets.taxable]
USTOTAL = 0.6
BOND = 0.4
[strategy]
name = "calendar_rebalance"
params = { frequency = "monthly", lot_method = "tax_optimal" }
[run]
twins = true
"""


def taxsim(*args, cwd=None, env=None, timeout=180):
    environment = {**os.environ, **(env or {})}
    environment.pop("TAXSIM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "taxsim", *map(str, args)], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, env=environment)


def assert_one_line_error(completed, *fragments):
    assert completed.returncode == 1, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in completed.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "tiny.toml"
    path.write_text(TINY_TOML)
    return path


def test_help_everywhere():
    from click.testing import CliRunner

    from taxsim.cli import main

    assert "Usage:" in taxsim("--help").stdout
    for command in ([], ["demo"], ["run"], ["sweep"], ["fetch"], ["report"]):
        completed = CliRunner().invoke(main, [*command, "--help"])
        assert completed.exit_code == 0 and "Usage:" in completed.output


def test_run_then_report(config_file, tmp_path):
    out = tmp_path / "run"
    completed = taxsim("run", config_file, "--out", out)
    assert completed.returncode == 0, completed.stderr
    assert "after_tax_return_post_liquidation" in completed.stdout
    for name in ("daily", "trades", "lots", "form_8949", "annual_tax", "conventions"):
        assert (out / "result" / f"{name}.parquet").exists()
    assert (out / "twins" / "non_managed" / "daily.parquet").exists()
    assert (out / "result" / "tax_rates.parquet").exists()
    # every printed figure says what it is, and the conventions follow it
    assert "pre-liquidation (Morningstar)" in completed.stdout
    for line in ("Rates: 37% ordinary, 20% long-term, 20% qualified dividends, 3.8% NIIT, "
                 "0% state", "Loss convention: standalone", "Taxes: paid from the portfolio",
                 "Lot method: tax_optimal", "Liquidation: values not liquidated",
                 "Pre-/post-liquidation: post-liquidation figures assume every taxable lot "
                 "sold on the last day"):
        assert line in " ".join(completed.stdout.split()), line
    summary = json.loads((out / "summary.json").read_text())
    assert "tax_alpha_post_liquidation" in summary
    completed = taxsim("report", out)
    assert completed.returncode == 0, completed.stderr
    assert "Rates: 37% ordinary" in completed.stdout and not completed.stderr
    assert (out / "charts" / "factsheet.png").stat().st_size > 10_000
    assert (out / "charts" / "tax_alpha_by_year.png").exists()
    # the factsheet as a one-page PDF, each chart also as a vector file (text kept as text)
    factsheet_pdf = (out / "charts" / "factsheet.pdf").read_bytes()
    assert factsheet_pdf.startswith(b"%PDF") and b"/Count 1 >>" in factsheet_pdf
    for name in ("growth", "realized_gains", "harvested_losses", "tax_alpha_by_year"):
        assert str(out / "charts" / f"{name}.svg") in completed.stdout
        svg = (out / "charts" / f"{name}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "Hypothetical" in svg, name
    # a bare Result.to_parquet folder works too
    completed = taxsim("report", out / "result", "--out", tmp_path / "bare")
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "bare" / "factsheet.png").exists()


FLOW_TOML = TINY_TOML + """
[[flows]]
date = "2006-03-01"
account = "taxable"
amount = 1000
"""


def test_sweep_command_resumes(tmp_path):
    # two of the four scenarios fail while running (a withdrawal larger than the account):
    # their rows are recorded, the sweep goes on, and the exit status says that some failed
    base = tmp_path / "flows.toml"
    base.write_text(FLOW_TOML)
    spec = tmp_path / "spec.toml"
    spec.write_text(f'[sweep]\nname = "cli"\nbase = "{base}"\nmetrics = "summary"\n'
                    '[product]\n"costs.cost_bps" = [0, 5]\n"flows.0.amount" = [1000, -1e9]\n')
    out = tmp_path / "sweep"
    completed = taxsim("sweep", spec, "--out", out, "--no-progress")
    assert_one_line_error(completed, "2 of 4 scenarios failed", "results.parquet",
                          "withdrawal of $1,000,000,000.00")
    assert "4 scenarios, 2 failed" in completed.stdout
    table = pd.read_parquet(out / "results.parquet")
    assert list(table["status"]).count("ok") == 2
    parts = sorted((out / "parts").glob("*.parquet"))
    completed = taxsim("sweep", spec, "--out", out, "--no-progress", "--workers", "2")
    assert completed.returncode == 1 and sorted((out / "parts").glob("*.parquet")) == parts
    assert "2 of 4 scenarios failed" in completed.stderr


def test_sweep_with_a_misspelled_override_fails_before_running(config_file, tmp_path):
    for name, overrides in (
            ("product", '[product]\n"tax.ordnary" = [0.3, 0.4]\n'),
            ("list", '[product]\n"costs.cost_bps" = [0, 5]\n'
                     '[[list]]\n"tax.ordinary" = 0.3\n[[list]]\n"tax.ordnary" = 0.2\n')):
        spec = tmp_path / f"{name}.toml"
        spec.write_text(f'[sweep]\nname = "cli"\nbase = "{config_file}"\n'
                        f'metrics = "summary"\n{overrides}')
        out = tmp_path / name
        completed = taxsim("sweep", spec, "--out", out, "--no-progress")
        assert_one_line_error(completed, "tax.ordnary: unknown field", "scenario ")
        assert not out.exists()  # nothing ran


def test_bad_inputs_give_one_line_and_exit_1(config_file, tmp_path):
    assert_one_line_error(taxsim("run", tmp_path / "missing.toml"), "no such file")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [\n")
    assert_one_line_error(taxsim("run", bad), "invalid TOML")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(TINY_TOML + "[costs]\ncost_bpz = 3\n")
    assert_one_line_error(taxsim("run", unknown), "costs.cost_bpz: unknown field")
    value = tmp_path / "value.toml"
    value.write_text(TINY_TOML.replace("cash = 100000", "cash = -5"))
    assert_one_line_error(taxsim("run", value), "household.accounts[0].cash",
                          "greater than or equal to 0")
    lots = tmp_path / "lots.toml"
    lots.write_text(TINY_TOML.replace(
        "cash = 100000", 'lots = [{ ticker = "BOND", shares = 1, basis = 90, '
        'acquired = "2031-02-03" }]'))
    assert_one_line_error(taxsim("run", lots), "is after the run's first day")
    assert_one_line_error(taxsim("sweep", bad), "invalid TOML")
    assert_one_line_error(taxsim("report", tmp_path / "nothing"), "no such folder")
    usage = taxsim("run")
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_fetch_fails_cleanly_without_network(tmp_path):
    dead = "http://127.0.0.1:9"  # nothing listens: every download fails at once
    completed = taxsim("fetch", "SPY", "--cache-dir", tmp_path,
                       env={"HTTPS_PROXY": dead, "HTTP_PROXY": dead, "https_proxy": dead,
                            "http_proxy": dead, "ALL_PROXY": dead}, timeout=120)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith("error: could not fetch SPY")
    assert not list(tmp_path.rglob("*.parquet"))


def test_demo_writes_results_and_charts(tmp_path):
    completed = taxsim("demo", "--out", tmp_path / "demo", "--years", "2", timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "Form 8949" in completed.stdout or "wash sale" in completed.stdout
    assert "tax_alpha_post_liquidation" in completed.stdout
    # the summary carries its conventions: the demo's 5% state tax, loss convention, tax
    # payment, lot method, and what pre- and post-liquidation mean
    simulation = completed.stdout[completed.stdout.index("Simulation:"):]
    for line in ("Rates: 37% ordinary, 20% long-term, 20% qualified dividends, 3.8% NIIT, "
                 "5% state", "Loss convention: standalone",
                 "Taxes: paid from the portfolio (taxable)", "Lot method: ",
                 "Liquidation: values not liquidated",
                 "Pre-/post-liquidation: post-liquidation figures assume every taxable lot "
                 "sold on the last day", "pre-liquidation (Morningstar)",
                 "= harvested_losses "):
        assert line in " ".join(simulation.split()), line
    assert len(simulation.splitlines()) <= 40  # short enough to read
    assert (tmp_path / "demo" / "result" / "daily.parquet").exists()
    assert (tmp_path / "demo" / "result" / "tax_rates.parquet").exists()
    assert (tmp_path / "demo" / "charts" / "factsheet.png").exists()


def test_sweep_command_threads_and_processes_give_the_sequential_table(config_file, tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(f'[sweep]\nname = "cli"\nbase = "{config_file}"\nmetrics = "summary"\n'
                    '[product]\n"costs.cost_bps" = [0, 2, 5]\n')
    tables = {}
    for name, options in {"sequential": [], "threads": ["--workers", "2"],
                          "processes": ["--workers", "2", "--backend", "process"]}.items():
        completed = taxsim("sweep", spec, "--out", tmp_path / name, "--no-progress", *options)
        assert completed.returncode == 0, completed.stderr
        tables[name] = pd.read_parquet(tmp_path / name / "results.parquet").drop(
            columns="elapsed_s")
    assert (tables["sequential"]["status"] == "ok").all()
    pd.testing.assert_frame_equal(tables["sequential"], tables["threads"])
    pd.testing.assert_frame_equal(tables["sequential"], tables["processes"])
    bad = taxsim("sweep", spec, "--backend", "gpu")
    assert bad.returncode == 2 and "gpu" in bad.stderr


# --------------------------------------------------------------------------- stored conventions
HISTORICAL_TOML = TINY_TOML.replace("[run]", """[tax]
profile = "us_top_historical"
state = 0.05
tax_payment = "outside"
[run]""")


@pytest.fixture(scope="module")
def historical_run(tmp_path_factory):
    """A run with historical rates, a 5% state tax and taxes paid from outside (twins)."""
    from taxsim.config import run_config

    path = tmp_path_factory.mktemp("historical") / "historical.toml"
    path.write_text(HISTORICAL_TOML)
    return run_config(path)


def invoke(*args):
    from click.testing import CliRunner

    from taxsim.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_tax_rates_round_trip_through_parquet(tmp_path):
    from taxsim import TaxProfile
    from taxsim.engine.run import tax_profile_from_frame, tax_rates_frame
    from taxsim.ledger.household import TaxRates

    for profile in (TaxProfile(), TaxProfile.us_top_historical(state=0.05),
                    TaxProfile(TaxRates(0.3, 0.1, 0.1, 0.0, 0.07),
                               {2026: TaxRates(0.396, 0.2, 0.2, 0.038, 0.07)}, name="mine",
                               long_term_before={"2027-07-01": 0.25})):
        tax_rates_frame(profile).to_parquet(tmp_path / "rates.parquet")
        back = tax_profile_from_frame(pd.read_parquet(tmp_path / "rates.parquet"))
        assert back == profile and back.name == profile.name
        assert dict(back.by_year) == dict(profile.by_year)
        assert dict(back.long_term_before) == dict(profile.long_term_before)
    assert dict(back.long_term_before) == {"2027-07-01": 0.25}
    # a folder written before the column existed: no change within a year
    old = pd.read_parquet(tmp_path / "rates.parquet").drop(columns="long_term_before")
    assert dict(tax_profile_from_frame(old).long_term_before) == {}
    # ... or before the §199A deduction: that run taxed REIT dividends in full, so it reads
    # as 0 in every row (the rates its stored taxes were computed with), not today's 20%
    historical = TaxProfile.us_top_historical()
    assert historical.rates(2018).section_199a_deduction == 0.20
    tax_rates_frame(historical).drop(columns="section_199a_deduction").to_parquet(
        tmp_path / "old.parquet")
    older = tax_profile_from_frame(pd.read_parquet(tmp_path / "old.parquet"))
    assert older.default == dataclasses.replace(historical.default, section_199a_deduction=0.0)
    assert {year: dataclasses.replace(rates, section_199a_deduction=0.0)
            for year, rates in historical.by_year.items()} == dict(older.by_year)


@pytest.mark.parametrize("writer", ["to_parquet", "write_run_folder"])
def test_report_states_the_rates_the_run_used(historical_run, tmp_path, writer):
    """`taxsim report` on a folder written without config.json (Result.to_parquet, as the
    README shows, or write_run_folder without config=) prints and charts the run's own rates,
    here historical rates with a 5% state tax, not the TaxProfile() defaults."""
    from taxsim.demo import load_run_folder, write_run_folder
    from taxsim.metrics import conventions_of, summarize

    folder = tmp_path / "run"
    if writer == "to_parquet":
        historical_run.to_parquet(folder)
    else:
        write_run_folder(historical_run, folder)
        assert not (folder / "config.json").exists()
    stored = load_run_folder(folder)
    assert stored.rates_recorded
    assert stored.ledger.tax_profile == historical_run.ledger.tax_profile
    expected = conventions_of(historical_run)["tax_rates"]
    assert "5% state" in expected and "US top federal rates by year" in expected
    assert conventions_of(stored)["tax_rates"] == expected
    completed = invoke("report", folder)
    assert completed.exit_code == 0, completed.output
    assert not completed.stderr
    printed = " ".join(completed.stdout.split())  # long lines are wrapped
    assert f"Rates: {expected}" in printed
    assert "0% state" not in printed
    assert "Taxes: paid from outside" in printed
    assert "Loss convention: standalone" in printed
    assert (folder / "charts" / "factsheet.png").exists()
    if writer == "write_run_folder":  # with twins: the decomposition uses the same rates
        ours, theirs = summarize(stored), summarize(historical_run)
        for piece in ("harvested_losses", "deferral", "character", "location", "other"):
            assert ours[f"tax_alpha_{piece}"] == pytest.approx(
                theirs[f"tax_alpha_{piece}"], abs=1e-12), piece
        assert ours["convention_tax_rates"] == expected


def test_report_on_a_folder_without_rates_says_they_are_unknown(historical_run, tmp_path):
    """An older folder (no tax_rates.parquet, no config.json): report warns and states that
    the rates are unknown instead of printing the TaxProfile() defaults; the decomposition,
    which needs rates, is NaN."""
    from taxsim.charts.style import footnote_text
    from taxsim.demo import RATES_NOT_RECORDED, load_run_folder, write_run_folder
    from taxsim.metrics import conventions_of, summarize

    folder = tmp_path / "old"
    write_run_folder(historical_run, folder)
    for path in folder.rglob("tax_rates.parquet"):
        path.unlink()
    stored = load_run_folder(folder)
    assert not stored.rates_recorded and stored.ledger.tax_profile is None
    rates = conventions_of(stored)["tax_rates"]
    assert rates.startswith(RATES_NOT_RECORDED) and "US top federal rates by year" in rates
    assert f"Rates: {rates}" in footnote_text(conventions_of(stored))
    summary = summarize(stored)
    assert summary["tax_alpha_post_liquidation"] == pytest.approx(
        summarize(historical_run)["tax_alpha_post_liquidation"], abs=1e-12)
    assert all(summary[f"tax_alpha_{p}"] != summary[f"tax_alpha_{p}"]  # NaN
               for p in ("harvested_losses", "deferral", "character", "location", "other"))
    completed = invoke("report", folder)
    assert completed.exit_code == 0, completed.output
    assert "warning:" in completed.stderr and "not recorded" in completed.stderr
    assert "Rates: not recorded in this results folder" in " ".join(completed.stdout.split())
    assert "37% ordinary" not in completed.stdout and "0% state" not in completed.stdout
    # an older `taxsim run` folder still has its config.json: the rates come from it
    (folder / "config.json").write_text(_config_of(HISTORICAL_TOML, tmp_path))
    stored = load_run_folder(folder)
    assert stored.rates_recorded
    assert conventions_of(stored)["tax_rates"] == conventions_of(historical_run)["tax_rates"]
    # a folder written now keeps no flat rates beside the historical profile: its config.json
    # validates as it is (a written rate would be refused there)
    from taxsim.config import RunConfig, load_config

    (tmp_path / "historical.toml").write_text(HISTORICAL_TOML)
    write_run_folder(historical_run, tmp_path / "new", load_config(tmp_path / "historical.toml"))
    config = RunConfig.model_validate_json((tmp_path / "new" / "config.json").read_text())
    assert config.tax.profile == "us_top_historical" and config.tax.state == 0.05


def _config_of(toml_text: str, tmp_path) -> str:
    from taxsim.config import load_config

    path = tmp_path / "config.toml"
    path.write_text(toml_text)
    return load_config(path).model_dump_json()


def test_summary_labels_the_decomposition_as_the_post_liquidation_tax_alpha(historical_run):
    from taxsim.metrics import summarize

    summary = summarize(historical_run)
    assert summary["tax_alpha_pieces_add_up_to"] == "tax_alpha_post_liquidation"
    keys = list(summary)  # the label sits right after the pieces
    assert keys.index("tax_alpha_pieces_add_up_to") == keys.index("tax_alpha_other") + 1
    note = summary["convention_metric_tax_alpha_decomposition"]
    assert "= tax_alpha_post_liquidation" in note
    pieces = [f"tax_alpha_{p}" for p in
              ("harvested_losses", "deferral", "character", "location", "other")]
    assert all(piece in note for piece in pieces)
    assert sum(summary[p] for p in pieces) == pytest.approx(
        summary["tax_alpha_post_liquidation"], abs=1e-12)


def test_bad_costs_and_an_impossible_withdrawal_give_one_line_and_exit_1(tmp_path):
    negative = tmp_path / "negative.toml"
    negative.write_text(TINY_TOML + "[costs]\ncost_bps = -50\nadvisory_fee_bps = -1000\n")
    assert_one_line_error(taxsim("run", negative, "--out", tmp_path / "n"), "costs.cost_bps",
                          "greater than or equal to 0", "costs.advisory_fee_bps")
    withdrawal = tmp_path / "withdrawal.toml"
    withdrawal.write_text(TINY_TOML + '[[flows]]\ndate = "2006-03-01"\naccount = "taxable"\n'
                          "amount = -1e9\n")
    assert_one_line_error(taxsim("run", withdrawal, "--out", tmp_path / "w"), "2006-03-01",
                          "withdrawal of $1,000,000,000.00 from account 'taxable'", "short")


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        ("seed = 3", 'seed = "7"', ("market.seed: Input should be a valid integer",)),
        ("twins = true", "twins = 1", ("run.twins: Input should be a valid boolean",)),
        ("cash = 100000", 'cash = "1e6"', ("household.accounts[0].cash",)),
        ("years = 1", 'years = 1\nstart = "2007-01-03junk"',
         ("market.start: not a date (YYYY-MM-DD)",)),
        ('source = "synthetic"', 'source = "synthetc"',
         ("market.source: unknown source 'synthetc'",)),
        ("seed = 3", 'seed = 3\ntickers = ["USTOTAL", "BOND", "FOO"]',
         ("market.tickers: FOO: not in this market",)),
        ("[household]", '[household]\nidentity_groups = { FOO = "g" }',
         ("household.identity_groups: ticker(s) ['FOO'] not in the market",)),
        ('frequency = "monthly", ', 'frequency = "monthly", min_trade = "abc", ',
         ("strategy.params.min_trade: must be a number",)),
    ],
)
def test_bad_config_values_give_one_line_naming_the_field(tmp_path, old, new, fragments):
    path = tmp_path / "bad.toml"
    path.write_text(TINY_TOML.replace(old, new, 1))
    assert_one_line_error(taxsim("run", path, "--out", tmp_path / "out"), *fragments)


def test_sweep_refuses_backend_or_workers_with_a_scheduler(tmp_path):
    """--scheduler ran on dask and silently ignored --backend and --workers."""
    for options in (["--backend", "process"], ["--workers", "2"]):
        completed = invoke("sweep", tmp_path / "missing.toml", "--scheduler",
                           "tcp://127.0.0.1:9", *options)
        assert completed.exit_code == 2, completed.output
        assert f"{options[0]}: not used with --scheduler" in completed.output


def test_run_refuses_a_folder_holding_another_run(config_file, tmp_path):
    """Writing a run over another run's folder left that run's twins and charts beside the
    new results (report then charted the new run against the old twins)."""
    from taxsim.config import load_config

    out = tmp_path / "out"
    (out / "twins" / "non_managed").mkdir(parents=True)
    other = load_config(config_file).model_copy(update={"name": "another run"})
    (out / "config.json").write_text(other.model_dump_json())
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    completed = invoke("run", config_file, "--out", out)
    assert completed.exit_code == 1
    assert (f"error: {out}: holds the results of another run (twins, config.json)"
            in completed.output)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
