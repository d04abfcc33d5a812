"""taxsim.metrics: returns, N-1A after-tax returns, tax alpha and its pieces, trading stats.

The return metrics run once on numpy arrays and once on pandas Series (one parametrized
suite). The after-tax proofs use a hand-made fund whose every number is computed by hand
below, and one tiny simulation of the same fund checks the engine's daily frame against it.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from taxsim.ledger.household import TaxProfile, TaxRates
from taxsim.metrics import (
    MetricsError,
    RunTables,
    after_tax_return,
    after_tax_return_from_tax_cost_ratio,
    after_tax_return_post_liquidation,
    after_tax_return_pre_liquidation,
    annualize,
    annualized_return,
    conventions_of,
    cumulative_return,
    daily_returns,
    deferred_tax_liability,
    drift,
    drift_statistics,
    external_flows,
    growth_frame,
    harvest_yield,
    harvested_losses_by_year,
    internal_rate_of_return,
    liquidation_value,
    money_weighted_return,
    pre_tax_return,
    rolling_tracking_error,
    summarize,
    tax_alpha,
    tax_alpha_by_year,
    tax_alpha_decomposition,
    tax_cost_ratio,
    time_weighted_return,
    tracking_error,
    turnover,
)
from taxsim.metrics.summary import PRE_TAX_FROM_THIS_RUN

QUALIFIED = 0.20 + 0.038  # 2025 top federal qualified-dividend / long-term rate + NIIT
SHORT = 0.37 + 0.038  # ordinary + NIIT


# --------------------------------------------------------------------------- both input kinds
@pytest.fixture(params=["numpy", "pandas"])
def kind(request):
    return request.param


def make(kind: str, values, dates=None):
    """``values`` as the requested input kind: (series-or-array, dates-argument)."""
    values = np.asarray(values, dtype=np.float64)
    if dates is None:
        return (values if kind == "numpy" else pd.Series(values)), None
    dates = pd.DatetimeIndex(pd.to_datetime(dates))
    if kind == "numpy":
        return values, dates
    return pd.Series(values, index=dates), None


def test_daily_returns_start_and_end_of_day_flows(kind):
    values, _ = make(kind, [100.0, 110.0, 170.0, 85.0])
    flows, _ = make(kind, [100.0, 0.0, 50.0, -100.0])
    start = daily_returns(values, flows, "start")
    end = daily_returns(values, flows, "end")
    assert type(start) is type(values)
    # day 0: money arrived into an empty portfolio -> V0/F0 - 1 under both timings
    np.testing.assert_allclose(np.asarray(start),
                               [0.0, 0.1, 170 / 160 - 1, 85 / 70 - 1])
    np.testing.assert_allclose(np.asarray(end), [0.0, 0.1, 120 / 110 - 1, 185 / 170 - 1])


def test_time_weighted_return_ignores_flows_and_annualizes_by_calendar_days(kind):
    # +10%, then a 1,000 contribution on a flat day, then +10%: TWR = 1.1 * 1.1 - 1
    values, dates = make(kind, [1000.0, 1100.0, 2100.0, 2310.0],
                         ["2020-01-01", "2020-07-01", "2021-01-01", "2022-01-01"])
    flows, _ = make(kind, [1000.0, 0.0, 1000.0, 0.0],
                    ["2020-01-01", "2020-07-01", "2021-01-01", "2022-01-01"])
    cumulative = time_weighted_return(values, flows, dates=dates, annualized=False,
                                      flow_timing="end")
    assert cumulative == pytest.approx(0.21, abs=1e-15)
    annual = time_weighted_return(values, flows, dates=dates, flow_timing="end")
    assert annual == pytest.approx(1.21 ** (365.25 / 731) - 1, abs=1e-15)  # 2020 is a leap year
    # a window: from the close of 2020-07-01 to the close of 2022-01-01
    window = time_weighted_return(values, flows, dates=dates, start="2020-07-01",
                                  annualized=False, flow_timing="end")
    assert window == pytest.approx(0.1, abs=1e-15)
    # a start that is not a date of the series means the last date before it
    assert time_weighted_return(values, flows, dates=dates, start="2020-12-31",
                                annualized=False, flow_timing="end") == pytest.approx(0.1)


def test_money_weighted_return_exact_cases(kind):
    # two flows 730 days apart: (1 + r) ** (730 / 365.25) = 1.21
    values, dates = make(kind, [100.0, 121.0], ["2021-01-01", "2023-01-01"])
    assert money_weighted_return(values, dates=dates) == pytest.approx(
        1.21 ** (365.25 / 730) - 1, abs=1e-13)
    assert money_weighted_return(values, dates=dates, annualized=False) == pytest.approx(0.21)
    # with a contribution in between the IRR makes the investor's NPV zero
    values, dates = make(kind, [100.0, 150.0, 280.0], ["2020-01-01", "2021-01-01", "2022-06-01"])
    flows, _ = make(kind, [0.0, 40.0, 0.0], ["2020-01-01", "2021-01-01", "2022-06-01"])
    rate = money_weighted_return(values, flows, dates=dates)
    when = pd.DatetimeIndex(["2020-01-01", "2021-01-01", "2022-06-01"])
    t = (when - when[0]).days / 365.25
    npv = -100 - 40 * (1 + rate) ** -t[1] + 280 * (1 + rate) ** -t[2]
    assert npv == pytest.approx(0.0, abs=1e-9)
    # no external flows: money- and time-weighted returns agree
    values, dates = make(kind, [50.0, 55.0, 52.0, 60.0],
                         ["2020-01-01", "2020-05-01", "2020-09-01", "2021-03-01"])
    assert money_weighted_return(values, dates=dates) == pytest.approx(
        time_weighted_return(values, dates=dates), abs=1e-12)


def test_internal_rate_of_return_edge_cases():
    when = pd.to_datetime(["2020-01-01", "2021-01-01"])
    assert np.isnan(internal_rate_of_return([100.0, 50.0], when))  # no sign change
    assert np.isnan(internal_rate_of_return([-100.0], when[:1]))
    # a total loss of 99.9% in a year and a 40-year horizon do not overflow
    assert internal_rate_of_return([-100.0, 0.1], when) == pytest.approx(-0.999, rel=1e-3)
    far = pd.to_datetime(["1980-01-01", "2020-01-01"])
    rate = internal_rate_of_return([-1.0, 1e4], far)
    assert (1 + rate) ** ((far[1] - far[0]).days / 365.25) == pytest.approx(1e4, rel=1e-9)


def test_cumulative_and_annualized_returns(kind):
    returns, dates = make(kind, [0.0, 0.1, -0.05, 0.02],
                          ["2021-01-04", "2021-06-01", "2022-01-03", "2023-01-04"])
    growth = 1.1 * 0.95 * 1.02
    assert cumulative_return(returns, dates=dates) == pytest.approx(growth - 1)
    days = (pd.Timestamp("2023-01-04") - pd.Timestamp("2021-01-04")).days
    assert annualized_return(returns, dates=dates) == pytest.approx(
        growth ** (365.25 / days) - 1)
    assert annualize(0.21, 730.5) == pytest.approx(0.1)
    with pytest.raises(MetricsError, match="days must be positive"):
        annualize(0.1, 0)


def test_tracking_error_and_drift(kind):
    a, _ = make(kind, [0.01, 0.02, 0.0, 0.03])
    b, _ = make(kind, [0.0, 0.03, -0.01, 0.04])  # differences +1%, -1%, +1%, -1%
    expected = np.sqrt(4 * 0.01**2 / 3) * np.sqrt(252)
    assert tracking_error(a, b) == pytest.approx(expected)
    assert tracking_error(a, a) == 0.0
    rolling = rolling_tracking_error(a, b, window=2)
    assert type(rolling) is type(a)
    np.testing.assert_allclose(np.asarray(rolling)[1:], np.sqrt(2 * 0.01**2) * np.sqrt(252))
    assert np.isnan(np.asarray(rolling)[0])

    weights = [[0.6, 0.4], [0.7, 0.3], [0.55, 0.45]]
    targets = [0.6, 0.4]
    if kind == "pandas":
        weights = pd.DataFrame(weights, columns=["VTI", "BND"],
                               index=pd.date_range("2024-01-01", periods=3))
        targets = {"VTI": 0.6, "BND": 0.4}
    deviation = drift(weights, targets)
    np.testing.assert_allclose(np.asarray(deviation), [0.0, 0.1, 0.05])
    stats = drift_statistics(weights, targets)
    assert stats["max_abs_deviation"] == pytest.approx(0.1)
    assert stats["mean_abs_deviation"] == pytest.approx((0.1 + 0.1 + 0.05 + 0.05) / 6)
    assert stats["mean_total_drift"] == pytest.approx((0.0 + 0.1 + 0.05) / 3)


def test_liquidation_value_deferred_tax_and_tax_cost_ratio(kind):
    value, _ = make(kind, [1000.0, 1200.0, 900.0])
    tax, _ = make(kind, [0.0, 47.6, -40.8])  # a net loss is worth its tax benefit
    accrued, _ = make(kind, [0.0, 10.0, 0.0])
    liquidated = liquidation_value(value, tax, accrued)
    assert type(liquidated) is type(value)
    np.testing.assert_allclose(np.asarray(liquidated), [1000.0, 1142.4, 940.8])
    np.testing.assert_allclose(np.asarray(deferred_tax_liability(tax)), [0.0, 47.6, -40.8])
    pre, _ = make(kind, [0.10, 0.05])
    after, _ = make(kind, [0.078, 0.05])
    np.testing.assert_allclose(np.asarray(tax_cost_ratio(pre, after)), [0.02, 0.0], atol=1e-15)


def test_tax_cost_ratio_two_percent_of_ten_is_seven_point_eight():
    assert after_tax_return_from_tax_cost_ratio(0.10, 0.02) == pytest.approx(0.078, abs=1e-15)
    assert tax_cost_ratio(0.10, 0.078) == pytest.approx(0.02, abs=1e-15)


# --------------------------------------------------------------------------- the hand-made fund
# One fund, $10,000 bought at $100 on 2023-01-03 (100 shares), buy and hold, 2025 top federal
# rates (qualified and long-term 20% + 3.8% NIIT; short-term 37% + 3.8%), standalone convention:
#   2023-06-30  price 110, qualified dividend $2/share = $200 reinvested at 110; tax 200 x 23.8%
#               = 47.60 accrues
#   2023-12-29  price 120
#   2024-01-02  price 120: the 2023 tax, 47.60, is paid by selling 47.6/120 shares of the first
#               lot (basis 100; held less than a year: a short-term gain of 47.6/120 x 20, whose
#               tax at 40.8% accrues for 2024)
#   2024-12-31  price 130, end. A full sale then realizes long-term gains on both lots.
DATES = pd.to_datetime(["2023-01-03", "2023-06-30", "2023-12-29", "2024-01-02", "2024-12-31"])
PRICES = [100.0, 110.0, 120.0, 120.0, 130.0]
SHARES_DIVIDEND = 200 / 110
SOLD = 47.6 / 120
ST_GAIN = SOLD * 20
TAX_2024 = ST_GAIN * SHORT
SHARES_END = 100 + SHARES_DIVIDEND - SOLD
VALUE_END = SHARES_END * 130
LT_GAIN_END = (100 - SOLD) * (130 - 100) + (SHARES_DIVIDEND * 130 - 200)
LIQUIDATION_TAX_END = LT_GAIN_END * QUALIFIED
YEARS = (DATES[-1] - DATES[0]).days / 365.25  # 728 days


def hand_fund(tax_payment: str = "portfolio") -> pd.DataFrame:
    """The daily frame of the fund above, every number by hand."""
    shares = np.array([100, 100 + SHARES_DIVIDEND, 100 + SHARES_DIVIDEND, SHARES_END, SHARES_END])
    accrued = np.array([0.0, 47.6, 47.6, TAX_2024, TAX_2024])
    paid = np.array([0.0, 0.0, 0.0, 47.6, 47.6])
    if tax_payment == "outside":  # nothing is sold, so there is no 2024 gain
        shares = np.array([100.0] + [100 + SHARES_DIVIDEND] * 4)
        accrued = np.array([0.0, 47.6, 47.6, 0.0, 0.0])
    value = shares * np.array(PRICES)
    basis = np.array([10_000.0, 10_200.0, 10_200.0, 10_200 - SOLD * 100, 10_200 - SOLD * 100])
    if tax_payment == "outside":
        basis = np.array([10_000.0] + [10_200.0] * 4)
    # liquidation tax: short-term (40.8%) before the lots are a year old, long-term at the end
    rate = np.array([SHORT, SHORT, SHORT, SHORT, QUALIFIED])
    return pd.DataFrame(
        {
            "total_value": value,
            "contributions_cumulative": 10_000.0,
            "withdrawals_cumulative": 0.0,
            "tax_paid_cumulative": paid if tax_payment == "portfolio" else 0.0,
            "tax_outside_cumulative": paid if tax_payment == "outside" else 0.0,
            "unrealized_gain": value - basis,
            "accrued_tax": accrued,
            "liquidation_tax": (value - basis) * rate,
        },
        index=pd.DatetimeIndex(DATES, name="date"),
    )


def test_hand_made_fund_after_tax_returns_by_hand():
    daily = hand_fund()
    # N-1A Item 26(b)(1): the fund's total return, dividend reinvested (taxes are withdrawals)
    pre_tax = (112 / 100) * (130 / 110) - 1
    assert pre_tax_return(daily, annualized=False) == pytest.approx(pre_tax, abs=1e-14)
    # Item 26(b)(2): ending value net of every tax on distributions and realized gains
    at_pre = (VALUE_END - TAX_2024) / 10_000 - 1
    assert after_tax_return_pre_liquidation(daily, annualized=False) == pytest.approx(
        at_pre, abs=1e-14)
    # Item 26(b)(3): and the tax of a full redemption on the last day
    at_post = (VALUE_END - TAX_2024 - LIQUIDATION_TAX_END) / 10_000 - 1
    assert after_tax_return_post_liquidation(daily, annualized=False) == pytest.approx(
        at_post, abs=1e-14)
    # annualized: P (1 + T) ** n = ATV with n in calendar years of 365.25 days
    for value, cumulative in ((after_tax_return_pre_liquidation(daily), at_pre),
                              (after_tax_return_post_liquidation(daily), at_post)):
        assert 10_000 * (1 + value) ** YEARS == pytest.approx(10_000 * (1 + cumulative),
                                                              rel=1e-13)
    # no flows after the start: money-weighted = time-weighted
    assert after_tax_return(daily, liquidated=True, method="money_weighted") == pytest.approx(
        after_tax_return_post_liquidation(daily), abs=1e-12)
    assert tax_cost_ratio(pre_tax_return(daily), after_tax_return_pre_liquidation(daily)) > 0
    assert external_flows(daily).tolist() == [10_000.0, 0.0, 0.0, 0.0, 0.0]


def test_hand_made_fund_with_taxes_paid_from_outside():
    daily = hand_fund("outside")
    # the 47.60 paid from outside on 2024-01-02 is a cost to the investor that day
    value = daily["total_value"].to_numpy()
    wealth = value - daily["accrued_tax"].to_numpy()
    growth = (wealth[1] / wealth[0]) * (wealth[2] / wealth[1]) * ((wealth[3] - 47.6) / wealth[2])
    growth *= wealth[4] / wealth[3]
    assert after_tax_return_pre_liquidation(daily, annualized=False) == pytest.approx(
        growth - 1, abs=1e-14)
    # taxes paid from outside are not in the pre-tax return
    assert pre_tax_return(daily, annualized=False) == pytest.approx(
        pre_tax_return(hand_fund(), annualized=False), abs=1e-14)
    # paying from outside saves the tax on the shares sold to pay it (and nothing else)
    inside = after_tax_return_pre_liquidation(hand_fund(), annualized=False)
    outside = after_tax_return_pre_liquidation(daily, annualized=False)
    assert outside - inside == pytest.approx(TAX_2024 / 10_000, rel=1e-9)


def test_frames_without_accrued_tax_use_the_payable_at_the_end():
    daily = hand_fund().drop(columns=["accrued_tax"])
    daily["liquidation_tax"] += np.array([0, 47.6, 47.6, TAX_2024, TAX_2024])  # includes it
    expected = (VALUE_END - TAX_2024) / 10_000 - 1
    assert after_tax_return_pre_liquidation(daily, annualized=False,
                                            tax_payable_at_end=TAX_2024) == pytest.approx(
        expected, abs=1e-14)
    assert after_tax_return_post_liquidation(daily, annualized=False) == pytest.approx(
        (VALUE_END - TAX_2024 - LIQUIDATION_TAX_END) / 10_000 - 1, abs=1e-14)


def test_tax_alpha_of_a_run_against_itself_is_exactly_zero():
    daily = hand_fund()
    for liquidated in (False, True):
        for method in ("time_weighted", "money_weighted"):
            assert tax_alpha(daily, daily, liquidated=liquidated, method=method) == 0.0
    by_year = tax_alpha_by_year(daily, daily)
    assert by_year.index.tolist() == [2023, 2024]
    assert (by_year[["tax_alpha", "cumulative_pre_liquidation",
                     "cumulative_post_liquidation"]] == 0.0).all().all()


def test_growth_frame_lines():
    daily = hand_fund()
    growth = growth_frame(daily)
    # after tax, paid from the portfolio: the value net of accrued tax
    np.testing.assert_allclose(growth["after_tax"], daily["total_value"] - daily["accrued_tax"])
    np.testing.assert_allclose(growth["liquidation_value"],
                               growth["after_tax"] - daily["liquidation_tax"])
    # pre-tax: the fund's total return on the same $10,000
    assert growth["pre_tax"].iloc[-1] == pytest.approx(10_000 * 1.12 * 130 / 110)
    # paid from outside, the after-tax line still loses the tax (compounded)
    outside = growth_frame(hand_fund("outside"))
    assert outside["after_tax"].iloc[-1] < hand_fund("outside")["total_value"].iloc[-1] - 47.6


# --------------------------------------------------------------------------- a longer run
def synthetic_run(harvest: bool, seed: int = 3, tax_payment: str = "portfolio"):
    """A Result-like run of one index fund over three years, by a few lines of arithmetic.

    Daily returns are random (seeded) and shared by every run; quarterly qualified dividends of
    0.4% are reinvested; with ``harvest`` the position is sold and replaced whenever it is 7%
    under its basis (a short-term loss worth 40.8%). Each year's tax is paid on the next
    year's first day. Liquidation is at 23.8% of the unrealized gain.
    """
    dates = pd.bdate_range("2021-01-04", "2023-12-29")
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0002, 0.013, len(dates))
    price = 100 * np.cumprod(1 + returns)
    rows, annual, trades, frame_rows = [], {}, [], []
    holding = basis = accrued = paid = 0.0
    contributions = 0.0
    quarter_ends = set(pd.Series(dates, index=dates).groupby(dates.to_period("Q")).max())
    for t, date in enumerate(dates):
        year = annual.setdefault(date.year, {"qualified_dividends": 0.0, "st_gain": 0.0})
        if t == 0 or t == 300:
            amount = 1_000_000.0 if t == 0 else 100_000.0
            holding += amount
            basis += amount
            contributions += amount
            trades.append((date, amount / price[t], price[t], "contribution"))
        else:
            holding *= 1 + returns[t]
        if t > 0 and date.year != dates[t - 1].year:
            holding -= accrued if tax_payment == "portfolio" else 0.0
            basis -= accrued if tax_payment == "portfolio" else 0.0
            paid += accrued
            if tax_payment == "portfolio":
                trades.append((date, -accrued / price[t], price[t], "tax payment"))
            accrued = 0.0
        if date in quarter_ends and t > 0:
            dividend = 0.004 * holding
            holding += dividend
            basis += dividend
            accrued += dividend * QUALIFIED
            year["qualified_dividends"] += dividend
        if harvest and holding < 0.93 * basis:
            loss = basis - holding
            accrued -= loss * SHORT
            year["st_gain"] -= loss
            rows.append((date, holding, basis, -loss))
            trades.append((date, -holding / price[t], price[t], "strategy"))
            trades.append((date, holding / price[t], price[t], "strategy"))
            basis = holding
        rows_day = {
            "total_value": holding,
            "contributions_cumulative": contributions,
            "withdrawals_cumulative": 0.0,
            "tax_paid_cumulative": paid if tax_payment == "portfolio" else 0.0,
            "tax_outside_cumulative": paid if tax_payment == "outside" else 0.0,
            "unrealized_gain": holding - basis,
            "accrued_tax": accrued,
            "liquidation_tax": (holding - basis) * QUALIFIED,
        }
        rows_day["liquidation_value"] = holding - accrued - rows_day["liquidation_tax"]
        frame_rows.append(rows_day)
    daily = pd.DataFrame(frame_rows, index=pd.DatetimeIndex(dates, name="date"))
    form_8949 = pd.DataFrame(rows, columns=["sold", "proceeds", "basis", "gain"])
    form_8949["term"] = "short"
    annual_tax = pd.DataFrame([{"year": y, **v} for y, v in annual.items()])
    for column in ("nonqualified_dividends", "interest", "st_capital_gain_distributions",
                   "lt_capital_gain_distributions"):
        annual_tax[column] = 0.0
    trades_frame = pd.DataFrame(trades, columns=["date", "shares", "price", "reason"])
    ledger = SimpleNamespace(annual_tax=lambda: annual_tax, form_8949=lambda: form_8949,
                             tax_profile=TaxProfile())
    conventions = {
        "strategy": "harvesting" if harvest else "buy and hold", "lot_method": "fifo",
        "tax_profile": TaxProfile().name, "loss_convention": "offset",
        "tax_payment": f"paid from {tax_payment}", "liquidation": "daily",
        "period": f"{dates[0].date()} .. {dates[-1].date()}", "data_source": "seeded normal",
    }
    return SimpleNamespace(daily=lambda: daily, ledger=ledger, conventions=conventions,
                           trades_frame=lambda: trades_frame, tax_payable=accrued, twins={})


@pytest.fixture(scope="module")
def runs():
    return synthetic_run(harvest=True), synthetic_run(harvest=False)


def test_decomposition_adds_up_and_harvesting_shows_where_it_should(runs):
    strategy, twin = runs
    tables = RunTables.from_result(strategy), RunTables.from_result(twin)
    for liquidated in (True, False):
        pieces = tax_alpha_decomposition(*tables, liquidated=liquidated)
        assert list(pieces.index) == ["harvested_losses", "deferral", "character", "location",
                                      "other", "total"]
        for column in ("dollars", "annualized"):
            assert pieces[column].iloc[:-1].sum() == pytest.approx(pieces.loc["total", column],
                                                                   abs=1e-9)
        assert pieces.loc["total", "annualized"] == tax_alpha(
            strategy.daily(), twin.daily(), liquidated=liquidated)
    pieces = tax_alpha_decomposition(*tables)
    losses = -strategy.ledger.form_8949()["gain"].sum()
    assert losses > 0
    assert pieces.loc["harvested_losses", "dollars"] == pytest.approx(losses * SHORT)
    assert pieces.loc["character", "dollars"] == 0.0  # no gains realized by either
    # the lower basis is repaid at liquidation: deferral is negative, and the net benefit is
    # the rate difference (40.8% now vs 23.8% later) and the growth of the tax saved
    assert pieces.loc["deferral", "dollars"] < 0
    assert pieces.loc["total", "dollars"] > 0
    assert abs(pieces.loc["other", "dollars"]) < 0.05 * pieces.loc["total", "dollars"]
    assert tax_alpha(strategy.daily(), twin.daily(), liquidated=True) > 0


def test_decomposition_of_a_run_against_itself_is_all_zero(runs):
    strategy, _ = runs
    tables = RunTables.from_result(strategy)
    pieces = tax_alpha_decomposition(tables, tables)
    assert (pieces.to_numpy() == 0.0).all()


def test_tax_alpha_by_year_cumulative_matches_the_window(runs):
    strategy, twin = runs
    by_year = tax_alpha_by_year(strategy.daily(), twin.daily())
    assert by_year.index.tolist() == [2021, 2022, 2023]
    s = after_tax_return(strategy.daily(), annualized=False)
    n = after_tax_return(twin.daily(), annualized=False)
    assert by_year["cumulative_pre_liquidation"].iloc[-1] == pytest.approx((1 + s) / (1 + n) - 1)
    # the years chain to the whole run
    chained = np.prod(1 + by_year["strategy_return"]) - 1
    assert chained == pytest.approx(s, abs=1e-12)


def test_harvest_yield_turnover_and_losses_by_year():
    form = pd.DataFrame({
        "sold": pd.to_datetime(["2021-03-01", "2021-09-01", "2022-05-02", "2022-06-01"]),
        "gain": [-500.0, 200.0, -1_000.0, -300.0],
        "term": ["short", "short", "long", "short"],
    })
    values = pd.Series([10_000.0, 12_000.0, 20_000.0, 15_000.0],
                       index=pd.to_datetime(["2021-01-04", "2021-12-31", "2022-06-01",
                                             "2022-12-30"]))
    table = harvest_yield(form, values)
    assert table.index.tolist() == [2021, 2022]
    assert table["harvested_losses"].tolist() == [500.0, 1_300.0]
    assert table["start_value"].tolist() == [10_000.0, 12_000.0]
    assert table["harvest_yield"].tolist() == pytest.approx([0.05, 1_300 / 12_000])
    flagged = form.assign(harvest=[True, False, False, True])
    assert harvested_losses_by_year(flagged).tolist() == [500.0, 300.0]

    trades = pd.DataFrame({
        "date": pd.to_datetime(["2021-01-04", "2021-06-01", "2021-06-01", "2022-03-01"]),
        "shares": [100.0, -20.0, 10.0, -5.0],
        "price": [100.0, 110.0, 110.0, 120.0],
        "reason": ["contribution", "strategy", "strategy", "withdrawal"],
    })
    table = turnover(trades, values)
    assert table.loc[2021, "purchases"] == pytest.approx(11_100.0)
    assert table.loc[2021, "sales"] == pytest.approx(2_200.0)
    assert table.loc[2021, "turnover"] == pytest.approx(2_200.0 / 11_000.0)
    assert table.loc[2022, "turnover"] == 0.0  # no purchases
    strategy_only = turnover(trades, values, exclude_reasons=("contribution",))
    assert strategy_only.loc[2021, "turnover"] == pytest.approx(1_100.0 / 11_000.0)


def test_summarize_carries_every_metric_and_the_conventions(runs):
    strategy, twin = runs
    summary = summarize(strategy, twin)
    daily = strategy.daily()
    assert summary["after_tax_return_post_liquidation"] == after_tax_return_post_liquidation(
        daily)
    assert summary["tax_alpha_post_liquidation"] == tax_alpha(daily, twin.daily(),
                                                              liquidated=True)
    pieces = sum(summary[f"tax_alpha_{p}"] for p in
                 ("harvested_losses", "deferral", "character", "location", "other"))
    assert pieces == pytest.approx(summary["tax_alpha_post_liquidation"], abs=1e-12)
    assert summary["tax_cost_ratio"] == pytest.approx(tax_cost_ratio(
        summary["pre_tax_return_this_run"], summary["after_tax_return_pre_liquidation"]))
    assert summary["liquidation_value"] == pytest.approx(daily["liquidation_value"].iloc[-1])
    assert summary["harvested_losses"] > 0
    assert summary["tracking_error"] == pytest.approx(0.0, abs=1e-3)  # same fund
    assert summary["convention_loss_convention"] == "offset"
    assert summary["convention_tax_rates"].startswith("37% ordinary, 20% long-term")
    assert "365.25" in summary["convention_metric_annualization"]
    assert "N-1A" in summary["convention_metric_after_tax"]
    alone = summarize(twin)
    assert "tax_alpha_post_liquidation" not in alone
    assert alone["pre_tax_source"] == PRE_TAX_FROM_THIS_RUN
    assert conventions_of(strategy)["tax_rates"] == summary["convention_tax_rates"]


def test_bad_inputs_name_the_argument():
    with pytest.raises(MetricsError, match="total_value"):
        after_tax_return(pd.DataFrame({"x": [1.0, 2.0]},
                                      index=pd.date_range("2024-01-01", periods=2)))
    with pytest.raises(MetricsError, match="needs dates"):
        time_weighted_return(np.array([1.0, 2.0]))
    with pytest.raises(MetricsError, match="flow_timing"):
        daily_returns([1.0, 2.0], flow_timing="noon")
    with pytest.raises(MetricsError, match="end must be after start"):
        pre_tax_return(hand_fund(), start="2024-12-31")


# --------------------------------------------------------------------------- one simulation
def test_the_engine_run_of_the_hand_made_fund_matches_the_hand_numbers():
    """The same fund through ``simulate`` (buy and hold, twins): the engine's daily frame gives
    the hand-computed after-tax returns, and buy and hold is its own twin (tax alpha 0)."""
    from strategies import buy_and_hold
    from taxsim import Account, Household, Market
    from taxsim.engine import simulate

    frame = pd.DataFrame({"date": DATES, "ticker": "FUND", "close": PRICES,
                          "dividend": [0.0, 2.0, 0.0, 0.0, 0.0]})
    market = Market.from_frame(frame, source="hand-made")
    try:
        result = simulate(market, Household([Account("taxable")]), buy_and_hold(),
                          {"taxable": {"FUND": 1.0}}, contributions={"taxable": 10_000.0},
                          twins=True)
    except TypeError:  # an engine without twins
        pytest.skip("simulate() has no twins= yet")
    daily = result.daily()
    if not {"accrued_tax", "liquidation_tax"} <= set(daily.columns):
        pytest.skip("the engine's daily frame has no liquidation columns yet")
    expected = hand_fund()
    for column in expected.columns:
        np.testing.assert_allclose(daily[column], expected[column], rtol=1e-12, atol=1e-9,
                                   err_msg=column)
    summary = summarize(result)
    assert summary["pre_tax_return"] == pytest.approx(
        (1.12 * 130 / 110) ** (1 / YEARS) - 1, abs=1e-13)
    assert summary["after_tax_return_pre_liquidation"] == pytest.approx(
        ((VALUE_END - TAX_2024) / 10_000) ** (1 / YEARS) - 1, abs=1e-13)
    assert summary["after_tax_return_post_liquidation"] == pytest.approx(
        ((VALUE_END - TAX_2024 - LIQUIDATION_TAX_END) / 10_000) ** (1 / YEARS) - 1, abs=1e-13)
    assert summary["liquidation_value"] == pytest.approx(result.liquidation_value)
    assert summary["tax_alpha_pre_liquidation"] == 0.0
    assert summary["tax_alpha_post_liquidation"] == 0.0
    assert summary["convention_strategy"] == "buy and hold"
    assert summary["convention_tax_rates"] == (
        "37% ordinary, 20% long-term, 20% qualified dividends, 3.8% NIIT, 0% state, "
        "20% §199A deduction on REIT dividends")


def test_runs_without_daily_liquidation_refuse_figures_that_need_it(tmp_path):
    """simulate(..., daily_liquidation=False) records accrued and liquidation tax on the last
    day only: whole-run figures work, anything that needs an earlier day raises (the zeros in
    between are not values), also when read back from its parquet folder."""
    from strategies import calendar_rebalance
    from taxsim import Account, Household
    from taxsim.demo import StoredResult
    from taxsim.engine import simulate
    from taxsim.market.synthetic import synthetic_market

    market = synthetic_market(years=3.0, seed=2)
    targets = {"taxable": {market.tickers[0]: 0.6, market.tickers[1]: 0.4}}
    household = Household([Account("taxable")])
    full = simulate(market, household, calendar_rebalance("monthly"), targets,
                    contributions={"taxable": 100_000.0})
    end_only = simulate(market, household, calendar_rebalance("monthly"), targets,
                        contributions={"taxable": 100_000.0}, daily_liquidation=False)
    assert end_only.daily()["total_value"].iloc[-1] == full.daily()["total_value"].iloc[-1]
    for liquidated in (False, True):
        assert after_tax_return(end_only.daily(), liquidated=liquidated,
                                tax_payable_at_end=end_only.tax_payable) == pytest.approx(
            after_tax_return(full.daily(), liquidated=liquidated,
                             tax_payable_at_end=full.tax_payable), abs=2e-3)
    middle = market.pandas_dates[300]
    with pytest.raises(MetricsError, match="daily_liquidation=True"):
        after_tax_return(end_only.daily(), end=middle)
    after_tax_return(full.daily(), end=middle)
    with pytest.raises(MetricsError, match="growth_frame"):
        growth_frame(end_only.daily())
    last = growth_frame(end_only.daily(), last_day_only=True)
    assert last["after_tax"].iloc[:-1].isna().all()
    assert last["liquidation_value"].iloc[-1] == pytest.approx(
        growth_frame(full.daily())["liquidation_value"].iloc[-1], rel=2e-3)
    with pytest.raises(MetricsError, match="tax_alpha_by_year"):
        tax_alpha_by_year(end_only.daily(), full.daily())
    end_only.to_parquet(tmp_path / "run")
    with pytest.raises(MetricsError, match="growth_frame"):
        growth_frame(StoredResult(tmp_path / "run").daily())


# --------------------------------------------------------------------------- audit additions
def test_a_window_may_start_on_a_day_with_flows_or_tax_paid():
    """The value at the close of a window's first day already holds that day's flows: a
    window starting on a withdrawal day, or (pre-tax) on the day tax was paid from the
    portfolio, is chained from that close (it raised "negative invested base" before)."""
    daily = hand_fund()  # 47.60 of 2023 tax paid from the portfolio on 2024-01-02
    assert pre_tax_return(daily, start="2024-01-02", annualized=False) == pytest.approx(
        130 / 120 - 1, abs=1e-15)
    wealth = SHARES_END * np.array([120.0, 130.0]) - TAX_2024
    assert after_tax_return_pre_liquidation(daily, start="2024-01-02",
                                            annualized=False) == pytest.approx(
        wealth[1] / wealth[0] - 1, abs=1e-15)
    # a 500 withdrawal at the close of 2023-12-29, the year's last close
    out = daily.copy()
    out["withdrawals_cumulative"] = [0.0, 0.0, 500.0, 500.0, 500.0]
    out["total_value"] -= out["withdrawals_cumulative"]
    value = out["total_value"].to_numpy()
    expected = (value[3] + 47.6) / value[2] * value[4] / value[3] - 1
    assert pre_tax_return(out, start="2023-12-29", annualized=False) == pytest.approx(
        expected, abs=1e-15)
    by_year = tax_alpha_by_year(out, out)
    assert by_year.index.tolist() == [2023, 2024]
    assert (by_year["tax_alpha"] == 0.0).all()
    assert after_tax_return(out, start="2023-12-29", annualized=False,
                            method="money_weighted") == pytest.approx(
        after_tax_return(out, start="2023-12-29", annualized=False), abs=1e-12)


def test_unsorted_dates_and_missing_numbers_are_refused_by_name():
    dates = pd.to_datetime(["2020-01-01", "2020-01-03", "2020-01-02"])
    with pytest.raises(MetricsError, match="dates: must be strictly increasing; 2020-01-02"):
        time_weighted_return(np.array([100.0, 101.0, 102.0]), dates=dates)
    with pytest.raises(MetricsError, match="values: nan on 2020-01-02"):
        time_weighted_return(pd.Series([100.0, np.nan, 102.0], index=dates.sort_values()))
    with pytest.raises(MetricsError, match="flows: inf on 2020-01-02"):
        money_weighted_return(np.array([100.0, 101.0, 102.0]), np.array([0.0, np.inf, 0.0]),
                              dates=dates.sort_values())
    daily = hand_fund()
    with pytest.raises(MetricsError, match=r"daily: dates must be strictly increasing"):
        after_tax_return(daily.iloc[::-1])
    broken = daily.copy()
    broken.loc["2023-12-29", "accrued_tax"] = np.nan
    with pytest.raises(MetricsError, match=r"daily\['accrued_tax'\]: nan on 2023-12-29"):
        after_tax_return_pre_liquidation(broken)


def test_harvest_yield_refuses_a_row_without_a_gain():
    values = pd.Series([10_000.0, 12_000.0, 11_000.0],
                       index=pd.to_datetime(["2021-01-04", "2021-12-31", "2022-12-30"]))
    form = pd.DataFrame({"sold": pd.to_datetime(["2021-03-01", "2021-06-01"]),
                         "gain": [-500.0, -250.0]})
    table = harvest_yield(form, values)
    assert table["harvest_yield"].tolist() == [0.075, 0.0]  # 2022: no activity, shown as 0
    with pytest.raises(MetricsError, match="row 1 has gain nan"):
        harvest_yield(form.assign(gain=[-500.0, np.nan]), values)  # it counted as 0 before
    with pytest.raises(MetricsError, match="row 0 has gain -500.0 sold on NaT"):
        harvested_losses_by_year(form.assign(sold=[pd.NaT, pd.Timestamp("2021-06-01")]))
    # a loss in a year the values do not cover was dropped silently before
    with pytest.raises(MetricsError, match=r"losses in \[2020\], outside the years of values "
                                           r"\(2021-2022\)"):
        harvest_yield(form.assign(sold=pd.to_datetime(["2020-03-02", "2021-06-01"])), values)


def test_drift_targets_must_name_the_same_assets():
    weights = pd.DataFrame({"A": [0.6, 0.5], "B": [0.4, 0.5]},
                           index=pd.date_range("2024-01-01", periods=2))
    with pytest.raises(MetricsError, match=r"targets \['C'\] have no weights column"):
        drift(weights, {"A": 0.6, "B": 0.3, "C": 0.1})
    with pytest.raises(MetricsError, match=r"assets \['B'\] of weights have no target"):
        drift(weights, {"A": 0.6})
    assert drift(weights, {"B": 0.4, "A": 0.6}).tolist() == pytest.approx([0.0, 0.1])


def test_summary_of_a_run_shorter_than_a_year_says_it_extrapolates():
    daily = hand_fund().iloc[:3]  # 2023-01-03 .. 2023-12-29: 360 days
    run = SimpleNamespace(
        daily=lambda: daily, conventions={}, tax_payable=None, twins={},
        ledger=SimpleNamespace(form_8949=lambda: pd.DataFrame({"sold": [], "gain": []}),
                               annual_tax=lambda: pd.DataFrame(), tax_profile=TaxProfile()),
        trades_frame=lambda: pd.DataFrame({"date": pd.to_datetime(["2023-01-03"]),
                                           "shares": [100.0], "price": [100.0]}))
    summary = summarize(run)
    cumulative = (daily["total_value"].iloc[-1] - 47.6) / 10_000 - 1
    assert summary["after_tax_return_pre_liquidation_cumulative"] == pytest.approx(
        cumulative, abs=1e-15)
    assert summary["after_tax_return_pre_liquidation"] == pytest.approx(
        (1 + cumulative) ** (365.25 / 360) - 1, abs=1e-15)
    assert "360 days, less than a year" in summary["convention_metric_annualization"]
    assert "less than a year" not in summarize(SimpleNamespace(
        **{**vars(run), "daily": lambda: hand_fund()}))["convention_metric_annualization"]


def test_decomposition_refuses_an_unknown_term():
    """A Form 8949 term other than 'short'/'long' was read as short-term without a word."""
    annual = pd.DataFrame({"year": [2023, 2024], "qualified_dividends": [200.0, 0.0],
                           "nonqualified_dividends": 0.0, "interest": 0.0,
                           "st_capital_gain_distributions": 0.0,
                           "lt_capital_gain_distributions": 0.0})
    form = pd.DataFrame({"sold": pd.to_datetime(["2024-01-02"]), "gain": [ST_GAIN],
                         "term": ["short"]})
    good = RunTables(hand_fund(), annual, form)
    assert (tax_alpha_decomposition(good, good).to_numpy() == 0.0).all()
    bad = RunTables(hand_fund(), annual, form.assign(term="long_term"))
    with pytest.raises(MetricsError, match="term 'long_term' on row 0; use 'short' or 'long'"):
        tax_alpha_decomposition(bad, good)


# --------------------------------------------------------------------------- headline figures
def engine_run(tax_payment: str, daily_liquidation: bool, twins: bool = True):
    """Two years of loss harvesting on a synthetic market, taxable + IRA, with a later
    contribution and a withdrawal, so that every flow column moves."""
    from strategies import loss_harvest
    from taxsim import Account, Household
    from taxsim.engine import simulate
    from taxsim.market.synthetic import synthetic_market

    market = synthetic_market(seed=11, years=2.0)
    household = Household([Account("taxable", reinvest=False),
                           Account("ira", kind="tax_deferred")])
    targets = {"taxable": {"USTOTAL": 0.6, "INTL": 0.4}, "ira": {"BOND": 1.0}}
    dates = market.pandas_dates
    flows = pd.DataFrame({"date": [dates[100], dates[300]], "account": ["taxable", "taxable"],
                          "amount": [50_000.0, -30_000.0]})
    strategy = loss_harvest(list(market.tickers), [["USTOTAL", "USLARGE"]], n_accounts=2,
                            threshold=0.03)
    return simulate(market, household, strategy, targets,
                    contributions={"taxable": 500_000.0, "ira": 200_000.0}, flows=flows,
                    tax_payment=tax_payment, cost_bps=2.0, twins=twins,
                    daily_liquidation=daily_liquidation)


@pytest.mark.parametrize("tax_payment", ["portfolio", "outside"])
@pytest.mark.parametrize("daily_liquidation", [True, False])
def test_headline_equals_summarize_from_the_arrays(tax_payment, daily_liquidation):
    from taxsim.metrics import headline
    from taxsim.metrics.after_tax import whole_run_chains, whole_run_chains_nb

    result = engine_run(tax_payment, daily_liquidation)
    figures, full = headline(result), summarize(result)
    keys = ["pre_tax_return", "after_tax_return_pre_liquidation",
            "after_tax_return_post_liquidation", "tax_alpha_pre_liquidation",
            "tax_alpha_post_liquidation"]
    assert sorted(k for k in figures if not k.startswith("convention_")) == sorted(keys)
    for key in keys:
        assert figures[key] == pytest.approx(full[key], rel=1e-12, abs=1e-15), key
    assert figures["tax_alpha_post_liquidation"] != 0.0
    for key in ("convention_metric_tax_alpha", "convention_metric_annualization"):
        assert figures[key] == full[key]
    # the plain-Python pass equals the compiled one
    from taxsim.engine.enums import RECORD_NAMES
    from taxsim.metrics.after_tax import _CHAIN_COLUMNS

    columns = np.array([RECORD_NAMES.index(name) for name in _CHAIN_COLUMNS], np.int64)
    arguments = (result.account_values, result.account_cash, result.record, columns)
    plain, compiled = np.empty(3), np.empty(3)
    assert whole_run_chains(*arguments, plain) and whole_run_chains_nb(*arguments, compiled)
    np.testing.assert_array_equal(plain, compiled)


def test_the_tax_cost_ratio_is_of_one_path_whether_or_not_the_run_has_twins():
    """Morningstar's ratio compares one portfolio's return before and after its investors'
    taxes. Paying tax from the portfolio, the harvester's pre-tax twin (no tax, so no sales to
    pay it) holds other shares and ends elsewhere; the ratio still uses this run's pre-tax
    return (its taxes paid treated as withdrawals), so twins change nothing in it."""
    with_twins = engine_run("portfolio", False)
    alone = engine_run("portfolio", False, twins=False)
    summary, summary_alone = summarize(with_twins), summarize(alone)
    own_pre_tax = pre_tax_return(with_twins.daily())
    assert summary["pre_tax_return_this_run"] == pytest.approx(own_pre_tax, rel=1e-12)
    assert summary["pre_tax_return"] == pytest.approx(
        pre_tax_return(with_twins.twins["pre_tax"].daily()), rel=1e-12)
    assert abs(summary["pre_tax_return"] - own_pre_tax) > 1e-5  # the twin's path differs
    for key in ("tax_cost_ratio", "tax_cost_ratio_post_liquidation"):
        assert summary[key] == pytest.approx(summary_alone[key], rel=1e-12), key
    assert summary["tax_cost_ratio"] == pytest.approx(
        1.0 - (1.0 + summary["after_tax_return_pre_liquidation"]) / (1.0 + own_pre_tax),
        rel=1e-12)
    assert summary["tax_cost_ratio"] > 0.0
    assert "not of a pre-tax twin" in summary["convention_metric_tax_cost_ratio"]


def test_headline_without_twins_and_with_bad_numbers():
    from taxsim.metrics import headline

    result = engine_run("portfolio", True, twins=False)
    figures = headline(result)
    assert "tax_alpha_post_liquidation" not in figures
    assert figures["pre_tax_return"] == pytest.approx(summarize(result)["pre_tax_return"],
                                                      rel=1e-12)
    result.record[5, 8] = np.nan  # accrued tax: the frame path names the day
    with pytest.raises(MetricsError, match=r"accrued_tax'\]: nan on "
                       + str(result.market.pandas_dates[5].date())):
        headline(result)


def test_attribution_values_a_2003_gain_at_the_rate_of_its_sale_day():
    """Long-term gains sold before 2003-05-06 are worth 20%, after it 15% (JGTRRA 2003 §301;
    no NIIT then); short-term ones the year's 35% either side."""
    from taxsim.metrics.attribution import _realized_taxes

    form = pd.DataFrame({
        "sold": pd.to_datetime(["2003-05-05", "2003-05-06", "2003-02-03", "2004-02-02"]),
        "gain": [1000.0, 500.0, -300.0, 200.0],
        "term": ["long", "long", "short", "long"],
    })
    loss_value, gains, gains_tax = _realized_taxes(form, TaxProfile.us_top_historical())
    assert loss_value == pytest.approx(300 * 0.35)
    assert gains == pytest.approx(1700.0)
    assert gains_tax == pytest.approx(1000 * 0.20 + 500 * 0.15 + 200 * 0.15)
    flat = _realized_taxes(form, TaxProfile())  # no change within a year: 20% + 3.8% NIIT
    assert flat[2] == pytest.approx(1700 * 0.238)


