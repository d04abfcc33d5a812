"""Run configurations: TOML in, validated RunConfig, one-line errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from taxsim.config import (
    RunConfig,
    RunConfigError,
    apply_overrides,
    config_from_dict,
    load_config,
    run_config,
)

REPO = Path(__file__).resolve().parents[1]

TINY = {
    "name": "tiny",
    "market": {"source": "synthetic", "seed": 3, "years": 1.0},
    "household": {"accounts": [{"name": "taxable", "cash": 100_000.0}]},
    "targets": {"taxable": {"USTOTAL": 0.6, "BOND": 0.4}},
    "strategy": {"name": "calendar_rebalance", "params": {"frequency": "monthly"}},
}


def test_example_run_toml_is_valid():
    config = load_config(REPO / "examples" / "run.toml")
    assert isinstance(config, RunConfig)
    assert config.strategy.name == "calendar_rebalance"
    assert [a.kind for a in config.household.accounts] == ["taxable", "tax_deferred"]
    assert config.run.twins is True
    assert len(config.fingerprint()) == 16


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"costs.cost_bpz": 1}, "costs.cost_bpz: unknown field"),
        ({"tax.ordinary": 1.5}, "tax.ordinary: Input should be less than 1"),
        ({"tax.loss_convention": "sometimes"}, "tax.loss_convention"),
        ({"household.accounts.0.kind": "roth"}, "household.accounts[0].kind"),
        ({"targets.taxable.USTOTAL": 0.9}, "weights sum to 1.3"),
        ({"targets.nobody": {"BOND": 1.0}}, "unknown account 'nobody'"),
        ({"strategy.name": "nosuch"}, "unknown strategy 'nosuch'"),
        ({"strategy.params.frequenzy": "monthly"}, "unknown parameter(s) ['frequenzy']"),
        ({"market.start": "2010-13-01"}, "market.start"),
        ({"tax.tax_account": "ira"}, "tax.tax_account: unknown account 'ira'"),
    ],
)
def test_bad_values_name_the_field_in_one_line(override, expected):
    with pytest.raises(RunConfigError) as info:
        config_from_dict(apply_overrides(TINY, override), "cfg")
    message = str(info.value)
    assert expected in message
    assert "\n" not in message and message.startswith("cfg: ")


LOT = {"ticker": "USTOTAL", "shares": 10, "basis": 500.0, "acquired": "2004-05-06"}


def test_legacy_lots_are_accepted_and_become_simulate_initial_lots():
    from taxsim.config import initial_lots_frame

    lots = [LOT, {**LOT, "ticker": "BOND", "acquired": "2009-01-05",
                  "holding_start": "2007-03-01"}]
    config = config_from_dict(apply_overrides(TINY, {"household.accounts.0.lots": lots}))
    frame = initial_lots_frame(config.household)
    assert frame.to_dict("records") == [
        {"account": "taxable", "ticker": "USTOTAL", "shares": 10.0, "basis": 500.0,
         "acquired": "2004-05-06", "holding_start": "2004-05-06"},
        {"account": "taxable", "ticker": "BOND", "shares": 10.0, "basis": 500.0,
         "acquired": "2009-01-05", "holding_start": "2007-03-01"},
    ]
    assert initial_lots_frame(config_from_dict(TINY).household) is None
    assert config.fingerprint() != config_from_dict(TINY).fingerprint()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"shares": -1}, "household.accounts[0].lots[0].shares: Input should be greater than 0"),
        ({"basis": -1.0}, "household.accounts[0].lots[0].basis"),
        ({"acquired": "2004-13-06"}, "household.accounts[0].lots[0].acquired: not a date"),
        ({"holding_start": "2005-01-01"}, "holding_start 2005-01-01 is after acquired 2004-05-06"),
        ({"ticker": ""}, "household.accounts[0].lots[0].ticker"),
        ({"price": 3.0}, "household.accounts[0].lots[0].price: unknown field"),
    ],
)
def test_bad_legacy_lots_name_the_field(change, expected):
    lots = [{**LOT, **change}]
    with pytest.raises(RunConfigError) as info:
        config_from_dict(apply_overrides(TINY, {"household.accounts.0.lots": lots}), "cfg")
    assert expected in str(info.value)


def test_legacy_lot_tickers_are_checked_against_the_market():
    lots = [{**LOT, "ticker": "NOPE"}]
    with pytest.raises(RunConfigError, match=r"lots\[0\] \(taxable\)\.ticker: 'NOPE' not in "
                       "market.tickers"):
        config_from_dict(apply_overrides(TINY, {"household.accounts.0.lots": lots,
                                                "market.tickers": ["USTOTAL", "BOND"]}))
    config = config_from_dict(apply_overrides(TINY, {"household.accounts.0.lots": lots}))
    with pytest.raises(RunConfigError, match=r"lots\[0\] \(taxable\)\.ticker: 'NOPE' not in "
                       "the market"):
        run_config(config)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(RunConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [\n")
    with pytest.raises(RunConfigError, match="invalid TOML"):
        load_config(bad)


def test_apply_overrides_is_a_deep_copy_with_dotted_paths():
    out = apply_overrides(TINY, {"strategy.params.frequency": "yearly", "costs.cost_bps": 3,
                                 "household.accounts.0.cash": 5.0})
    assert out["strategy"]["params"]["frequency"] == "yearly"
    assert out["costs"] == {"cost_bps": 3}
    assert out["household"]["accounts"][0]["cash"] == 5.0
    assert TINY["strategy"]["params"]["frequency"] == "monthly"
    with pytest.raises(RunConfigError, match="no item 4"):
        apply_overrides(TINY, {"household.accounts.4.cash": 1.0})


def test_run_config_equals_direct_simulate():
    from strategies import calendar_rebalance
    from taxsim import Account, Household
    from taxsim.engine.run import simulate
    from taxsim.market import synthetic_market

    config = config_from_dict(apply_overrides(TINY, {"costs.cost_bps": 5, "tax.state": 0.05}))
    result = run_config(config)
    market = synthetic_market(seed=3, years=1.0)
    from taxsim.config import build_tax_profile

    direct = simulate(market, Household([Account("taxable")]), calendar_rebalance("monthly"),
                      {"taxable": {"USTOTAL": 0.6, "BOND": 0.4}},
                      contributions={"taxable": 100_000.0}, cost_bps=5,
                      tax_profile=build_tax_profile(config.tax))
    assert result.summary()["end_value"] == direct.summary()["end_value"]
    assert result.summary()["tax_paid_from_portfolio"] == direct.summary()[
        "tax_paid_from_portfolio"]


def test_apply_overrides_returns_a_deep_copy():
    """Overrides never reach the base: every dict and list of the result is new (a sweep
    applies each scenario's overrides to the same base), and the values put in are copies."""
    import datetime

    base = {"a": {"b": [1, {"c": 2.0}], "d": "x"}, "when": datetime.date(2020, 1, 2)}
    value = {"e": [3]}
    out = apply_overrides(base, {"a.b.1.c": 5.0, "a.new.f": value})
    assert out == {"a": {"b": [1, {"c": 5.0}], "d": "x", "new": {"f": {"e": [3]}}},
                   "when": datetime.date(2020, 1, 2)}
    assert base == {"a": {"b": [1, {"c": 2.0}], "d": "x"}, "when": datetime.date(2020, 1, 2)}
    out["a"]["b"].append(9)
    out["a"]["new"]["f"]["e"].append(4)
    assert base["a"]["b"] == [1, {"c": 2.0}] and value == {"e": [3]}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"costs.cost_bps": -50}, "costs.cost_bps: Input should be greater than or equal to 0 "
                                  "(got -50)"),
        ({"costs.cost_bps": float("nan")}, "costs.cost_bps: Input should be a finite number"),
        ({"costs.cost_bps": 10_000}, "costs.cost_bps: Input should be less than 10000"),
        ({"costs.cost_per_trade": -1}, "costs.cost_per_trade: Input should be greater than or "
                                       "equal to 0"),
        ({"costs.cost_per_trade": float("inf")},
         "costs.cost_per_trade: Input should be a finite number (got inf)"),
        ({"costs.advisory_fee_bps": -1000},
         "costs.advisory_fee_bps: Input should be greater than or equal to 0 (got -1000)"),
        ({"household.accounts.0.cash": float("nan")},
         "household.accounts[0].cash: Input should be a finite number"),
        ({"flows": [{"date": "2006-03-01", "account": "taxable", "amount": float("nan")}]},
         "flows[0].amount: Input should be a finite number (got nan)"),
    ],
)
def test_bad_numbers_are_refused_naming_the_field(override, expected):
    with pytest.raises(RunConfigError) as info:
        config_from_dict(apply_overrides(TINY, override), "cfg")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_toml_nan_and_inf_are_refused(tmp_path):
    path = tmp_path / "nan.toml"
    path.write_text('[household]\n[[household.accounts]]\nname = "taxable"\ncash = 1000\n'
                    "[targets.taxable]\nUSTOTAL = 1.0\n[costs]\ncost_bps = nan\n"
                    "cost_per_trade = -inf\n")
    with pytest.raises(RunConfigError, match=r"costs.cost_bps: Input should be a finite number"):
        load_config(path)


