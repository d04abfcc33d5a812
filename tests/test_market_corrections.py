"""Spin-offs and stock distributions that vendors record as dividends (taxsim.market.corrections).

A spin-off is not income (IRC §355(a)); its value leaves the parent's price and the basis is
spread by market value (Treas. Reg. §1.358-2). Loaded as a split-like event of ratio
(close + value) / close, it must keep the total return, carry no tax, and keep the total basis.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from taxsim.ledger import Account, Household, Ledger
from taxsim.market import MarketDataError, MarketDataWarning, load_file
from taxsim.market.corrections import (
    KNOWN_DISTRIBUTIONS,
    known_distributions,
    reclassify_distributions,
)

SP500 = "sp500_stocks_1999_2021.parquet"
STOCKS = "us_stocks_1999_2026.parquet"


def spin_off_frame(value=30.0):
    """A parent at $100 that spins off $30 of stock per share on 2024-03-04 (close $70)."""
    return pd.DataFrame({
        "date": pd.to_datetime(["2024-03-01", "2024-03-04", "2024-03-05", "2024-03-01",
                                "2024-03-04", "2024-03-05"]),
        "ticker": ["PAR", "PAR", "PAR", "OTH", "OTH", "OTH"],
        "close": [100.0, 70.0, 77.0, 50.0, 50.0, 50.0],
        "dividend": [0.0, value, 0.0, 0.0, 0.5, 0.0],
    })  # fmt: skip


def write(frame, tmp_path):
    path = tmp_path / "prices.csv"
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


def test_a_listed_spin_off_becomes_a_split_of_the_same_total_return(tmp_path):
    frame = spin_off_frame()
    path = write(frame, tmp_path)
    mine = pd.DataFrame({"ticker": ["PAR"], "date": ["2024-03-04"]})
    market = load_file(path, distributions=mine)
    recorded = load_file(path, distributions="as_recorded")
    par = market.index_of("PAR")
    assert market.dividend[1, par] == 0.0
    assert market.split_ratio[1, par] == pytest.approx(100.0 / 70.0, rel=1e-15)
    assert recorded.dividend[1, par] == 30.0 and recorded.split_ratio[1, par] == 1.0
    np.testing.assert_allclose(market.total_return()[1:], recorded.total_return()[1:],
                               rtol=1e-14)
    # the other ticker's ordinary dividend is untouched
    assert market.dividend[1, market.index_of("OTH")] == 0.5
    assert "1 spin-offs or stock distributions" in market.source


def test_a_spin_off_carries_no_tax_and_keeps_the_total_basis():
    """Treas. Reg. §1.358-2: basis $9,000 of 100 shares; parent $70 after, spun-off value
    $30: the parent's shares keep 70% ($6,300), the spun-off value 30% ($2,700). Held as
    more parent shares, the 100 * 100/70 shares keep the whole $9,000 and no income."""
    frame, count = reclassify_distributions(
        spin_off_frame(), pd.DataFrame({"ticker": ["PAR"], "date": ["2024-03-04"]})
    )
    assert count == 1
    ratio = frame.loc[1, "split_ratio"]
    ledger = Ledger(Household([Account("taxable")]), ["PAR"])
    ledger.buy("taxable", "PAR", 100.0, 90.0, "2023-01-10")
    ledger.split("PAR", "2024-03-04", ratio)
    lots = ledger.lots()
    assert lots["shares"].sum() == pytest.approx(100.0 * 100.0 / 70.0, rel=1e-14)
    assert lots["basis"].sum() == pytest.approx(9000.0, rel=1e-15)
    # each old share's $90 keeps 70% ($63) on its parent share, the allocation by value
    per_share = lots["basis"].sum() / lots["shares"].sum()
    assert per_share == pytest.approx(90.0 * 70.0 / (70.0 + 30.0), rel=1e-14)
    # sold at once, the gain is the whole position's: value 10,000 - basis 9,000, long-term
    ledger.sell("taxable", "PAR", lots["shares"].sum(), 70.0, "2024-03-05")
    realized = ledger.realized()
    assert realized["gain"].sum() == pytest.approx(1000.0, rel=1e-12)
    assert (realized["term"] == "long").all()  # holding period from 2023-01-10 (IRC §1223(1))
    ledger.close_year(2023)
    ledger.close_year(2024)
    year = ledger.annual_tax().set_index("year").loc[2024]
    # no dividend income from the spin-off: the year's tax is the long-term gain's alone
    assert year["qualified_dividends"] == 0.0 and year["nonqualified_dividends"] == 0.0
    assert year["total_tax"] == pytest.approx(1000.0 * (0.20 + 0.038), rel=1e-12)


def test_a_same_day_split_multiplies():
    frame = spin_off_frame().assign(split_ratio=1.0)
    frame.loc[1, ["close", "dividend", "split_ratio"]] = [17.5, 7.5, 0.25]  # 1-for-4 as well
    fixed, _ = reclassify_distributions(frame, pd.DataFrame({"ticker": ["PAR"],
                                                             "date": ["2024-03-04"]}))
    assert fixed.loc[1, "split_ratio"] == pytest.approx(0.25 * 25.0 / 17.5, rel=1e-15)
    assert fixed.loc[1, "split_ratio"] * 17.5 == pytest.approx((17.5 + 7.5) * 0.25)


def test_an_unlisted_large_dividend_is_warned_of_with_ticker_and_date(tmp_path):
    path = write(spin_off_frame(), tmp_path)
    with pytest.warns(MarketDataWarning, match=r"PAR 2024-03-04 \(30% of the previous close\)"):
        market = load_file(path)  # "known": PAR is nobody's spin-off
    assert market.dividend[1, market.index_of("PAR")] == 30.0  # kept: warned, not changed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_file(path, distributions="as_recorded")
        load_file(write(spin_off_frame(value=19.0), tmp_path))  # 19%: below the threshold


def test_bad_corrections_name_the_ticker_and_date(tmp_path):
    path = write(spin_off_frame(), tmp_path)
    with pytest.raises(MarketDataError, match=r"OTH: no dividend on 2024-03-05"):
        load_file(path, distributions=pd.DataFrame({"ticker": ["OTH"], "date": ["2024-03-05"]}))
    with pytest.raises(MarketDataError, match=r"PAR: .*2024-03-04 has treatment 'split'"):
        load_file(path, distributions=pd.DataFrame(
            {"ticker": ["PAR"], "date": ["2024-03-04"], "treatment": ["split"]}))
    with pytest.raises(ValueError, match="distributions must be"):
        load_file(path, distributions="spin-offs")


def test_a_cash_treatment_keeps_the_dividend_and_silences_the_warning(tmp_path):
    path = write(spin_off_frame(), tmp_path)
    mine = pd.DataFrame({"ticker": ["PAR"], "date": ["2024-03-04"], "treatment": ["cash"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        market = load_file(path, distributions=mine)
    assert market.dividend[1, market.index_of("PAR")] == 30.0


def test_the_list_is_unique_and_cites_its_rule():
    keys = [(ticker, date) for ticker, date, _, _ in KNOWN_DISTRIBUTIONS]
    assert len(keys) == len(set(keys))
    frame = known_distributions()
    assert set(frame["treatment"]) == {"nontaxable", "cash"}
    nontaxable = frame[frame["treatment"] == "nontaxable"]
    assert nontaxable["event"].str.contains(r"§355|§305\(a\)").all()


@pytest.mark.shared_data
def test_every_listed_event_is_a_dividend_row_of_the_real_files(shared_data_dir):
    frames = [pd.read_parquet(shared_data_dir / name, columns=["date", "ticker", "dividend"])
              for name in (SP500, STOCKS)]
    paid = pd.concat(frames).query("dividend > 0")
    keys = set(zip(paid["ticker"].astype(str), pd.to_datetime(paid["date"]), strict=True))
    listed = known_distributions()
    missing = [(t, f"{d:%Y-%m-%d}") for t, d in zip(listed["ticker"], listed["date"],
                                                     strict=True) if (t, d) not in keys]
    assert missing == []


@pytest.mark.shared_data
@pytest.mark.parametrize("name", [SP500, STOCKS])
def test_real_files_have_no_unexplained_large_dividend(shared_data_dir, name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_file(shared_data_dir / name, gaps="carry_forward")
    assert not [w for w in caught if "previous close are taxed" in str(w.message)]


@pytest.mark.shared_data
def test_abbvie_spin_off_on_real_data(shared_data_dir):
    """ABT 2013-01-02: $34.6497 of AbbVie per share, ABT closing at $32.05 (from $65.50):
    no dividend, a ratio of (32.05 + 34.6497) / 32.05, and the vendor's total return."""
    path = shared_data_dir / SP500
    market = load_file(path, ["ABT"], "2012-12-01", "2013-01-31")
    recorded = load_file(path, ["ABT"], "2012-12-01", "2013-01-31", distributions="as_recorded")
    row = int(np.searchsorted(market.pandas_dates, pd.Timestamp("2013-01-02")))
    assert market.dividend[row, 0] == 0.0 and recorded.dividend[row, 0] == pytest.approx(34.6497)
    assert market.split_ratio[row, 0] == pytest.approx((32.05 + 34.6497) / 32.05, rel=1e-12)
    np.testing.assert_allclose(market.total_return()[1:], recorded.total_return()[1:],
                               rtol=1e-13)
    raw = pd.read_parquet(path, filters=[("ticker", "==", "ABT")])
    raw = raw[(raw["date"] >= "2012-12-01") & (raw["date"] <= "2013-01-31")]
    vendor = raw["adjusted_close"].to_numpy()
    rebuilt = np.cumprod(np.concatenate([[1.0], 1.0 + market.total_return()[1:, 0]]))
    np.testing.assert_allclose(rebuilt, vendor / vendor[0], rtol=1e-6)


def test_a_callers_list_may_name_events_outside_the_loaded_rows(tmp_path):
    """One list serves every load: events of tickers or dates not loaded are skipped."""
    path = write(spin_off_frame(), tmp_path)
    mine = pd.DataFrame({"ticker": ["PAR", "ABT", "PAR"],
                         "date": ["2024-03-04", "2013-01-02", "2030-01-02"]})
    market = load_file(path, distributions=mine)
    assert market.dividend[1, market.index_of("PAR")] == 0.0
    only_other = load_file(path, ["OTH"], distributions=mine)
    assert only_other.dividend[1, 0] == 0.5