def test_attribution_counts_a_return_of_capital_beyond_basis_as_a_realized_gain():
    """The excess of a return of capital over a lot's basis is a Form 8949 line (Pub 550
    "Nondividend Distributions"), so the attribution's realized gains hold it at its term's
    rate, and the distributions' tax (``location``) does not: before, it reached neither and
    fell into ``other``."""
    from taxsim.ledger import Account, Household, Ledger
    from taxsim.metrics.attribution import _income_tax, _realized_taxes

    ledger = Ledger(Household([Account("taxable", reinvest=False)]), ["XYZ"])
    ledger.buy("taxable", "XYZ", 100, 3.0, "2020-01-06")
    ledger.distribute("XYZ", "2021-06-15", price=20.0, return_of_capital=5.0, dividend=1.0,
                      qualified_fraction=1.0)
    ledger.close_year(2021)
    profile = TaxProfile()
    loss_value, gains, gains_tax = _realized_taxes(ledger.form_8949(), profile)
    assert (loss_value, gains) == (0.0, pytest.approx(200.0))  # 100 x ($5 - $3)
    assert gains_tax == pytest.approx(200.0 * 0.238)
    income_tax = _income_tax(ledger.annual_tax(), profile)
    assert income_tax == pytest.approx(100.0 * 0.238)  # the qualified dividend alone
    assert ledger.annual_tax().set_index("year").loc[2021, "total_tax"] == pytest.approx(
        gains_tax + income_tax)


