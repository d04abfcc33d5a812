"""One test per validation error: each names the ticker and the date(s)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxsim.market import Market, MarketDataError

DATES = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]


def frame(**changes) -> pd.DataFrame:
    """A clean two-ticker tidy frame; ``changes`` maps (ticker, date, column) to a value."""
    rows = []
    for ticker, base in (("AAA", 10.0), ("BBB", 50.0)):
        for i, date in enumerate(DATES):
            rows.append(
                dict(date=pd.Timestamp(date), ticker=ticker, close=base + i, dividend=0.0,
                     split_ratio=1.0)
            )  # fmt: skip
    out = pd.DataFrame(rows)
    for (ticker, date, column), value in changes.get("cells", {}).items():
        mask = (out["ticker"] == ticker) & (out["date"] == pd.Timestamp(date))
        out.loc[mask, column] = value
    return out


def arrays():
    dates = np.array(DATES, dtype="datetime64[D]").astype(np.int64)
    close = np.column_stack([10.0 + np.arange(5), 50.0 + np.arange(5)])
    return dates, ("AAA", "BBB"), close


def test_clean_data_passes():
    market = Market.from_frame(frame())
    assert market.tickers == ("AAA", "BBB") and market.n_dates == 5


def test_nan_price_inside_history():
    bad = frame(cells={("BBB", "2024-01-04", "close"): np.nan})
    with pytest.raises(MarketDataError, match=r"BBB: missing close price .*2024-01-04"):
        Market.from_frame(bad)


def test_zero_price():
    bad = frame(cells={("AAA", "2024-01-03", "close"): 0.0})
    with pytest.raises(MarketDataError, match=r"AAA: zero or negative close price on 2024-01-03"):
        Market.from_frame(bad)


def test_negative_price():
    bad = frame(cells={("BBB", "2024-01-08", "close"): -1.0})
    with pytest.raises(MarketDataError, match=r"BBB: zero or negative close price on 2024-01-08"):
        Market.from_frame(bad)


def test_infinite_price():
    dates, tickers, close = arrays()
    close[2, 1] = np.inf
    with pytest.raises(MarketDataError, match=r"BBB: infinite close price on 2024-01-04"):
        Market(dates, tickers, close)


def test_duplicate_date_in_a_ticker():
    bad = frame()
    bad = pd.concat([bad, bad.iloc[[2]]]).sort_values(["ticker", "date"], kind="stable")
    with pytest.raises(MarketDataError, match=r"AAA: duplicate date: 2024-01-04"):
        Market.from_frame(bad)


def test_duplicate_market_dates():
    dates, tickers, close = arrays()
    dates[3] = dates[2]
    with pytest.raises(MarketDataError, match=r"market: duplicate dates 2024-01-04"):
        Market(dates, tickers, close)


def test_unsorted_dates_in_a_ticker():
    bad = frame()
    bad.iloc[[6, 7]] = bad.iloc[[7, 6]].to_numpy()  # swap two BBB rows
    with pytest.raises(
        MarketDataError, match=r"BBB: dates not sorted: 2024-01-03 after 2024-01-04"
    ):
        Market.from_frame(bad)


def test_unsorted_market_dates():
    dates, tickers, close = arrays()
    dates[[1, 2]] = dates[[2, 1]]
    with pytest.raises(
        MarketDataError, match=r"dates not sorted: 2024-01-03 comes after 2024-01-04"
    ):
        Market(dates, tickers, close)


def test_gap_in_one_ticker_is_reported_with_its_dates():
    bad = frame()
    drop = (bad["ticker"] == "AAA") & bad["date"].isin(pd.to_datetime(["2024-01-03", "2024-01-05"]))
    with pytest.raises(
        MarketDataError, match=r"AAA: missing close price .* on 2024-01-03, 2024-01-05$"
    ):
        Market.from_frame(bad[~drop])


def test_gap_can_be_carried_forward_explicitly_with_a_warning():
    from taxsim.market import MarketDataWarning

    bad = frame()
    drop = (bad["ticker"] == "AAA") & (bad["date"] == pd.Timestamp("2024-01-03"))
    with pytest.warns(MarketDataWarning, match=r"AAA: 2024-01-03"):
        market = Market.from_frame(bad[~drop], gaps="carry_forward")
    assert market.close[1, 0] == market.close[0, 0] == 10.0
    assert "1 missing closes carried forward" in market.source


def test_dividend_on_a_date_with_no_price():
    dates, tickers, close = arrays()
    close[:2, 0] = np.nan  # AAA lists on 2024-01-04
    dividend = np.zeros_like(close)
    dividend[1, 0] = 0.25
    with pytest.raises(
        MarketDataError, match=r"AAA: dividend on a date with no price on 2024-01-03"
    ):
        Market(dates, tickers, close, dividend=dividend)


def test_capital_gain_on_a_date_with_no_price():
    dates, tickers, close = arrays()
    close[4, 1] = np.nan  # BBB delisted after 2024-01-05
    gain = np.zeros_like(close)
    gain[4, 1] = 1.0
    with pytest.raises(
        MarketDataError, match=r"BBB: lt_capital_gain on a date with no price on 2024-01-08"
    ):
        Market(dates, tickers, close, lt_capital_gain=gain)


def test_split_on_a_date_with_no_price():
    dates, tickers, close = arrays()
    close[0, 1] = np.nan
    split = np.ones_like(close)
    split[0, 1] = 2.0
    with pytest.raises(MarketDataError, match=r"BBB: split on a date with no price on 2024-01-02"):
        Market(dates, tickers, close, split_ratio=split)


@pytest.mark.parametrize("ratio", [0.0, -2.0])
def test_split_ratio_of_zero_or_less(ratio):
    bad = frame(cells={("BBB", "2024-01-05", "split_ratio"): ratio})
    with pytest.raises(MarketDataError, match=r"BBB: split ratio of zero or less on 2024-01-05"):
        Market.from_frame(bad)


def test_nan_split_ratio():
    dates, tickers, close = arrays()
    split = np.ones_like(close)
    split[3, 0] = np.nan
    with pytest.raises(MarketDataError, match=r"AAA: split ratio is NaN or infinite on 2024-01-05"):
        Market(dates, tickers, close, split_ratio=split)


def test_nan_dividend():
    bad = frame(cells={("AAA", "2024-01-05", "dividend"): np.nan})
    with pytest.raises(MarketDataError, match=r"AAA: dividend is NaN or infinite on 2024-01-05"):
        Market.from_frame(bad)


def test_negative_dividend():
    bad = frame(cells={("BBB", "2024-01-03", "dividend"): -0.1})
    with pytest.raises(MarketDataError, match=r"BBB: negative dividend on 2024-01-03"):
        Market.from_frame(bad)


def test_misaligned_arrays():
    dates, tickers, close = arrays()
    with pytest.raises(MarketDataError, match=r"misaligned arrays: dividend has shape \(4, 2\)"):
        Market(dates, tickers, close, dividend=np.zeros((4, 2)))
    with pytest.raises(MarketDataError, match=r"misaligned arrays: close has shape \(5, 3\)"):
        Market(dates, tickers, np.ones((5, 3)))


def test_misaligned_metadata():
    dates, tickers, close = arrays()
    with pytest.raises(MarketDataError, match="misaligned metadata: expense_ratio has 3"):
        Market(dates, tickers, close, expense_ratio=[0.0, 0.0, 0.0])


def test_unknown_tax_character():
    dates, tickers, close = arrays()
    with pytest.raises(MarketDataError, match="BBB: tax_character 'bond'"):
        Market(dates, tickers, close, tax_character=("equity", "bond"))


def test_qualified_fraction_out_of_range():
    dates, tickers, close = arrays()
    with pytest.raises(MarketDataError, match=r"AAA: qualified_fraction 1.5"):
        Market(dates, tickers, close, qualified_fraction=[1.5, 1.0])


def test_duplicate_ticker():
    dates, _, close = arrays()
    with pytest.raises(MarketDataError, match="AAA: ticker appears twice"):
        Market(dates, ("AAA", "AAA"), close)


def test_missing_column():
    with pytest.raises(MarketDataError, match=r"lacks required column\(s\) \['close'\]"):
        Market.from_frame(frame().drop(columns="close"))


def test_different_listing_dates_align_explicitly_without_fill():
    bad = frame()
    late = (bad["ticker"] == "BBB") & (bad["date"] < pd.Timestamp("2024-01-04"))
    early_end = (bad["ticker"] == "AAA") & (bad["date"] > pd.Timestamp("2024-01-05"))
    market = Market.from_frame(bad[~late & ~early_end])
    assert market.n_dates == 5
    np.testing.assert_array_equal(np.isnan(market.close[:, 1]), [True, True, False, False, False])
    np.testing.assert_array_equal(np.isnan(market.close[:, 0]), [False] * 4 + [True])
    np.testing.assert_array_equal(market.first_index, [0, 2])
    np.testing.assert_array_equal(market.last_index, [3, 4])


# ---------------------------------------------------------------- the date axis (calendar=)
def one_ticker(dates, ticker="XYZ") -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(dates), "ticker": ticker,
                         "close": 10.0 + np.arange(len(dates)), "dividend": 0.0})  # fmt: skip


def test_missing_session_of_a_single_ticker_is_a_gap():
    # NYSE sessions 2024-01-02 .. 2024-01-08 without 2024-01-04: no other ticker has a row
    # that day, the NYSE calendar says it is a session
    bad = one_ticker(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08"])
    with pytest.raises(MarketDataError, match=r"^XYZ: missing close price .* on 2024-01-04$"):
        Market.from_frame(bad)


def test_missing_session_of_every_ticker_is_a_gap_of_each():
    bad = frame()
    bad = bad[bad["date"] != pd.Timestamp("2024-01-05")]
    with pytest.raises(MarketDataError, match=r"AAA: missing close price .* on 2024-01-05 "
                                              r"\(also BBB\)"):  # fmt: skip
        Market.from_frame(bad)


def test_missing_session_of_a_single_ticker_can_be_carried_forward():
    from taxsim.market import MarketDataWarning

    bad = one_ticker(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08"])
    with pytest.warns(MarketDataWarning, match=r"1 missing close prices carried forward: "
                                               r"XYZ: 2024-01-04"):  # fmt: skip
        market = Market.from_frame(bad, gaps="carry_forward")
    assert market.n_dates == 5
    assert market.pandas_dates[2] == pd.Timestamp("2024-01-04")
    assert market.close[2, 0] == market.close[1, 0] == 11.0
    assert "1 missing closes carried forward" in market.source


def test_calendar_dates_keeps_the_dates_present():
    bad = one_ticker(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08"])
    market = Market.from_frame(bad, calendar="dates")
    assert market.n_dates == 4
    assert pd.Timestamp("2024-01-04") not in market.pandas_dates


def test_data_on_another_calendar_keeps_its_dates_by_default():
    # a weekday holiday of the NYSE (2024-01-15, Martin Luther King Jr. Day) and a Saturday:
    # not NYSE data, so the dates present are the axis (a foreign exchange, hand-made data)
    other = one_ticker(["2024-01-12", "2024-01-13", "2024-01-15", "2024-01-16"])
    market = Market.from_frame(other)
    assert market.n_dates == 4
    with pytest.raises(MarketDataError,
                       match=r"^XYZ: not an NYSE trading day \(calendar='nyse'\): "
                             r"2024-01-13, 2024-01-15; use calendar='dates'"):  # fmt: skip
        Market.from_frame(other, calendar="nyse")


def test_sparse_dates_on_sessions_keep_their_dates_by_default():
    # month-end sessions: monthly data, not daily data with 19 of 20 days missing
    monthly = one_ticker(["2024-01-31", "2024-02-29", "2024-03-28", "2024-04-30"])
    market = Market.from_frame(monthly)
    assert market.n_dates == 4
    with pytest.raises(MarketDataError, match=r"^XYZ: missing close price .* on 2024-02-01, "):
        Market.from_frame(monthly, calendar="nyse")


def test_calendar_nyse_rejects_dates_outside_the_calendar():
    old = one_ticker(["1989-12-28", "1989-12-29", "1990-01-02"])
    assert Market.from_frame(old).n_dates == 3  # auto: the dates present
    with pytest.raises(MarketDataError, match=r"^XYZ: dates outside the XNYS calendar's "
                                              r"1990-2100 \(calendar='nyse'\): 1989-12-28, "
                                              r"1989-12-29;"):  # fmt: skip
        Market.from_frame(old, calendar="nyse")


def test_sessions_between_two_tickers_histories_stay_off_the_axis():
    # AAA ends 2024-01-03, BBB starts 2024-01-08: 2024-01-04 and -05 are inside neither span
    rows = frame()
    keep = ((rows["ticker"] == "AAA") & (rows["date"] <= pd.Timestamp("2024-01-03"))) | (
        (rows["ticker"] == "BBB") & (rows["date"] >= pd.Timestamp("2024-01-08")))
    market = Market.from_frame(rows[keep])
    assert list(market.pandas_dates.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03",
                                                                "2024-01-08"]  # fmt: skip


def test_unknown_calendar_and_gaps_options():
    with pytest.raises(ValueError, match="calendar must be one of"):
        Market.from_frame(frame(), calendar="lse")
    with pytest.raises(ValueError, match="gaps must be 'error' or 'carry_forward'"):
        Market.from_frame(frame(), gaps="fill")


# ---------------------------------------------------------------- NaN close on a present row
@pytest.mark.parametrize("date", ["2024-01-02", "2024-01-08"])
def test_nan_close_on_a_tickers_first_or_last_row(date):
    bad = frame(cells={("BBB", date, "close"): np.nan})
    with pytest.raises(MarketDataError, match=rf"^BBB: NaN close price on its first or last "
                                              rf"row.* on {date}$"):  # fmt: skip
        Market.from_frame(bad)
    # not a gap that carrying forward could fill: still an error
    with pytest.raises(MarketDataError, match=rf"^BBB: NaN close price .* on {date}$"):
        Market.from_frame(bad, gaps="carry_forward")


def test_nan_close_on_a_single_tickers_edge_rows():
    bad = one_ticker(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
    bad.loc[[0, 3], "close"] = np.nan
    with pytest.raises(MarketDataError, match=r"^XYZ: NaN close price .* on 2024-01-02, "
                                              r"2024-01-05$"):  # fmt: skip
        Market.from_frame(bad)


def test_ticker_with_only_nan_closes():
    bad = frame(cells={("AAA", d, "close"): np.nan for d in DATES})
    with pytest.raises(MarketDataError, match=r"^AAA: NaN close price .* on 2024-01-02, "):
        Market.from_frame(bad)


def test_nan_close_inside_the_span_is_still_a_gap_that_can_be_carried():
    from taxsim.market import MarketDataWarning

    bad = frame(cells={("AAA", "2024-01-04", "close"): np.nan})
    with pytest.warns(MarketDataWarning, match=r"AAA: 2024-01-04"):
        market = Market.from_frame(bad, gaps="carry_forward")
    assert market.close[2, 0] == market.close[1, 0] == 11.0


def test_wide_arrays_keep_nan_outside_a_span():
    """The wide form has no rows: NaN before a listing and after a delisting is its
    representation of "no price", and stays valid."""
    dates, tickers, close = arrays()
    close[0, 0] = close[4, 1] = np.nan
    market = Market(dates, tickers, close)
    np.testing.assert_array_equal(market.first_index, [1, 0])
    np.testing.assert_array_equal(market.last_index, [4, 3])
    back = Market.from_frame(market.to_frame())  # absent rows, not NaN rows: accepted
    np.testing.assert_array_equal(back.close, market.close)


# ---------------------------------------------------------------- files
def test_csv_single_ticker_missing_a_session(tmp_path):
    from taxsim.market import load

    path = tmp_path / "one.csv"
    days = pd.bdate_range("2021-01-04", periods=10)  # all NYSE sessions
    one_ticker(days.drop(pd.Timestamp("2021-01-08"))).to_csv(path, index=False)
    with pytest.raises(MarketDataError, match=r"^XYZ: missing close price .* on 2021-01-08$"):
        load(source=path)


@pytest.mark.parametrize("row, date", [(0, "2021-01-04"), (9, "2021-01-15")])
def test_csv_nan_close_on_first_or_last_row(tmp_path, row, date):
    from taxsim.market import load

    path = tmp_path / "one.csv"
    data = one_ticker(pd.bdate_range("2021-01-04", periods=10))
    data.loc[row, "close"] = np.nan
    data.to_csv(path, index=False)
    with pytest.raises(MarketDataError, match=rf"^XYZ: NaN close price .* on {date}$"):
        load(source=path)


def test_csv_unsorted_dates_raise(tmp_path):
    from taxsim.market import load

    path = tmp_path / "one.csv"
    one_ticker(pd.bdate_range("2021-01-04", periods=10)).iloc[[0, 1, 2, 4, 3, 5]].to_csv(
        path, index=False)
    with pytest.raises(MarketDataError, match=r"^XYZ: dates not sorted: 2021-01-07 after "
                                              r"2021-01-08"):  # fmt: skip
        load(source=path)
