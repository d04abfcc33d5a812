"""The synthetic generator: layout, determinism, and statistics over many paths.

Tolerances (stated in the asserts): with 400 paths of 5 years (504,000 daily returns per
asset) the sampling error of an annual volatility is about 0.1% of it and of a correlation
about 0.002; the tests allow 2% relative on volatilities, 0.003 on the 0.99 pair
correlation, 0.02 on other correlations, 5% relative on yields and 4 standard errors on
mean log growth.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd
import pytest

from taxsim.market import AssetSpec, Market, default_universe, generate, load, synthetic_market
from taxsim.market import synthetic as syn
from taxsim.market.calendar import nyse_trading_days

YEARS = 5
PATHS = 400


@pytest.fixture(scope="module")
def many():
    return generate(PATHS, universe=default_universe(n_stocks=16), years=YEARS, seed=11)


def log_returns(markets, ticker):
    a = markets.tickers.index(ticker)
    paid = (
        markets.dividend[:, 1:, a] + markets.interest[:, 1:, a] + markets.lt_capital_gain[:, 1:, a]
    )
    return np.log((markets.close[:, 1:, a] + paid) / markets.close[:, :-1, a])


def test_layout(many):
    n_dates = len(many.dates)
    assert many.close.shape == (PATHS, n_dates, 22)
    for array in (many.close, many.dividend, many.interest, many.lt_capital_gain):
        assert array.dtype == np.float64 and array.flags.c_contiguous
        assert not array.flags.writeable
    assert np.all(many.close > 0)
    np.testing.assert_array_equal(many.close[:, 0, :], 100.0)
    np.testing.assert_array_equal(many.dates, nyse_trading_days("2006-01-03", "2011-01-02"))
    assert many.tickers[:6] == ("USTOTAL", "USLARGE", "INTL", "BOND", "MUNI", "REIT")
    assert many.tickers[6] == "TECHNO01"


def test_deterministic_per_seed_and_path():
    a = generate(4, years=2, seed=5)
    b = generate(4, years=2, seed=5)
    np.testing.assert_array_equal(a.close, b.close)
    np.testing.assert_array_equal(a.dividend, b.dividend)
    one = generate(1, years=2, seed=5, first_path=2)
    np.testing.assert_array_equal(one.close[0], a.close[2])
    other = generate(4, years=2, seed=6)
    assert not np.allclose(other.close, a.close)
    market = synthetic_market(years=2, seed=5, path=3)
    np.testing.assert_array_equal(market.close, a.path(3).close)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = generate(4, years=2, seed=5)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(single.close, a.close)  # independent of the thread count


def test_path_is_a_market_with_metadata(many):
    m = many.path(7)
    assert isinstance(m, Market)
    np.testing.assert_array_equal(m.close, many.close[7])
    assert m.tax_character[:6] == ("equity", "equity", "equity", "taxable_bond",
                                   "municipal_bond", "reit")  # fmt: skip
    assert m.qualified_fraction[5] == 0.0  # REIT dividends are not qualified
    # ... they are qualified REIT dividends (IRC §199A(e)(3)); the others pay none
    assert m.section_199a_fraction.tolist() == [0.0] * 5 + [1.0] + [0.0] * (m.n_assets - 6)
    assert m.identity_group[0] != m.identity_group[1]  # substitutes, not identical
    assert m.expense_ratio[0] == 0.0003
    assert m.sector[6] == "technology"
    assert "seed 11" in m.source and "path 7" in m.source


@pytest.mark.parametrize(
    ("ticker", "volatility"),
    [("USTOTAL", 0.16), ("USLARGE", 0.16), ("INTL", 0.17), ("BOND", 0.05), ("MUNI", 0.045),
     ("REIT", 0.22), ("TECHNO01", 0.30), ("ENERGY02", 0.30)],
)  # fmt: skip
def test_volatility(many, ticker, volatility):
    measured = log_returns(many, ticker).std() * math.sqrt(252)
    assert measured == pytest.approx(volatility, rel=0.02)


def test_correlations(many):
    def corr(x, y):
        return np.corrcoef(log_returns(many, x).ravel(), log_returns(many, y).ravel())[0, 1]

    assert corr("USTOTAL", "USLARGE") == pytest.approx(0.99, abs=0.003)
    assert corr("USTOTAL", "INTL") == pytest.approx(0.995 * 0.80, abs=0.02)
    assert corr("TECHNO01", "TECHNO02") == pytest.approx(0.55**2 + 0.45**2, abs=0.02)
    assert corr("TECHNO01", "ENERGY01") == pytest.approx(0.55**2, abs=0.02)
    assert corr("USTOTAL", "BOND") == pytest.approx(0.0995, abs=0.02)


def test_expected_growth(many):
    for ticker, expected in (("USTOTAL", 0.07), ("TECHNO01", 0.08), ("BOND", 0.04)):
        spec = next(s for s in many.specs if s.ticker == ticker)
        growth = log_returns(many, ticker).sum(axis=1) * 252 / log_returns(many, ticker).shape[1]
        target = math.log1p(expected) - spec.volatility**2 / 2
        standard_error = spec.volatility / math.sqrt(YEARS * PATHS)
        assert abs(growth.mean() - target) < 4 * standard_error


def test_distribution_schedules_and_yields(many):
    years = pd.DatetimeIndex(many.dates.astype("datetime64[D]")).year.to_numpy()
    full = (years >= 2006) & (years <= 2010)
    expectations = {
        "USTOTAL": ("dividend", 4, 0.014),
        "INTL": ("dividend", 2, 0.028),
        "REIT": ("dividend", 4, 0.038),
        "FINANC01": ("dividend", 4, 0.025),
        "BOND": ("interest", 12, 0.04),
        "MUNI": ("interest", 12, 0.03),
    }
    for ticker, (field, per_year, annual_yield) in expectations.items():
        a = many.tickers.index(ticker)
        paid = getattr(many, field)[:, :, a]
        counts = [(paid[0, years == y] > 0).sum() for y in range(2006, 2011)]
        assert counts == [per_year] * 5, ticker
        # each payment is the per-payment yield of the previous close, exactly
        rows = np.nonzero(paid[0] > 0)[0]
        np.testing.assert_allclose(
            paid[0, rows] / many.close[0, rows - 1, a], annual_yield / per_year, rtol=1e-12
        )
        # measured yield: a year's payments over that year's average price
        measured = paid[:, full].sum(axis=1) / many.close[:, full, a].mean(axis=1) / YEARS
        assert measured.mean() == pytest.approx(annual_yield, rel=0.05), ticker
    bond = many.tickers.index("BOND")
    assert not many.dividend[:, :, bond].any()
    assert not many.lt_capital_gain.any()
    interest_days = np.nonzero(many.interest[0, :, bond])[0]
    month = pd.DatetimeIndex(many.dates.astype("datetime64[D]")).month.to_numpy()
    assert interest_days[-1] == len(month) - 1  # 2010-12-31, the last session of December
    inner = interest_days[:-1]
    assert np.all(month[inner] != month[inner + 1])  # the last session of each month


def test_capital_gain_distributions_in_december():
    fund = AssetSpec("ACTIVE", volatility=0.15, dividend_yield=0.01, capital_gain_yield=0.05)
    markets = generate(3, universe=[fund], years=3, seed=2)
    rows = np.nonzero(markets.lt_capital_gain[0, :, 0])[0]
    stamps = pd.DatetimeIndex(markets.dates[rows].astype("datetime64[D]"))
    assert list(stamps.month) == [12, 12, 12] and all(stamps.day >= 15)
    m = markets.path(1)
    assert m.lt_capital_gain.sum() > 0


def test_fat_tails_keep_volatility():
    fat = generate(200, universe=default_universe()[:2], years=YEARS, seed=4, tail_df=5.0)
    r = log_returns(fat, "USTOTAL").ravel()
    assert r.std() * math.sqrt(252) == pytest.approx(0.16, rel=0.03)
    kurtosis = ((r - r.mean()) ** 4).mean() / r.var() ** 2
    assert kurtosis > 5.0  # Gaussian: 3; Student-t with 5 degrees of freedom: 9
    corr = np.corrcoef(r, log_returns(fat, "USLARGE").ravel())[0, 1]
    assert corr == pytest.approx(0.99, abs=0.003)
    assert "Student-t" in fat.source


def test_normal_generator_moments():
    z = syn.standard_normals(123, 0, 2_000_000)
    assert abs(z.mean()) < 0.004
    assert z.var() == pytest.approx(1.0, abs=0.004)
    assert (np.abs(z) > 3.0).mean() == pytest.approx(0.0026998, rel=0.06)
    assert (np.abs(z) > 3.442619855899).mean() == pytest.approx(5.7607e-4, rel=0.12)  # tail
    kurtosis = (z**4).mean() / z.var() ** 2
    assert kurtosis == pytest.approx(3.0, abs=0.03)


def test_load_entry_point_synthetic():
    m = load(source="synthetic", years=2)
    assert m.tickers == ("USTOTAL", "USLARGE", "INTL", "BOND", "MUNI", "REIT")
    part = load(["BOND", "REIT"], "2010-01-01", "2012-12-31", source="synthetic", seed=3)
    assert part.tickers == ("BOND", "REIT")
    assert part.pandas_dates[0] == pd.Timestamp("2010-01-04")
    assert part.pandas_dates[-1] == pd.Timestamp("2012-12-31")


def test_bad_specs():
    with pytest.raises(ValueError, match="exceeds 1"):
        AssetSpec("X", market_loading=0.9, sector_loading=0.6)
    with pytest.raises(ValueError, match="tail_df"):
        generate(1, years=1, tail_df=2.0)
    with pytest.raises(ValueError, match="distinct"):
        generate(1, universe=[AssetSpec("X"), AssetSpec("X")], years=1)


def test_one_path_runs_without_numba_threads():
    """A single path (a sweep builds one per group of scenarios) is simulated by the serial
    kernel: the parallel one would start numba's OpenMP workers, which spin after each
    parallel region and take a core from the sweep's threads. In a fresh process that shares
    the on-disk cache with a batch run (numba keys cached functions by name, not by options)."""
    import subprocess
    import sys

    generate(2, years=1.0, seed=3)  # the parallel kernel, compiled and cached
    code = (
        "import numba.np.ufunc.parallel as parallel\n"
        "from taxsim.market.synthetic import generate, synthetic_market\n"
        "market = synthetic_market(years=1.0, seed=3, path=1)\n"
        "assert not parallel._is_initialized, 'numba threads started'\n"
        "batch = generate(2, years=1.0, seed=3).path(1)\n"
        "assert (market.close == batch.close).all()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
