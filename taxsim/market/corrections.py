"""Distributions that data vendors record as cash dividends but that are not taxed as such.

Vendors fold a spin-off into their total-return price by recording the value of the spun-off
shares as a "dividend" on the ex-date (Alpha Vantage, and Yahoo Finance for some events). Read
as a cash dividend, ABT's AbbVie spin-off of 2013 (a $34.65 "dividend" on a $65.50 share)
would be taxed as a qualified dividend of half the position's value. It is not income:

- a spin-off is a distribution of a controlled corporation's stock under IRC §355: no gain or
  loss and nothing includible in income (§355(a)(1)); the basis of the old shares is spread
  over old and new shares in proportion to their market values (§358(b)-(c), Treas. Reg.
  §1.358-2(a)(2)(iv); IRS Pub 550, "Nontaxable stock distributions" and the company's Form
  8937), and the new shares' holding period includes the old ones' (§1223(1));
- a distribution of the company's own stock (GOOGL's class C shares of 2014) is a nontaxable
  stock dividend under §305(a), its basis allocated by market value (§307(a), Treas. Reg.
  §1.307-1) and its holding period tacked (§1223(5)).

taxsim models such an event as what the data's own total-return convention already assumes:
the distributed shares are held as more shares of the parent at its ex-date close, a
"split" of ratio ``(close + value) / close`` (times any real split of that date). That is
exact for the tax at the distribution (none), for the total basis (unchanged: per-share basis
falls by the ratio, which is the allocation by market value of Treas. Reg. §1.358-2), for
the holding period (carried over, like a split) and for the value (the vendor's
``adjusted_close`` growth is kept to rounding). What it does not model: the spun-off shares'
own price path after the ex-date (the vendors' total return does not either) and cash in lieu
of fractional shares.

:data:`KNOWN_DISTRIBUTIONS` lists, for the two stock files of ``../shared/data``, every
distribution of 20% or more of the previous close, and the smaller ones identified as spin-offs
or stock distributions: ``"nontaxable"`` ones are reclassified on loading; ``"cash"`` ones were
checked to be real cash (or taxable stock-in-lieu) distributions and stay dividends.
:func:`reclassify_distributions` applies it, or a caller's own list, and warns about any other
distribution of at least :data:`LARGE_DISTRIBUTION` of the previous close.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from taxsim.market.validation import MarketDataError, MarketDataWarning

#: A distribution at least this fraction of the previous close, not in the list, is warned of.
LARGE_DISTRIBUTION = 0.2

_SPIN_OFF = "spin-off, IRC §355"
_STOCK_DIVIDEND = "distribution of the company's own stock, IRC §305(a)"

#: (ticker, ex-date, treatment, what happened). Dates are the files' ex-dates.
KNOWN_DISTRIBUTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("A", "2014-11-03", "nontaxable", f"Keysight Technologies {_SPIN_OFF}"),
    ("ABT", "2004-05-03", "nontaxable", f"Hospira {_SPIN_OFF}"),
    ("ABT", "2013-01-02", "nontaxable", f"AbbVie {_SPIN_OFF}"),
    ("ADP", "2007-04-02", "nontaxable", f"Broadridge Financial {_SPIN_OFF}"),
    ("ADP", "2014-10-01", "nontaxable", f"CDK Global {_SPIN_OFF}"),
    ("APTV", "2017-12-05", "nontaxable", f"Delphi Technologies {_SPIN_OFF}"),
    ("AXP", "2005-10-03", "nontaxable", f"Ameriprise Financial {_SPIN_OFF}"),
    ("BAX", "2015-07-01", "nontaxable", f"Baxalta {_SPIN_OFF}"),
    ("BKR", "2017-07-05", "cash", "special cash dividend of $17.50 on the GE Oil & Gas merger"),
    ("C", "2002-08-21", "nontaxable", f"Travelers Property Casualty {_SPIN_OFF}"),
    ("CAG", "2016-11-10", "nontaxable", f"Lamb Weston {_SPIN_OFF}"),
    ("CAH", "2009-09-01", "nontaxable", f"CareFusion {_SPIN_OFF}"),
    ("COP", "2012-05-01", "nontaxable", f"Phillips 66 {_SPIN_OFF}"),
    ("CTXS", "2017-02-01", "nontaxable", f"GetGo (LogMeIn merger) {_SPIN_OFF}"),
    ("DD", "2015-07-01", "nontaxable", f"Chemours {_SPIN_OFF}"),
    ("DHR", "2016-07-05", "nontaxable", f"Fortive {_SPIN_OFF}"),
    ("DISCA", "2008-09-18", "nontaxable", f"Ascent Media {_SPIN_OFF}"),
    ("DISCA", "2014-08-07", "nontaxable", f"class C shares, {_STOCK_DIVIDEND}"),
    ("DISCK", "2014-08-07", "nontaxable", f"class C shares, {_STOCK_DIVIDEND}"),
    ("DISH", "2008-01-02", "nontaxable", f"EchoStar Corporation {_SPIN_OFF}"),
    ("DOV", "2014-03-03", "nontaxable", f"Knowles {_SPIN_OFF}"),
    ("DPZ", "2007-05-07", "cash", "special cash dividend of $13.50 (recapitalization)"),
    ("DRI", "2015-11-10", "nontaxable", f"Four Corners Property Trust {_SPIN_OFF}"),
    ("DUK", "2007-01-03", "nontaxable", f"Spectra Energy {_SPIN_OFF}"),
    ("DXC", "2018-06-01", "nontaxable", f"Perspecta {_SPIN_OFF}"),
    ("EBAY", "2015-07-20", "nontaxable", f"PayPal {_SPIN_OFF}"),
    ("EFX", "2001-07-09", "nontaxable", f"Certegy {_SPIN_OFF}"),
    ("EXPE", "2011-12-21", "nontaxable", f"TripAdvisor {_SPIN_OFF}"),
    ("F", "2000-06-29", "nontaxable", f"Visteon {_SPIN_OFF}"),
    ("FIS", "2008-07-03", "nontaxable", f"Lender Processing Services {_SPIN_OFF}"),
    ("GNRC", "2012-07-02", "cash", "special cash dividend of $6"),
    ("GOOGL", "2014-04-03", "nontaxable", f"class C shares, {_STOCK_DIVIDEND}"),
    ("HLT", "2017-01-04", "nontaxable",
     f"Park Hotels & Resorts and Hilton Grand Vacations {_SPIN_OFF} (with a 1-for-3 reverse "
     "split)"),
    ("HPE", "2017-04-03", "nontaxable", f"Enterprise Services (DXC merger) {_SPIN_OFF}"),
    ("HPE", "2017-09-01", "nontaxable", f"Seattle SpinCo (Micro Focus merger) {_SPIN_OFF}"),
    ("HPQ", "2000-06-05", "nontaxable", f"Agilent Technologies {_SPIN_OFF}"),
    ("HPQ", "2015-11-02", "nontaxable", f"Hewlett Packard Enterprise {_SPIN_OFF}"),
    ("HWM", "2016-11-01", "nontaxable", f"Alcoa Corporation {_SPIN_OFF}"),
    ("JCI", "2007-07-02", "nontaxable",
     f"Tyco's Covidien and Tyco Electronics {_SPIN_OFF} (with a 1-for-4 reverse split)"),
    ("JCI", "2012-10-01", "nontaxable", f"Tyco's ADT and Tyco Flow Control {_SPIN_OFF}"),
    ("KMB", "2014-11-03", "nontaxable", f"Halyard Health {_SPIN_OFF}"),
    ("KSU", "2000-07-13", "nontaxable", f"Stilwell Financial {_SPIN_OFF}"),
    ("LDOS", "2013-09-30", "nontaxable",
     f"SAIC's new Science Applications International {_SPIN_OFF} (with a 1-for-4 reverse "
     "split)"),
    ("LDOS", "2016-08-17", "cash", "special cash dividend of $13.64 (Lockheed IS&GS merger)"),
    ("LEN", "2003-04-22", "nontaxable", f"class B shares, {_STOCK_DIVIDEND}"),
    ("LYG", "2009-12-14", "nontaxable", "rights to subscribe for new shares, IRC §305(a)"),
    ("MAR", "2011-11-22", "nontaxable", f"Marriott Vacations Worldwide {_SPIN_OFF}"),
    ("MAS", "2015-07-01", "nontaxable", f"TopBuild {_SPIN_OFF}"),
    ("MCO", "2000-10-03", "nontaxable", f"new Dun & Bradstreet {_SPIN_OFF}"),
    ("MDLZ", "2012-10-02", "nontaxable", f"Kraft Foods Group {_SPIN_OFF}"),
    ("MET", "2017-08-07", "nontaxable", f"Brighthouse Financial {_SPIN_OFF}"),
    ("MO", "2007-04-02", "nontaxable", f"Kraft Foods {_SPIN_OFF}"),
    ("MO", "2008-03-31", "nontaxable", f"Philip Morris International {_SPIN_OFF}"),
    ("MRK", "2003-08-20", "nontaxable", f"Medco Health Solutions {_SPIN_OFF}"),
    ("MRO", "2011-07-01", "nontaxable", f"Marathon Petroleum {_SPIN_OFF}"),
    ("MS", "2007-07-02", "nontaxable", f"Discover Financial Services {_SPIN_OFF}"),
    ("MSI", "2004-12-03", "nontaxable", f"Freescale Semiconductor {_SPIN_OFF}"),
    ("NI", "2015-07-02", "nontaxable", f"Columbia Pipeline Group {_SPIN_OFF}"),
    ("NLOK", "2020-02-03", "cash", "special cash dividend of $12 (after the enterprise sale)"),
    ("NOC", "2011-03-31", "nontaxable", f"Huntington Ingalls Industries {_SPIN_OFF}"),
    ("NOV", "2014-06-02", "nontaxable", f"NOW Inc. {_SPIN_OFF}"),
    ("OKE", "2014-02-03", "nontaxable", f"ONE Gas {_SPIN_OFF}"),
    ("PENN", "2013-11-04", "nontaxable", f"Gaming and Leisure Properties {_SPIN_OFF}"),
    ("PPL", "2015-06-02", "nontaxable", f"Talen Energy {_SPIN_OFF}"),
    ("RTX", "2020-04-03", "nontaxable",
     f"United Technologies' Carrier Global and Otis Worldwide {_SPIN_OFF}"),
    ("SO", "2001-04-03", "nontaxable", f"Mirant {_SPIN_OFF}"),
    ("SPG", "2014-05-29", "nontaxable", f"Washington Prime Group {_SPIN_OFF}"),
    ("TMO", "2001-11-16", "nontaxable", f"Viasys Healthcare {_SPIN_OFF}"),
    ("TMUS", "2013-05-01", "cash",
     "MetroPCS recapitalization cash payment (the file's other errors that day are listed in "
     "data/README.md)"),
    ("TT", "2013-12-02", "nontaxable", f"Allegion {_SPIN_OFF}"),
    ("VAR", "2017-01-30", "nontaxable", f"Varex Imaging {_SPIN_OFF}"),
    ("VLO", "2013-05-02", "nontaxable", f"CST Brands {_SPIN_OFF}"),
    ("VNO", "2015-01-16", "nontaxable", f"Urban Edge Properties {_SPIN_OFF}"),
    ("VTR", "2015-08-18", "nontaxable", f"Care Capital Properties {_SPIN_OFF}"),
    ("VZ", "2010-07-02", "nontaxable", f"Frontier (wireline spin-merger) {_SPIN_OFF}"),
    ("WMB", "2001-04-24", "nontaxable", f"Williams Communications {_SPIN_OFF}"),
    ("WMB", "2012-01-03", "nontaxable", f"WPX Energy {_SPIN_OFF}"),
    ("WY", "2010-07-20", "cash",
     "special dividend on the REIT conversion, paid mostly in stock: taxable (IRC §305(b)(1))"),
    ("YUM", "2016-11-01", "nontaxable", f"Yum China {_SPIN_OFF}"),
)  # fmt: skip

TREATMENTS = ("nontaxable", "cash")


def known_distributions() -> pd.DataFrame:
    """:data:`KNOWN_DISTRIBUTIONS` as a frame: ``ticker``, ``date``, ``treatment``, ``event``."""
    frame = pd.DataFrame(KNOWN_DISTRIBUTIONS, columns=["ticker", "date", "treatment", "event"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _corrections_frame(corrections: Any) -> pd.DataFrame:
    if isinstance(corrections, str):
        if corrections == "known":
            return known_distributions()
        raise ValueError(
            f"distributions must be 'known', 'as_recorded' or a DataFrame, not {corrections!r}"
        )
    if not isinstance(corrections, pd.DataFrame):
        raise ValueError("distributions must be 'known', 'as_recorded' or a DataFrame with "
                         f"columns ticker, date (and optionally treatment), not {corrections!r}")
    missing = [c for c in ("ticker", "date") if c not in corrections.columns]
    if missing:
        raise MarketDataError(f"distribution corrections lack column(s) {missing}")
    frame = corrections.copy()
    frame["ticker"] = frame["ticker"].astype(str)
    frame["date"] = pd.to_datetime(frame["date"])
    if "treatment" not in frame.columns:
        frame["treatment"] = "nontaxable"
    bad = ~frame["treatment"].isin(TREATMENTS)
    if bad.any():
        row = frame.loc[bad].iloc[0]
        raise MarketDataError(
            f"{row['ticker']}: distribution correction of {row['date']:%Y-%m-%d} has treatment "
            f"{row['treatment']!r}; use one of {TREATMENTS}"
        )
    if "event" not in frame.columns:
        frame["event"] = "reclassified by the caller"
    return frame


def reclassify_distributions(
    frame: pd.DataFrame, distributions: Any = "known"
) -> tuple[pd.DataFrame, int]:
    """Turn the listed nontaxable distributions of a tidy frame into split-like events.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy rows (``date``, ``ticker``, ``close``, ``dividend`` and optionally
        ``split_ratio``), as :func:`taxsim.market.files.read_tidy` returns them.
    distributions : "known", "as_recorded" or pandas.DataFrame
        "known": :data:`KNOWN_DISTRIBUTIONS`. "as_recorded": leave every dividend as it is
        (no warning). A DataFrame: the caller's list, columns ``ticker``, ``date`` and
        optionally ``treatment`` ("nontaxable", the default, or "cash").

    Returns
    -------
    (pandas.DataFrame, int)
        The frame (a copy if anything changed) and how many distributions were reclassified.
        A ``"nontaxable"`` row's ``dividend`` (dollars per share) becomes 0 and its
        ``split_ratio`` is multiplied by ``(close + dividend) / close``: no income, total
        basis unchanged and allocated by market value (IRC §§355, 358, 305(a), 307; see the
        module docstring), the same total return.

    Raises
    ------
    MarketDataError
        A caller's correction naming a date, inside the loaded span of its ticker, that has no
        dividend (ticker and date named). Events outside the loaded rows are skipped, so one
        list serves every load.

    Warns
    -----
    MarketDataWarning
        Each dividend of at least :data:`LARGE_DISTRIBUTION` of the ticker's previous close
        that the list does not name (ticker, date and fraction): it may be a spin-off.
    """
    if isinstance(distributions, str) and distributions == "as_recorded":
        return frame, 0
    corrections = _corrections_frame(distributions)
    if "dividend" not in frame.columns or frame.empty:
        return frame, 0
    dividend = frame["dividend"].to_numpy(dtype=np.float64)
    paid = np.nonzero(dividend > 0)[0]  # few rows: the rest is skipped
    codes, _ = pd.factorize(frame["ticker"], sort=False)
    # each ticker's previous row (its dates increase in file order; from_frame checks that)
    order = np.argsort(codes, kind="stable")
    place = np.empty(len(order), np.int64)
    place[order] = np.arange(len(order))
    before = order[np.maximum(place[paid] - 1, 0)]
    close = frame["close"].to_numpy(dtype=np.float64)
    previous = np.where((place[paid] > 0) & (codes[before] == codes[paid]), close[before], np.nan)
    ratio = (frame["split_ratio"].to_numpy(dtype=np.float64)[paid] if "split_ratio" in frame
             else np.ones(len(paid)))
    tickers = frame["ticker"].iloc[paid].astype(str).to_numpy()
    dates = pd.to_datetime(frame["date"].iloc[paid]).to_numpy()
    key = pd.MultiIndex.from_arrays([tickers, dates])
    listed = pd.MultiIndex.from_arrays([corrections["ticker"], corrections["date"]])
    in_list = key.isin(listed)
    if not (isinstance(distributions, str) and distributions == "known"):
        # a listed event inside the loaded rows (its ticker, between its first and last date)
        # must be a dividend there: a typo in a ticker or date is an error, not a no-op
        span = pd.DataFrame({"ticker": frame["ticker"].astype(str),
                             "date": pd.to_datetime(frame["date"])}).groupby("ticker")["date"]
        first, last = span.min(), span.max()
        inside = (corrections["ticker"].isin(first.index)
                  & (corrections["date"] >= corrections["ticker"].map(first))
                  & (corrections["date"] <= corrections["ticker"].map(last))).to_numpy()
        found = listed.isin(key) | ~inside
        if not found.all():
            row = corrections.loc[~found].iloc[0]
            raise MarketDataError(
                f"{row['ticker']}: no dividend on {row['date']:%Y-%m-%d} to reclassify"
            )
    nontaxable = corrections["treatment"].to_numpy() == "nontaxable"
    convert = key.isin(listed[nontaxable])
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = dividend[paid] * ratio / previous
    unexplained = np.nonzero((fraction >= LARGE_DISTRIBUTION) & ~in_list)[0]
    if len(unexplained):
        listing = "; ".join(
            f"{tickers[i]} {pd.Timestamp(dates[i]):%Y-%m-%d} ({fraction[i]:.0%} of the "
            "previous close)" for i in unexplained[:20]
        )
        warnings.warn(
            f"{len(unexplained)} dividend(s) of {LARGE_DISTRIBUTION:.0%} or more of the previous "
            f"close are taxed as cash dividends: {listing}. A spin-off or stock distribution is "
            "not income (IRC §§355, 305(a)): pass distributions=<DataFrame of ticker, date> to "
            "reclassify it (taxsim.market.corrections).",
            MarketDataWarning,
            stacklevel=3,
        )
    if not convert.any():
        return frame, 0
    rows = paid[convert]
    frame = frame.copy()
    new_ratio = (frame["split_ratio"].to_numpy(dtype=np.float64).copy() if "split_ratio" in frame
                 else np.ones(len(frame)))
    new_ratio[rows] *= (close[rows] + dividend[rows]) / close[rows]
    new_dividend = dividend.copy()
    new_dividend[rows] = 0.0
    frame["split_ratio"] = new_ratio
    frame["dividend"] = new_dividend
    return frame, len(rows)


def with_reclassified_note(source: str, count: int) -> str:
    """``source`` with the number of reclassified distributions appended (none: unchanged)."""
    if not count:
        return source
    return (f"{source}; {count} spin-offs or stock distributions recorded as dividends treated "
            "as nontaxable")


__all__ = [
    "KNOWN_DISTRIBUTIONS",
    "LARGE_DISTRIBUTION",
    "known_distributions",
    "reclassify_distributions",
    "with_reclassified_note",
]
