"""Household, accounts and the tax profile: the plain-Python configuration of a ledger.

Nothing here runs inside a kernel; :func:`TaxProfile.rate_table` and the household's arrays are
what the kernels receive.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from taxsim.ledger.enums import (
    ACCOUNT_KIND_CODES,
    FILING_STATUSES,
    FIRST_YEAR,
    MAX_ACCOUNTS,
    N_RATE_FIELDS,
    N_YEARS,
    RATE_CHANGE_DAY,
    RATE_COLLECTIBLES,
    RATE_LONG_TERM,
    RATE_LONG_TERM_BEFORE_CHANGE,
    RATE_LOSS_LIMIT,
    RATE_NIIT,
    RATE_ORDINARY,
    RATE_QUALIFIED_DIVIDEND,
    RATE_SECTION_199A_DEDUCTION,
    RATE_STATE,
    RATE_UNRECAPTURED_1250,
)


class ConfigError(ValueError):
    """A household, account or tax-profile setting that cannot be used; names the field."""


@dataclass(frozen=True)
class Account:
    """One account of a household.

    Parameters
    ----------
    name : str
        Unique name within the household, used in every output.
    kind : {"taxable", "tax_deferred", "tax_exempt"}
        Taxable brokerage; traditional IRA / 401(k) (tax-deferred); Roth (tax-exempt).
    owner : str
        Owner tag (e.g. a spouse). Wash-sale checks span every owner of the household
        (IRS Pub 550: a purchase by your spouse counts).
    reinvest : bool
        Reinvest distributions as new lots (True) or keep them as cash (False).
    """

    name: str
    kind: str = "taxable"
    owner: str = ""
    reinvest: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"account name must be a non-empty string, got {self.name!r}")
        if self.kind not in ACCOUNT_KIND_CODES:
            raise ConfigError(
                f"account {self.name!r}: kind must be one of {sorted(ACCOUNT_KIND_CODES)}, "
                f"got {self.kind!r}"
            )

    @property
    def taxable(self) -> bool:
        return self.kind == "taxable"


@dataclass(frozen=True)
class Household:
    """Accounts taxed together on one return, with the wash-sale identity groups.

    Parameters
    ----------
    accounts : sequence of Account
        At least one; names unique.
    filing_status : {"single", "married_joint", "married_separate", "head_of_household"}
        Sets the capital-loss deduction limit: $3,000, or $1,500 married filing separately
        (IRC §1211(b)).
    identity_groups : mapping of ticker to group name, optional
        Tickers in one group are "substantially identical" for the wash-sale rule (IRC §1091).
        A ticker not in the mapping is its own group.
    """

    accounts: tuple[Account, ...]
    filing_status: str = "single"
    identity_groups: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        accounts = tuple(self.accounts)
        if not accounts:
            raise ConfigError("household.accounts: at least one account is needed")
        for account in accounts:
            if not isinstance(account, Account):
                raise ConfigError(f"household.accounts: {account!r} is not an Account")
        if len(accounts) > MAX_ACCOUNTS:
            raise ConfigError(
                f"household.accounts: {len(accounts):,} accounts, more than the ledger's "
                f"{MAX_ACCOUNTS:,} (realized rows store the account as int16)"
            )
        names = [account.name for account in accounts]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ConfigError(f"household.accounts: duplicate account names {duplicated}")
        if self.filing_status not in FILING_STATUSES:
            raise ConfigError(
                f"household.filing_status must be one of {sorted(FILING_STATUSES)}, "
                f"got {self.filing_status!r}"
            )
        object.__setattr__(self, "accounts", accounts)
        object.__setattr__(
            self, "identity_groups", MappingProxyType(dict(self.identity_groups or {}))
        )

    def __reduce__(self):
        # the read-only identity-group mapping does not pickle; process pools need to
        return (type(self), (self.accounts, self.filing_status, dict(self.identity_groups)))

    @property
    def account_names(self) -> tuple[str, ...]:
        return tuple(account.name for account in self.accounts)

    def account_index(self, name: str) -> int:
        for index, account in enumerate(self.accounts):
            if account.name == name:
                return index
        raise ConfigError(f"unknown account {name!r}; the household has {list(self.account_names)}")

    @property
    def loss_limit(self) -> float:
        """Net capital loss deductible against ordinary income per year, dollars.

        $3,000, or $1,500 for married filing separately (IRC §1211(b); Schedule D line 21).
        """
        return 1500.0 if self.filing_status == "married_separate" else 3000.0

    def group_codes(self, assets: tuple[str, ...]) -> np.ndarray:
        """Identity-group number of each asset (int64), equal numbers = substantially identical."""
        group_names = [self.identity_groups.get(asset, f"__own__{asset}") for asset in assets]
        numbering: dict[str, int] = {}
        return np.array(
            [numbering.setdefault(name, len(numbering)) for name in group_names], dtype=np.int64
        )


@dataclass(frozen=True)
class TaxRates:
    """Marginal rates of one year, as fractions.

    ``ordinary`` taxes interest, non-qualified dividends and net short-term gains;
    ``long_term`` net long-term capital gains; ``qualified_dividend`` qualified dividends
    (IRC §1(h)(11); equal to ``long_term`` since 2003); ``niit`` the net investment income tax
    (IRC §1411, 3.8% from 2013, 0 to disable); ``state`` a flat state rate on the same base.

    ``section_199a_deduction`` is the fraction of qualified REIT dividends (and a fund's
    section 199A dividends) deducted from federal taxable income: 20% (IRC §199A(a), (b)(1)(B),
    from 2018 (Pub. L. 115-97 §11011), made permanent by Pub. L. 119-21 (2025)); 0 before
    2018. It lowers the federal tax on those dividends only: not the NIIT (Treas. Reg.
    §1.199A-1(e)(3)) and not the flat state tax (the deduction is not one of AGI, IRC §62(a)).

    ``collectibles`` and ``unrecaptured_1250`` are the maximum rates of net capital gain's two
    other groups (IRC §1(h)(1)(E)-(F), since the Taxpayer Relief Act of 1997): 28% on the
    28-percent rate gain (long-term collectibles gain, §1(h)(4)-(5): physical metal held
    through a grantor trust such as GLD, a fund's Form 1099-DIV box 2d) and 25% on unrecaptured
    section 1250 gain (§1(h)(6): box 2b, mostly REITs' depreciation). They are maximums: a
    household whose ``ordinary`` rate is lower pays that on them (§1(h)(1) caps the tax; see
    ``annual_tax.compute_year_tax``). NIIT and the state rate apply as to other gains.
    """

    ordinary: float = 0.37
    long_term: float = 0.20
    qualified_dividend: float = 0.20
    niit: float = 0.038
    state: float = 0.0
    section_199a_deduction: float = 0.20
    collectibles: float = 0.28
    unrecaptured_1250: float = 0.25

    def __post_init__(self) -> None:
        for name in ("ordinary", "long_term", "qualified_dividend", "niit", "state",
                     "section_199a_deduction", "collectibles", "unrecaptured_1250"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= float(value) < 1.0):
                raise ConfigError(f"tax rate {name!r} must be a fraction in [0, 1), got {value!r}")


# Top US federal marginal rates (IRC §1, §1(h), §1411; annual Rev. Procs.). Before 2003
# dividends were ordinary income; NIIT starts in 2013; the §199A deduction of 20% of qualified
# REIT dividends in 2018 (Tax Cuts and Jobs Act, Pub. L. 115-97 §11011).
US_TOP_FEDERAL_HISTORY: dict[int, TaxRates] = {
    1998: TaxRates(0.396, 0.20, 0.396, 0.0, section_199a_deduction=0.0),
    2001: TaxRates(0.391, 0.20, 0.391, 0.0, section_199a_deduction=0.0),
    2002: TaxRates(0.386, 0.20, 0.386, 0.0, section_199a_deduction=0.0),
    2003: TaxRates(0.35, 0.15, 0.15, 0.0, section_199a_deduction=0.0),
    2013: TaxRates(0.396, 0.20, 0.20, 0.038, section_199a_deduction=0.0),
    2018: TaxRates(0.37, 0.20, 0.20, 0.038, section_199a_deduction=0.20),
}


# JGTRRA 2003 §301(a), (c): 15% on net capital gain taken into account from 2003-05-06, 20%
# before (Pub 550 (2003), "Capital Gain Tax Rates"; 2003 Schedule D column (g))
US_TOP_FEDERAL_LONG_TERM_BEFORE: dict[str, float] = {"2003-05-06": 0.20}


_RATE_TABLES: dict = {}  # (default rates, rates by year, loss limit) -> read-only table
_RATE_TABLES_LOCK = threading.Lock()


@dataclass(frozen=True)
class TaxProfile:
    """Tax rates by year plus the household's filing conventions.

    Parameters
    ----------
    default : TaxRates
        Rates for every year not in ``by_year`` (default: 2025 top federal, 37% ordinary,
        20% long-term and qualified, 3.8% NIIT, no state tax).
    by_year : mapping of int to TaxRates, optional
        Rates from a year on: a year uses the entry of the latest key not after it, or ``rates``
        if there is none.
    name : str
        Label printed with every result.
    long_term_before : mapping of date to float, optional
        Changes of the long-term rate within a year: ``{"2003-05-06": 0.20}`` taxes the net
        long-term gain taken into account before 2003-05-06 at 20% and the rest of the year's
        at that year's ``long_term`` rate. The split follows the transitional rule of the Jobs
        and Growth Tax Relief Reconciliation Act of 2003 (Pub. L. 108-27, §301(c); 2003
        Schedule D, column (g) "Post-May 5 gain or (loss)"): the gain at the new rate is the
        lesser of the net capital gain figured from the gains and losses of the days from the
        change on (long-term gains and capital gain distributions, less any net short-term
        loss of those days; carryovers count before the change) and the year's whole net
        capital gain. Qualified dividends keep the year's ``qualified_dividend`` rate. One
        change per year at most, not on January 1 (use ``by_year`` for that).
        ``us_top_historical()`` has 2003's.
    """

    default: TaxRates = field(default_factory=TaxRates)
    by_year: Mapping[int, TaxRates] = field(default_factory=dict)
    name: str = "2025 top federal (37% / 20% / 3.8% NIIT)"
    long_term_before: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for year, rates in dict(self.by_year).items():
            if not isinstance(rates, TaxRates):
                raise ConfigError(f"tax_profile.by_year[{year}] must be TaxRates, got {rates!r}")
        object.__setattr__(self, "by_year", MappingProxyType(dict(self.by_year)))
        changes: dict[str, float] = {}
        for when, rate in dict(self.long_term_before or {}).items():
            try:
                day = pd.Timestamp(when)
            except (TypeError, ValueError):
                day = pd.NaT
            if day is pd.NaT:
                raise ConfigError(f"tax_profile.long_term_before: {when!r} is not a date")
            if day != day.normalize() or day.tzinfo is not None:
                raise ConfigError(
                    f"tax_profile.long_term_before: {when!r} must be a calendar date")
            key = day.date().isoformat()
            if not FIRST_YEAR <= day.year < FIRST_YEAR + N_YEARS:
                raise ConfigError(
                    f"tax_profile.long_term_before[{key!r}]: the year must be within "
                    f"{FIRST_YEAR}-{FIRST_YEAR + N_YEARS - 1}")
            if day.month == 1 and day.day == 1:
                raise ConfigError(
                    f"tax_profile.long_term_before[{key!r}]: a change on January 1 is a new "
                    "year's rates: put it in by_year")
            if any(other[:4] == key[:4] for other in changes):
                raise ConfigError(
                    f"tax_profile.long_term_before: more than one change in {day.year}")
            if (isinstance(rate, bool) or not isinstance(rate, (int, float))
                    or not 0.0 <= float(rate) < 1.0):
                raise ConfigError(
                    f"tax_profile.long_term_before[{key!r}] must be a fraction in [0, 1), "
                    f"got {rate!r}")
            changes[key] = float(rate)
        object.__setattr__(self, "long_term_before",
                           MappingProxyType(dict(sorted(changes.items()))))

    def __reduce__(self):
        # the read-only mappings do not pickle; process pools and Dask workers need to
        return (type(self), (self.default, dict(self.by_year), self.name,
                             dict(self.long_term_before)))

    def rate_change(self, year: int) -> tuple[str, float] | None:
        """``(first day of the year's long_term rate, the long-term rate before it)`` for a
        year whose long-term rate changes within it (``long_term_before``), else None."""
        prefix = f"{int(year):04d}-"
        for when, rate in self.long_term_before.items():
            if when.startswith(prefix):
                return when, rate
        return None

    def long_term_rate_on(self, day) -> float:
        """The long-term rate (fraction) for a gain taken into account on ``day`` (a date)."""
        when = pd.Timestamp(day)
        change = self.rate_change(when.year)
        if change is not None and when < pd.Timestamp(change[0]):
            return change[1]
        return self.rates(when.year).long_term

    @classmethod
    def us_top_historical(cls, state: float = 0.0) -> TaxProfile:
        """Top federal rates of each year since 1998, plus a flat state rate."""
        by_year = {
            year: replace(r, state=state)  # every other rate as in the history
            for year, r in US_TOP_FEDERAL_HISTORY.items()
        }
        return cls(default=by_year[2018], by_year=by_year, name="US top federal rates by year",
                   long_term_before=US_TOP_FEDERAL_LONG_TERM_BEFORE)

    def rates(self, year: int) -> TaxRates:
        """The rates in force in ``year``."""
        applicable = [key for key in self.by_year if key <= year]
        return self.by_year[max(applicable)] if applicable else self.default

    def rate_table(self, loss_limit: float) -> np.ndarray:
        """float64 array (N_YEARS, N_RATE_FIELDS) of rates by year index (year - FIRST_YEAR).

        ``loss_limit`` (dollars) is the household's capital-loss deduction limit. A fresh copy
        each call; the table itself is built once per profile and limit (the profile is
        frozen, and a sweep builds two ledgers per scenario).
        """
        cache = self.__dict__.setdefault("_rate_tables", {})
        table = cache.get(float(loss_limit))
        if table is None:
            # equal profiles share a table: a sweep builds a new profile for every scenario
            key = (self.default, tuple(sorted(self.by_year.items())),
                   tuple(self.long_term_before.items()), float(loss_limit))
            with _RATE_TABLES_LOCK:  # sweep threads
                table = _RATE_TABLES.get(key)
                if table is None:
                    table = self._build_rate_table(loss_limit)
                    table.flags.writeable = False
                    if len(_RATE_TABLES) >= 64:
                        _RATE_TABLES.pop(next(iter(_RATE_TABLES)))
                    _RATE_TABLES[key] = table
            cache[float(loss_limit)] = table
        return table.copy()

    def _build_rate_table(self, loss_limit: float) -> np.ndarray:
        starts = sorted(self.by_year)
        in_force = [self.default, *(self.by_year[year] for year in starts)]
        # row k of in_force applies from starts[k - 1] on (row 0: before every start)
        rows = np.searchsorted(np.array(starts, dtype=np.int64),
                               FIRST_YEAR + np.arange(N_YEARS), side="right")
        table = np.zeros((N_YEARS, N_RATE_FIELDS))
        for column, name in ((RATE_ORDINARY, "ordinary"), (RATE_LONG_TERM, "long_term"),
                             (RATE_QUALIFIED_DIVIDEND, "qualified_dividend"),
                             (RATE_NIIT, "niit"), (RATE_STATE, "state"),
                             (RATE_SECTION_199A_DEDUCTION, "section_199a_deduction"),
                             (RATE_COLLECTIBLES, "collectibles"),
                             (RATE_UNRECAPTURED_1250, "unrecaptured_1250")):
            table[:, column] = np.array([getattr(rates, name) for rates in in_force])[rows]
        table[:, RATE_LOSS_LIMIT] = loss_limit
        table[:, RATE_LONG_TERM_BEFORE_CHANGE] = table[:, RATE_LONG_TERM]
        table[:, RATE_CHANGE_DAY] = np.inf
        for when, rate in self.long_term_before.items():
            day = pd.Timestamp(when)
            table[day.year - FIRST_YEAR, RATE_LONG_TERM_BEFORE_CHANGE] = rate
            table[day.year - FIRST_YEAR, RATE_CHANGE_DAY] = float(
                (day - pd.Timestamp("1970-01-01")).days)
        return table
