"""The loaders on the real data of ../shared/data: every S&P 500 ticker's total return rebuilt
from close, dividends and splits against the vendor's adjusted_close, and the ETF file.

Findings on ``sp500_stocks_1999_2021.parquet`` (checked below, not assumed):

- Same-date split and dividend: the vendor's ``adjusted_close`` treats the dividend as per
  post-split share, ``(close + dividend) * split_ratio / close_prev`` -- the convention of
  :class:`taxsim.market.Market`. The ten such dates (ABT 2004-05-03, EL 2011-11-23, HBI
  2015-03-04, HLT 2017-01-04, JCI 2007-07-02, LDOS 2013-09-30, MET 2017-08-07, ROST 2015-06-12,
  RTX 2020-04-03, SO 2001-04-03) all match that way and none the other way.
- Missing rows: 27 (ticker, date) cells have no row although the ticker traded before and
  after (``GAPS``); loading the whole file needs the explicit ``gaps="carry_forward"``.
- Genuine vendor inconsistencies (``VENDOR_ERRORS``): the file's own fields and the vendor's
  adjusted_close disagree on these dates; the check restarts from the vendor's value there.
- Rounded dividends (``ROUNDED_DIVIDEND_TICKERS``): the file stores dividends to 4 decimals
  (TXN 0.0213 for the vendor's 0.02125); over 20 years this moves 32 tickers' rebuilt total
  return by 1.1e-6 to 3.7e-5 (O, TXN). The test proves every dividend of the file is within
  half a unit of the 4th decimal of the dividend implied by adjusted_close, and that with
  the implied amounts these 32 tickers match to 1e-6 too. Every other ticker matches with
  the file's own numbers to 1e-6 at every date.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from taxsim.market import Market, MarketDataError, MarketDataWarning, load, load_file

pytestmark = pytest.mark.shared_data

SP500 = "sp500_stocks_1999_2021.parquet"
ETFS = "us_etfs_1999_2026.parquet"
RTOL = 1e-6

GAPS = {
    "KIM": ["2006-05-25", "2006-07-10", "2006-09-29"],
    "RHI": ["2006-07-14"],
    "SPGI": ["2003-03-21", "2006-02-21", "2006-04-25", "2006-05-23", "2007-08-16", "2008-01-24"],
    "VIAC": ["2006-04-03", "2006-07-06", "2006-11-27", "2007-05-08", "2008-02-05"],
    "WELL": [
        "2003-11-07", "2006-01-26", "2006-04-13", "2006-04-19", "2006-04-25", "2006-07-26",
        "2006-08-11", "2006-10-26", "2007-05-01", "2007-05-08", "2007-07-26", "2008-01-23",
    ],
}  # fmt: skip

#: (ticker, date): what is wrong. The rebuilt and the vendor's daily factor differ there.
VENDOR_ERRORS = {
    ("TMUS", "2013-05-01"): "MetroPCS recapitalisation: the file has a $8.10 dividend and no "
    "1-for-2 reverse split (rebuilt +107.9% that day); adjusted_close implies +3.97%",
    ("TRMB", "2007-02-23"): "adjusted_close doubles with an unchanged close: the 2-for-1 split "
    "is applied a day early, and split_ratio lacks it on 2007-02-26 when close halves",
    ("ZBRA", "2003-08-21"): "adjusted_close jumps x1.5 the day before the 3-for-2 split of "
    "2003-08-22 (which the file records correctly)",
    ("ZBRA", "2004-08-25"): "adjusted_close jumps x1.5 the day before the 3-for-2 split of "
    "2004-08-26 (which the file records correctly)",
    ("WDC", "2020-07-17"): "adjusted_close 43.405 against close 43.40 with no event, "
    "undone the next day",
    ("WDC", "2020-07-20"): "the day after the 2020-07-17 typo",
}

ROUNDED_DIVIDEND_TICKERS = frozenset(
    "ADM AES COF CVS DLR EQR ES EXC GE HD HON HPE HWM IRM IVZ LNT LW MAR MCD MDT MO MS O PGR "
    "ROP T TXN VLO VNO WBA WMB XRAY".split()
)


def day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def load_with_vendor_prices(shared_data_dir, distributions="known"):
    """The whole file as a market (spin-offs reclassified by default, as users load it), and
    the vendor's adjusted_close on the market's grid."""
    path = shared_data_dir / SP500
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarketDataWarning)
        market = load_file(path, gaps="carry_forward", distributions=distributions)
    raw = pd.read_parquet(path, columns=["date", "ticker", "adjusted_close"])
    adjusted = np.full(market.close.shape, np.nan)
    cols = pd.Categorical(raw["ticker"].astype(str), categories=list(market.tickers)).codes
    rows = np.searchsorted(
        market.dates, raw["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    )
    adjusted[rows, cols] = raw["adjusted_close"].to_numpy()
    return market, adjusted


@pytest.fixture(scope="module")
def sp500(shared_data_dir):
    return load_with_vendor_prices(shared_data_dir)


def worst_mismatch(growth, adjusted, dates, anchors):
    """Largest relative gap between the rebuilt total-return index and adjusted_close at any
    date, the index restarting from the vendor's value at each anchor date index."""
    worst, where = 0.0, -1
    bounds = sorted(set([0, *anchors])) + [len(growth)]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        index = np.cumprod(np.concatenate([[1.0], growth[lo + 1 : hi]])) * adjusted[lo]
        ok = ~np.isnan(adjusted[lo:hi])  # carried-forward gap days have no vendor value
        rel = np.abs(index[ok] / adjusted[lo:hi][ok] - 1.0)
        if len(rel) and rel.max() > worst:
            worst, where = float(rel.max()), int(dates[lo:hi][ok][rel.argmax()])
    return worst, where


