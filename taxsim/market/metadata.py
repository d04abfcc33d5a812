"""Default tax metadata for a few well-known funds (approximate; check the fund's 1099-DIV).

Each entry maps a ticker to :class:`~taxsim.market.Market` metadata fields. Funds tracking
the same index share an ``identity_group`` (treated as substantially identical for the
wash-sale rule, the conservative choice); funds tracking different indexes get their own.
Expense ratios are annual fractions as published in 2025. ``qualified_fraction`` is a
typical recent share of qualified dividends; the funds' ``section_199a_fraction`` (Form
1099-DIV box 5, the REIT dividends they pass through) is left at 0, a small share for
these equity funds. The REITs among the stocks of ``../shared/data`` (:data:`REIT_TICKERS`) get
``tax_character="reit"``: non-qualified dividends, all of them qualified REIT dividends.
The physically backed precious-metal trusts (:data:`COLLECTIBLE_TICKERS`: GLD, IAU, SGOL,
GLDM, BAR, AAAU, SLV, SIVR, PPLT, PALL) get ``tax_character="collectible"``: the holder of a
grantor trust's shares is treated as owning its metal, so a sale of the shares is a sale of
collectibles, whose long-term gain is taxed at up to 28% (IRC §408(m), §1(h)(4)-(5); IRS Pub
550, "Collectibles gain or loss"). They pay no dividends; the trusts of one metal share an
identity group (conservatively substantially identical: the same metal in a vault).
Everything not listed defaults to a US equity with fully qualified dividends, its own identity
group and no expense ratio. A user's metadata overrides any of these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

KNOWN_ASSETS: dict[str, dict[str, Any]] = {
    "SPY": dict(
        identity_group="sp500",
        expense_ratio=0.000945,
        qualified_fraction=0.95,
        asset_class="us_equity_fund",
        sector="broad_market",
    ),
    "VOO": dict(
        identity_group="sp500",
        expense_ratio=0.0003,
        qualified_fraction=0.95,
        asset_class="us_equity_fund",
        sector="broad_market",
    ),
    "IVV": dict(
        identity_group="sp500",
        expense_ratio=0.0003,
        qualified_fraction=0.95,
        asset_class="us_equity_fund",
        sector="broad_market",
    ),
    "VTI": dict(
        identity_group="crsp_total_market",
        expense_ratio=0.0003,
        qualified_fraction=0.93,
        asset_class="us_equity_fund",
        sector="broad_market",
    ),
    "QQQ": dict(
        identity_group="nasdaq100",
        expense_ratio=0.0020,
        qualified_fraction=1.0,
        asset_class="us_equity_fund",
        sector="technology",
    ),
    "IWM": dict(
        identity_group="russell2000",
        expense_ratio=0.0019,
        qualified_fraction=0.75,
        asset_class="us_equity_fund",
        sector="small_cap",
    ),
    "DIA": dict(
        identity_group="djia",
        expense_ratio=0.0016,
        qualified_fraction=1.0,
        asset_class="us_equity_fund",
        sector="broad_market",
    ),
    "SCHD": dict(
        identity_group="dj_us_dividend_100",
        expense_ratio=0.0006,
        qualified_fraction=1.0,
        asset_class="us_equity_fund",
        sector="dividend",
    ),
    "JEPI": dict(
        identity_group="JEPI",
        expense_ratio=0.0035,
        qualified_fraction=0.15,
        asset_class="us_equity_fund",
        sector="income",
    ),
    "VGT": dict(
        identity_group="msci_us_it_25_50",
        expense_ratio=0.0009,
        qualified_fraction=1.0,
        asset_class="us_equity_fund",
        sector="technology",
    ),
    "XLK": dict(
        identity_group="technology_select_sector",
        expense_ratio=0.0008,
        qualified_fraction=1.0,
        asset_class="us_equity_fund",
        sector="technology",
    ),
}


#: Grantor trusts holding physical metal: ticker -> (identity group, expense ratio as
#: published in 2025, sector). Their shares are collectibles (IRC §408(m)(2)(C)-(D): gold,
#: silver, platinum and palladium bullion are metals of §408(m)(2), and a share of a grantor
#: trust is the holder's part of the trust's metal, IRS Pub 550, "Collectibles gain or
#: loss"), so the "collectible" tax character: a long-term gain on a sale is taxed at up to
#: 28% (IRC §1(h)(4)-(5)). Trusts of one metal are grouped as substantially identical for
#: the wash-sale rule: the conservative choice, as for funds tracking one index. The trusts
#: pay no dividends (``qualified_fraction`` and ``section_199a_fraction`` 0); their expenses
#: are met by selling metal, which a holder reports as a (small) sale of collectibles: left
#: out here, like the expense ratio of every fund (real prices are already net of it).
COLLECTIBLE_TICKERS: dict[str, tuple[str, float, str]] = {
    "GLD": ("gold_bullion", 0.0040, "precious_metals"),
    "IAU": ("gold_bullion", 0.0025, "precious_metals"),
    "SGOL": ("gold_bullion", 0.0017, "precious_metals"),
    "GLDM": ("gold_bullion", 0.0010, "precious_metals"),
    "BAR": ("gold_bullion", 0.001749, "precious_metals"),
    "AAAU": ("gold_bullion", 0.0018, "precious_metals"),
    "SLV": ("silver_bullion", 0.0050, "precious_metals"),
    "SIVR": ("silver_bullion", 0.0030, "precious_metals"),
    "PPLT": ("platinum_bullion", 0.0060, "precious_metals"),
    "PALL": ("palladium_bullion", 0.0060, "precious_metals"),
}

for _ticker, (_group, _expense, _sector) in COLLECTIBLE_TICKERS.items():
    KNOWN_ASSETS[_ticker] = dict(
        identity_group=_group,
        expense_ratio=_expense,
        tax_character="collectible",
        qualified_fraction=0.0,
        section_199a_fraction=0.0,
        asset_class="commodity",
        sector=_sector,
    )
del _ticker, _group, _expense, _sector


#: Real estate investment trusts among the tickers of ``sp500_stocks_1999_2021.parquet`` and
#: ``us_stocks_1999_2026.parquet``. A REIT's ordinary dividends are generally not qualified
#: dividends (IRC §857(c); IRS Pub 550, "Qualified Dividends": "dividends you receive from a
#: real estate investment trust" generally do not qualify), so these default to the "reit"
#: tax character: ``qualified_fraction`` 0, ``section_199a_fraction`` 1 (all of the dividend is
#: a qualified REIT dividend, 20% of it deductible from 2018, IRC §199A(b)(1)(B), (e)(3)) and
#: ``asset_class`` "real_estate" ("mortgage_reit" for AGNC and NLY). Approximations to
#: override where they matter: a REIT's 1099-DIV can show a small qualified part and capital
#: gain or return-of-capital parts, all paid as ``dividend`` in these files (so all of it gets
#: the §199A deduction here); and the status is today's, over the whole history, although AMT
#: (a REIT from 2012), CCI (2014), EQIX (2015), IRM (2014), SBAC (2016) and WY (2010) paid
#: ordinary, generally qualified, dividends as corporations before converting (those of AMT,
#: CCI, EQIX and SBAC are few or none).
REIT_TICKERS: tuple[str, ...] = (
    "AGNC", "AMT", "ARE", "AVB", "BXP", "CCI", "DLR", "DOC", "DRE", "EQIX", "EQR", "ESS",
    "EXR", "FRT", "HST", "IRM", "KIM", "MAA", "NLY", "O", "PEAK", "PLD", "PSA", "REG",
    "SBAC", "SPG", "UDR", "VNO", "VTR", "WELL", "WY",
)  # fmt: skip
_MORTGAGE_REITS = ("AGNC", "NLY")

for _ticker in REIT_TICKERS:
    KNOWN_ASSETS.setdefault(
        _ticker,
        dict(
            tax_character="reit",
            asset_class="mortgage_reit" if _ticker in _MORTGAGE_REITS else "real_estate",
        ),
    )
del _ticker


def known_metadata(tickers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The :data:`KNOWN_ASSETS` entries of ``tickers`` (unknown tickers are left out)."""
    return {t: dict(KNOWN_ASSETS[t]) for t in tickers if t in KNOWN_ASSETS}


def with_known_metadata(market, metadata=None):
    """``market`` with the known defaults for its tickers, then the user's ``metadata`` on top.

    The user's values always win; tickers without known defaults keep the Market's own.
    """
    defaults = known_metadata(market.tickers)
    if defaults:
        market = market.with_metadata(defaults)
    if metadata is not None:
        market = market.with_metadata(metadata)
    return market
