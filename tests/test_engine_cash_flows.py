"""Withdrawals and bad input in the day loop.

- Withdrawals choose lots tax-aware for every strategy (issue 4: "withdrawals choose lots
  tax-aware"); the non-managed twin ("FIFO, no tax awareness") keeps FIFO.
- Bad input raises an error naming the setting, account, row or date; a withdrawal or tax
  payment an account cannot raise, or an impossible strategy order, stops the run with the
  account, date and amounts (nothing is clipped or overdrawn).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from strategies import buy_and_hold, calendar_rebalance, drift_bands, tax_aware_rebalance
from taxsim import Account, Household, Market
from taxsim.engine import SimulationError, Strategy, simulate
from taxsim.engine import enums as sim
from taxsim.engine.run import TwinCache, sale_lot_methods
from taxsim.ledger.enums import LAST_LOT_METHOD, LOT_METHOD_CODES, LOT_METHOD_DESCRIPTIONS
from tests.simulation_checks import conservation_gap


def market_of(dates, closes) -> Market:
    frame = pd.concat(
        [pd.DataFrame({"date": pd.to_datetime(dates), "ticker": ticker, "close": prices})
         for ticker, prices in closes.items()],
        ignore_index=True,
    )
    return Market.from_frame(frame, source="hand-made")


# --------------------------------------------------------------------------- tax-aware lots
# One fund A. 2024-01-02: $10,000 buys lot 1, 100 shares at $100. 2024-02-01: $3,000 buys
# lot 2, 20 shares at $150. 2024-03-01: A at $130, $1,300 is withdrawn: 10 shares are sold.
# Tax-aware: 10 shares of lot 2, a short-term loss of 10 x (130 - 150) = -200.
# FIFO: 10 shares of lot 1, a short-term gain of 10 x (130 - 100) = +300.
WITHDRAWAL_MARKET = (["2024-01-02", "2024-02-01", "2024-03-01", "2024-03-04"],
                     {"A": [100.0, 150.0, 130.0, 130.0]})
WITHDRAWAL_FLOWS = pd.DataFrame({"date": pd.to_datetime(["2024-02-01", "2024-03-01"]),
                                 "account": ["taxable", "taxable"],
                                 "amount": [3_000.0, -1_300.0]})
TAX_AWARE_GAIN = 10 * (130.0 - 150.0)
FIFO_GAIN = 10 * (130.0 - 100.0)

STRATEGIES = {
    "buy_and_hold": buy_and_hold,
    "calendar_rebalance": lambda: calendar_rebalance("yearly"),
    "calendar_rebalance_hifo": lambda: calendar_rebalance("yearly", lot_method="hifo"),
    "drift_bands": drift_bands,
    "tax_aware_rebalance": lambda: tax_aware_rebalance("yearly"),
}


def run_withdrawal(strategy, **options):
    return simulate(market_of(*WITHDRAWAL_MARKET), Household([Account("taxable")]), strategy,
                    {"taxable": {"A": 1.0}}, contributions={"taxable": 10_000.0},
                    flows=WITHDRAWAL_FLOWS, tax_payment="outside", **options)


def withdrawal_sales(result, raised_by_strategy=False) -> pd.DataFrame:
    """The sales that raised the withdrawal: the engine's, or with ``raised_by_strategy`` the
    strategy's own on that day (``Strategy.raises_cash``: tax-aware rebalancing)."""
    trades = result.trades_frame()
    if raised_by_strategy:
        day = WITHDRAWAL_FLOWS["date"].iloc[-1]
        return trades[(trades["date"] == day) & (trades["shares"] < 0)]
    return trades[trades["reason"] == "withdrawal"]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_a_withdrawal_sells_the_loss_lot_for_every_strategy_and_fifo_in_the_twin(name):
    strategy = STRATEGIES[name]()
    result = run_withdrawal(strategy, twins=True)
    # a strategy that raises its own cash makes the sale itself, with the same lots
    sales = withdrawal_sales(result, strategy.raises_cash)
    assert sales["shares"].tolist() == pytest.approx([-10.0])
    assert sales["lot_method"].tolist() == ["tax_optimal"]
    realized = result.ledger.realized()
    assert realized["gain"].sum() == pytest.approx(TAX_AWARE_GAIN, abs=1e-9)
    assert realized["shares"].sum() == pytest.approx(10.0)
    assert result.conventions["withdrawal_lot_method"] == "tax_optimal"
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)
    for outcome in (result, result.twins["non_managed"]):  # principle 5: each method stated
        sales_by_method = outcome.trades_frame().query("shares < 0")["lot_method"].value_counts()
        if set(sales_by_method.index) == {outcome.conventions["lot_method"]}:
            assert "sale_lot_methods" not in outcome.conventions
        else:
            for method, count in sales_by_method.items():
                assert f"{method} {count} sale" in outcome.conventions["sale_lot_methods"]

    twin = result.twins["non_managed"]
    twin_sales = withdrawal_sales(twin)
    assert twin_sales["shares"].tolist() == pytest.approx([-10.0])
    assert twin_sales["lot_method"].tolist() == ["fifo"]
    assert twin.ledger.realized()["gain"].sum() == pytest.approx(FIFO_GAIN, abs=1e-9)
    assert twin.conventions["withdrawal_lot_method"] == "fifo"
    # the pre-tax twin is this strategy without taxes: its withdrawal is tax-aware too
    pre_tax_sales = withdrawal_sales(result.twins["pre_tax"], strategy.raises_cash)
    assert pre_tax_sales["lot_method"].tolist() == ["tax_optimal"]