def test_a_withdrawal_larger_than_the_account_stops_the_run_naming_it():
    from taxsim.engine import SimulationError

    config = apply_overrides(TINY, {"flows": [
        {"date": "2006-03-01", "account": "taxable", "amount": -1e9}]})
    with pytest.raises(SimulationError) as info:
        run_config(config_from_dict(config))
    message = str(info.value)
    assert "on 2006-03-01: withdrawal of $1,000,000,000.00 from account 'taxable'" in message
    assert "short; nothing of it was applied" in message


# --------------------------------------------------------------------------- strict types
@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"market.seed": "7"}, "market.seed"),
        ({"market.seed": 7.0}, "market.seed"),
        ({"tax.ordinary": "0.3"}, "tax.ordinary"),
        ({"run.twins": "yes"}, "run.twins"),
        ({"run.twins": 1}, "run.twins"),
        ({"household.accounts.0.cash": True}, "household.accounts[0].cash"),
        ({"household.accounts.0.cash": "1e6"}, "household.accounts[0].cash"),
        ({"targets.taxable.USTOTAL": "0.5"}, "targets.taxable.USTOTAL"),
        ({"costs.whole_shares": "false"}, "costs.whole_shares"),
        ({"tax.by_year": {"2026": {"ordinary": "0.4"}}}, "tax.by_year.2026.ordinary"),
    ],
)
def test_wrong_types_are_refused_not_converted(override, field):
    with pytest.raises(RunConfigError) as info:
        config_from_dict(apply_overrides(TINY, override), "cfg")
    message = str(info.value)
    assert message.startswith(f"cfg: {field}: Input should be a valid "), message
    assert "\n" not in message


