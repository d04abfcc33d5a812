"""Legacy lots: accounts that start holding shares bought before the run.

Holding periods (IRS Pub 550 calendar rule), gains over the legacy basis, wash sales with a
legacy replacement (IRC §1091), conservation with the legacy value as initial investment, the
twins, the metrics, bad input, and the TOML config through ``run_config``, the CLI and sweeps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxsim import Account, Household, Market, metrics
from taxsim.config import load_config, run_config
from taxsim.engine import SimulationError, Strategy, simulate
from taxsim.engine.enums import ORDER_ACCOUNT, ORDER_ASSET, ORDER_LOT_METHOD, ORDER_SHARES
from taxsim.ledger.enums import LOT_METHOD_CODES
from taxsim.market.synthetic import synthetic_market

LONG_RATE = 0.20 + 0.038  # default TaxProfile: long-term + NIIT
SHORT_RATE = 0.37 + 0.038  # ordinary + NIIT


# ------------------------------------------------------------------ a plain-Python seller
def sell_decide(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """Sell ``params[2]`` shares (all held when <= 0) of asset ``params[1]`` in account
    ``params[0]`` on day index ``params[3]`` (never when negative), lot method ``params[4]``."""
    if day_index != int(params[3]):
        return 0
    account, asset = int(params[0]), int(params[1])
    shares = params[2] if params[2] > 0 else holdings[account, asset]
    if shares <= 0:
        return 0
    orders[0, ORDER_ACCOUNT] = account
    orders[0, ORDER_ASSET] = asset
    orders[0, ORDER_SHARES] = -shares
    orders[0, ORDER_LOT_METHOD] = params[4]
    return 1


def seller(ticker: str, day: int, tickers, account: int = 0, shares: float = 0.0,
           lot_method: str = "fifo") -> Strategy:
    """Strategy factory (also used by configs as ``tests.test_legacy_lots:seller``)."""
    params = np.array([account, list(tickers).index(ticker), shares, day,
                       LOT_METHOD_CODES[lot_method]], np.float64)
    return Strategy(f"sell {ticker} on day {day}", sell_decide, params, lot_method=lot_method)


def holder(tickers) -> Strategy:
    """Never trades."""
    return seller(tickers[0], -1, tickers)


# ------------------------------------------------------------------ a hand-made market
def hand_market() -> Market:
    """Trading days 2024-01-02 .. 2024-02-29: A at 100 + day index, B at 50, C listed on day 3."""
    dates = pd.bdate_range("2024-01-02", "2024-02-29")
    rows = [{"date": d, "ticker": "A", "close": 100.0 + i} for i, d in enumerate(dates)]
    rows += [{"date": d, "ticker": "B", "close": 50.0} for d in dates]
    rows += [{"date": d, "ticker": "C", "close": 10.0} for d in dates[3:]]
    return Market.from_frame(pd.DataFrame(rows), source="hand-made")


MARKET = hand_market()
TICKERS = list(MARKET.tickers)
HOUSEHOLD = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
TARGETS = {"taxable": {"B": 1.0}}


def day_index(date: str) -> int:
    return int(MARKET.pandas_dates.get_loc(pd.Timestamp(date)))


def price_of_a(date: str) -> float:
    return 100.0 + day_index(date)


def lots(*rows) -> pd.DataFrame:
    return pd.DataFrame([dict(zip(("account", "ticker", "shares", "basis", "acquired"), row,
                                  strict=True)) for row in rows])


# ------------------------------------------------------------------ holding periods and gains
def test_lot_bought_two_years_before_the_start_is_long_term_with_gain_over_legacy_basis():
    sold = "2024-02-02"
    result = simulate(MARKET, HOUSEHOLD, seller("A", day_index(sold), TICKERS), TARGETS,
                      initial_lots=lots(("taxable", "A", 100.0, 5_000.0, "2022-01-03")),
                      cost_bps=10.0)
    price = price_of_a(sold)
    cost = 100 * price * 10e-4
    realized = result.ledger.realized()
    assert len(realized) == 1
    row = realized.iloc[0]
    assert row["acquired"] == pd.Timestamp("2022-01-03")
    assert row["sold"] == pd.Timestamp(sold)
    assert row["term"] == "long"
    assert row["basis"] == 5_000.0
    assert row["proceeds"] == pytest.approx(100 * price - cost, abs=1e-9)
    assert row["gain"] == pytest.approx(100 * price - cost - 5_000.0, abs=1e-9)
    assert result.tax_payable == pytest.approx((100 * price - cost - 5_000.0) * LONG_RATE)
    # no trade, cost or contribution for the legacy lot itself: only the sale
    trades = result.trades_frame()
    assert trades["shares"].tolist() == [-100.0] and trades["reason"].tolist() == ["strategy"]
    summary = result.summary()
    assert summary["costs"] == pytest.approx(cost)
    assert summary["contributions"] == 0.0
    assert summary["legacy_value"] == 100 * 100.0 == result.legacy_value
    assert summary["start_value"] == 10_000.0
    assert "legacy_lots" in result.conventions


@pytest.mark.parametrize(
    ("acquired", "term"),
    [
        ("2023-03-01", "short"),  # 10 months before the start, sold a month into the run
        ("2023-02-02", "short"),  # sold on the first anniversary: not more than a year
        ("2023-02-01", "long"),  # sold the day after the anniversary
    ],
)
def test_holding_period_follows_the_calendar_rule(acquired, term):
    sold = "2024-02-02"
    result = simulate(MARKET, HOUSEHOLD, seller("A", day_index(sold), TICKERS), TARGETS,
                      initial_lots=lots(("taxable", "A", 100.0, 9_000.0, acquired)))
    row = result.ledger.realized().iloc[0]
    gain = 100 * price_of_a(sold) - 9_000.0
    assert row["term"] == term
    assert row["gain"] == pytest.approx(gain, abs=1e-9)
    rate = LONG_RATE if term == "long" else SHORT_RATE
    assert result.tax_payable == pytest.approx(gain * rate)


def test_holding_start_tacks_an_earlier_holding_period():
    frame = lots(("taxable", "A", 10.0, 1_000.0, "2023-12-01"))
    frame["holding_start"] = ["2021-06-01"]  # e.g. a gift: the donor's holding period
    sold = "2024-01-10"
    result = simulate(MARKET, HOUSEHOLD, seller("A", day_index(sold), TICKERS), TARGETS,
                      initial_lots=frame)
    row = result.ledger.realized().iloc[0]
    assert row["acquired"] == pd.Timestamp("2023-12-01")
    assert row["holding_start"] == pd.Timestamp("2021-06-01")
    assert row["term"] == "long"


# ------------------------------------------------------------------ wash sales
@pytest.mark.parametrize(
    ("recent_account", "recent_acquired", "washed", "lost"),
    [
        ("taxable", "2023-12-20", True, False),  # 15 days before the loss sale: replacement
        ("ira", "2023-12-20", True, True),  # in an IRA: the loss is lost (Rev. Rul. 2008-5)
        ("taxable", "2023-12-04", False, False),  # 31 days before: outside the window
    ],
)
def test_legacy_acquisition_within_30_days_before_a_loss_sale_is_a_replacement(
    recent_account, recent_acquired, washed, lost
):
    sold = "2024-01-04"  # day index 2, A at 102
    price = price_of_a(sold)
    frame = lots(("taxable", "A", 100.0, 20_000.0, "2020-06-01"),
                 (recent_account, "A", 40.0, 4_000.0, recent_acquired))
    result = simulate(MARKET, HOUSEHOLD, seller("A", day_index(sold), TICKERS, shares=100.0),
                      TARGETS, initial_lots=frame)
    row = result.ledger.realized().iloc[0]
    loss_per_share = 200.0 - price
    disallowed = 40 * loss_per_share if washed else 0.0
    assert row["basis"] == 20_000.0
    assert row["wash_disallowed"] == pytest.approx(disallowed)
    assert row["wash_lost"] == pytest.approx(disallowed if lost else 0.0)
    assert row["gain"] == pytest.approx(100 * price - 20_000.0 + disallowed)
    remaining = result.ledger.lots()
    assert len(remaining) == 1
    lot = remaining.iloc[0]
    assert lot["shares"] == 40.0
    if washed and not lost:  # the disallowed loss moves to the replacement's basis, with its
        # holding period (IRC §1091(d), §1223(3))
        assert lot["basis"] == pytest.approx(4_000.0 + disallowed)
        tacked = pd.Timestamp(recent_acquired) - (pd.Timestamp(sold) - pd.Timestamp("2020-06-01"))
        assert lot["holding_start"] == tacked
    else:
        assert lot["basis"] == 4_000.0
    assert bool(lot["replacement"]) is washed


# ------------------------------------------------------------------ conservation and metrics
@pytest.fixture(scope="module")
def synthetic():
    return synthetic_market(seed=11, years=2.0)


@pytest.mark.parametrize("tax_payment", ["portfolio", "outside"])
def test_conservation_with_the_legacy_value_as_initial_investment(synthetic, tax_payment):
    from strategies import calendar_rebalance

    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    targets = {"taxable": {"USTOTAL": 0.5, "INTL": 0.3, "MUNI": 0.19},
               "ira": {"BOND": 0.6, "REIT": 0.39}}
    frame = lots(("taxable", "USTOTAL", 1_000.0, 30_000.0, "2004-05-03"),
                 ("taxable", "INTL", 500.0, 80_000.0, "2005-12-15"),
                 ("ira", "BOND", 800.0, 0.0, "2001-01-02"))
    dates = synthetic.pandas_dates
    flows = pd.DataFrame({"date": [dates[100], dates[300]], "account": ["taxable", "ira"],
                          "amount": [-40_000.0, 10_000.0]})
    result = simulate(synthetic, household, calendar_rebalance("monthly"), targets,
                      contributions={"taxable": 100_000.0}, flows=flows, initial_lots=frame,
                      cost_bps=3.0, cost_per_trade=1.0, advisory_fee_bps=30.0,
                      tax_payment=tax_payment)
    first_close = synthetic.close[0]
    index = [synthetic.tickers.index(t) for t in frame["ticker"]]
    legacy_value = float((frame["shares"].to_numpy() * first_close[index]).sum())
    assert result.legacy_value == pytest.approx(legacy_value, rel=1e-12)
    summary = result.summary()
    daily = result.daily()
    expected_end = (
        summary["legacy_value"] + daily["market_gain"].sum() + summary["contributions"]
        - summary["withdrawals"] - summary["tax_paid_from_portfolio"] - summary["fees"]
        - summary["costs"]
    )
    assert summary["end_value"] == pytest.approx(expected_end, abs=1e-5)
    assert summary["contributions"] == 110_000.0  # legacy lots are not contributions
    # the first day's market gain is measured from the legacy value, not from zero
    assert abs(daily["market_gain"].iloc[0]) < 0.01 * legacy_value
    assert result.start_value == pytest.approx(daily["total_value"].iloc[0])
    assert result.start_value == pytest.approx(
        legacy_value + 100_000.0 - daily["costs_cumulative"].iloc[0], abs=1e-6)


def test_returns_start_from_the_legacy_value():
    result = simulate(MARKET, HOUSEHOLD, holder(TICKERS), TARGETS,
                      initial_lots=lots(("taxable", "A", 100.0, 5_000.0, "2022-01-03")))
    end_price = 100.0 + len(MARKET.dates) - 1
    end_value = 100 * end_price
    liquidation_tax = (end_value - 5_000.0) * LONG_RATE
    assert result.liquidation_value == pytest.approx(end_value - liquidation_tax)
    summary = metrics.summarize(result)
    assert summary["after_tax_return_pre_liquidation_cumulative"] == pytest.approx(
        end_value / 10_000.0 - 1)
    # the embedded gain from before the run is taxed at liquidation, as N-1A does for any
    # window: the initial investment is the first-day value, not the basis
    assert summary["after_tax_return_post_liquidation_cumulative"] == pytest.approx(
        (end_value - liquidation_tax) / 10_000.0 - 1)


def test_the_twins_start_from_the_same_lots():
    sold = "2024-02-02"
    strategy = seller("A", day_index(sold), TICKERS)
    strategy = Strategy(strategy.name, strategy.decide, strategy.params, twin=holder(TICKERS))
    frame = lots(("taxable", "A", 100.0, 5_000.0, "2022-01-03"),
                 ("ira", "B", 30.0, 900.0, "2023-11-30"))
    result = simulate(MARKET, HOUSEHOLD, strategy, TARGETS, initial_lots=frame, twins=True)
    non_managed, pre_tax = result.twins["non_managed"], result.twins["pre_tax"]
    for run in (result, non_managed, pre_tax):
        assert run.legacy_value == 100 * 100.0 + 30 * 50.0
    held = non_managed.ledger.lots()  # the holder never sells: its lots are the legacy lots
    assert held["account"].astype(str).tolist() == ["taxable", "ira"]
    assert held["basis"].tolist() == [5_000.0, 900.0]
    assert held["acquired"].tolist() == [pd.Timestamp("2022-01-03"), pd.Timestamp("2023-11-30")]
    columns = ["acquired", "sold", "basis", "proceeds", "term"]
    pd.testing.assert_frame_equal(pre_tax.ledger.realized()[columns],
                                  result.ledger.realized()[columns])
    assert pre_tax.tax_payable == 0.0 and result.tax_payable > 0.0


# ------------------------------------------------------------------ bad input
GOOD = {"account": "taxable", "ticker": "A", "shares": 10.0, "basis": 900.0,
        "acquired": "2023-06-01"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"acquired": "2024-01-03"}, "acquired 2024-01-03 is after the run's first day 2024-01-02"),
        ({"ticker": "ZZZ"}, "unknown ticker 'ZZZ'"),
        ({"account": "nobody"}, "unknown account 'nobody'"),
        ({"shares": 0.0}, "shares must be > 0"),
        ({"shares": -5.0}, "shares must be > 0"),
        ({"shares": float("nan")}, "shares must be > 0"),
        ({"basis": -1.0}, "basis must be >= 0"),
        ({"ticker": "C"}, "no price for 'C' on the run's first day 2024-01-02"),
        ({"acquired": "someday"}, "acquired is not a date"),
        ({"holding_start": "2023-06-02"}, "holding_start 2023-06-02 is after acquired"),
    ],
)
def test_bad_legacy_lots_name_the_item_and_change_nothing(change, message):
    frame = pd.DataFrame([{**GOOD, "holding_start": GOOD["acquired"]},
                          {**GOOD, "holding_start": None, **change}])
    before = frame.copy()
    with pytest.raises(SimulationError, match="initial_lots row 1") as info:
        simulate(MARKET, HOUSEHOLD, holder(TICKERS), TARGETS, initial_lots=frame)
    assert message in str(info.value)
    pd.testing.assert_frame_equal(frame, before)


def test_bad_legacy_frames():
    with pytest.raises(SimulationError, match=r"missing column\(s\) \['basis'\]"):
        simulate(MARKET, HOUSEHOLD, holder(TICKERS), TARGETS,
                 initial_lots=pd.DataFrame([GOOD]).drop(columns="basis"))
    with pytest.raises(SimulationError, match=r"unknown column\(s\) \['price'\]"):
        simulate(MARKET, HOUSEHOLD, holder(TICKERS), TARGETS,
                 initial_lots=pd.DataFrame([{**GOOD, "price": 1.0}]))
    with pytest.raises(SimulationError, match="must be a pandas DataFrame"):
        simulate(MARKET, HOUSEHOLD, holder(TICKERS), TARGETS, initial_lots=[GOOD])


def test_a_legacy_lot_acquired_on_the_first_day_with_zero_basis_is_accepted():
    result = simulate(MARKET, HOUSEHOLD, seller("A", 3, TICKERS), TARGETS,
                      initial_lots=lots(("taxable", "A", 10.0, 0.0, "2024-01-02")))
    row = result.ledger.realized().iloc[0]
    assert row["basis"] == 0.0 and row["gain"] == 10 * 103.0 and row["term"] == "short"


# ------------------------------------------------------------------ configs, CLI and sweeps
CONFIG_TOML = """
name = "legacy lots"
[market]
source = "synthetic"
seed = 3
years = 1
start = "2010-01-04"
[household]
[[household.accounts]]
name = "taxable"
[[household.accounts.lots]]  # one table per lot (or lots = [{ ... }, ...] on one line each)
ticker = "USTOTAL"
shares = 100
basis = 8_000
acquired = "2005-03-01"
[[household.accounts.lots]]
ticker = "BOND"
shares = 50
basis = 4_000
acquired = "2009-12-01"
holding_start = "2008-01-02"
[targets.taxable]
USTOTAL = 0.6
BOND = 0.4
[strategy]
name = "tests.test_legacy_lots:seller"
params = { ticker = "USTOTAL", day = 20, shares = 100 }  # FIFO: the legacy lot
"""


def test_config_round_trip_realizes_the_legacy_basis(tmp_path):
    path = tmp_path / "legacy.toml"
    path.write_text(CONFIG_TOML)
    config = load_config(path)
    assert [lot.acquired for lot in config.household.accounts[0].lots] == ["2005-03-01",
                                                                            "2009-12-01"]
    result = run_config(config)
    realized = result.ledger.realized()
    assert len(realized) == 1
    row = realized.iloc[0]
    price = result.market.close[20, result.market.tickers.index("USTOTAL")]
    assert row["asset"] == "USTOTAL" and row["basis"] == 8_000.0
    assert row["acquired"] == pd.Timestamp("2005-03-01") and row["term"] == "long"
    assert row["gain"] == pytest.approx(100 * price - 8_000.0, abs=1e-9)
    open_lots = result.ledger.lots()
    bond = open_lots[open_lots["asset"] == "BOND"].iloc[0]  # then reinvested dividends
    assert bond["basis"] == 4_000.0 and bond["holding_start"] == pd.Timestamp("2008-01-02")
    assert result.summary()["contributions"] == 0.0 and result.legacy_value > 0


def test_cli_run_passes_the_lots(tmp_path):
    from tests.test_cli import taxsim

    path = tmp_path / "legacy.toml"
    path.write_text(CONFIG_TOML)
    completed = taxsim("run", path, "--out", tmp_path / "out")
    assert completed.returncode == 0, completed.stderr
    form = pd.read_parquet(tmp_path / "out" / "result" / "form_8949.parquet")
    assert form["basis"].tolist() == [8_000.0]
    assert form["acquired"].tolist() == [pd.Timestamp("2005-03-01")]


def test_sweep_scenarios_pass_the_lots():
    import tomllib

    from taxsim.sweep.runner import run_scenario

    base = tomllib.loads(CONFIG_TOML)
    rows = [run_scenario(base, (name, {"household.accounts.0.lots.0.basis": basis}), "summary")
            for name, basis in (("low", 2_000.0), ("high", 8_000.0))]
    assert [r["status"] for r in rows] == ["ok", "ok"], rows
    low, high = rows
    def tax(row):
        return row["tax_paid_from_portfolio"] + row["tax_payable_at_end"]

    assert tax(low) - tax(high) == pytest.approx(6_000.0 * LONG_RATE)
    bad = run_scenario(base, ("bad", {"household.accounts.0.lots.0.acquired": "2011-01-03"}),
                       "summary")
    assert bad["status"] == "error" and "is after the run's first day" in bad["error"]
