"""The yfinance loader on recorded responses (tests/fixtures/yfinance), never the network.

The fixtures are hand-made in the exact shape of ``yfinance.Ticker(t).history(
auto_adjust=False, actions=True)`` in yfinance 1.7: a tz-aware ``Date`` index and the
columns Open, High, Low, Close, Adj Close, Volume, Dividends, Stock Splits (+ Capital Gains
for funds), Close split-adjusted to the download date. AAPL.csv holds AAPL around its
2020-08-07 dividend ($0.82, i.e. $0.205 split-adjusted) and 2020-08-31 4-for-1 split, with
the raw closes of the S&P 500 file divided by 4 before the split; VWELX.csv is a fund with a
December 2021 capital-gain distribution (made-up amounts).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from taxsim.market import MarketDataError, load, load_yfinance, yahoo

FIXTURES = Path(__file__).parent / "fixtures" / "yfinance"


def recorded(ticker: str) -> pd.DataFrame:
    history = pd.read_csv(FIXTURES / f"{ticker}.csv", index_col="Date")
    index = pd.to_datetime(history.index, utc=True).tz_convert("America/New_York")
    history.index = pd.DatetimeIndex(index, name="Date")
    history["Volume"] = history["Volume"].astype(np.int64)
    return history


@pytest.fixture
def fake_yahoo(monkeypatch, tmp_path):
    """Replace the one network call by the recorded responses; count the calls."""
    calls: list[str] = []

    def fetch(ticker):
        calls.append(ticker)
        return recorded(ticker)

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to reach Yahoo")

    import yfinance

    monkeypatch.setattr(yfinance, "Ticker", no_network)
    monkeypatch.setattr(yfinance, "download", no_network)
    monkeypatch.setattr(yahoo, "fetch_history", fetch)
    monkeypatch.setenv("TAXSIM_CACHE_DIR", str(tmp_path / "cache"))
    return calls


def test_fixture_has_the_shape_yfinance_returns():
    from yfinance.const import _PRICE_COLNAMES_

    history = recorded("AAPL")
    assert list(history.columns) == [*_PRICE_COLNAMES_, "Volume", "Dividends", "Stock Splits"]
    assert str(history.index.tz) == "America/New_York" and history.index.name == "Date"
    assert list(recorded("VWELX").columns)[-1] == "Capital Gains"


def test_raw_convention_restores_traded_prices_and_splits(fake_yahoo):
    m = load_yfinance(["AAPL"])
    dates = m.pandas_dates
    col = 0
    before = dates.get_loc(pd.Timestamp("2020-08-28"))
    split_day = dates.get_loc(pd.Timestamp("2020-08-31"))
    ex_day = dates.get_loc(pd.Timestamp("2020-08-07"))
    assert m.close[before, col] == pytest.approx(499.23)  # the raw close before the split
    assert m.close[split_day, col] == pytest.approx(129.04)
    assert m.split_ratio[split_day, col] == 4.0
    assert m.dividend[ex_day, col] == pytest.approx(0.82)  # raw cash per share
    assert np.count_nonzero(m.split_ratio != 1.0) == 1
    assert m.source == "Yahoo Finance via yfinance, raw closes with split events"


def test_adjusted_convention_keeps_yahoo_numbers_and_same_total_return(fake_yahoo):
    raw = load_yfinance(["AAPL"])
    adjusted = load_yfinance(["AAPL"], splits="adjusted")
    history = recorded("AAPL")
    np.testing.assert_allclose(adjusted.close[:, 0], history["Close"].to_numpy())
    np.testing.assert_allclose(adjusted.dividend[:, 0], history["Dividends"].to_numpy())
    assert np.all(adjusted.split_ratio == 1.0)
    np.testing.assert_allclose(adjusted.total_return()[1:], raw.total_return()[1:], rtol=1e-12)
    # Yahoo's Adj Close is close times the product, over later ex-dates, of
    # (1 - dividend / previous close): rebuilt from our fields it matches exactly. (It is not
    # a reinvested total return: it differs from one by about the dividend yield times the
    # ex-date's return, 4e-5 here; taxsim never uses it.)
    close, dividend = adjusted.close[:, 0], adjusted.dividend[:, 0]
    step = np.ones_like(close)
    step[1:] = 1.0 - dividend[1:] / close[:-1]
    factor = np.append(np.cumprod(step[::-1])[::-1][1:], 1.0)
    np.testing.assert_allclose(close * factor, history["Adj Close"].to_numpy(), rtol=1e-6)


def test_capital_gains_of_a_fund(fake_yahoo):
    m = load_yfinance(["VWELX"], "2021-12-10", "2021-12-31")
    row = m.pandas_dates.get_loc(pd.Timestamp("2021-12-20"))
    assert m.lt_capital_gain[row, 0] == pytest.approx(3.9615)
    assert m.dividend[row, 0] == pytest.approx(0.3742)
    assert m.lt_capital_gain.sum() == pytest.approx(3.9615)
    assert m.pandas_dates[0] == pd.Timestamp("2021-12-10")


def test_cache_is_reused_offline_and_refreshable(fake_yahoo, tmp_path):
    load_yfinance(["AAPL"])
    assert fake_yahoo == ["AAPL"]
    cached = tmp_path / "cache" / "yfinance" / "AAPL.parquet"
    assert cached.exists()
    again = load_yfinance(["AAPL"], offline=True)  # no download
    assert fake_yahoo == ["AAPL"]
    assert again.split_ratio.max() == 4.0
    load_yfinance(["AAPL"], refresh=True)
    assert fake_yahoo == ["AAPL", "AAPL"]
    with pytest.raises(MarketDataError, match="VWELX: not in the yfinance cache"):
        load_yfinance(["VWELX"], offline=True)


def test_two_tickers_with_different_histories_align_without_fill(fake_yahoo):
    m = load(["AAPL", "VWELX"], source="yfinance")
    assert m.tickers == ("AAPL", "VWELX")
    # AAPL's recorded history ends 2020-09-11, the fund's starts 2021-12-01: each is NaN
    # outside its own span, nothing is forward-filled across the other's dates
    np.testing.assert_array_equal(m.first_index, [0, 30])
    np.testing.assert_array_equal(m.last_index, [29, m.n_dates - 1])
    assert np.isnan(m.close[30:, 0]).all() and np.isnan(m.close[:30, 1]).all()


def test_dividend_without_a_price_is_an_error(fake_yahoo, monkeypatch):
    broken = recorded("AAPL")
    broken.loc[broken.index[5], ["Open", "High", "Low", "Close", "Adj Close"]] = np.nan
    monkeypatch.setattr(yahoo, "fetch_history", lambda ticker: broken)
    with pytest.raises(MarketDataError, match=r"AAPL: .*2020-08-07"):
        load_yfinance(["AAPL"])


def test_empty_response_is_an_error(fake_yahoo, monkeypatch):
    monkeypatch.setattr(yahoo, "fetch_history", lambda ticker: pd.DataFrame())
    with pytest.raises(MarketDataError, match="NOPE: Yahoo returned no history"):
        load_yfinance(["NOPE"])


# ---------------------------------------------------------------- bad responses
def serve(monkeypatch, history):
    monkeypatch.setattr(yahoo, "fetch_history", lambda ticker: history)


def at(text):
    return pd.Timestamp(text).tz_localize("America/New_York")


def test_missing_session_of_one_ticker_is_a_gap(fake_yahoo, monkeypatch):
    history = recorded("AAPL")
    serve(monkeypatch, history.drop(at("2020-08-12")))
    with pytest.raises(MarketDataError, match=r"^AAPL: missing close price .* on 2020-08-12$"):
        load_yfinance(["AAPL"])


def test_missing_session_of_one_ticker_carried_forward_on_request(fake_yahoo, monkeypatch):
    from taxsim.market import MarketDataWarning

    history = recorded("AAPL")
    serve(monkeypatch, history.drop(at("2020-08-12")))
    with pytest.warns(MarketDataWarning, match=r"AAPL: 2020-08-12"):
        m = load_yfinance(["AAPL"], gaps="carry_forward")
    row = m.pandas_dates.get_loc(pd.Timestamp("2020-08-12"))
    assert m.close[row, 0] == m.close[row - 1, 0]


def test_non_us_listing_keeps_its_own_dates(fake_yahoo, monkeypatch):
    # a listing on another exchange trades on days the NYSE is closed (here 2020-09-07,
    # Labor Day): its dates are the axis, as they come
    history = recorded("AAPL")
    extra = history.iloc[[-1]].copy()
    extra.index = pd.DatetimeIndex([at("2020-09-07")], name="Date")
    serve(monkeypatch, pd.concat([history, extra]).sort_index())
    m = load_yfinance(["AAPL"])
    assert pd.Timestamp("2020-09-07") in m.pandas_dates
    with pytest.raises(MarketDataError, match=r"^AAPL: not an NYSE trading day .*2020-09-07"):
        load_yfinance(["AAPL"], offline=True, calendar="nyse")


@pytest.mark.parametrize("row", [0, -1])
def test_nan_close_on_first_or_last_row(fake_yahoo, monkeypatch, row):
    history = recorded("AAPL")
    history.loc[history.index[row], "Close"] = np.nan
    serve(monkeypatch, history)
    date = history.index[row].strftime("%Y-%m-%d")
    with pytest.raises(MarketDataError, match=rf"^AAPL: NaN close price .* on {date}$"):
        load_yfinance(["AAPL"])


@pytest.mark.parametrize("column, date", [("Dividends", "2020-08-07"),
                                          ("Dividends", "2020-08-10"),
                                          ("Stock Splits", "2020-08-31"),
                                          ("Stock Splits", "2020-08-12")])  # fmt: skip
def test_nan_event_is_an_error_not_no_event(fake_yahoo, monkeypatch, column, date):
    history = recorded("AAPL")
    history.loc[at(date), column] = np.nan
    serve(monkeypatch, history)
    with pytest.raises(MarketDataError, match=rf"^AAPL: Yahoo {column} (of nan )?(is NaN )?"
                                              rf"on {date} "):  # fmt: skip
        load_yfinance(["AAPL"])
    assert not (Path(yahoo.default_cache_dir()) / "yfinance" / "AAPL.parquet").exists()


def test_nan_capital_gain_is_an_error(fake_yahoo, monkeypatch):
    history = recorded("VWELX")
    history.loc[at("2021-12-20"), "Capital Gains"] = np.nan
    serve(monkeypatch, history)
    with pytest.raises(MarketDataError, match=r"^VWELX: Yahoo Capital Gains is NaN on "
                                              r"2021-12-20 "):  # fmt: skip
        load_yfinance(["VWELX"])


@pytest.mark.parametrize("splits", ["raw", "adjusted"])
@pytest.mark.parametrize("ratio", [-4.0, np.inf])
def test_bad_split_is_named_in_both_conventions(fake_yahoo, monkeypatch, splits, ratio):
    history = recorded("AAPL")
    history.loc[at("2020-08-31"), "Stock Splits"] = ratio
    serve(monkeypatch, history)
    with pytest.raises(MarketDataError, match=rf"^AAPL: Yahoo Stock Splits of {ratio} on "
                                              r"2020-08-31 \(a split ratio must be positive"):
        load_yfinance(["AAPL"], splits=splits)


@pytest.mark.parametrize("splits", ["raw", "adjusted"])
@pytest.mark.parametrize("ratio", [-4.0, 0.0, np.nan])
def test_bad_split_in_the_cache_is_named_in_both_conventions(tmp_path, splits, ratio):
    frame = yahoo.history_to_frame(recorded("AAPL"), "AAPL")
    frame.loc[frame["date"] == pd.Timestamp("2020-08-31"), "split_ratio"] = ratio
    (tmp_path / "yfinance").mkdir()
    frame.to_parquet(tmp_path / "yfinance" / "AAPL.parquet", index=False)
    with pytest.raises(MarketDataError, match=rf"^AAPL: split ratio {ratio} on 2020-08-31 "
                                              r"\(must be finite and positive\)"):  # fmt: skip
        load_yfinance(["AAPL"], splits=splits, cache_dir=tmp_path, offline=True)


def test_unsorted_response_is_put_in_date_order(fake_yahoo, monkeypatch):
    """A response is a set of dated rows (yfinance sorts its own output): its row order
    carries no information, so it is sorted; every row is kept."""
    history = recorded("AAPL")
    order = np.r_[0:10, 11, 10, 12:len(history)]
    serve(monkeypatch, history.iloc[order])
    m = load_yfinance(["AAPL"])
    assert m.n_dates == len(history)
    np.testing.assert_array_equal(m.pandas_dates, history.index.tz_localize(None).normalize())


def test_duplicate_date_in_a_response_is_an_error(fake_yahoo, monkeypatch):
    history = recorded("AAPL")
    serve(monkeypatch, pd.concat([history, history.iloc[[12]]]))
    date = history.index[12].strftime("%Y-%m-%d")
    with pytest.raises(MarketDataError, match=rf"^AAPL: duplicate date: {date} after {date}"):
        load_yfinance(["AAPL"])


def test_a_spin_off_listed_as_a_dividend_is_not_income(monkeypatch, tmp_path):
    """Yahoo lists Altria's Philip Morris International spin-off (ex-date 2008-03-31) as a
    $51.06 dividend on a $22.20 close: not income (IRC §355(a)); it becomes a split-like event
    of ratio (22.20 + 51.06) / 22.20 with the same total return (taxsim.market.corrections)."""
    dates = pd.DatetimeIndex(pd.to_datetime(["2008-03-27", "2008-03-28", "2008-03-31",
                                             "2008-04-01"]).tz_localize("America/New_York"),
                             name="Date")
    close = [74.10, 73.83, 22.20, 22.82]
    history = pd.DataFrame({"Open": close, "High": close, "Low": close, "Close": close,
                            "Adj Close": close, "Volume": np.full(4, 1000, np.int64),
                            "Dividends": [0.0, 0.0, 51.06, 0.0], "Stock Splits": 0.0},
                           index=dates)
    monkeypatch.setattr(yahoo, "fetch_history", lambda ticker: history.copy())
    monkeypatch.setenv("TAXSIM_CACHE_DIR", str(tmp_path / "cache"))
    market = load_yfinance(["MO"])
    recorded_as_is = load_yfinance(["MO"], distributions="as_recorded")
    assert market.dividend[2, 0] == 0.0 and recorded_as_is.dividend[2, 0] == 51.06
    assert market.split_ratio[2, 0] == pytest.approx((22.20 + 51.06) / 22.20, rel=1e-14)
    np.testing.assert_allclose(market.total_return()[1:], recorded_as_is.total_return()[1:],
                               rtol=1e-14)
    assert "1 spin-offs or stock distributions" in market.source
    adjusted = load_yfinance(["MO"], splits="adjusted")
    assert adjusted.dividend[2, 0] == 0.0 and adjusted.split_ratio[2, 0] > 3.0