def test_legitimate_numbers_and_dates_are_still_accepted(tmp_path):
    import datetime

    import numpy as np

    config = config_from_dict(apply_overrides(TINY, {
        "household.accounts.0.cash": 1_000_000, "tax.ordinary": 0, "costs.cost_bps": 2,
        "market.seed": np.int64(4), "market.tickers": ("USTOTAL", "BOND"),
        "market.start": datetime.date(2007, 1, 3),
        "flows": [{"date": "2007-03-01", "account": "taxable", "amount": 5_000}]}))
    assert config.household.accounts[0].cash == 1_000_000.0
    assert isinstance(config.household.accounts[0].cash, float)
    assert config.tax.ordinary == 0.0 and config.market.seed == 4
    assert config.market.tickers == ["USTOTAL", "BOND"]
    assert config.market.start == "2007-01-03" and config.flows[0].date == "2007-03-01"
    # TOML dates, local date-times at midnight, ISO strings, year keys of by_year
    path = tmp_path / "dates.toml"
    path.write_text('[market]\nseed = 3\nstart = 2007-01-03\nyears = 1\n'
                    '[household]\n[[household.accounts]]\nname = "taxable"\ncash = 1000\n'
                    'lots = [{ ticker = "BOND", shares = 1, basis = 90, acquired = 2005-02-01,'
                    ' holding_start = 2004-02-02T00:00:00 }]\n'
                    '[targets.taxable]\nUSTOTAL = 1.0\n'
                    '[tax.by_year.2008]\nordinary = 0.35\n'
                    '[[flows]]\ndate = "2007-03-01"\naccount = "taxable"\namount = 100\n')
    config = load_config(path)
    assert config.market.start == "2007-01-03"
    lot = config.household.accounts[0].lots[0]
    assert (lot.acquired, lot.holding_start) == ("2005-02-01", "2004-02-02")
    assert config.tax.by_year[2008].ordinary == 0.35
    # a config written as JSON (a run folder's config.json) reads back
    assert RunConfig.model_validate_json(config.model_dump_json()) == config


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"market.start": "2007-01-03junk"}, "market.start"),
        ({"market.start": "2007-01-03T12:00:00"}, "market.start"),
        ({"market.start": "20070103"}, "market.start"),
        ({"household.accounts.0.lots": [{**LOT, "acquired": "2004-05-06 x"}]},
         "household.accounts[0].lots[0].acquired"),
        ({"flows": [{"date": "tomorrow", "account": "taxable", "amount": 1.0}]},
         "flows[0].date"),
    ],
)
def test_dates_are_parsed_strictly(override, field):
    with pytest.raises(RunConfigError) as info:
        config_from_dict(apply_overrides(TINY, override), "cfg")
    assert str(info.value).startswith(f"cfg: {field}: not a date (YYYY-MM-DD)"), info.value


