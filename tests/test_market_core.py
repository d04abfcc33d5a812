"""The Market object: layout, immutability, returns, pandas round trips, files, selection."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxsim.market import Market, MarketDataError, load, load_file, nyse_trading_days, write_tidy


def small_market() -> Market:
    """Two assets; BBB lists on day 2, splits 2-for-1 on day 4 and pays on day 3."""
    dates = nyse_trading_days("2024-01-02", count=6)
    close = np.array(
        [
            [10.0, np.nan],
            [10.5, 40.0],
            [10.2, 41.0],
            [10.4, 20.8],
            [10.6, 21.0],
            [10.8, 21.2],
        ]
    )
    dividend = np.zeros_like(close)
    dividend[2, 1] = 0.5
    dividend[4, 0] = 0.1
    split = np.ones_like(close)
    split[3, 1] = 2.0
    interest = np.zeros_like(close)
    return Market(
        dates,
        ("AAA", "BBB"),
        close,
        dividend=dividend,
        interest=interest,
        split_ratio=split,
        tax_character=("equity", "reit"),
        identity_group=("grp", "BBB"),
        source="hand-made",
    )


def test_layout_and_defaults():
    m = small_market()
    assert m.dates.dtype == np.int64 and m.dates[0] == np.datetime64("2024-01-02", "D").astype(int)
    for name in ("close", "dividend", "st_capital_gain", "lt_capital_gain", "return_of_capital",
                 "interest", "split_ratio"):  # fmt: skip
        array = getattr(m, name)
        assert array.dtype == np.float64 and array.shape == (6, 2)
        assert array.flags.c_contiguous and not array.flags.writeable
    assert m.asset_class == ("equity", "real_estate")
    np.testing.assert_array_equal(m.qualified_fraction, [1.0, 0.0])  # REIT: non-qualified
    assert m.identity_group == ("grp", "BBB")
    np.testing.assert_array_equal(m.expense_ratio, [0.0, 0.0])
    assert m.sector == ("", "")
    assert m.pandas_dates[0] == pd.Timestamp("2024-01-02")
    assert "2 assets" in repr(m)


def test_immutable():
    m = small_market()
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.close = m.close  # type: ignore[misc]
    with pytest.raises(ValueError):
        m.close[0, 0] = 1.0


def test_total_return_uses_post_split_distributions():
    m = small_market()
    r = m.total_return()
    assert np.isnan(r[0]).all() and np.isnan(r[1, 1])
    assert r[2, 1] == pytest.approx((41.0 + 0.5) / 40.0 - 1)
    assert r[3, 1] == pytest.approx(20.8 * 2 / 41.0 - 1)
    assert r[4, 0] == pytest.approx((10.6 + 0.1) / 10.4 - 1)
    index = m.total_return_index()
    assert index[1, 1] == 1.0 and np.isnan(index[0, 1])
    assert index[-1, 1] == pytest.approx(np.prod(1 + r[2:, 1]))


def test_split_adjusted_restates_in_todays_shares():
    m = small_market()
    a = m.split_adjusted()
    np.testing.assert_allclose(a.close[1:3, 1], [20.0, 20.5])
    assert a.dividend[2, 1] == 0.25
    assert np.all(a.split_ratio == 1.0)
    np.testing.assert_allclose(a.total_return()[2:], m.total_return()[2:])


def test_frame_round_trip():
    m = small_market()
    tidy = m.to_frame()
    assert list(tidy.columns) == ["date", "ticker", "close", "dividend", "st_capital_gain",
                                  "lt_capital_gain", "return_of_capital", "interest",
                                  "split_ratio"]  # fmt: skip
    assert len(tidy) == 11  # BBB has no row before its first price
    back = Market.from_frame(tidy, metadata=m.metadata_frame(), source=m.source)
    for name in ("dates", "close", "dividend", "split_ratio", "qualified_fraction"):
        np.testing.assert_array_equal(getattr(back, name), getattr(m, name))
    assert back.tickers == m.tickers and back.tax_character == m.tax_character
    assert back.identity_group == m.identity_group


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_file_round_trip(tmp_path, suffix):
    m = small_market()
    path = write_tidy(m, tmp_path / f"market{suffix}")
    back = load_file(path, metadata=m.metadata_frame())
    np.testing.assert_array_equal(back.close, m.close)
    np.testing.assert_array_equal(back.dividend, m.dividend)
    np.testing.assert_array_equal(back.split_ratio, m.split_ratio)
    assert back.source == path.name
    part = load_file(path, ["BBB"], "2024-01-04", "2024-01-08")
    assert part.tickers == ("BBB",) and part.n_dates == 3
    assert load(["BBB"], source=path).n_dates == 5


def test_csv_with_empty_event_cells_and_split_adjusted_form(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "date,ticker,close,dividend\n"
        "2024-01-02,XYZ,20.0,\n"
        "2024-01-03,XYZ,20.5,0.3\n"
        "2024-01-04,XYZ,20.1,\n"
    )
    m = load_file(path)
    np.testing.assert_array_equal(m.dividend[:, 0], [0.0, 0.3, 0.0])
    assert np.all(m.split_ratio == 1.0)


def test_select_and_between():
    m = small_market()
    b = m.select(["BBB"])
    assert b.tickers == ("BBB",) and b.tax_character == ("reit",)
    np.testing.assert_array_equal(b.close[:, 0], m.close[:, 1])
    w = m.between("2024-01-04", "2024-01-08")
    assert w.n_dates == 3 and w.pandas_dates[0] == pd.Timestamp("2024-01-04")
    assert m.between(None, "2024-01-03").n_dates == 2
    with pytest.raises(KeyError, match="ZZZ"):
        m.select(["ZZZ"])


def test_select_and_between_of_a_real_universe_pass_the_full_checks():
    """``select`` and ``between`` skip the price and event checks (cell-by-cell checks that a
    subset of a checked market passes); rebuilt with every check, the subsets are accepted and
    equal, read-only and not shared with the original."""
    from taxsim.market.market import ARRAY_FIELDS

    market = load(source="synthetic", seed=2, years=3.0)
    subset = market.select(list(reversed(market.tickers[:4]))).between("2007-02-01",
                                                                          "2008-06-30")
    rebuilt = Market(**{f.name: getattr(subset, f.name) for f in dataclasses.fields(subset)})
    for name in ARRAY_FIELDS:
        np.testing.assert_array_equal(getattr(rebuilt, name), getattr(subset, name))
        assert not getattr(subset, name).flags.writeable
        assert not np.shares_memory(getattr(subset, name), getattr(market, name))
    assert subset.tickers == tuple(reversed(market.tickers[:4]))


def test_with_metadata():
    m = small_market().with_metadata(
        {"AAA": {"tax_character": "taxable_bond", "expense_ratio": 0.001}}, sector=("x", "y")
    )
    assert m.tax_character == ("taxable_bond", "reit")
    assert m.asset_class[0] == "bond" and m.qualified_fraction[0] == 0.0
    assert m.expense_ratio[0] == 0.001 and m.sector == ("x", "y")


def test_nyse_calendar():
    days = nyse_trading_days("2024-01-01", "2024-12-31")
    stamps = pd.DatetimeIndex(days.astype("datetime64[D]"))
    assert len(days) == 252
    assert pd.Timestamp("2024-01-01") not in stamps  # New Year
    assert pd.Timestamp("2024-07-04") not in stamps
    assert pd.Timestamp("2024-11-29") in stamps  # day after Thanksgiving: half day, open
    assert pd.Timestamp("2001-09-11") not in pd.DatetimeIndex(
        nyse_trading_days("2001-09-01", "2001-09-30").astype("datetime64[D]")
    )


@st.composite
def markets(draw):
    n_dates = draw(st.integers(2, 12))
    n_assets = draw(st.integers(1, 4))
    dates = nyse_trading_days("2020-01-02", count=n_dates)
    close = np.full((n_dates, n_assets), np.nan)
    dividend = np.zeros_like(close)
    split = np.ones_like(close)
    prices = st.floats(0.5, 500.0, allow_nan=False)
    for a in range(n_assets):
        lo = draw(st.integers(0, n_dates - 1))
        hi = draw(st.integers(lo, n_dates - 1))
        for t in range(lo, hi + 1):
            close[t, a] = draw(prices)
            if t > lo and draw(st.booleans()):
                dividend[t, a] = draw(st.floats(0.0, 2.0))
            if t > lo and draw(st.integers(0, 5)) == 0:
                split[t, a] = draw(st.sampled_from([0.5, 1.5, 2.0, 3.0, 7.0]))
    tickers = tuple(f"T{a}" for a in range(n_assets))
    return Market(dates, tickers, close, dividend=dividend, split_ratio=split)


@settings(max_examples=60, deadline=None)
@given(markets())
def test_property_frame_round_trip_and_split_invariance(m):
    back = Market.from_frame(m.to_frame(), tickers=m.tickers)
    present = ~np.all(np.isnan(m.close), axis=1)
    np.testing.assert_array_equal(back.dates, m.dates[present])
    np.testing.assert_array_equal(back.close, m.close[present])
    np.testing.assert_array_equal(back.dividend, m.dividend[present])
    np.testing.assert_array_equal(back.split_ratio, m.split_ratio[present])
    adjusted = m.split_adjusted()
    np.testing.assert_allclose(
        adjusted.total_return(), m.total_return(), rtol=1e-12, atol=1e-12, equal_nan=True
    )


def test_nyse_calendar_bounds_raise_in_both_forms():
    # neither form clips silently to the calendar's first year
    for call in (lambda: nyse_trading_days("1985-01-01", count=10),
                 lambda: nyse_trading_days("1985-01-01", "1990-12-31")):  # fmt: skip
        with pytest.raises(ValueError, match=r"XNYS sessions are available from 1990 to 2100: "
                                             r"start 1985-01-01 is outside"):  # fmt: skip
            call()
    with pytest.raises(ValueError, match=r"end 2101-01-03 is outside"):
        nyse_trading_days("2100-12-01", "2101-01-03")
    with pytest.raises(ValueError, match=r"count must be 0 or more"):
        nyse_trading_days("2024-01-02", count=-1)
    # the first supported calendar day is 1990-01-01 (not the first session), in both forms
    first = nyse_trading_days("1990-01-01", count=2)
    np.testing.assert_array_equal(first, nyse_trading_days("1990-01-01", "1990-01-03"))
    assert str(first[0].astype("datetime64[D]")) == "1990-01-02"


def test_with_metadata_for_a_ticker_not_in_the_market_is_an_error():
    m = small_market()
    with pytest.raises(MarketDataError, match=r"^SPYY: metadata given for a ticker not in this "
                                              r"market \(2 tickers: AAA, BBB\)"):  # fmt: skip
        m.with_metadata({"SPYY": {"expense_ratio": 0.001}})
    frame = pd.DataFrame({"ticker": ["AAA", "ZZZ"], "sector": ["x", "y"]})
    with pytest.raises(MarketDataError, match=r"^ZZZ: metadata given for a ticker not in"):
        m.with_metadata(frame)
    with pytest.raises(MarketDataError, match=r"^AAA: unknown metadata field 'sectr'"):
        m.with_metadata({"AAA": {"sectr": "x"}})


def test_metadata_typo_through_a_loader_is_an_error(tmp_path):
    path = write_tidy(small_market(), tmp_path / "m.csv")
    with pytest.raises(MarketDataError, match=r"^AAB: metadata given for a ticker not in"):
        load_file(path, metadata={"AAB": {"tax_character": "reit"}})


def test_reits_of_the_stock_files_default_to_non_qualified_reit_dividends(tmp_path):
    from taxsim.market.metadata import KNOWN_ASSETS, REIT_TICKERS

    assert {"O", "VNO", "EQR", "DLR", "SPG", "PLD", "AMT", "IRM", "WELL", "PSA"} <= set(
        REIT_TICKERS)
    assert all(KNOWN_ASSETS[t]["tax_character"] == "reit" for t in REIT_TICKERS)
    dates = nyse_trading_days("2024-01-02", count=3)
    close = np.array([[50.0, 100.0, 20.0], [51.0, 101.0, 20.5], [52.0, 102.0, 21.0]])
    path = write_tidy(Market(dates, ("O", "AAPL", "AGNC"), close), tmp_path / "m.parquet")
    m = load_file(path, ["O", "AAPL", "AGNC"])
    assert m.tax_character == ("reit", "equity", "reit")
    np.testing.assert_array_equal(m.qualified_fraction, [0.0, 1.0, 0.0])
    assert m.asset_class == ("real_estate", "equity", "mortgage_reit")
    # the user's metadata still wins
    mine = load_file(path, ["O", "AAPL"], metadata={"O": {"qualified_fraction": 0.1}})
    assert mine.tax_character[0] == "reit" and mine.qualified_fraction[0] == 0.1
    equity = load_file(path, ["O"], metadata={"O": {"tax_character": "equity"}})
    assert equity.tax_character == ("equity",) and equity.qualified_fraction[0] == 1.0


def test_net_of_expenses_takes_the_expense_ratio_out_of_each_years_total_return():
    """A gross index at a constant 10% a year with a 1% dividend in the middle; a fund with a
    0.5% expense ratio returns the gross return times (1 - 0.005) over a year of 365.25 days,
    and day by day the gross return times that day's expense factor."""
    dates = pd.to_datetime(["2020-01-02", "2020-07-01", "2021-01-01", "2021-01-04"])
    days = (dates - dates[0]).days.to_numpy(dtype=float)
    close = 100.0 * 1.1 ** (days / 365.25)
    dividend = np.array([0.0, 1.0, 0.0, 0.0])
    gross = Market(close=np.column_stack([close, close]), dates=dates, tickers=["IDX", "NOFEE"],
                   dividend=np.column_stack([dividend, dividend]), expense_ratio=[0.005, 0.0],
                   source="model")
    net = gross.net_of_expenses()
    daily = (1.0 - 0.005) ** (np.diff(days) / 365.25)
    np.testing.assert_allclose((1 + net.total_return()[1:, 0]) / (1 + gross.total_return()[1:, 0]),
                               daily, rtol=1e-14)
    np.testing.assert_array_equal(net.close[:, 1], gross.close[:, 1])  # no expense, no change
    assert net.dividend[1, 0] == pytest.approx(1.0 * (1 - 0.005) ** (days[1] / 365.25))
    growth = np.prod(1 + net.total_return()[1:3, 0]) / np.prod(1 + gross.total_return()[1:3, 0])
    assert growth == pytest.approx((1 - 0.005) ** (days[2] / 365.25), rel=1e-14)
    assert net.source == "model; net of expense ratios (1 of 2 assets)"
    with pytest.raises(MarketDataError, match=r"IDX: expense_ratio 1.5"):
        gross.with_metadata(expense_ratio=[1.5, 0.0]).net_of_expenses()


