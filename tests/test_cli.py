"""The command line through subprocess: success paths and one-line errors with exit status 1."""

from __future__ import annotations

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
    summary = json.loads((out / "summary.json").read_text())
    assert "tax_alpha_post_liquidation" in summary
    completed = taxsim("report", out)
    assert completed.returncode == 0, completed.stderr
    assert (out / "charts" / "factsheet.png").stat().st_size > 10_000
    assert (out / "charts" / "tax_alpha_by_year.png").exists()
    # a bare Result.to_parquet folder works too
    completed = taxsim("report", out / "result", "--out", tmp_path / "bare")
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "bare" / "factsheet.png").exists()


def test_sweep_command_resumes(config_file, tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(f'[sweep]\nname = "cli"\nbase = "{config_file}"\nmetrics = "summary"\n'
                    '[product]\n"costs.cost_bps" = [0, 5]\n"tax.ordinary" = [0.3, 2.0]\n')
    out = tmp_path / "sweep"
    completed = taxsim("sweep", spec, "--out", out, "--no-progress")
    assert completed.returncode == 0, completed.stderr
    assert "4 scenarios, 2 failed" in completed.stdout
    table = pd.read_parquet(out / "results.parquet")
    assert list(table["status"]).count("ok") == 2
    parts = sorted((out / "parts").glob("*.parquet"))
    completed = taxsim("sweep", spec, "--out", out, "--no-progress", "--workers", "2")
    assert completed.returncode == 0 and sorted((out / "parts").glob("*.parquet")) == parts


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
    assert (tmp_path / "demo" / "result" / "daily.parquet").exists()
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