# ----------------------------------------------------------------- nothing silently ignored
@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"tax.profile": "us_top_historical", "tax.ordinary": 0.5},
         "cfg: tax.ordinary: not used with tax.profile 'us_top_historical'"),
        ({"tax.profile": "us_top_historical", "tax.by_year": {"2008": {"ordinary": 0.3}}},
         "cfg: tax.by_year: not used with tax.profile 'us_top_historical'"),
        ({"tax.profile": "us_top_historical", "tax.long_term": 0.1, "tax.niit": 0.0},
         "cfg: tax.long_term, tax.niit: not used"),
        ({"market.source": "us_etfs", "market.seed": 5, "market.years": None,
          "market.start": "2015-01-02"}, "cfg: market.seed: synthetic-only"),
        ({"market.source": "us_etfs", "market.seed": 0, "market.path": 2, "market.tail_df": 4.0,
          "market.years": None}, "cfg: market.path, market.tail_df: synthetic-only"),
        ({"market.offline": True}, "cfg: market.offline: yfinance-only"),
        ({"market.gaps": "carry_forward"}, "cfg: market.gaps: not used by source 'synthetic'"),
        ({"market.end": "2006-06-01"}, "cfg: market.end, market.years: give one of them"),
        ({"market.source": "us_etfs", "market.seed": 0}, "cfg: market.years: needs market.start"),
        ({"market.tickers": ["USTOTAL", "BOND"], "household.identity_groups": {"FOO": "g"}},
         "cfg: household.identity_groups: ticker(s) ['FOO'] not in market.tickers"),
        ({"market.source": "synthetc"}, "cfg: market.source: unknown source 'synthetc'"),
    ],
)
def test_options_that_would_be_ignored_or_are_ambiguous_are_refused(override, expected):
    with pytest.raises(RunConfigError) as info:
        config_from_dict(apply_overrides(TINY, override), "cfg")
    assert str(info.value).startswith(expected), info.value
    assert "\n" not in str(info.value)


