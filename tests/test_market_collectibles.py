"""Collectibles outside the ledger: the "collectible" tax character (grantor trusts of metal:
GLD, SLV, ...), the capital gain distribution's 28% and 25% parts (``collectibles_fraction``,
``unrecaptured_1250_fraction``), the known metadata, the config rates and the simulator's
plumbing into the ledger (IRC §408(m), §1(h)(4)-(6); IRS Pub 550, "Collectibles gain or loss";
Form 1099-DIV boxes 2b and 2d)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies import buy_and_hold
from taxsim import Account, Household, Market
from taxsim.config import RunConfigError, apply_overrides, build_tax_profile, config_from_dict
from taxsim.demo import load_run_folder
from taxsim.engine import simulate
from taxsim.engine.run import tax_profile_from_frame, tax_rates_frame
from taxsim.ledger.household import TaxProfile, TaxRates
from taxsim.market import TAX_CHARACTERS, MarketDataError, load_file, nyse_trading_days, write_tidy
from taxsim.market.metadata import COLLECTIBLE_TICKERS, KNOWN_ASSETS, known_metadata
from taxsim.market.synthetic import AssetSpec, synthetic_market
from taxsim.metrics import conventions_of
from tests.simulation_checks import conservation_gap
from tests.test_config import TINY  # the smallest valid run config

PARTS = ("collectibles_fraction", "unrecaptured_1250_fraction")


def metal_and_fund() -> Market:
    """GLD (a collectible) and FUND (an equity fund), four days; FUND splits on day 3."""
    dates = nyse_trading_days("2024-01-02", count=4)
    close = np.array([[190.0, 50.0], [191.0, 51.0], [192.0, 26.0], [193.0, 26.5]])
    split = np.ones_like(close)
    split[2, 1] = 2.0
    gain = np.zeros_like(close)
    gain[3, 1] = 0.4
    return Market(dates, ("GLD", "FUND"), close, lt_capital_gain=gain, split_ratio=split,
                  tax_character=("collectible", "equity"))


# ---------------------------------------------------------------------------- metadata
def test_the_collectible_tax_character_and_its_defaults():
    assert "collectible" in TAX_CHARACTERS
    m = metal_and_fund()
    assert m.tax_character == ("collectible", "equity")
    assert m.collectible.tolist() == [True, False]
    assert m.collectible.dtype == np.bool_ and not m.collectible.flags.writeable
    assert m.collectible_tickers == ("GLD",)
    # a grantor trust pays no corporate dividends: nothing qualified, no §199A dividends
    assert m.qualified_fraction.tolist() == [0.0, 1.0]
    assert m.section_199a_fraction.tolist() == [0.0, 0.0]
    assert m.asset_class == ("commodity", "equity")
    for name in PARTS:  # the distribution parts default to none
        values = getattr(m, name)
        assert values.tolist() == [0.0, 0.0]
        assert values.dtype == np.float64 and not values.flags.writeable
    frame = m.metadata_frame()
    assert frame.loc["GLD", "tax_character"] == "collectible"
    assert frame[list(PARTS)].to_numpy().tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_known_metadata_of_the_metal_trusts():
    """GLD and the other physically backed trusts: collectibles, one identity group per metal,
    expense ratios as published, no dividends."""
    expected = {
        "GLD": ("gold_bullion", 0.0040), "IAU": ("gold_bullion", 0.0025),
        "SGOL": ("gold_bullion", 0.0017), "GLDM": ("gold_bullion", 0.0010),
        "BAR": ("gold_bullion", 0.001749), "AAAU": ("gold_bullion", 0.0018),
        "SLV": ("silver_bullion", 0.0050), "SIVR": ("silver_bullion", 0.0030),
        "PPLT": ("platinum_bullion", 0.0060), "PALL": ("palladium_bullion", 0.0060),
    }  # fmt: skip
    assert set(COLLECTIBLE_TICKERS) == set(expected)
    for ticker, (group, expense) in expected.items():
        entry = KNOWN_ASSETS[ticker]
        assert entry["tax_character"] == "collectible", ticker
        assert entry["identity_group"] == group, ticker
        assert entry["expense_ratio"] == expense, ticker
        assert entry["asset_class"] == "commodity", ticker
        assert entry["qualified_fraction"] == 0.0 and entry["section_199a_fraction"] == 0.0
    assert known_metadata(["GLD", "SPY", "NOPE"]).keys() == {"GLD", "SPY"}
    # the equity funds are not collectibles
    assert all(KNOWN_ASSETS[t].get("tax_character", "equity") != "collectible"
               for t in ("SPY", "VOO", "QQQ", "SCHD", "O"))


def test_a_file_of_gld_and_slv_loads_with_the_known_defaults(tmp_path):
    dates = nyse_trading_days("2024-01-02", count=3)
    plain = Market(dates, ("GLD", "SLV", "SPY"), np.full((3, 3), 25.0))
    assert plain.collectible.tolist() == [False, False, False]  # no metadata: equities
    path = write_tidy(plain, tmp_path / "metals.parquet")
    m = load_file(path, ["GLD", "SLV", "SPY"])
    assert m.tax_character == ("collectible", "collectible", "equity")
    assert m.collectible_tickers == ("GLD", "SLV")
    assert m.identity_group == ("gold_bullion", "silver_bullion", "sp500")
    assert m.expense_ratio.tolist() == [0.0040, 0.0050, 0.000945]
    assert m.qualified_fraction.tolist() == [0.0, 0.0, 0.95]
    assert m.section_199a_fraction.tolist() == [0.0, 0.0, 0.0]
    for name in PARTS:
        assert getattr(m, name).tolist() == [0.0, 0.0, 0.0]
    # the user's metadata wins over the known defaults
    mine = load_file(path, ["GLD", "SPY"], metadata={"GLD": {"tax_character": "equity"}})
    assert mine.collectible.tolist() == [False, False]
    assert mine.qualified_fraction.tolist() == [1.0, 0.95]  # the new character's default


def test_distribution_parts_are_checked_per_ticker():
    m = metal_and_fund()
    for name in PARTS:
        with pytest.raises(MarketDataError, match=rf"^FUND: {name} 1.5 is not within \[0, 1\]$"):
            m.with_metadata({"FUND": {name: 1.5}})
        with pytest.raises(MarketDataError, match=rf"^GLD: {name} -0.25 is not within"):
            m.with_metadata({"GLD": {name: -0.25}})
        with pytest.raises(MarketDataError, match=rf"^FUND: {name} nan is not within"):
            m.with_metadata({"FUND": {name: float("nan")}})
        with pytest.raises(MarketDataError, match=rf"^FUND: {name} inf is not within"):
            m.with_metadata({"FUND": {name: float("inf")}})
        with pytest.raises(MarketDataError, match=f"{name} has 1 entries for 2 tickers"):
            m.with_metadata(**{name: [0.5]})
        with pytest.raises(MarketDataError, match=f"{name} has 3 entries for 2 tickers"):
            m.with_metadata(**{name: [0.5, 0.1, "x"]})
    # an entry that is not a number names its ticker and field (numpy's error names neither)
    for name in (*PARTS, "section_199a_fraction", "qualified_fraction", "expense_ratio"):
        with pytest.raises(MarketDataError, match=rf"^FUND: {name} must be a number, got 'x'$"):
            m.with_metadata({"FUND": {name: "x"}})
        with pytest.raises(MarketDataError, match=rf"^GLD: {name} must be a number, got \[1\]$"):
            Market(m.dates, m.tickers, m.close, **{name: [[1], 0.0]})
        with pytest.raises(MarketDataError, match=rf"^{name} must be numbers, one per ticker"):
            m.with_metadata(**{name: "0.5"})
    with pytest.raises(MarketDataError, match=r"^FUND: collectibles_fraction 0.75 plus "
                                              r"unrecaptured_1250_fraction 0.5 exceeds 1"):
        m.with_metadata({"FUND": {"collectibles_fraction": 0.75,
                                  "unrecaptured_1250_fraction": 0.5}})
    with pytest.raises(MarketDataError, match=r"^GLD: collectibles_fraction"):
        Market(m.dates, m.tickers, m.close, collectibles_fraction=[0.9, 0.0],
               unrecaptured_1250_fraction=[0.2, 0.0])
    # the rounding of 1 - x is within the tolerance of 1e-12 (as for the §199A fraction)
    rounded = m.with_metadata({"FUND": {"collectibles_fraction": 0.7,
                                        "unrecaptured_1250_fraction": 0.3 + 1e-13}})
    assert rounded.unrecaptured_1250_fraction[1] == 0.3 + 1e-13
    with pytest.raises(MarketDataError, match="FUND: collectibles_fraction"):
        m.with_metadata({"FUND": {"collectibles_fraction": 0.7,
                                  "unrecaptured_1250_fraction": 0.3 + 1e-9}})
    # the whole of the distribution may be one part or the other
    whole = m.with_metadata(collectibles_fraction=[1.0, 0.0], unrecaptured_1250_fraction=[0.0, 1.0])
    assert whole.collectibles_fraction.tolist() == [1.0, 0.0]
    assert whole.unrecaptured_1250_fraction.tolist() == [0.0, 1.0]
    with pytest.raises(MarketDataError, match=r"^FUND: tax_character 'metal' is not one of"):
        m.with_metadata({"FUND": {"tax_character": "metal"}})


def test_distribution_parts_follow_with_metadata_and_are_kept_by_subsets():
    m = metal_and_fund().with_metadata({"FUND": {"collectibles_fraction": 0.5,
                                                 "unrecaptured_1250_fraction": 0.25}})
    assert m.collectibles_fraction.tolist() == [0.0, 0.5]
    assert m.unrecaptured_1250_fraction.tolist() == [0.0, 0.25]
    frame = m.metadata_frame()
    assert frame.loc["FUND", "collectibles_fraction"] == 0.5
    assert frame.loc["FUND", "unrecaptured_1250_fraction"] == 0.25
    # kept by subsets and derived markets
    for derived in (m.select(["FUND", "GLD"]), m.between("2024-01-03", "2024-01-05"),
                    m.split_adjusted(), m.net_of_expenses()):
        by_ticker = derived.metadata_frame()
        assert by_ticker.loc["FUND", "collectibles_fraction"] == 0.5
        assert by_ticker.loc["FUND", "unrecaptured_1250_fraction"] == 0.25
        assert by_ticker.loc["GLD", "tax_character"] == "collectible"
        assert derived.collectible_tickers == ("GLD",)
    assert m.select(["FUND"]).collectible.tolist() == [False]
    # one part set leaves the other as it was
    assert m.with_metadata({"FUND": {"collectibles_fraction": 0.125}}
                           ).unrecaptured_1250_fraction[1] == 0.25
    # a new tax character keeps the distribution's parts (they are the fund's, not the
    # character's) and moves the collectible flag
    swapped = m.with_metadata({"GLD": {"tax_character": "equity"},
                               "FUND": {"tax_character": "collectible"}})
    assert swapped.collectible.tolist() == [False, True]
    assert swapped.collectibles_fraction.tolist() == [0.0, 0.5]
    assert swapped.qualified_fraction.tolist() == [1.0, 0.0]
    assert swapped.asset_class == ("equity", "commodity")
    # whole fields
    fields = m.with_metadata(collectibles_fraction=[0.25, 0.0])
    assert fields.collectibles_fraction.tolist() == [0.25, 0.0]
    assert fields.unrecaptured_1250_fraction.tolist() == [0.0, 0.25]


def test_distribution_parts_round_trip_and_older_metadata_without_them_loads():
    m = metal_and_fund().with_metadata({"FUND": {"collectibles_fraction": 0.5,
                                                 "unrecaptured_1250_fraction": 0.25}})
    back = Market.from_frame(m.to_frame(), tickers=m.tickers, metadata=m.metadata_frame(),
                             source=m.source)
    assert back.collectibles_fraction.tolist() == [0.0, 0.5]
    assert back.unrecaptured_1250_fraction.tolist() == [0.0, 0.25]
    assert back.collectible_tickers == ("GLD",)
    # metadata saved before the fields existed: none of the distribution is either part
    older = m.metadata_frame().drop(columns=list(PARTS))
    back = Market.from_frame(m.to_frame(), tickers=m.tickers, metadata=older,
                             source=m.source)
    assert back.collectibles_fraction.tolist() == [0.0, 0.0]
    assert back.unrecaptured_1250_fraction.tolist() == [0.0, 0.0]


def test_synthetic_specs_set_the_character_and_the_parts():
    universe = (
        AssetSpec("GOLD", volatility=0.15, market_loading=0.0, tax_character="collectible"),
        AssetSpec("REITF", dividend_yield=0.03, capital_gain_yield=0.01, tax_character="reit",
                  qualified_fraction=0.1, unrecaptured_1250_fraction=0.4),
        AssetSpec("METALS", capital_gain_yield=0.02, collectibles_fraction=0.6,
                  unrecaptured_1250_fraction=0.4),
    )
    m = synthetic_market(universe=universe, years=1.0, seed=2)
    assert m.tax_character == ("collectible", "reit", "equity")
    assert m.collectible_tickers == ("GOLD",)
    assert m.qualified_fraction.tolist() == [0.0, 0.1, 1.0]
    assert m.section_199a_fraction.tolist() == [0.0, pytest.approx(0.9), 0.0]
    assert m.collectibles_fraction.tolist() == [0.0, 0.0, 0.6]
    assert m.unrecaptured_1250_fraction.tolist() == [0.0, 0.4, 0.4]
    assert m.asset_class[0] == "commodity"
    assert m.lt_capital_gain[:, 2].sum() > 0.0
    with pytest.raises(MarketDataError, match="^BAD: collectibles_fraction 0.7 plus"):
        synthetic_market(universe=(AssetSpec("BAD", collectibles_fraction=0.7,
                                             unrecaptured_1250_fraction=0.4),), years=1.0)
    # the defaults leave every other universe as it was
    assert AssetSpec("X").collectibles_fraction == AssetSpec("X").unrecaptured_1250_fraction == 0


# ---------------------------------------------------------------------------- config


def test_the_collectibles_and_unrecaptured_1250_rates_in_a_config():
    default = build_tax_profile(config_from_dict(TINY).tax)
    assert default.default.collectibles == 0.28
    assert default.default.unrecaptured_1250 == 0.25
    assert default.name == "flat 37% ordinary / 20% long-term / 3.8% NIIT / 0% state"
    config = config_from_dict(apply_overrides(TINY, {
        "tax.collectibles": 0.31, "tax.unrecaptured_1250": 0.22,
        "tax.by_year": {"2026": {"collectibles": 0.30}}}))
    profile = build_tax_profile(config.tax)
    assert profile.default.collectibles == 0.31
    assert profile.default.unrecaptured_1250 == 0.22
    assert profile.by_year[2026] == TaxRates(collectibles=0.30)
    assert profile.rates(2026).unrecaptured_1250 == 0.25
    assert "31% collectibles" in profile.name and "22% unrecaptured §1250" in profile.name
    # the historical profile has the statutory maximums (28% and 25% since 1997)
    historical = build_tax_profile(config_from_dict(
        apply_overrides(TINY, {"tax.profile": "us_top_historical"})).tax)
    for year in (2000, 2003, 2013, 2025):
        assert historical.rates(year).collectibles == 0.28
        assert historical.rates(year).unrecaptured_1250 == 0.25
    for override, expected in (
        ({"tax.collectibles": 1.0}, "cfg: tax.collectibles: Input should be less than 1"),
        ({"tax.unrecaptured_1250": -0.1},
         "cfg: tax.unrecaptured_1250: Input should be greater than or equal to 0"),
        ({"tax.by_year": {"2026": {"unrecaptured_1250": 1.5}}},
         "cfg: tax.by_year.2026.unrecaptured_1250: Input should be less than 1"),
        ({"tax.profile": "us_top_historical", "tax.collectibles": 0.28},
         "cfg: tax.collectibles: not used with tax.profile 'us_top_historical'"),
    ):
        with pytest.raises(RunConfigError) as info:
            config_from_dict(apply_overrides(TINY, override), "cfg")
        assert str(info.value).startswith(expected), info.value


def test_tax_rates_of_older_folders_read_as_the_statutory_maximums(tmp_path):
    profile = TaxProfile(TaxRates(collectibles=0.3, unrecaptured_1250=0.2),
                         by_year={2026: TaxRates(collectibles=0.29)}, name="mine")
    tax_rates_frame(profile).to_parquet(tmp_path / "rates.parquet")
    assert tax_profile_from_frame(pd.read_parquet(tmp_path / "rates.parquet")) == profile
    # a folder written before the 28% and 25% groups: no gain of its run was in them
    old = pd.read_parquet(tmp_path / "rates.parquet").drop(columns=["collectibles",
                                                                     "unrecaptured_1250"])
    back = tax_profile_from_frame(old)
    assert back.default == TaxRates()
    assert back.by_year[2026] == TaxRates()


# ---------------------------------------------------------------------------- simulations
def gold_market(tax_character: str = "collectible") -> Market:
    """GLD bought at $100 on 2023-01-03, $150 on 2024-06-03 (more than a year later)."""
    frame = pd.DataFrame({
        "date": pd.to_datetime(["2023-01-03", "2023-06-01", "2024-06-03", "2024-12-31"]),
        "ticker": ["GLD"] * 4,
        "close": [100.0, 120.0, 150.0, 160.0],
    })
    return Market.from_frame(frame, source="hand-made",
                             metadata={"GLD": {"tax_character": tax_character}})


def sell_some_gold(market: Market, tax_profile: TaxProfile | None = None):
    """$10,000 of GLD (100 shares at $100), then a $3,000 withdrawal on 2024-06-03: 20 shares
    sold at $150, held 17 months."""
    flows = pd.DataFrame({"date": [pd.Timestamp("2024-06-03")], "account": ["taxable"],
                          "amount": [-3_000.0]})
    result = simulate(market, Household([Account("taxable", reinvest=False)]), buy_and_hold(),
                      {"taxable": {"GLD": 1.0}}, contributions={"taxable": 10_000.0},
                      flows=flows, tax_profile=tax_profile)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)
    return result


def test_a_long_term_gain_on_gld_is_taxed_at_28_percent_plus_niit(tmp_path):
    """The 20 shares sold gain 20 * ($150 - $100) = $1,000, long-term: collectibles gain,
    taxed at 28% (IRC §1(h)(4)-(5), below the 37% ordinary rate) + 3.8% NIIT = $318, where
    the same sale of an equity costs 20% + 3.8% = $238."""
    result = sell_some_gold(gold_market())
    assert result.ledger.collectibles == ("GLD",)
    realized = result.ledger.realized()
    assert realized["asset"].tolist() == ["GLD"] and realized["term"].tolist() == ["long"]
    gain = float(realized["gain"].sum())
    assert realized["shares"].sum() == pytest.approx(20.0, rel=1e-12)
    assert gain == pytest.approx(20 * (150.0 - 100.0), rel=1e-12)
    tax = result.annual_tax().set_index("year").loc[2024]
    assert tax["lt_gain"] == pytest.approx(gain, rel=1e-12)
    assert tax["collectibles_gain"] == pytest.approx(gain, rel=1e-12)
    assert tax["collectibles_gain_base"] == pytest.approx(gain, rel=1e-12)
    assert tax["unrecaptured_1250_gain_base"] == 0.0
    assert tax["federal_preferential_tax"] == pytest.approx(0.28 * gain, rel=1e-12)
    assert tax["niit"] == pytest.approx(0.038 * gain, rel=1e-12)
    assert tax["total_tax"] == pytest.approx(0.318 * gain, rel=1e-12)  # $318

    equity = sell_some_gold(gold_market("equity"))
    assert equity.ledger.collectibles == ()
    equity_tax = equity.annual_tax().set_index("year").loc[2024]
    assert equity_tax["collectibles_gain"] == equity_tax["collectibles_gain_base"] == 0.0
    assert equity_tax["total_tax"] == pytest.approx(0.238 * gain, rel=1e-12)  # $238
    # every chart and summary states the rate (principle 5)
    assert conventions_of(result)["tax_rates"].endswith(
        ", 28% on long-term collectibles gain (GLD)")
    assert "collectibles" not in conventions_of(equity)["tax_rates"]
    # ... and so does the run read back from its results folder
    stored = load_run_folder(result.to_parquet(tmp_path / "gold"))
    assert stored.ledger.collectibles == ("GLD",)
    assert conventions_of(stored)["tax_rates"] == conventions_of(result)["tax_rates"]
    stored_equity = load_run_folder(equity.to_parquet(tmp_path / "equity"))
    assert conventions_of(stored_equity)["tax_rates"] == conventions_of(equity)["tax_rates"]
    # a folder written before the tickers were recorded: none of its gains was in the group
    rates = pd.read_parquet(tmp_path / "gold" / "tax_rates.parquet")
    rates.drop(columns="collectible_tickers").to_parquet(tmp_path / "gold" / "tax_rates.parquet")
    assert load_run_folder(tmp_path / "gold").ledger.collectibles == ()

    # a config's collectibles rate reaches the run; the ordinary rate caps it where lower
    config = config_from_dict(apply_overrides(TINY, {"tax.collectibles": 0.25}))
    lower = sell_some_gold(gold_market(), build_tax_profile(config.tax))
    assert lower.annual_tax().set_index("year").loc[2024, "federal_preferential_tax"] \
        == pytest.approx(0.25 * gain, rel=1e-12)
    capped = sell_some_gold(gold_market(), TaxProfile(TaxRates(ordinary=0.24)))
    assert capped.annual_tax().set_index("year").loc[2024, "federal_preferential_tax"] \
        == pytest.approx(0.24 * gain, rel=1e-12)


def fund_market(collectibles: float, unrecaptured: float) -> Market:
    """FUND at $100 pays a $2 long-term capital gain distribution on 2024-12-02."""
    frame = pd.DataFrame({
        "date": pd.to_datetime(["2024-01-02", "2024-06-03", "2024-12-02", "2024-12-31"]),
        "ticker": ["FUND"] * 4,
        "close": [100.0] * 4,
        "lt_capital_gain": [0.0, 0.0, 2.0, 0.0],
    })
    return Market.from_frame(frame, source="hand-made", metadata={"FUND": {
        "collectibles_fraction": collectibles, "unrecaptured_1250_fraction": unrecaptured}})


def test_a_distributions_collectibles_part_is_taxed_at_28_percent():
    """100 shares receive $200 of long-term capital gain distribution; with
    ``collectibles_fraction`` 0.5 (Form 1099-DIV box 2d: $100 of box 2a's $200) the annual tax
    has $100 at 28% and $100 at 20%, NIIT on all of it: $28 + $20 + $7.60."""
    household = Household([Account("taxable", reinvest=False)])
    runs = {}
    for parts in ((0.5, 0.0), (0.5, 0.25), (0.0, 0.0)):
        result = simulate(fund_market(*parts), household, buy_and_hold(),
                          {"taxable": {"FUND": 1.0}}, contributions={"taxable": 10_000.0})
        assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)
        assert result.ledger.collectibles == ()  # the fund's own shares are not collectibles
        runs[parts] = result.annual_tax().set_index("year").loc[2024]
    half = runs[0.5, 0.0]
    distribution = 100 * 2.0
    assert half["lt_capital_gain_distributions"] == pytest.approx(distribution, rel=1e-12)
    assert half["collectibles_gain"] == pytest.approx(0.5 * distribution, rel=1e-12)
    assert half["collectibles_gain_base"] == pytest.approx(0.5 * distribution, rel=1e-12)
    assert half["unrecaptured_1250_gain"] == half["unrecaptured_1250_gain_base"] == 0.0
    assert half["lt_gain_base"] == pytest.approx(distribution, rel=1e-12)
    assert half["federal_preferential_tax"] == pytest.approx(
        0.28 * 100 + 0.20 * 100, rel=1e-12)  # $48
    assert half["niit"] == pytest.approx(0.038 * distribution, rel=1e-12)
    assert half["total_tax"] == pytest.approx(55.6, rel=1e-12)
    # box 2b as well: $50 of unrecaptured section 1250 gain at 25%
    both = runs[0.5, 0.25]
    assert both["unrecaptured_1250_gain"] == pytest.approx(50.0, rel=1e-12)
    assert both["unrecaptured_1250_gain_base"] == pytest.approx(50.0, rel=1e-12)
    assert both["collectibles_gain_base"] == pytest.approx(100.0, rel=1e-12)
    assert both["federal_preferential_tax"] == pytest.approx(
        0.28 * 100 + 0.25 * 50 + 0.20 * 50, rel=1e-12)  # $50.50
    # no parts: all of it at 20%
    plain = runs[0.0, 0.0]
    assert plain["collectibles_gain_base"] == plain["unrecaptured_1250_gain_base"] == 0.0
    assert plain["federal_preferential_tax"] == pytest.approx(0.20 * distribution, rel=1e-12)


def test_a_synthetic_run_holding_gold_and_a_metals_fund_matches_its_tables():
    """A synthetic GLD (no volatility: a steady 10% a year) beside a fund whose December
    capital gain distributions are half collectibles gain and a quarter unrecaptured section
    1250 gain, held three years with a withdrawal after 19 months: every year's 28% and 25%
    groups and preferential tax follow from the run's realized gains and distributions."""
    universe = (
        AssetSpec("GLD", volatility=0.0, expected_return=0.10, market_loading=0.0,
                  tax_character="collectible", identity_group="gold_bullion"),
        AssetSpec("METALS", volatility=0.0, expected_return=0.05, market_loading=0.0,
                  capital_gain_yield=0.02, collectibles_fraction=0.5,
                  unrecaptured_1250_fraction=0.25),
    )
    market = synthetic_market(universe=universe, start="2022-01-03", years=3.0)
    assert market.collectible_tickers == ("GLD",)
    flows = pd.DataFrame({"date": [market.pandas_dates[400]], "account": ["taxable"],
                          "amount": [-30_000.0]})
    result = simulate(market, Household([Account("taxable", reinvest=False)]), buy_and_hold(),
                      {"taxable": {"GLD": 0.5, "METALS": 0.5}},
                      contributions={"taxable": 100_000.0}, flows=flows)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)
    realized = result.ledger.realized()
    realized["year"] = pd.to_datetime(realized["sold"]).dt.year
    assert (realized["gain"] > 0).all()  # prices only rise
    gld_sold = realized[(realized["asset"] == "GLD") & (realized["term"] == "long")]
    assert len(gld_sold) > 0
    annual = result.annual_tax().set_index("year")
    checked = 0
    for year, tax in annual.iterrows():
        rows = realized[realized["year"] == year]
        long_term = float(rows.loc[rows["term"] == "long", "gain"].sum())
        short_term = float(rows.loc[rows["term"] == "short", "gain"].sum())
        gold = float(gld_sold.loc[gld_sold["year"] == year, "gain"].sum())
        paid = float(tax["lt_capital_gain_distributions"])
        collectibles = gold + 0.5 * paid
        unrecaptured = 0.25 * paid
        assert tax["collectibles_gain"] == pytest.approx(collectibles, rel=1e-12, abs=1e-9)
        assert tax["collectibles_gain_base"] == pytest.approx(collectibles, rel=1e-12, abs=1e-9)
        assert tax["unrecaptured_1250_gain_base"] == pytest.approx(unrecaptured, rel=1e-12,
                                                                  abs=1e-9)
        rest = long_term + paid - collectibles - unrecaptured
        assert tax["federal_preferential_tax"] == pytest.approx(
            0.28 * collectibles + 0.25 * unrecaptured + 0.20 * rest, rel=1e-12, abs=1e-9)
        assert tax["niit"] == pytest.approx(0.038 * (long_term + short_term + paid),
                                            rel=1e-12, abs=1e-9)
        checked += paid > 0
    assert checked == 3  # a distribution each December
    assert annual["collectibles_gain"].sum() > annual["lt_capital_gain_distributions"].sum() / 2