def test_sp500_loads_completely(shared_data_dir):
    # Speed is the benchmark's business (benchmarks/market.py); tests assert no wall-clock time.
    path = shared_data_dir / SP500
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarketDataWarning)
        market = load_file(path, gaps="carry_forward")
    rows = pd.read_parquet(path, columns=["close"]).shape[0]
    assert (~np.isnan(market.close)).sum() == rows + sum(len(v) for v in GAPS.values())
    assert market.n_assets == 504


def test_sp500_gaps_are_errors_by_default_and_listed_when_carried(shared_data_dir):
    with pytest.raises(MarketDataError, match=r"KIM: missing close price .* 2006-05-25"):
        load_file(shared_data_dir / SP500)
    with pytest.warns(MarketDataWarning) as record:
        market = load_file(shared_data_dir / SP500, tickers=list(GAPS), gaps="carry_forward")
    message = str(record[0].message)
    assert message.startswith("27 missing close prices carried forward")
    for ticker, dates in GAPS.items():
        assert ticker in message
        col = market.index_of(ticker)
        for text in dates:
            row = np.searchsorted(market.dates, day(text))
            assert market.dates[row] == day(text)
            assert market.close[row, col] == market.close[row - 1, col]
            assert market.dividend[row, col] == 0 and market.split_ratio[row, col] == 1
    assert "27 missing closes carried forward" in market.source


def test_sp500_total_return_matches_adjusted_close_for_every_ticker(sp500):
    market, adjusted = sp500
    growth = 1.0 + market.total_return()
    strict_failures = {}
    for col, ticker in enumerate(market.tickers):
        lo, hi = market.first_index[col], market.last_index[col] + 1
        anchors = [
            int(np.searchsorted(market.dates[lo:hi], day(d)))
            for (t, d) in VENDOR_ERRORS
            if t == ticker
        ]
        worst, where = worst_mismatch(
            growth[lo:hi, col], adjusted[lo:hi, col], market.dates[lo:hi], anchors
        )
        if worst > RTOL:
            strict_failures[ticker] = (worst, where)
    # every ticker not known for rounded dividends matches at every date within 1e-6 ...
    unexpected = {t: v for t, v in strict_failures.items() if t not in ROUNDED_DIVIDEND_TICKERS}
    assert not unexpected, unexpected
    # ... and every listed one really needs the explanation (the list is not stale)
    assert set(strict_failures) == ROUNDED_DIVIDEND_TICKERS
    assert max(w for w, _ in strict_failures.values()) < 4e-5