def test_exempt_interest_daily_flag_is_metadata_checked_and_kept_by_subsets():
    frame = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"] * 2),
                          "ticker": ["MUNI", "MUNI", "SPY", "SPY"],
                          "close": [10.0, 10.1, 100.0, 101.0]})
    market = Market.from_frame(frame)
    assert market.exempt_interest_daily.tolist() == [False, False]  # the statute's default
    flagged = market.with_metadata({"MUNI": {"tax_character": "municipal_bond",
                                             "exempt_interest_daily": True}})
    assert flagged.exempt_interest_daily.tolist() == [True, False]
    assert flagged.metadata_frame().loc["MUNI", "exempt_interest_daily"]
    assert flagged.select(["MUNI"]).exempt_interest_daily.tolist() == [True]
    assert not flagged.exempt_interest_daily.flags.writeable
    with pytest.raises(MarketDataError, match="MUNI: exempt_interest_daily must be True or False"):
        market.with_metadata({"MUNI": {"exempt_interest_daily": "yes"}})
    with pytest.raises(MarketDataError, match="exempt_interest_daily has 1 entries for 2"):
        market.with_metadata(exempt_interest_daily=[True])


def test_section_199a_fraction_defaults_to_the_non_qualified_part_of_a_reits_dividend():
    """IRC §199A(e)(3): a REIT dividend that is neither qualified nor a capital gain dividend is
    a qualified REIT dividend; other characters report none unless told."""
    m = small_market()  # AAA equity, BBB reit
    np.testing.assert_array_equal(m.section_199a_fraction, [0.0, 1.0])
    assert m.section_199a_fraction.dtype == np.float64
    assert not m.section_199a_fraction.flags.writeable
    assert m.metadata_frame()["section_199a_fraction"].tolist() == [0.0, 1.0]
    # kept by subsets and derived markets
    assert m.select(["BBB", "AAA"]).section_199a_fraction.tolist() == [1.0, 0.0]
    assert m.between("2024-01-03", "2024-01-05").section_199a_fraction.tolist() == [0.0, 1.0]
    assert m.split_adjusted().section_199a_fraction.tolist() == [0.0, 1.0]
    dates = nyse_trading_days("2024-01-02", count=2)
    four = Market(dates, ("EQ", "BOND", "MUNI", "REIT"), np.full((2, 4), 10.0),
                  tax_character=("equity", "taxable_bond", "municipal_bond", "reit"),
                  qualified_fraction=[1.0, 0.0, 0.0, 0.25])
    assert four.section_199a_fraction.tolist() == [0.0, 0.0, 0.0, 0.75]