def test_historical_profile_with_a_state_tax_is_accepted_and_any_written_rate_refused():
    config = config_from_dict(apply_overrides(TINY, {"tax.profile": "us_top_historical",
                                                     "tax.state": 0.05}))
    assert config.tax.profile == "us_top_historical" and config.tax.state == 0.05
    # a rate equal to the flat default is still a rate the profile would ignore (2005's top
    # ordinary rate was 35%, not the 37% written)
    with pytest.raises(RunConfigError, match="tax.ordinary: not used with tax.profile"):
        config_from_dict(apply_overrides(TINY, {"tax.profile": "us_top_historical",
                                                "tax.state": 0.05, "tax.ordinary": 0.37}))


def test_a_change_of_the_long_term_rate_within_a_year_in_a_config():
    from taxsim.config import build_tax_profile

    config = config_from_dict(apply_overrides(TINY, {"tax.long_term_before":
                                                     {"2030-07-01": 0.25}}))
    profile = build_tax_profile(config.tax)
    assert dict(profile.long_term_before) == {"2030-07-01": 0.25}
    assert profile.long_term_rate_on("2030-06-30") == 0.25
    assert profile.long_term_rate_on("2030-07-01") == 0.20
    assert "25% before 2030-07-01" in profile.name
    historical = build_tax_profile(config_from_dict(
        apply_overrides(TINY, {"tax.profile": "us_top_historical"})).tax)
    assert dict(historical.long_term_before) == {"2003-05-06": 0.20}
    with pytest.raises(RunConfigError, match="tax.long_term_before: not used with tax.profile"):
        config_from_dict(apply_overrides(TINY, {"tax.profile": "us_top_historical",
                                                "tax.long_term_before": {"2003-05-06": 0.2}}))
    with pytest.raises(RunConfigError, match=r"tax.long_term_before\['2030-01-01'\]"):
        config_from_dict(apply_overrides(TINY, {"tax.long_term_before": {"2030-01-01": 0.2}}))


def test_market_errors_found_when_the_market_is_built_name_the_field():
    with pytest.raises(RunConfigError) as info:
        run_config(apply_overrides(TINY, {"market.tickers": ["USTOTAL", "BOND", "FOO"]}))
    assert str(info.value).startswith("market.tickers: FOO: not in this market")
    with pytest.raises(RunConfigError) as info:
        run_config(apply_overrides(TINY, {"household.identity_groups": {"FOO": "g"}}))
    assert str(info.value).startswith(
        "household.identity_groups: ticker(s) ['FOO'] not in the market")


def test_strategy_parameter_errors_name_the_parameter():
    harvest = {"strategy.name": "loss_harvest",
               "strategy.params": {"substitutes": [["USTOTAL", "USLARGE"]]}}
    base = apply_overrides(TINY, harvest)
    with pytest.raises(RunConfigError) as info:  # a wrong type: at validation
        config_from_dict(apply_overrides(base, {"strategy.params.threshold": "abc"}), "cfg")
    assert str(info.value).startswith(
        "cfg: strategy.params.threshold: must be a number, got 'abc'"), info.value
    with pytest.raises(RunConfigError) as info:
        config_from_dict(apply_overrides(base, {"strategy.params.swap_back": 1}), "cfg")
    assert str(info.value).startswith("cfg: strategy.params.swap_back: must be true or false")
    config_from_dict(apply_overrides(base, {"strategy.params.band": None,
                                            "strategy.params.threshold": 0}))
    with pytest.raises(RunConfigError) as info:  # a bad value: when the strategy is built
        run_config(apply_overrides(base, {"strategy.params.threshold": -0.05}))
    assert str(info.value).startswith("strategy.params.threshold (loss_harvest): "), info.value
    assert "threshold must be a finite number >= 0, got -0.05" in str(info.value)


def test_asset_location_runs_from_a_config_and_refuses_weights_it_would_ignore():
    location = {"household.accounts": [{"name": "taxable", "cash": 100_000.0},
                                       {"name": "ira", "kind": "tax_deferred",
                                        "cash": 100_000.0}],
                "targets": {},
                "strategy.name": "asset_location",
                "strategy.params": {"target": {"USTOTAL": 0.6, "BOND": 0.4}}}
    base = apply_overrides(TINY, location)
    result = run_config(base)
    held = result.trades_frame().groupby(["account", "asset"], observed=True)["shares"].sum()
    assert held[("ira", "BOND")] > 0.0 and ("taxable", "BOND") not in held.index  # located
    with pytest.raises(RunConfigError) as info:
        run_config(apply_overrides(base, {"targets": {"taxable": {"USTOTAL": 1.0}}}))
    assert str(info.value).startswith(
        "targets: strategy 'asset_location' holds its own target (strategy.params)")


