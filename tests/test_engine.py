"""The day loop: conservation, a hand-calculated two-asset run, the Python path, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from strategies import buy_and_hold, calendar_rebalance
from strategies.calendar_rebalance import calendar_decide
from taxsim import Account, Household, Market
from taxsim.engine import SimulationError, Strategy, simulate
from taxsim.market.synthetic import synthetic_market
from tests.simulation_checks import conservation_gap


def two_asset_market() -> Market:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"] * 2),
            "ticker": ["A"] * 4 + ["B"] * 4,
            "close": [100.0, 110.0, 120.0, 150.0, 100.0, 90.0, 80.0, 80.0],
        }
    )
    return Market.from_frame(frame, source="hand-made")


def test_two_asset_monthly_rebalancing_matches_a_hand_calculation():
    household = Household([Account("taxable")])
    targets = {"taxable": {"A": 0.5, "B": 0.5}}
    result = simulate(two_asset_market(), household, calendar_rebalance("monthly"), targets,
                      contributions={"taxable": 10_000.0})
    # Jan 30: 50 A + 50 B. Feb 1 (new month): value 50*120 + 50*80 = 10,000 -> 5,000 each.
    shares_a, shares_b = 5000 / 120, 5000 / 80
    end_value = shares_a * 150 + shares_b * 80
    daily = result.daily()
    assert daily["total_value"].iloc[-1] == pytest.approx(end_value, rel=1e-12)
    assert daily["total_value"].iloc[1] == pytest.approx(50 * 110 + 50 * 90)
    # The Feb 1 sale of 50 - 41.667 A shares bought at 100 realizes a short-term gain of
    # 8.333 * 20 = 166.67, taxed at 37% + 3.8% when 2024 closes (payable after the run).
    gain = (50 - shares_a) * 20
    assert result.ledger.realized()["gain"].sum() == pytest.approx(gain)
    assert result.tax_payable == pytest.approx(gain * 0.408)
    trades = result.trades_frame()
    assert trades["reason"].tolist() == ["contribution", "contribution", "strategy", "strategy"]
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_market(seed=11, years=3.0)


@pytest.mark.parametrize("tax_payment", ["portfolio", "outside"])
@pytest.mark.parametrize("taxes", [True, False])
def test_conservation_on_every_run(synthetic, tax_payment, taxes):
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred"),
                           Account("roth", kind="tax_exempt", reinvest=False)])
    targets = {
        "taxable": {"USTOTAL": 0.5, "MUNI": 0.3, "INTL": 0.19},
        "ira": {"BOND": 0.6, "REIT": 0.39},
        "roth": {"USLARGE": 0.99},
    }
    dates = synthetic.pandas_dates
    flows = pd.DataFrame({"date": [dates[100], dates[300], dates[500]],
                          "account": ["taxable", "taxable", "ira"],
                          "amount": [50_000.0, -120_000.0, 10_000.0]})
    result = simulate(
        synthetic, household, calendar_rebalance("monthly"), targets,
        contributions={"taxable": 500_000.0, "ira": 200_000.0, "roth": 100_000.0}, flows=flows,
        cost_bps=3.0, cost_per_trade=1.0, advisory_fee_bps=30.0, tax_payment=tax_payment,
        taxes=taxes,
    )
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-5)
    summary = result.summary()
    assert summary["withdrawals"] == 120_000.0
    assert summary["fees"] > 0 and summary["costs"] > 0
    if not taxes:
        assert summary["tax_paid_from_portfolio"] == 0.0 and summary["tax_paid_from_outside"] == 0.0
    elif tax_payment == "outside":
        assert summary["tax_paid_from_portfolio"] == 0.0
    assert result.conventions["tax_payment"].startswith(
        "paid from the portfolio" if tax_payment == "portfolio" else "paid from outside"
    )


def test_buy_and_hold_never_trades_after_investing(synthetic):
    household = Household([Account("ira", kind="tax_deferred")])
    result = simulate(synthetic, household, buy_and_hold(), {"ira": {"USTOTAL": 1.0}},
                      contributions={"ira": 1000.0})
    trades = result.trades_frame()
    assert trades["reason"].tolist() == ["contribution"]
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_plain_python_strategy_runs_through_the_python_path_and_agrees():
    market = two_asset_market()
    household = Household([Account("taxable")])
    targets = {"taxable": {"A": 0.6, "B": 0.4}}
    jitted = simulate(market, household, calendar_rebalance("monthly"), targets,
                      contributions={"taxable": 1000.0})
    plain_strategy = Strategy("calendar (python)", calendar_decide,
                              calendar_rebalance("monthly").params)
    plain = simulate(market, household, plain_strategy, targets,
                     contributions={"taxable": 1000.0})
    np.testing.assert_allclose(plain.daily()["total_value"], jitted.daily()["total_value"])
    assert len(plain.trades) == len(jitted.trades)


@pytest.mark.parametrize(
    "targets, message",
    [
        ({"nowhere": {"A": 1.0}}, "unknown account 'nowhere'"),
        ({"taxable": {"ZZZ": 1.0}}, "unknown asset 'ZZZ'"),
        ({"taxable": {"A": 0.7, "B": 0.7}}, "sum to 1.400000 > 1"),
        ({"taxable": {"A": -0.1}}, "weight must be >= 0"),
    ],
)
def test_bad_targets_name_the_field(targets, message):
    with pytest.raises(SimulationError, match=message):
        simulate(two_asset_market(), Household([Account("taxable")]), buy_and_hold(), targets)


def test_flow_on_a_non_trading_day_is_refused():
    flows = pd.DataFrame({"date": ["2024-02-03"], "account": ["taxable"], "amount": [1.0]})
    with pytest.raises(SimulationError, match="2024-02-03: not a trading day"):
        simulate(two_asset_market(), Household([Account("taxable")]), buy_and_hold(),
                 {"taxable": {"A": 1.0}}, flows=flows)


def test_a_strategy_selling_more_than_held_is_an_error():
    from numba import njit

    @njit
    def oversell(day_index, day, prices, holdings, cash, targets, state, params, orders):
        orders[0, 0], orders[0, 1], orders[0, 2], orders[0, 3] = 0, 0, -1e9, 0
        return 1

    with pytest.raises(SimulationError, match="impossible order"):
        simulate(two_asset_market(), Household([Account("taxable")]),
                 Strategy("oversell", oversell), {"taxable": {"A": 1.0}},
                 contributions={"taxable": 100.0})


def rising_market() -> Market:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-03-01", "2024-03-04", "2024-03-05"]),
            "ticker": ["A"] * 3,
            "close": [10.0, 12.0, 15.0],
        }
    )
    return Market.from_frame(frame, source="hand-made")


def test_daily_liquidation_columns_match_a_hand_calculation():
    household = Household([Account("taxable")])
    result = simulate(rising_market(), household, buy_and_hold(), {"taxable": {"A": 1.0}},
                      contributions={"taxable": 1_000.0})
    daily = result.daily()
    # 100 shares bought at 10; at 15 the unrealized gain is 500, short-term: 37% + 3.8% NIIT
    assert daily["unrealized_gain"].tolist() == pytest.approx([0.0, 200.0, 500.0])
    assert daily["liquidation_tax"].tolist() == pytest.approx([0.0, 200 * 0.408, 500 * 0.408])
    assert daily["accrued_tax"].tolist() == pytest.approx([0.0, 0.0, 0.0])
    assert daily["liquidation_value"].iloc[-1] == pytest.approx(1_500.0 - 500 * 0.408)
    assert result.liquidation_value == pytest.approx(1_500.0 - 500 * 0.408)
    assert result.summary()["liquidation_value"] == pytest.approx(1_500.0 - 500 * 0.408)


def test_accrued_tax_counts_the_year_so_far():
    household = Household([Account("taxable")])
    result = simulate(two_asset_market(), household, calendar_rebalance("monthly"),
                      {"taxable": {"A": 0.5, "B": 0.5}}, contributions={"taxable": 10_000.0})
    daily = result.daily()
    gain = (50 - 5000 / 120) * 20  # realized on Feb 1 (see the hand calculation above)
    assert daily["accrued_tax"].iloc[1] == 0.0
    assert daily["accrued_tax"].iloc[2] == pytest.approx(gain * 0.408)
    assert result.tax_payable == pytest.approx(daily["accrued_tax"].iloc[-1])


def test_contributions_leave_the_targets_cash_share_in_cash():
    household = Household([Account("taxable")])
    result = simulate(rising_market(), household, buy_and_hold(), {"taxable": {"A": 0.8}},
                      contributions={"taxable": 1_000.0}, cost_per_trade=5.0)
    daily = result.daily()
    # 800 for A, less the 5 dollar trade cost: 79.5 shares; 200 stays in cash
    assert result.ledger.lots()["shares"].sum() == pytest.approx(79.5)
    assert daily["cash_taxable"].iloc[0] == pytest.approx(200.0)


def test_a_strategy_may_invest_contributions_itself():
    household = Household([Account("taxable")])
    keeper = Strategy("keep cash", buy_and_hold().decide, invests_flows=True)
    result = simulate(rising_market(), household, keeper, {"taxable": {"A": 1.0}},
                      contributions={"taxable": 1_000.0})
    assert len(result.trades) == 0
    assert result.daily()["cash_taxable"].tolist() == [1_000.0] * 3


def test_more_orders_than_max_orders_is_an_error():
    def flood(day_index, day, prices, holdings, cash, targets, state, params, orders):
        return orders.shape[0] + 1

    household = Household([Account("taxable")])
    with pytest.raises(SimulationError, match="max_orders=4"):
        simulate(rising_market(), household, Strategy("flood", flood, max_orders=4),
                 {"taxable": {"A": 1.0}}, contributions={"taxable": 1_000.0})


def test_twins_run_the_non_managed_and_pre_tax_versions():
    household = Household([Account("taxable")])
    managed = calendar_rebalance("monthly", lot_method="hifo")
    assert managed.non_managed().lot_method == "fifo"
    result = simulate(two_asset_market(), household, managed,
                      {"taxable": {"A": 0.5, "B": 0.5}}, contributions={"taxable": 10_000.0},
                      twins=True)
    assert set(result.twins) == {"non_managed", "pre_tax"}
    pre_tax = result.twins["pre_tax"]
    assert pre_tax.tax_payable == 0.0
    assert pre_tax.daily()["liquidation_tax"].abs().max() == 0.0
    assert pre_tax.conventions["taxes"] == "none (pre-tax twin)"
    assert result.twins["non_managed"].conventions["lot_method"] == "fifo"
    # one lot per asset: the lot method cannot matter here
    assert np.array_equal(result.twins["non_managed"].account_values, result.account_values)


def test_strategy_kernels_are_generated_for_numba_cache(tmp_path, monkeypatch):
    from strategies.buy_and_hold import buy_and_hold_decide_nb
    from taxsim.engine import run

    source = run._strategy_kernel_source("strategies.buy_and_hold", "buy_and_hold_decide_nb")
    assert "flow_amount, decide, idle, params," not in source
    assert "from strategies.buy_and_hold import buy_and_hold_decide_nb as decide" in source
    assert "idle = never_idle_nb" in source
    with_idle = run._strategy_kernel_source("strategies.drift_bands", "drift_bands_decide_nb",
                                            ("strategies.drift_bands", "drift_bands_idle_nb"))
    assert "from strategies.drift_bands import drift_bands_idle_nb as idle" in with_idle
    monkeypatch.setenv("TAXSIM_KERNEL_CACHE", str(tmp_path))
    assert run._module_attribute(buy_and_hold_decide_nb) == (
        "strategies.buy_and_hold", "buy_and_hold_decide_nb")
    generated = list(tmp_path.glob("*.py"))
    assert generated == []  # nothing written until a kernel is requested


def test_generated_kernel_replaces_older_sources_but_never_its_own_file(tmp_path, monkeypatch):
    """Another process (a sweep's pool, a test worker) may be loading the current file: only
    older sources of the strategy are deleted; a current file with other text is replaced
    atomically (written aside, then renamed), never deleted first."""
    from strategies.buy_and_hold import buy_and_hold_decide_nb
    from taxsim.engine import run

    monkeypatch.setenv("TAXSIM_KERNEL_CACHE", str(tmp_path))
    prefix = "kernel_strategies_buy_and_hold_buy_and_hold_decide_nb_never_idle_"
    older = tmp_path / f"{prefix}0123456789abcdef.py"
    older.write_text("# an older engine's source")
    other = tmp_path / "kernel_strategies_drift_bands_drift_bands_decide_nb_never_idle_x.py"
    other.write_text("# another strategy's source")
    assert run._cached_kernel(buy_and_hold_decide_nb) is not None
    current = list(tmp_path.glob(f"{prefix}*.py"))
    assert len(current) == 1 and current[0] != older and not older.exists()
    assert other.exists()
    source = current[0].read_text()
    deleted = []
    real_unlink = type(current[0]).unlink
    monkeypatch.setattr(type(current[0]), "unlink",
                        lambda self, missing_ok=False: (deleted.append(self),
                                                        real_unlink(self, missing_ok)))
    current[0].write_text("# written by a process with other text")
    assert run._cached_kernel(buy_and_hold_decide_nb) is not None
    assert current[0].read_text() == source
    assert deleted == []
    assert list(tmp_path.glob("*.tmp")) == []


def test_form_8949_of_a_run_without_sales_is_empty():
    household = Household([Account("taxable")])
    result = simulate(rising_market(), household, buy_and_hold(), {"taxable": {"A": 1.0}},
                      contributions={"taxable": 1_000.0})
    form = result.ledger.form_8949()
    assert len(form) == 0
    assert "description" in form.columns


def test_market_identity_groups_the_household_keeps_apart_are_named_and_warned():
    """The market's metadata puts SPY and IVV on one index ('sp500'); a household that keeps
    them apart (the default: each ticker its own group) gets a warning, and every output
    names the tickers whose wash sales are not checked (IRC §1091(a) is the household's
    call). A household that groups them gets neither."""
    dates = pd.bdate_range("2024-01-02", periods=5)
    rows = [{"date": d, "ticker": t, "close": 100.0} for d in dates for t in ("SPY", "IVV")]
    market = Market.from_frame(pd.DataFrame(rows), tickers=["SPY", "IVV"], source="hand-made",
                               metadata={t: {"identity_group": "sp500"} for t in ("SPY", "IVV")})
    targets = {"taxable": {"SPY": 0.5, "IVV": 0.5}}
    with pytest.warns(UserWarning, match="SPY/IVV"):
        apart = simulate(market, Household([Account("taxable")]), calendar_rebalance("monthly"),
                         targets, contributions={"taxable": 1_000.0})
    assert "SPY/IVV ('sp500')" in apart.conventions["identity_groups"]
    assert "convention_identity_groups" in apart.summary()
    grouped = Household([Account("taxable")], identity_groups={"SPY": "sp", "IVV": "sp"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        together = simulate(market, grouped, calendar_rebalance("monthly"), targets,
                            contributions={"taxable": 1_000.0})
    assert "identity_groups" not in together.conventions


def scripted_market() -> Market:
    """Two assets over 40 sessions: A falls then recovers, pays a dividend and splits 3:2."""
    dates = pd.bdate_range("2024-03-01", periods=40)
    a_close = np.concatenate([np.linspace(50.0, 37.0, 15), np.linspace(37.5, 48.0, 25)])
    frame = pd.DataFrame({
        "date": list(dates) * 2,
        "ticker": ["A"] * 40 + ["B"] * 40,
        "close": np.concatenate([a_close, np.linspace(20.0, 21.0, 40)]),
        "dividend": 0.0,
        "split_ratio": 1.0,
    })
    frame.loc[7, "dividend"] = 0.37  # A, reinvested by the IRA
    frame.loc[40 + 20, "dividend"] = 0.11  # B
    frame.loc[30, "split_ratio"] = 1.5  # A, 3-for-2
    return Market.from_frame(frame, source="hand-made")


# (day index, account, asset, signed shares): fractional sizes so that sums of lots round
SCRIPT = np.array([
    (0, 0, 0, 100.3), (0, 1, 0, 10.7), (0, 0, 1, 33.3), (1, 0, 0, 0.1), (2, 0, 0, 0.2),
    (3, 0, 0, 7.77), (5, 0, 0, -50.15), (9, 0, 0, 150.7),  # a replacement lot, split
    (10, 1, 0, 0.3), (11, 0, 0, 1.01), (14, 0, 0, -3.3), (16, 0, 0, 2.22), (21, 0, 1, 0.07),
    (25, 0, 0, 0.123), (31, 0, 0, 4.44), (33, 1, 0, 0.9), (35, 0, 1, -1.5), (37, 0, 0, 0.05),
], dtype=np.float64).ravel()


def exact_shares_of_lots(state, account, asset):
    """The exact sum of a position's lots' shares, rounded once (``math.fsum``): the ledger's
    definition of the shares held."""
    shares = []
    slot = int(state.head[account, asset])
    while slot != -1:
        shares.append(float(state.lot_shares[slot]))
        slot = int(state.lot_next[slot])
    return math.fsum(shares)


def scripted_decide(day_index, day, prices, holdings, cash, targets, state, params, orders):
    """Write the day's rows of the script (``params[:-1]``); count in ``params[-1]`` the days
    on which a holding differs from the exact sum of its lots (plain Python: runs
    un-jitted)."""
    for account in range(holdings.shape[0]):
        for asset in range(holdings.shape[1]):
            if holdings[account, asset] != exact_shares_of_lots(state, account, asset):
                params[-1] += 1.0
    n_orders = 0
    for row in range((params.shape[0] - 1) // 4):
        if params[4 * row] == day_index:
            orders[n_orders, 0] = params[4 * row + 1]
            orders[n_orders, 1] = params[4 * row + 2]
            orders[n_orders, 2] = params[4 * row + 3]
            orders[n_orders, 3] = 0  # FIFO
            n_orders += 1
    return n_orders


def test_holdings_kept_by_the_day_loop_equal_the_ledger_lots_exactly():
    """The loop keeps each holding as the ledger's kept total (read after each trade, and
    after a distribution only for reinvesting accounts): the holdings (so the values) must
    equal the exact sums of the lots, to the bit, through splits of replacement lots
    (IRC §1091), reinvested dividends and a split."""
    market = scripted_market()
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred", reinvest=True)])
    strategy = Strategy("scripted", scripted_decide, np.append(SCRIPT, 0.0), max_orders=8)
    result = simulate(market, household, strategy, {"taxable": {"A": 1.0}},
                      contributions={"taxable": 20_000.0, "ira": 2_000.0})
    assert result.params[-1] == 0.0  # every day, before the strategy's orders
    state = result.ledger._state
    assert (result.ledger.form_8949()["code"] == "W").any()  # a replacement lot
    assert len(result.ledger.lots()) > len(SCRIPT) // 4 - 3  # the replacement was split
    prices = market.close[-1]
    for account in range(2):
        value = 0.0
        for asset in range(2):
            held = exact_shares_of_lots(state, account, asset)
            if held != 0.0:
                value += held * prices[asset]
        assert result.account_values[-1, account] == value


def municipal_fund_market() -> Market:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-02-01", "2024-03-01"]),
            "ticker": ["MUNI"] * 3,
            "close": [10.0, 10.0, 9.5],
            "interest": [0.0, 0.2, 0.0],
        }
    )
    market = Market.from_frame(frame, source="hand-made")
    return market.with_metadata({"MUNI": {"tax_character": "municipal_bond"}})


@pytest.mark.parametrize("declared_daily", [False, True])
def test_withdrawal_loss_on_young_municipal_fund_shares_loses_their_exempt_interest(
        declared_daily):
    # 1,000 shares at $10, $0.20 of exempt interest each (kept as cash), then a $5,000
    # withdrawal at $9.50 sells 526.3 of them at a $0.50 loss a share two months after the
    # purchase: IRC §852(b)(4)(B) disallows $0.20 of it a share, unless the fund declares its
    # exempt-interest dividends daily (§852(b)(4)(E)(ii))
    market = municipal_fund_market()
    if declared_daily:
        market = market.with_metadata({"MUNI": {"exempt_interest_daily": True}})
    household = Household([Account("taxable", reinvest=False)])
    flows = pd.DataFrame({"date": ["2024-03-01"], "account": ["taxable"], "amount": [-5_000.0]})
    result = simulate(market, household, buy_and_hold(), {"taxable": {"MUNI": 1.0}},
                      contributions={"taxable": 10_000.0}, flows=flows)
    realized = result.ledger.realized()
    sold = realized["shares"].sum()
    assert sold == pytest.approx((5_000.0 - 200.0) / 9.5)  # the interest's cash goes first
    expected = 0.0 if declared_daily else 0.2 * sold
    assert realized["exempt_interest_disallowed"].sum() == pytest.approx(expected)
    assert realized["gain"].sum() == pytest.approx(-0.5 * sold + expected)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


def reit_and_equity_market() -> Market:
    """A REIT paying $0.25 a share twice and an equity fund paying a qualified $0.10, flat
    prices (sparse dates, so the calendar is the dates given)."""
    dates = pd.to_datetime(["2024-01-02", "2024-03-15", "2024-06-14", "2024-12-31"] * 2)
    frame = pd.DataFrame({
        "date": dates,
        "ticker": ["REIT"] * 4 + ["EQ"] * 4,
        "close": [10.0] * 4 + [20.0] * 4,
        "dividend": [0.0, 0.25, 0.25, 0.0, 0.0, 0.10, 0.0, 0.0],
    })
    market = Market.from_frame(frame, source="hand-made")
    return market.with_metadata({"REIT": {"tax_character": "reit"}})


def test_qualified_reit_dividends_get_the_section_199a_deduction_in_a_run():
    """$6,000 buys 600 REIT shares at $10 and $4,000 200 EQ shares at $20, held all year: the
    REIT's $0.50 a share, $300, are qualified REIT dividends (IRC §199A(e)(3); held past the
    45 days of Treas. Reg. §1.199A-3(c)(2)(ii)), of which 20% is deducted from federal ordinary
    income only: federal ordinary tax $300 * 0.20 * 0.37 = $22.20 lower than with no §199A
    fraction; NIIT and the 5% state tax still on the full dividend."""
    from taxsim.ledger.household import TaxProfile, TaxRates

    market = reit_and_equity_market()
    assert market.section_199a_fraction.tolist() == [0.0, 1.0]  # columns EQ, REIT
    household = Household([Account("taxable", reinvest=False)])
    runs = {}
    for name, run_market in (
        ("deducted", market),
        ("none", market.with_metadata({"REIT": {"section_199a_fraction": 0.0}})),
    ):
        result = simulate(run_market, household, buy_and_hold(),
                          {"taxable": {"REIT": 0.6, "EQ": 0.4}},
                          contributions={"taxable": 10_000.0},
                          tax_profile=TaxProfile(TaxRates(state=0.05)))
        assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)
        runs[name] = result.annual_tax().set_index("year").loc[2024]
    deducted, none = runs["deducted"], runs["none"]
    reit_dividends = 600 * 0.50
    assert deducted["nonqualified_dividends"] == none["nonqualified_dividends"] == reit_dividends
    assert deducted["qualified_dividends"] == none["qualified_dividends"] == 200 * 0.10
    assert deducted["section_199a_dividends"] == reit_dividends
    assert none["section_199a_dividends"] == 0.0
    assert deducted["section_199a_deduction"] == pytest.approx(0.20 * reit_dividends, abs=1e-12)
    assert none["section_199a_deduction"] == 0.0
    assert deducted["ordinary_base"] == none["ordinary_base"] == reit_dividends
    assert none["federal_ordinary_tax"] == pytest.approx(0.37 * reit_dividends, abs=1e-12)
    assert none["federal_ordinary_tax"] - deducted["federal_ordinary_tax"] == pytest.approx(
        0.20 * 0.37 * reit_dividends, abs=1e-12)  # $22.20
    for unchanged in ("federal_preferential_tax", "niit", "state_tax"):
        assert deducted[unchanged] == none[unchanged]
    assert deducted["niit"] == pytest.approx(0.038 * (reit_dividends + 20.0), abs=1e-12)
    assert none["total_tax"] - deducted["total_tax"] == pytest.approx(22.20, abs=1e-12)