def test_sp500_dividends_are_the_vendors_rounded_to_4_decimals(sp500):
    market, adjusted = sp500
    vendor_factor = adjusted[1:] / adjusted[:-1]
    implied = vendor_factor * market.close[:-1] / market.split_ratio[1:] - market.close[1:]
    # adjusted_close is stored to 6 decimals: what that alone can move the implied amount
    slack = (
        market.close[:-1]
        / market.split_ratio[1:]
        * vendor_factor
        * (5e-7 / adjusted[1:] + 5e-7 / adjusted[:-1])
    )
    paid = (market.dividend[1:] > 0) & np.isfinite(implied)
    off = paid & (np.abs(implied - market.dividend[1:]) > 5e-5 + slack + 1e-12)
    found = {
        (market.tickers[c], str(np.datetime64(int(market.dates[r + 1]), "D")))
        for r, c in zip(*np.nonzero(off), strict=True)
    }
    assert found == {("TMUS", "2013-05-01")}  # the one vendor error with a dividend


def test_sp500_rounded_dividend_tickers_match_with_the_vendors_amounts(shared_data_dir):
    # the file's own dividends, spin-off values included (they are rounded the same way)
    market, adjusted = load_with_vendor_prices(shared_data_dir, "as_recorded")
    for ticker in sorted(ROUNDED_DIVIDEND_TICKERS):
        col = market.index_of(ticker)
        lo, hi = market.first_index[col], market.last_index[col] + 1
        close, split = market.close[lo:hi, col], market.split_ratio[lo:hi, col]
        dividend, adj = market.dividend[lo:hi, col].copy(), adjusted[lo:hi, col]
        implied = adj[1:] / adj[:-1] * close[:-1] / split[1:] - close[1:]
        paid = np.nonzero(dividend[1:] > 0)[0] + 1
        assert np.all(np.abs(implied[paid - 1] - dividend[paid]) < 6e-5), ticker
        dividend[paid] = implied[paid - 1]
        growth = np.ones(hi - lo)
        growth[1:] = (close[1:] + dividend[1:]) * split[1:] / close[:-1]
        worst, _ = worst_mismatch(growth, adj, market.dates[lo:hi], [])
        assert worst <= RTOL, (ticker, worst)


def test_sp500_vendor_errors_are_real_inconsistencies(sp500):
    market, adjusted = sp500
    growth = 1.0 + market.total_return()
    for ticker, text in VENDOR_ERRORS:
        col, row = market.index_of(ticker), int(np.searchsorted(market.dates, day(text)))
        vendor = adjusted[row, col] / adjusted[row - 1, col]
        assert abs(growth[row, col] / vendor - 1.0) > 1e-4, (ticker, text)


def test_sp500_split_and_dividend_on_one_date_use_post_split_shares(sp500):
    market, adjusted = sp500
    col, row = market.index_of("HBI"), int(np.searchsorted(market.dates, day("2015-03-04")))
    assert market.split_ratio[row, col] == 4.0 and market.dividend[row, col] == 3.0
    post_split = (market.close[row, col] + 3.0) * 4.0 / market.close[row - 1, col]
    pre_split = (market.close[row, col] * 4.0 + 3.0) / market.close[row - 1, col]
    vendor = adjusted[row, col] / adjusted[row - 1, col]
    assert post_split == pytest.approx(vendor, rel=1e-6)
    assert pre_split != pytest.approx(vendor, rel=1e-3)


def test_sp500_split_adjusted_keeps_total_returns(sp500):
    market, _ = sp500
    small = market.select(["AAPL", "ABT", "HBI"])
    adjusted = small.split_adjusted()
    assert np.all(adjusted.split_ratio == 1.0)
    np.testing.assert_allclose(
        adjusted.total_return()[1:], small.total_return()[1:], rtol=1e-12, atol=1e-14
    )
    # AAPL: 2-for-1 (2000, 2005), 7-for-1 (2014), 4-for-1 (2020) = 112x
    col = small.index_of("AAPL")
    first = small.first_index[col]
    ratio = small.close[first, col] / adjusted.close[first, col]
    assert ratio == pytest.approx(2 * 2 * 7.000007 * 4, rel=1e-9)