def test_sale_lot_methods_counts_the_sales_of_each_method_when_any_is_not_the_strategys():
    trades = np.zeros(6, sim.trade_dtype)
    trades["shares"] = [5.0, -1.0, -2.0, -3.0, -4.0, 7.0]  # two buys: not counted
    trades["lot_method"] = [6, 3, 6, 3, 3, 6]
    assert sale_lot_methods(trades, "tax_optimal") == (
        "tax_optimal 3 sales, gains_first 1 sale (gains with the least tax first, then the "
        "smallest losses)")
    assert sale_lot_methods(trades, "fifo") == (
        "tax_optimal 3 sales (losses first, then the gains with the least tax), gains_first 1 "
        "sale (gains with the least tax first, then the smallest losses)")
    trades["lot_method"] = 3
    assert sale_lot_methods(trades, "tax_optimal") == ""
    assert sale_lot_methods(trades[:1], "fifo") == ""  # no sale
    # every code the engine accepts (FIFO..LAST_LOT_METHOD) has a name and a description
    assert sorted(LOT_METHOD_CODES.values()) == list(range(LAST_LOT_METHOD + 1))
    assert set(LOT_METHOD_DESCRIPTIONS) == set(LOT_METHOD_CODES)


def test_the_non_managed_twin_withdraws_fifo_and_is_cached_apart_from_the_strategy():
    strategy = buy_and_hold()  # no tax management: its own twin, but with FIFO withdrawals
    assert strategy.withdrawal_lot_method == "tax_optimal"
    twin = strategy.non_managed()
    assert twin.withdrawal_lot_method == "fifo"
    assert twin.decide is strategy.decide and twin.lot_method == "fifo"
    assert twin.non_managed() is twin
    managed = tax_aware_rebalance("yearly")
    assert managed.non_managed().withdrawal_lot_method == "fifo"
    assert managed.non_managed().decide is managed.twin.decide
    arguments = {"market": market_of(*WITHDRAWAL_MARKET), "targets": {"taxable": {"A": 1.0}}}
    assert TwinCache.key(strategy, True, arguments) != TwinCache.key(twin, True, arguments)
    # a withdrawal lot method may be chosen explicitly (FIFO here: the +300 gain)
    fifo = Strategy("fifo withdrawals", strategy.decide, withdrawal_lot_method="fifo")
    realized = run_withdrawal(fifo).ledger.realized()
    assert realized["gain"].sum() == pytest.approx(FIFO_GAIN, abs=1e-9)