def test_attribution_taxes_collectibles_and_section_1250_gain_at_their_groups_rates():
    """IRC §1(h)(1)(E)-(F): a long-term gain on a collectible (GLD) is worth 28% and the
    unrecaptured section 1250 part of a capital gain distribution 25%, each at most the ordinary
    rate; 2003's May 6 cut of the long-term rate left the 28% rate as it was; a short-term
    collectible gain is ordinary."""
    from taxsim.metrics.attribution import _income_tax, _realized_taxes, _RealizedArrays

    form = pd.DataFrame({
        "sold": pd.to_datetime(["2003-05-05", "2003-08-01", "2003-09-02", "2003-10-01"]),
        "gain": [1000.0, 100.0, 500.0, -400.0],
        "term": ["long", "short", "long", "long"],
        "asset": ["GLD", "GLD", "VTI", "GLD"],
    })
    historical = TaxProfile.us_top_historical()
    rows = _RealizedArrays.from_form_8949(form, collectibles=("GLD",))
    assert rows.collectible.tolist() == [True, False, False, True]
    loss_value, gains, gains_tax = _realized_taxes(rows, historical)
    assert gains == pytest.approx(1600.0)
    assert gains_tax == pytest.approx(1000 * 0.28 + 100 * 0.35 + 500 * 0.15)
    assert loss_value == pytest.approx(400 * 0.28)  # a collectibles loss is worth 28%
    # without the collectibles named, every long-term row is at the long-term rate
    plain = _realized_taxes(_RealizedArrays.from_form_8949(form), historical)
    assert plain[2] == pytest.approx(1000 * 0.20 + 100 * 0.35 + 500 * 0.15)
    # the ordinary rate caps the 28% rate (§1(h)(1)(E): "the lesser of")
    low = TaxProfile(TaxRates(ordinary=0.24))
    assert _realized_taxes(rows, low)[2] == pytest.approx(
        1000 * (0.24 + 0.038) + 100 * (0.24 + 0.038) + 500 * (0.20 + 0.038))
    with pytest.raises(MetricsError, match="needs an 'asset' column to find the sales of the "
                                           r"collectibles \['GLD'\]"):
        _RealizedArrays.from_form_8949(form.drop(columns="asset"), collectibles=("GLD",))

    # a $1,000 long-term distribution with $300 of collectibles gain (box 2d) and $200 of
    # unrecaptured section 1250 gain (box 2b); the year's collectibles_gain also holds the
    # sales' net $600 (1000 - 400)
    annual = pd.DataFrame({"year": [2003], "nonqualified_dividends": [0.0], "interest": [0.0],
                           "st_capital_gain_distributions": [0.0],
                           "qualified_dividends": [0.0], "lt_capital_gain_distributions": [1000.0],
                           "collectibles_gain": [900.0], "unrecaptured_1250_gain": [200.0]})
    assert _income_tax(annual, historical, rows) == pytest.approx(
        500 * 0.15 + 300 * 0.28 + 200 * 0.25)
    assert _income_tax(annual, TaxProfile(TaxRates(ordinary=0.24)), rows) == pytest.approx(
        500 * 0.238 + 300 * 0.278 + 200 * 0.278)
    # tables written before the groups existed: the whole distribution at the long-term rate
    older = annual.drop(columns=["collectibles_gain", "unrecaptured_1250_gain"])
    assert _income_tax(older, historical) == pytest.approx(1000 * 0.15)


