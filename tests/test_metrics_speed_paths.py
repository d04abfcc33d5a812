"""``summarize``'s fast paths agree with the public metrics, bit for bit.

``summarize`` reads each frame once and works on arrays (``_DailyArrays``, the array forms of
harvest yield and turnover, ``_decomposition``); ``Ledger.form_8949`` builds its frame from the
taxable records at once; the IRR bisection reuses one row. Each is checked here against the
plain composition of the public, pandas-in functions (the definition), with ``==``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmarks.sweep import BASE
from taxsim.config import run_config
from taxsim.ledger import Ledger
from taxsim.metrics import (
    RunTables,
    after_tax_return,
    conventions_of,
    daily_returns,
    harvest_yield,
    internal_rate_of_return,
    pre_tax_return,
    summarize,
    tax_alpha,
    tax_alpha_decomposition,
    tax_cost_ratio,
    tracking_error,
    turnover,
    window_years,
)
from taxsim.metrics._inputs import DAYS_PER_YEAR, MetricsError
from taxsim.metrics.activity import (
    _harvest_yield_arrays,
    _series_mean,
    _series_sum,
    _turnover_arrays,
)
from taxsim.metrics.after_tax import ENGINE_FLOW_TIMING, _streams
from taxsim.metrics.attribution import PIECES
from taxsim.metrics.summary import PRE_TAX_FROM_THIS_RUN, PRE_TAX_FROM_TWIN
from tests.test_metrics import synthetic_run


# --------------------------------------------------------------------------- the definition
def reference_summary(result, twin=None) -> dict:
    """``summarize`` as the public functions give it, one frame at a time."""
    daily = result.daily()
    payable = None if "accrued_tax" in daily.columns else float(
        getattr(result, "tax_payable", 0.0))
    twins = getattr(result, "twins", None) or {}
    twin = twins.get("non_managed") if twin is None else twin
    pre_tax_twin = twins.get("pre_tax")
    out: dict = {"start": daily.index[0].date().isoformat(),
                 "end": daily.index[-1].date().isoformat(), "years": window_years(daily)}
    if pre_tax_twin is not None:
        out["pre_tax_return"] = pre_tax_return(pre_tax_twin.daily())
        out["pre_tax_source"] = PRE_TAX_FROM_TWIN
    else:
        out["pre_tax_return"] = pre_tax_return(daily)
        out["pre_tax_source"] = PRE_TAX_FROM_THIS_RUN
    out["pre_tax_return_this_run"] = pre_tax_return(daily)
    for liquidated, name in ((False, "pre_liquidation"), (True, "post_liquidation")):
        out[f"after_tax_return_{name}"] = after_tax_return(
            daily, liquidated=liquidated, tax_payable_at_end=payable)
        out[f"after_tax_return_{name}_cumulative"] = after_tax_return(
            daily, liquidated=liquidated, annualized=False, tax_payable_at_end=payable)
    out["money_weighted_return_post_liquidation"] = after_tax_return(
        daily, liquidated=True, method="money_weighted", tax_payable_at_end=payable)
    out["tax_cost_ratio"] = tax_cost_ratio(out["pre_tax_return_this_run"],
                                           out["after_tax_return_pre_liquidation"])
    out["tax_cost_ratio_post_liquidation"] = tax_cost_ratio(
        out["pre_tax_return_this_run"], out["after_tax_return_post_liquidation"])
    wealth, _, liquidation = _streams(daily, "after_tax", True, payable)

    def last(column):
        return float(daily[column].iloc[-1]) if column in daily.columns else float("nan")

    out["end_value"] = last("total_value")
    out["liquidation_value"] = float(liquidation[-1])
    out["deferred_tax_liability"] = float(wealth[-1] - liquidation[-1])
    out["unrealized_gain"] = last("unrealized_gain")
    out["taxes_paid"] = float(sum(last(c) for c in ("tax_paid_cumulative",
                                                    "tax_outside_cumulative")
                                  if c in daily.columns))
    form_8949 = result.ledger.form_8949()
    harvest = harvest_yield(form_8949, daily["total_value"])
    out["harvested_losses"] = float(harvest["harvested_losses"].sum())
    out["harvest_yield_mean"] = float(harvest["harvest_yield"].mean())
    out["turnover_mean"] = float(
        turnover(result.trades_frame(), daily["total_value"])["turnover"].mean())
    if twin is not None:
        twin_daily = twin.daily()
        twin_payable = None if "accrued_tax" in twin_daily.columns else float(
            getattr(twin, "tax_payable", 0.0))
        for liquidated, name in ((False, "pre_liquidation"), (True, "post_liquidation")):
            out[f"tax_alpha_{name}"] = tax_alpha(
                daily, twin_daily, liquidated=liquidated, tax_payable_at_end=payable,
                twin_tax_payable_at_end=twin_payable)
        own = daily_returns(*_streams(daily, "pre_tax", False, None)[:2], ENGINE_FLOW_TIMING)
        other = daily_returns(*_streams(twin_daily, "pre_tax", False, None)[:2],
                              ENGINE_FLOW_TIMING)
        out["tracking_error"] = tracking_error(own[1:], other[1:])
        pieces = tax_alpha_decomposition(
            RunTables(daily, result.ledger.annual_tax(), form_8949, payable,
                      getattr(result.ledger, "collectibles", ())),
            RunTables(twin_daily, twin.ledger.annual_tax(), twin.ledger.form_8949(),
                      twin_payable, getattr(twin.ledger, "collectibles", ())),
            result.ledger.tax_profile, liquidated=True)
        for piece in PIECES:
            out[f"tax_alpha_{piece}"] = float(pieces.loc[piece, "annualized"])
        out["tax_alpha_pieces_add_up_to"] = "tax_alpha_post_liquidation"
        out["twin_strategy"] = getattr(twin, "conventions", {}).get("strategy", "twin")
    out.update({f"convention_{k}": v for k, v in conventions_of(result).items()})
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in out.items()}


def assert_identical(summary: dict, reference: dict) -> None:
    assert list(summary) == list(reference)
    for key, expected in reference.items():
        value = summary[key]
        assert type(value) is type(expected), key
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(value), key
        else:
            assert value == expected, key


# --------------------------------------------------------------------------- summarize
ENGINE_RUN = {key: value for key, value in BASE.items() if key != "run"}
ENGINE_RUN["market"] = {**BASE["market"], "years": 4.0}


def engine_run(daily_liquidation: bool, twins: bool = True, **tax):
    config = {**ENGINE_RUN, "run": {"twins": twins, "daily_liquidation": daily_liquidation}}
    if tax:
        config["tax"] = tax
    return run_config(config)


@pytest.fixture(scope="module")
def engine_runs():
    return {
        "end_only": engine_run(False),
        "daily": engine_run(True),
        "outside_by_year": engine_run(True, profile="us_top_historical", state=0.05,
                                      loss_convention="offset", tax_payment="outside"),
        "no_twins": engine_run(True, twins=False),
    }


@pytest.mark.parametrize("name", ["end_only", "daily", "outside_by_year", "no_twins"])
def test_summarize_equals_the_public_functions_on_engine_runs(engine_runs, name):
    result = engine_runs[name]
    assert_identical(summarize(result), reference_summary(result))


@pytest.mark.parametrize("tax_payment", ["portfolio", "outside"])
def test_summarize_equals_the_public_functions_on_frames_without_engine(tax_payment):
    strategy = synthetic_run(harvest=True, tax_payment=tax_payment)
    twin = synthetic_run(harvest=False, tax_payment=tax_payment)
    assert_identical(summarize(strategy, twin), reference_summary(strategy, twin))
    assert_identical(summarize(twin), reference_summary(twin))


# --------------------------------------------------------------------------- array forms
def dated(values, start="2019-06-03"):
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values)))


@pytest.mark.parametrize("seed", range(6))
def test_harvest_yield_and_turnover_arrays_equal_the_frames(seed):
    rng = np.random.default_rng(seed)
    values = dated(rng.lognormal(13.0, 0.3, 900) * 10 ** rng.uniform(0, 3, 900))
    n = int(rng.integers(0, 60))
    # sales in the years of values (harvest_yield refuses losses outside them)
    sold = pd.to_datetime("2019-01-01") + pd.to_timedelta(rng.integers(0, 365 * 4, n), "D")
    form = pd.DataFrame({"sold": sold, "gain": rng.normal(-1e3, 1e4, n) * 10 ** rng.uniform(
        0, 4, n), "term": "short"})
    if seed % 2:  # sales flagged as harvests count alone
        form["harvest"] = rng.random(n) < 0.6
    frame = harvest_yield(form, values)
    early = pd.DataFrame({"sold": [pd.Timestamp("2018-12-31")], "gain": [-1.0],
                          "term": "short", "harvest": True}).reindex(columns=form.columns)
    with pytest.raises(MetricsError, match=r"losses in \[2018\]"):
        harvest_yield(pd.concat([form, early], ignore_index=True), values)
    gain = form["gain"].to_numpy()
    keep = gain < 0
    if "harvest" in form.columns:
        keep &= form["harvest"].to_numpy()
    years = np.asarray(values.index.year, np.int64)
    harvested, start, yields = _harvest_yield_arrays(
        years, values.to_numpy(), np.asarray(pd.DatetimeIndex(form["sold"]).year)[keep],
        -gain[keep])
    assert np.array_equal(harvested, frame["harvested_losses"].to_numpy())
    assert np.array_equal(start, frame["start_value"].to_numpy())
    assert np.array_equal(yields, frame["harvest_yield"].to_numpy(), equal_nan=True)
    assert _series_sum(harvested) == float(frame["harvested_losses"].sum())
    assert _series_mean(yields) == float(frame["harvest_yield"].mean())

    m = int(rng.integers(0, 80))
    dates = pd.to_datetime("2019-01-01") + pd.to_timedelta(rng.integers(0, 365 * 5, m), "D")
    if seed % 3 == 0:  # dates in order: pandas may sum each year by segments
        dates = dates.sort_values()
    trades = pd.DataFrame({"date": dates, "shares": rng.normal(0, 500, m),
                           "price": rng.lognormal(4, 1, m)})
    expected = turnover(trades, values)["turnover"].to_numpy()
    notional = trades["shares"].to_numpy() * trades["price"].to_numpy()
    got = _turnover_arrays(years, values.to_numpy(),
                           np.asarray(pd.DatetimeIndex(trades["date"]).year), notional)
    assert np.array_equal(got, expected, equal_nan=True)
    assert _series_mean(got) == float(pd.Series(expected).mean())


def test_series_sum_and_mean_leave_nan_out_like_pandas():
    for values in ([], [np.nan], [1.0, np.nan, 2.5], [np.inf, 1.0], [0.1] * 37):
        array = np.array(values, np.float64)
        assert _series_sum(array) == float(pd.Series(array, dtype=float).sum())
        mean = float(pd.Series(array, dtype=float).mean())
        assert _series_mean(array) == mean or (math.isnan(mean)
                                               and math.isnan(_series_mean(array)))


# --------------------------------------------------------------------------- IRR bisection
def test_irr_sets_the_net_present_value_to_zero():
    rng = np.random.default_rng(11)
    solved = 0
    for _ in range(60):
        k = int(rng.integers(2, 40))
        dates = pd.Timestamp("2001-02-05") + pd.to_timedelta(
            np.sort(rng.integers(0, 8000, k)), "D")
        amounts = rng.normal(0, 1e5, k) * (rng.random(k) < 0.7)
        amounts[0] = -abs(rng.normal(1e6, 1e5))
        amounts[-1] = abs(rng.normal(1.4e6, 5e5))
        rate = internal_rate_of_return(amounts, dates)
        if math.isnan(rate):
            continue
        solved += 1
        years = np.asarray((dates - dates[0]) / pd.Timedelta(days=1)) / DAYS_PER_YEAR
        discounted = amounts * (1.0 + rate) ** -years
        assert abs(discounted.sum()) <= 1e-9 * np.abs(discounted).sum()
    assert solved >= 50


# --------------------------------------------------------------------------- Form 8949
def form_8949_definition(ledger: Ledger) -> pd.DataFrame:
    """Form 8949 from the realized frame, row by row (the plain definition)."""
    rows = ledger.realized()
    rows = rows[rows["taxable"]].reset_index(drop=True)
    return pd.DataFrame({
        "description": rows["shares"].map(lambda s: f"{s:g} sh ").astype(str)
        + rows["asset"].astype(str),
        "acquired": rows["acquired"],
        "sold": rows["sold"],
        "proceeds": rows["proceeds"],
        "basis": rows["basis"],
        "code": np.where(rows["wash_disallowed"] > 0, "W", ""),
        "adjustment": rows["wash_disallowed"],
        "gain": rows["gain"],
        "term": rows["term"],
        "box": np.where(rows["term"] == "long", "D", "A"),
        "account": rows["account"],
        "asset": rows["asset"].astype(str),
    })


def test_form_8949_equals_its_definition(engine_runs):
    result = engine_runs["daily"]
    for run in (result, *result.twins.values()):
        pd.testing.assert_frame_equal(run.ledger.form_8949(),
                                      form_8949_definition(run.ledger), check_exact=True)
    empty = Ledger(result.household, result.ledger.assets)
    pd.testing.assert_frame_equal(empty.form_8949(), form_8949_definition(empty),
                                  check_exact=True)
    assert str(empty.form_8949()["description"].dtype) == "str"