def test_what_a_strategy_that_raises_its_own_cash_leaves_short_is_sold_tax_aware():
    def invest_cash(day_index, day, prices, holdings, cash, targets, state, params, orders):
        if cash[0] > 1e-9:  # buys with its cash; leaves a withdrawal's shortfall to the engine
            orders[0, 0], orders[0, 1], orders[0, 2], orders[0, 3] = 0, 0, cash[0] / prices[0], 0
            return 1
        return 0

    strategy = Strategy("invests its cash", invest_cash, invests_flows=True)
    result = run_withdrawal(strategy, twins=True)
    trades = result.trades_frame()
    shortfall = trades[trades["reason"] == "cash shortfall"]
    assert shortfall["shares"].tolist() == pytest.approx([-10.0])
    assert shortfall["lot_method"].tolist() == ["tax_optimal"]
    assert result.ledger.realized()["gain"].sum() == pytest.approx(TAX_AWARE_GAIN, abs=1e-9)
    assert result.twins["non_managed"].ledger.realized()["gain"].sum() == pytest.approx(
        FIFO_GAIN, abs=1e-9)


@pytest.mark.parametrize(("lot_method", "gain_2025"), [("hifo", 1.02 * 50), ("fifo", 1.02 * 100)])
def test_a_tax_paid_from_the_portfolio_sells_by_the_strategys_lot_method(lot_method, gain_2025):
    # 2024-12-27: 100 shares at 100 (lot 1); 2024-12-30: 20 at 150 (lot 2); 2024-12-31: at 200
    # a $2,000 withdrawal sells 10 shares, tax-aware from lot 2 (+500 short-term). The tax,
    # 500 x 40.8% = 204, is paid on 2025-01-02 by selling 1.02 shares at 200 by the strategy's
    # lot method (issue 4, step 8, "the lot method comes from the strategy"): hifo takes lot 2
    # (+51), fifo lot 1 (+102).
    market = market_of(["2024-12-27", "2024-12-30", "2024-12-31", "2025-01-02"],
                       {"A": [100.0, 150.0, 200.0, 200.0]})
    flows = pd.DataFrame({"date": pd.to_datetime(["2024-12-30", "2024-12-31"]),
                          "account": ["taxable", "taxable"], "amount": [3_000.0, -2_000.0]})
    result = simulate(market, Household([Account("taxable")]), buy_and_hold(lot_method),
                      {"taxable": {"A": 1.0}}, contributions={"taxable": 10_000.0}, flows=flows)
    trades = result.trades_frame()
    assert trades["reason"].tolist() == ["contribution", "contribution", "withdrawal",
                                         "tax payment"]
    assert trades["lot_method"].tolist()[2:] == ["tax_optimal", lot_method]
    assert trades["shares"].tolist()[2:] == pytest.approx([-10.0, -1.02])
    assert result.ledger.realized()["gain"].tolist() == pytest.approx([500.0, gain_2025])
    assert result.summary()["tax_paid_from_portfolio"] == pytest.approx(204.0)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)


# The same year as above: the tax of 204 is due on 2025-01-02, the day of a contribution.
TAX_DAY_MARKET = (["2024-12-27", "2024-12-30", "2024-12-31", "2025-01-02"],
                  {"A": [100.0, 150.0, 200.0, 200.0]})


def run_tax_day(january_flows):
    dates = ["2024-12-30", "2024-12-31"] + ["2025-01-02"] * len(january_flows)
    flows = pd.DataFrame({"date": pd.to_datetime(dates), "account": "taxable",
                          "amount": [3_000.0, -2_000.0, *january_flows]})
    return simulate(market_of(*TAX_DAY_MARKET), Household([Account("taxable")]),
                    buy_and_hold("fifo"), {"taxable": {"A": 1.0}},
                    contributions={"taxable": 10_000.0}, flows=flows)


def test_a_contribution_on_the_tax_day_pays_the_tax_instead_of_a_sale_and_a_purchase():
    # The 1,000 contributed on 2025-01-02 pays the 204 of tax; 796 buys 3.98 shares. Nothing
    # is sold (it used to sell 1.02 shares, a gain of 102, and buy 5 shares back).
    result = run_tax_day([1_000.0])
    trades = result.trades_frame()
    on_tax_day = trades[trades["date"] == pd.Timestamp("2025-01-02")]
    assert on_tax_day["reason"].tolist() == ["contribution"]
    assert on_tax_day["shares"].tolist() == pytest.approx([796.0 / 200.0])
    assert result.ledger.realized()["gain"].tolist() == pytest.approx([500.0])
    assert result.summary()["tax_paid_from_portfolio"] == pytest.approx(204.0)
    assert result.daily()["cash_taxable"].iloc[-1] == pytest.approx(0.0, abs=1e-9)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("january_flows", [[100.0], [100.0, -400.0], [-400.0, 100.0]])