def test_a_run_holding_gold_passes_its_collectibles_to_the_attribution():
    from taxsim.metrics.attribution import PIECES
    from tests.test_market_collectibles import gold_market, sell_some_gold

    gold = RunTables.from_result(sell_some_gold(gold_market()))
    assert gold.collectibles == ("GLD",)
    assert gold.form_8949["asset"].tolist() == ["GLD"]
    # the same sale of an equity (its $1,000 long-term gain at 23.8%, against 31.8%)
    equity = RunTables.from_result(sell_some_gold(gold_market("equity")))
    assert equity.collectibles == ()
    pieces = tax_alpha_decomposition(gold, equity)["dollars"]
    assert pieces["character"] == pytest.approx(1000 * (0.238 - 0.318), rel=1e-12)
    assert pieces["harvested_losses"] == pieces["location"] == 0.0
    assert pieces[list(PIECES)].sum() == pytest.approx(pieces["total"], rel=1e-12)
    assert pieces["total"] < 0.0


def test_rates_text_states_a_change_of_the_long_term_rate_within_a_year():
    from taxsim.metrics.summary import rates_text

    historical = TaxProfile.us_top_historical()
    assert rates_text(historical, 2025).endswith("; long-term 20% before 2003-05-06 in that year")
    assert "2003-05-06" not in rates_text(historical, 2002)  # the run ends before the change
    assert "before" not in rates_text(TaxProfile(), 2025)