def test_shipped_configs_validate():
    from benchmarks.sweep import BASE, spec

    assert load_config(REPO / "examples" / "run.toml").market.seed == 7
    config_from_dict(BASE)
    assert len(spec(40, "summary").scenarios) == 40


def test_direct_indexing_is_a_builtin_strategy_of_configs():
    """The README runs asset location and direct_indexing from configs with ``targets = {}``;
    "direct_indexing" was an unknown strategy."""
    config = config_from_dict(apply_overrides(TINY, {
        "targets": {}, "strategy": {"name": "direct_indexing",
                                    "params": {"threshold": 0.05}}}))
    assert config.strategy.name == "direct_indexing"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"household.accounts.taxable.cash": 1.0},
         "override 'household.accounts.taxable.cash': 'taxable' is not a list index (an "
         "integer: the list has 1 item(s))"),
        ({"household.accounts.2": {"name": "x"}},
         "override 'household.accounts.2': no item 2 in the list (1 item(s))"),
    ],
)
def test_bad_list_indexes_in_overrides_name_the_override(override, expected):
    with pytest.raises(RunConfigError) as info:
        apply_overrides(TINY, override)
    assert str(info.value) == expected


def test_the_section_199a_deduction_rate_in_a_config():
    """``tax.section_199a_deduction`` (and per year under ``tax.by_year``): the fraction of
    qualified REIT dividends deducted (IRC §199A, 20% from 2018), a flat-profile rate."""
    from taxsim.config import build_tax_profile
    from taxsim.ledger.household import TaxProfile, TaxRates

    default = build_tax_profile(config_from_dict(TINY).tax)
    assert default.default == TaxRates()
    assert default.default.section_199a_deduction == 0.20
    assert default.name == "flat 37% ordinary / 20% long-term / 3.8% NIIT / 0% state"
    config = config_from_dict(apply_overrides(TINY, {
        "tax.section_199a_deduction": 0.0,
        "tax.by_year": {"2026": {"section_199a_deduction": 0.23}}}))
    profile = build_tax_profile(config.tax)
    assert profile.default.section_199a_deduction == 0.0
    assert profile.by_year[2026] == TaxRates(section_199a_deduction=0.23)
    assert profile.rates(2025).section_199a_deduction == 0.0
    assert profile.rates(2026).section_199a_deduction == 0.23
    assert "0% §199A deduction" in profile.name
    # the historical profile has its own: none before 2018, 20% from 2018
    historical = build_tax_profile(config_from_dict(
        apply_overrides(TINY, {"tax.profile": "us_top_historical"})).tax)
    assert historical == TaxProfile.us_top_historical()
    assert historical.rates(2017).section_199a_deduction == 0.0
    assert historical.rates(2018).section_199a_deduction == 0.20
    for override, expected in (
        ({"tax.section_199a_deduction": 1.0},
         "cfg: tax.section_199a_deduction: Input should be less than 1"),
        ({"tax.section_199a_deduction": -0.2},
         "cfg: tax.section_199a_deduction: Input should be greater than or equal to 0"),
        ({"tax.by_year": {"2026": {"section_199a_deduction": 1.5}}},
         "cfg: tax.by_year.2026.section_199a_deduction: Input should be less than 1"),
        ({"tax.profile": "us_top_historical", "tax.section_199a_deduction": 0.2},
         "cfg: tax.section_199a_deduction: not used with tax.profile 'us_top_historical'"),
    ):
        with pytest.raises(RunConfigError) as info:
            config_from_dict(apply_overrides(TINY, override), "cfg")
        assert str(info.value).startswith(expected), info.value