def test_a_contribution_smaller_than_the_tax_pays_part_of_it_in_either_flow_order(january_flows):
    # 100 contributed pays 100 of the 204; 104 is sold for the tax (0.52 shares, FIFO: a gain
    # of 52) and nothing is bought. A withdrawal of 400 the same day sells 2 shares more,
    # tax-aware (lot 2 at 150: a gain of 100), before or after the contribution; cash ends
    # at zero either way.
    result = run_tax_day(january_flows)
    trades = result.trades_frame()
    on_tax_day = trades[trades["date"] == pd.Timestamp("2025-01-02")]
    sold = on_tax_day.groupby("reason", observed=True)["shares"].sum().to_dict()
    expected = {"tax payment": -0.52}
    if len(january_flows) > 1:
        expected["withdrawal"] = -2.0
    assert sold == pytest.approx(expected)
    assert result.ledger.realized()["gain"].sum() == pytest.approx(
        500.0 + 0.52 * 100.0 + (2.0 * 50.0 if len(january_flows) > 1 else 0.0))
    assert result.daily()["cash_taxable"].iloc[-1] == pytest.approx(0.0, abs=1e-9)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)


def test_whole_share_withdrawals_round_up_so_cash_stays_covered():
    market = market_of(["2024-01-02", "2024-01-03", "2024-01-04"], {"A": [100.0, 101.0, 102.0]})
    flows = pd.DataFrame({"date": pd.to_datetime(["2024-01-03"]), "account": ["taxable"],
                          "amount": [-150.0]})
    result = simulate(market, Household([Account("taxable")]), buy_and_hold(),
                      {"taxable": {"A": 1.0}}, contributions={"taxable": 1_000.0}, flows=flows,
                      whole_shares=True)
    # 10 shares at 101: $150 needs 1.49 shares, so 2 are sold (truncating to 1 would overdraw)
    assert withdrawal_sales(result)["shares"].tolist() == [-2.0]
    assert result.daily()["cash_taxable"].iloc[1] == pytest.approx(2 * 101.0 - 150.0)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)


# --------------------------------------------------------------------------- bad input
SMALL_MARKET = (["2024-01-02", "2024-01-03", "2024-01-04"],
                {"A": [100.0, 101.0, 102.0], "B": [50.0, 50.0, 50.0]})
TARGETS = {"taxable": {"A": 0.5, "B": 0.5}}


def run_small(strategy=None, **options):
    options.setdefault("contributions", {"taxable": 1_000.0})
    return simulate(market_of(*SMALL_MARKET), Household([Account("taxable")]),
                    strategy or calendar_rebalance("monthly"), TARGETS, **options)


def one_flow(amount, date="2024-01-03", account="taxable") -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime([date]), "account": [account],
                         "amount": [amount]})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cost_bps": -50.0}, r"cost_bps: must be a finite number >= 0 and < 10000 .* got -50.0"),
        ({"cost_bps": math.nan}, r"cost_bps: .* got nan"),
        ({"cost_bps": 10_000.0}, r"cost_bps: .* < 10000 .* got 10000.0"),
        ({"cost_bps": "2"}, r"cost_bps: must be a number, got '2'"),
        ({"cost_per_trade": -1.0}, r"cost_per_trade: must be a finite number >= 0 .* got -1.0"),
        ({"cost_per_trade": math.inf}, r"cost_per_trade: .* got inf"),
        ({"advisory_fee_bps": -1000.0},
         r"advisory_fee_bps: must be a finite number >= 0 and <= 10000 .* got -1000.0"),
        ({"advisory_fee_bps": math.nan}, r"advisory_fee_bps: .* got nan"),
        ({"contributions": {"taxable": -1000.0}},
         r"contributions\['taxable'\]: must be a finite number of dollars >= 0 .* got -1000.0"),
        ({"contributions": {"taxable": math.nan}}, r"contributions\['taxable'\]: .* got nan"),
        ({"contributions": {"taxable": math.inf}}, r"contributions\['taxable'\]: .* got inf"),
        ({"flows": one_flow(math.nan)},
         r"flows row 0 \(2024-01-03, account 'taxable'\): amount must be a finite number .* "
         r"got nan"),
        ({"flows": one_flow(-math.inf)}, r"flows row 0 \(2024-01-03, .*got -inf"),
        ({"flows": pd.DataFrame({"date": ["2024-01-03"], "account": ["taxable"]})},
         r"flows: missing column\(s\) \['amount'\]"),
        ({"flows": pd.DataFrame({"date": ["someday"], "account": ["taxable"], "amount": [1.0]})},
         r"flows row 0 \(account 'taxable'\): date is not a date: 'someday'"),
    ],
)
def test_bad_settings_and_flows_name_the_field_and_value(options, message):
    with pytest.raises(SimulationError, match=message):
        run_small(**options)