def test_section_199a_fraction_follows_with_metadata():
    m = small_market()
    # a new qualified fraction moves the default with it: a REIT's stays 1 - q
    assert m.with_metadata({"BBB": {"qualified_fraction": 0.25}}).section_199a_fraction.tolist() \
        == [0.0, 0.75]
    # ... but not a value set before
    mine = m.with_metadata({"BBB": {"section_199a_fraction": 0.5}})
    assert mine.section_199a_fraction.tolist() == [0.0, 0.5]
    assert mine.with_metadata({"BBB": {"qualified_fraction": 0.125}}).section_199a_fraction[1] \
        == 0.5
    # a new character resets it to that character's default, like the qualified fraction
    swapped = mine.with_metadata({"AAA": {"tax_character": "reit"},
                                  "BBB": {"tax_character": "equity"}})
    assert swapped.qualified_fraction.tolist() == [0.0, 1.0]
    assert swapped.section_199a_fraction.tolist() == [1.0, 0.0]
    both = m.with_metadata({"AAA": {"tax_character": "reit", "qualified_fraction": 0.375}})
    assert both.section_199a_fraction.tolist() == [0.625, 1.0]
    given = m.with_metadata({"AAA": {"tax_character": "reit", "section_199a_fraction": 0.25}})
    assert given.section_199a_fraction.tolist() == [0.25, 1.0]
    # whole fields: the same rule, column by column
    assert m.with_metadata(qualified_fraction=[1.0, 0.5]).section_199a_fraction.tolist() \
        == [0.0, 0.5]
    assert mine.with_metadata(qualified_fraction=[1.0, 0.25]).section_199a_fraction.tolist() \
        == [0.0, 0.5]
    assert m.with_metadata(qualified_fraction=[0.5, 0.0], section_199a_fraction=[0.125, 0.5]
                           ).section_199a_fraction.tolist() == [0.125, 0.5]