def test_etf_file_loads_with_its_dividends(shared_data_dir):
    market = load_file(shared_data_dir / ETFS)
    assert set(market.tickers) == {
        "SPY", "VOO", "IVV", "VTI", "QQQ", "IWM", "DIA", "SCHD", "JEPI", "VGT", "XLK"
    }  # fmt: skip
    assert np.all(market.split_ratio == 1.0)
    spy, voo, jepi = (market.index_of(t) for t in ("SPY", "VOO", "JEPI"))
    years = market.pandas_dates.year.to_numpy()
    per_year = np.array([(market.dividend[years == y, spy] > 0).sum() for y in range(2001, 2026)])
    assert np.all((per_year >= 4) & (per_year <= 5))  # quarterly (five ex-dates in 2004)
    assert (per_year == 4).sum() >= 23
    assert 5.0 < market.dividend[years == 2024, spy].sum() < 8.0  # about $6.99 in 2024
    assert (market.dividend[:, jepi] > 0).sum() > 60  # JEPI pays monthly since 2020
    # VOO exists from its first price (2010-09), NaN before it, never forward-filled
    first = market.first_index[voo]
    assert market.pandas_dates[first].year == 2010
    assert np.isnan(market.close[:first, voo]).all()
    assert not np.isnan(market.close[first:, voo]).any()
    assert market.identity_group[voo] == market.identity_group[spy] == "sp500"
    assert market.expense_ratio[voo] == 0.0003
    # total return of SPY from 2000 to 2020 is plausible (about 4.2x with dividends)
    idx = market.between("2000-01-03", "2019-12-31").total_return_index()[:, spy]
    assert 3.0 < idx[-1] < 5.0


def test_named_sources_load(shared_data_dir, monkeypatch):
    monkeypatch.setenv("TAXSIM_SHARED_DATA", str(shared_data_dir))
    market = load(["SPY", "QQQ"], "2010-01-01", "2010-12-31", source="us_etfs")
    assert market.tickers == ("SPY", "QQQ")
    assert market.pandas_dates[0] == pd.Timestamp("2010-01-04")
    assert market.pandas_dates[-1] == pd.Timestamp("2010-12-31")
    assert "Yahoo" in market.source
    stocks = load(["AAPL", "MSFT"], "2019-01-01", "2019-12-31", source="sp500")
    assert isinstance(stocks, Market) and stocks.n_dates == 252
    assert "survivorship" in stocks.source
    with pytest.raises(MarketDataError, match="NOPE: no rows"):
        load(["SPY", "NOPE"], "2010-01-01", "2010-12-31", source="us_etfs")


def test_sp500_single_ticker_gap_is_an_error_as_with_other_tickers(shared_data_dir):
    # KIM alone: no other ticker has rows on its missing sessions; the NYSE calendar does
    path = shared_data_dir / SP500
    for tickers in (["KIM"], ["KIM", "AAPL"]):
        with pytest.raises(MarketDataError, match=r"^KIM: missing close price .* on "
                                                  r"2006-05-25, 2006-07-10, 2006-09-29"):
            load_file(path, tickers, "2006-01-01", "2006-12-31")
    with pytest.warns(MarketDataWarning, match=r"3 missing close prices carried forward: "
                                               r"KIM: 2006-05-25, 2006-07-10, 2006-09-29"):
        kim = load_file(path, ["KIM"], "2006-01-01", "2006-12-31", gaps="carry_forward")
    assert kim.n_dates == 251  # every NYSE session of 2006


def test_shared_files_are_on_the_nyse_calendar(shared_data_dir):
    """Every date of the three files is an NYSE session and no session is missing from a
    whole file, so the default calendar ("auto") checks them against the NYSE sessions."""
    from taxsim.market.calendar import nyse_trading_days

    for name in (SP500, ETFS, "us_stocks_1999_2026.parquet"):
        dates = pd.read_parquet(shared_data_dir / name, columns=["date"])["date"]
        days = np.unique(dates.to_numpy().astype("datetime64[D]").astype(np.int64))
        np.testing.assert_array_equal(
            days, nyse_trading_days(int(days[0]), int(days[-1])), err_msg=name)


def test_reits_of_the_stock_files_are_reit_by_default(shared_data_dir):
    from taxsim.market.metadata import REIT_TICKERS

    tickers = set()
    for name in (SP500, "us_stocks_1999_2026.parquet"):
        column = pd.read_parquet(shared_data_dir / name, columns=["ticker"])["ticker"]
        tickers |= set(column.astype(str).unique())
    assert set(REIT_TICKERS) <= tickers  # the list names only tickers of the two files
    market = load_file(shared_data_dir / SP500, ["O", "SPG", "AAPL"], "2019-01-01",
                       "2019-12-31")  # fmt: skip
    assert market.tax_character == ("reit", "reit", "equity")
    np.testing.assert_array_equal(market.qualified_fraction, [0.0, 0.0, 1.0])