def test_bad_settings_are_refused_for_twins_too():
    with pytest.raises(SimulationError, match="cost_bps"):
        run_small(cost_bps=-1.0, twins=True)


def test_a_withdrawal_larger_than_the_account_names_account_date_and_shortfall():
    # 1,000 invested on 2024-01-02 (5 A at 100, 10 B at 50): 1,005 on 2024-01-03
    with pytest.raises(SimulationError) as info:
        run_small(flows=one_flow(-5_000.0))
    message = str(info.value)
    for fragment in ("on 2024-01-03", "withdrawal of $5,000.00", "account 'taxable'",
                     "can raise only $1,005.00", "$3,995.00 short", "nothing of it was applied"):
        assert fragment in message, message


def test_a_withdrawal_larger_than_the_account_is_refused_with_costs_and_for_any_strategy():
    # 10 bps and $1 a trade: each asset gets (500 - 1) / 1.001 dollars on 2024-01-02, i.e.
    # 4.98501 A and 9.97003 B, worth 1,001.99 on 2024-01-03; selling both raises that less
    # 10 bps and $2: 998.99
    with pytest.raises(SimulationError, match=r"can raise only \$998.99 .*\$4,001.01 short"):
        run_small(flows=one_flow(-5_000.0), cost_bps=10.0, cost_per_trade=1.0)
    with pytest.raises(SimulationError, match=r"withdrawal of \$5,000.00 .*'taxable'"):
        run_small(buy_and_hold(), flows=one_flow(-5_000.0), twins=True)

    def keeps_cash(day_index, day, prices, holdings, cash, targets, state, params, orders):
        return 0

    # a strategy that raises its own cash: refused on the withdrawal's day, before decide
    with pytest.raises(SimulationError, match=r"on 2024-01-03: withdrawal of \$5,000.00"):
        run_small(Strategy("keeps cash", keeps_cash, invests_flows=True),
                  flows=one_flow(-5_000.0))


def test_withdrawing_exactly_everything_is_allowed():
    result = run_small(flows=one_flow(-1_005.0))
    daily = result.daily()
    assert daily["total_value"].iloc[1] == pytest.approx(0.0, abs=1e-9)
    assert daily["withdrawals_cumulative"].iloc[-1] == 1_005.0
    assert result.ledger.lots().empty or result.ledger.lots()["shares"].sum() == pytest.approx(0)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)


def test_a_tax_payment_the_tax_account_cannot_raise_names_it():
    # 100 shares at 100; 2024-12-31 at 200 a withdrawal of 19,900 sells 99.5 shares: a
    # short-term gain of 99.5 x 100 = 9,950, taxed 40.8% = 4,059.60 on 2025-01-02, when the
    # account holds 0.5 shares (100 dollars): 3,959.60 short.
    market = market_of(["2024-12-30", "2024-12-31", "2025-01-02"], {"A": [100.0, 200.0, 200.0]})
    flows = one_flow(-19_900.0, "2024-12-31")
    arguments = dict(contributions={"taxable": 10_000.0}, flows=flows)
    household = Household([Account("taxable")])
    with pytest.raises(SimulationError) as info:
        simulate(market, household, buy_and_hold(), {"taxable": {"A": 1.0}}, **arguments)
    message = str(info.value)
    for fragment in ("on 2025-01-02", "tax payment of $4,059.60", "account 'taxable'",
                     "can raise only $100.00", "$3,959.60 short", "tax_payment='outside'"):
        assert fragment in message, message
    outside = simulate(market, household, buy_and_hold(), {"taxable": {"A": 1.0}},
                       tax_payment="outside", **arguments)
    assert outside.summary()["tax_paid_from_outside"] == pytest.approx(4_059.6)