def test_section_199a_fraction_is_checked_per_ticker():
    m = small_market()
    with pytest.raises(MarketDataError, match=r"^BBB: section_199a_fraction 1.5 is not within "
                                              r"\[0, 1\]$"):
        m.with_metadata({"BBB": {"section_199a_fraction": 1.5}})
    with pytest.raises(MarketDataError, match=r"^AAA: section_199a_fraction -0.25 is not"):
        m.with_metadata({"AAA": {"section_199a_fraction": -0.25}})
    with pytest.raises(MarketDataError, match=r"^BBB: section_199a_fraction nan is not"):
        m.with_metadata({"BBB": {"section_199a_fraction": float("nan")}})
    with pytest.raises(MarketDataError, match=r"^BBB: section_199a_fraction inf is not"):
        m.with_metadata({"BBB": {"section_199a_fraction": float("inf")}})
    with pytest.raises(MarketDataError, match=r"^BBB: section_199a_fraction 0.9 plus "
                                              r"qualified_fraction 0.2 exceeds 1$"):
        m.with_metadata({"BBB": {"section_199a_fraction": 0.9, "qualified_fraction": 0.2}})
    with pytest.raises(MarketDataError, match=r"^AAA: section_199a_fraction 0.25 plus "
                                              r"qualified_fraction 1.0 exceeds 1$"):
        m.with_metadata({"AAA": {"section_199a_fraction": 0.25}})  # equity: all qualified
    with pytest.raises(MarketDataError, match="section_199a_fraction has 1 entries for 2"):
        m.with_metadata(section_199a_fraction=[0.5])
    # rounding of 1 - q is within the tolerance of 1e-12; a fraction beyond it is not
    rounded = m.with_metadata({"BBB": {"qualified_fraction": 0.95,
                                       "section_199a_fraction": 0.05 + 1e-13}})
    assert rounded.section_199a_fraction[1] == 0.05 + 1e-13
    with pytest.raises(MarketDataError, match="BBB: section_199a_fraction"):
        m.with_metadata({"BBB": {"qualified_fraction": 0.95, "section_199a_fraction": 0.05 + 1e-9}})


def test_section_199a_fraction_round_trips_and_older_metadata_without_it_loads(tmp_path):
    m = small_market().with_metadata({"BBB": {"qualified_fraction": 0.25,
                                              "section_199a_fraction": 0.5}})
    back = Market.from_frame(m.to_frame(), metadata=m.metadata_frame(), source=m.source)
    assert back.section_199a_fraction.tolist() == [0.0, 0.5]
    # metadata saved before the field existed: the default of its character and qualified part
    older = m.metadata_frame().drop(columns="section_199a_fraction")
    back = Market.from_frame(m.to_frame(), metadata=older, source=m.source)
    assert back.section_199a_fraction.tolist() == [0.0, 0.75]
    # the REITs of the stock files get all of their (non-qualified) dividend as §199A dividends
    dates = nyse_trading_days("2024-01-02", count=2)
    path = write_tidy(Market(dates, ("O", "AAPL"), np.full((2, 2), 50.0)), tmp_path / "m.parquet")
    assert load_file(path, ["O", "AAPL"]).section_199a_fraction.tolist() == [1.0, 0.0]