def order_writer(account, asset, shares, lot_method=0.0):
    def decide(day_index, day, prices, holdings, cash, targets, state, params, orders):
        if day_index == 1:
            orders[0, 0], orders[0, 1], orders[0, 2], orders[0, 3] = (account, asset, shares,
                                                                      lot_method)
            return 1
        return 0

    return Strategy("bad orders", decide)


@pytest.mark.parametrize(
    ("order", "fragments"),
    [
        ((0, 0, -1e6), ("order row 0: account 'taxable', asset 'A', shares -1e+06",
                        "sells 1e+06 shares but the account holds 5")),
        ((0, 7, 1.0), ("account 'taxable', asset index 7 (not one of 0..1)",)),
        ((3, 1, 1.0), ("account index 3 (not one of 0..0), asset 'B'",)),
        ((math.nan, 0, 1.0), ("account index nan",)),
        ((0, 1, math.nan), ("asset 'B', shares nan", "shares are not a finite number")),
        ((0, 0, -1.0, 9.0), ("asset 'A'", "lot method code 9 (unknown)")),
        ((0, 0, -1.0, 2.5), ("asset 'A'", "lot method code 2.5 (unknown)")),
        ((0, 0, -1.0, 4.0), ("lot method specific", "needs lot ids")),
    ],
)
def test_an_impossible_strategy_order_names_date_account_asset_and_row(order, fragments):
    with pytest.raises(SimulationError) as info:
        run_small(order_writer(*order))
    message = str(info.value)
    assert message.startswith("bad orders on 2024-01-03: the strategy wrote an impossible order")
    for fragment in fragments:
        assert fragment in message, message


def test_a_sale_whose_cost_exceeds_its_proceeds_is_named():
    with pytest.raises(SimulationError, match="asset 'B'.*trading cost exceeds its proceeds"):
        run_small(order_writer(0, 1, -1.0), cost_per_trade=60.0,
                  contributions={"taxable": 10_000.0})


def test_bad_input_changes_nothing_that_a_later_run_sees():
    market = market_of(*SMALL_MARKET)
    household = Household([Account("taxable")])
    flows = one_flow(-5_000.0)
    frozen = flows.copy()
    with pytest.raises(SimulationError):
        simulate(market, household, buy_and_hold(), TARGETS, contributions={"taxable": 1_000.0},
                 flows=flows)
    pd.testing.assert_frame_equal(flows, frozen)
    result = simulate(market, household, buy_and_hold(), TARGETS,
                      contributions={"taxable": 1_000.0}, flows=one_flow(-500.0))
    assert result.summary()["withdrawals"] == 500.0
    assert np.all(np.isfinite(result.daily()["total_value"]))
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-9)


def test_every_output_frame_states_the_run_conventions_and_parquet_keeps_them(tmp_path):
    """Principle 5: a table taken out of a run says how its numbers were made (tax payment,
    loss convention, lot methods, ...), in memory and read back from the run folder."""
    result = run_withdrawal(buy_and_hold())
    frames = {
        "daily": result.daily(),
        "trades": result.trades_frame(),
        "lots": result.lots(),
        "form_8949": result.form_8949(),
        "annual_tax": result.annual_tax(),
    }
    for name, frame in frames.items():
        assert frame.attrs["conventions"] == result.conventions, name
    assert result.conventions["withdrawal_lot_method"] == "tax_optimal"
    assert "tax_payment" in result.conventions and "loss_convention" in result.conventions
    folder = result.to_parquet(tmp_path / "run")
    for name in frames:
        stored = pd.read_parquet(folder / f"{name}.parquet").attrs["conventions"]
        assert stored == result.conventions, name
