"""Synthetic markets: seeded daily prices and distributions, many paths at once.

Model
-----
Each asset's daily total log-return is ``m + s * scale_t * x``, with
``x = a_m z_market + a_s z_sector + a_i z_own`` and ``a_i = sqrt(1 - a_m**2 - a_s**2)``
(independent standard-normal factors, so ``x`` has unit variance):

- ``s = volatility / sqrt(252)``: annual volatility of total returns (fraction);
- ``m = (log(1 + expected_return) - volatility**2 / 2) / 252``: so that one year's expected
  growth is ``1 + expected_return``;
- correlation of two assets = ``a_m a_m' + a_s a_s'`` (the sector term only within a sector);
- fat tails (optional, ``tail_df=nu``): ``scale_t = sqrt((nu - 2) / W_t)``, ``W_t`` chi-square
  with ``nu`` degrees of freedom, one per path and date shared by all assets: multivariate
  Student-t returns with the same variance, excess kurtosis ``6 / (nu - 4)`` and crashes that
  hit every asset together.

Distributions come out of the price, so they change the price path but not the total return:
on a payment date ``close_t = close_{t-1} * (exp(r_t) - y)`` and the asset pays
``y * close_{t-1}`` per share, where ``y`` is the per-payment yield:
``dividend_yield / len(dividend_months)`` on the first trading day on or after the 15th of each
of ``dividend_months``; ``interest_yield / 12`` on the last trading day of each month;
``capital_gain_yield`` (long-term) on the December dividend date. No splits, no short-term
gains, no return of capital. Dates are NYSE sessions (XNYS).

Calibrated defaults (:func:`default_universe`), annual figures:

====================  ======  =====  =========================  ======  ========  =========
ticker                vol     E[r]   correlation                yield   pays      character
====================  ======  =====  =========================  ======  ========  =========
USTOTAL (US index)    16%     7%     0.99 with USLARGE          1.4%    qtr div   equity
USLARGE (substitute)  16%     7%     0.99 with USTOTAL          1.3%    qtr div   equity
INTL                  17%     7%     0.80 with US market        2.8%    semi div  equity
BOND                  5%      4%     0.10 with US market        4.0%    mo int    taxable
MUNI                  4.5%    3%     0.10 with US market        3.0%    mo int    muni
REIT                  22%     7.5%   0.65 with US market        3.8%    qtr div   reit
stocks (optional)     30%     8%     0.55 market, 0.45 sector   0-3.5%  qtr div   equity
====================  ======  =====  =========================  ======  ========  =========

Stocks: 0.50 correlation within a sector, 0.30 across sectors. These are round numbers close
to long-run US figures (S&P 500 realised volatility about 15-19% a year, a typical large single
stock 25-35%, stock-to-stock correlation 0.3-0.5); they are not fitted to a period. Expected
returns are net of fund expenses (``expense_ratio`` is metadata only).

Determinism: path ``i`` of seed ``k`` is the same numbers whatever the number of paths asked
for and whatever the thread count: each path has its own xoshiro256** stream seeded from
``(seed, i)``, and normals come from a 128-layer ziggurat, all in one numba kernel run in
parallel over paths.
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd

from taxsim.market.calendar import nyse_trading_days, sessions_per_year
from taxsim.market.market import (
    DEFAULT_ASSET_CLASS,
    DEFAULT_QUALIFIED_FRACTION,
    Market,
    default_section_199a_fraction,
    to_day,
)

TRADING_DAYS = sessions_per_year()


# ---------------------------------------------------------------------------- universe
@dataclass(frozen=True)
class AssetSpec:
    """One synthetic asset.

    Parameters
    ----------
    ticker : str
    volatility : float
        Annual volatility of daily total log-returns (fraction, 0.16 = 16%).
    expected_return : float
        Annual expected total return (fraction), dividends reinvested.
    market_loading : float
        Loading ``a_m`` on the market factor (its correlation with the market factor).
    sector : str
        Sector name; assets of one sector share a sector factor.
    sector_loading : float
        Loading ``a_s`` on the sector factor. ``a_m**2 + a_s**2 <= 1``.
    dividend_yield : float
        Annual cash dividend as a fraction of price, paid in ``dividend_months``.
    dividend_months : tuple of int
        Months (1-12) with a dividend, ex-date the first session on or after the 15th.
    interest_yield : float
        Annual interest as a fraction of price, paid monthly (last session of the month).
    capital_gain_yield : float
        Annual long-term capital-gain distribution as a fraction of price, in December.
    tax_character, qualified_fraction, identity_group, expense_ratio, asset_class
        Market metadata (see :class:`~taxsim.market.Market`); defaults as there.
    section_199a_fraction : float, optional
        Fraction of the dividend that is a qualified REIT (section 199A) dividend; default as
        in :class:`~taxsim.market.Market`: ``1 - qualified_fraction`` for "reit", else 0.
    collectibles_fraction, unrecaptured_1250_fraction : float
        Fractions of the capital gain distribution that are 28% collectibles gain and 25%
        unrecaptured section 1250 gain (see :class:`~taxsim.market.Market`); default 0.
        ``tax_character="collectible"`` makes the asset's own sales collectibles.
    initial_price : float
        Close on the first date (dollars per share).
    """

    ticker: str
    volatility: float = 0.30
    expected_return: float = 0.08
    market_loading: float = 0.55
    sector: str = ""
    sector_loading: float = 0.0
    dividend_yield: float = 0.0
    dividend_months: tuple[int, ...] = (3, 6, 9, 12)
    interest_yield: float = 0.0
    capital_gain_yield: float = 0.0
    tax_character: str = "equity"
    qualified_fraction: float | None = None
    identity_group: str | None = None
    expense_ratio: float = 0.0
    asset_class: str | None = None
    initial_price: float = 100.0
    section_199a_fraction: float | None = None
    collectibles_fraction: float = 0.0
    unrecaptured_1250_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.market_loading**2 + self.sector_loading**2 > 1.0 + 1e-12:
            raise ValueError(f"{self.ticker}: market_loading**2 + sector_loading**2 exceeds 1")
        if self.volatility < 0 or self.initial_price <= 0:
            raise ValueError(f"{self.ticker}: volatility must be >= 0, initial_price > 0")
        for name in ("dividend_yield", "interest_yield", "capital_gain_yield"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise ValueError(f"{self.ticker}: {name} must be a fraction in [0, 0.5)")
        if any(not 1 <= m <= 12 for m in self.dividend_months):
            raise ValueError(f"{self.ticker}: dividend_months must be within 1..12")

    @property
    def idiosyncratic_loading(self) -> float:
        """``a_i = sqrt(1 - a_m**2 - a_s**2)``."""
        return math.sqrt(max(0.0, 1.0 - self.market_loading**2 - self.sector_loading**2))


#: sector name -> annual dividend yield of the sector's synthetic stocks
STOCK_SECTORS = {
    "technology": 0.008,
    "healthcare": 0.015,
    "financials": 0.025,
    "energy": 0.035,
    "consumer": 0.020,
    "industrials": 0.018,
    "utilities": 0.035,
    "materials": 0.020,
}


def default_universe(n_stocks: int = 0) -> tuple[AssetSpec, ...]:
    """The documented default synthetic universe (see the module docstring).

    Parameters
    ----------
    n_stocks : int
        Number of single stocks added after the six funds, spread over
        :data:`STOCK_SECTORS` in turn; named like ``TECHNO01``.
    """
    funds = (
        AssetSpec(
            "USTOTAL",
            volatility=0.16,
            expected_return=0.07,
            market_loading=0.995,
            dividend_yield=0.014,
            qualified_fraction=0.95,
            expense_ratio=0.0003,
            asset_class="us_equity_fund",
            sector="broad_market",
        ),
        AssetSpec(
            "USLARGE",
            volatility=0.16,
            expected_return=0.07,
            market_loading=0.995,
            dividend_yield=0.013,
            qualified_fraction=0.95,
            expense_ratio=0.0003,
            asset_class="us_equity_fund",
            sector="broad_market",
        ),
        AssetSpec(
            "INTL",
            volatility=0.17,
            expected_return=0.07,
            market_loading=0.80,
            dividend_yield=0.028,
            dividend_months=(6, 12),
            qualified_fraction=0.70,
            expense_ratio=0.0008,
            asset_class="intl_equity_fund",
        ),
        AssetSpec(
            "BOND",
            volatility=0.05,
            expected_return=0.04,
            market_loading=0.10,
            interest_yield=0.04,
            tax_character="taxable_bond",
            expense_ratio=0.0003,
            asset_class="bond_fund",
        ),
        AssetSpec(
            "MUNI",
            volatility=0.045,
            expected_return=0.03,
            market_loading=0.10,
            interest_yield=0.03,
            tax_character="municipal_bond",
            expense_ratio=0.0005,
            asset_class="muni_bond_fund",
        ),
        AssetSpec(
            "REIT",
            volatility=0.22,
            expected_return=0.075,
            market_loading=0.65,
            dividend_yield=0.038,
            tax_character="reit",
            qualified_fraction=0.0,
            expense_ratio=0.0012,
            asset_class="reit_fund",
            sector="real_estate",
        ),
    )
    sectors = list(STOCK_SECTORS)
    stocks = []
    for k in range(n_stocks):
        sector = sectors[k % len(sectors)]
        stocks.append(
            AssetSpec(
                f"{sector[:6].upper()}{k // len(sectors) + 1:02d}",
                volatility=0.30,
                expected_return=0.08,
                market_loading=0.55,
                sector=sector,
                sector_loading=0.45,
                dividend_yield=STOCK_SECTORS[sector],
                asset_class="us_stock",
            )
        )
    return funds + tuple(stocks)


# ---------------------------------------------------------------------------- schedules
def payment_rates(dates: np.ndarray, specs: Sequence[AssetSpec]) -> tuple[np.ndarray, ...]:
    """Per-payment yields by date and asset: dividend, interest, long-term capital gain.

    Parameters
    ----------
    dates : numpy.ndarray of int64
        Trading day numbers.
    specs : sequence of AssetSpec

    Returns
    -------
    dividend, interest, lt_capital_gain : numpy.ndarray, shape (n_dates, n_assets)
        Fraction of the previous close paid per share on that date; 0 on other dates and on
        the first date.
    """
    stamps = pd.DatetimeIndex(dates.astype("datetime64[D]"))
    year, month, day = stamps.year.to_numpy(), stamps.month.to_numpy(), stamps.day.to_numpy()
    ym = year * 12 + month
    n = len(dates)
    # first session on or after the 15th of each month
    mid = np.zeros(n, dtype=bool)
    after15 = day >= 15
    prev_after = np.concatenate([[False], after15[:-1]])
    prev_ym = np.concatenate([[-1], ym[:-1]])
    mid[after15 & ~(prev_after & (prev_ym == ym))] = True
    # last session of each month
    following = nyse_trading_days(int(dates[-1]) + 1, count=1)[0] if n else 0
    next_month = pd.Timestamp(np.datetime64(int(following), "D"))
    last_is_month_end = n > 0 and next_month.year * 12 + next_month.month != ym[-1]
    month_end = np.concatenate([ym[1:] != ym[:-1], [last_is_month_end]])
    mid[0] = month_end[0] = False
    div = np.zeros((n, len(specs)))
    interest = np.zeros((n, len(specs)))
    gain = np.zeros((n, len(specs)))
    for a, spec in enumerate(specs):
        if spec.dividend_yield and spec.dividend_months:
            on = mid & np.isin(month, spec.dividend_months)
            div[on, a] = spec.dividend_yield / len(spec.dividend_months)
        if spec.interest_yield:
            interest[month_end, a] = spec.interest_yield / 12.0
        if spec.capital_gain_yield:
            gain[mid & (month == 12), a] = spec.capital_gain_yield
    return div, interest, gain


# ---------------------------------------------------------------------------- RNG kernels
def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Marsaglia-Tsang (2000) 128-layer ziggurat tables for the standard normal."""
    kn = np.zeros(128, dtype=np.int64)
    wn = np.zeros(128)
    fn = np.zeros(128)
    m1 = 2147483648.0
    dn = tn = 3.442619855899
    vn = 9.91256303526217e-3
    q = vn / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * m1)
    kn[1] = 0
    wn[0] = q / m1
    wn[127] = dn / m1
    fn[0] = 1.0
    fn[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


_KN, _WN, _FN = _ziggurat_tables()
_ZIG_R = 3.442619855899


@numba.njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


# The RNG state travels as four uint64 scalars (no arrays: no reference counting in the
# hot loop); the ziggurat tables are read as compile-time constants.


@numba.njit
def _next_u64(s0, s1, s2, s3):
    """xoshiro256** (Blackman & Vigna): 64 random bits and the next state."""
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@numba.njit
def _splitmix(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


@numba.njit
def _seed_state(seed, path):
    """xoshiro state of stream ``(seed, path)``, expanded by splitmix64."""
    x, a = _splitmix(np.uint64(seed))
    x = a ^ (np.uint64(path) * np.uint64(0xD1B54A32D192ED03))
    x, s0 = _splitmix(x)
    x, s1 = _splitmix(x)
    x, s2 = _splitmix(x)
    x, s3 = _splitmix(x)
    return s0, s1, s2, s3


@numba.njit
def _uniform(s0, s1, s2, s3):
    """Uniform on (0, 1] and the next state."""
    u, s0, s1, s2, s3 = _next_u64(s0, s1, s2, s3)
    return ((u >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740992.0), s0, s1, s2, s3


@numba.njit
def _normal(s0, s1, s2, s3):
    """Standard normal (ziggurat; layer from the low 7 bits, value from the high 32)."""
    kn, wn, fn = _KN, _WN, _FN
    while True:
        u, s0, s1, s2, s3 = _next_u64(s0, s1, s2, s3)
        iz = np.int64(u & np.uint64(127))
        v = np.int64(u >> np.uint64(32))
        hz = v - 4294967296 if v >= 2147483648 else v
        if abs(hz) < kn[iz]:
            return hz * wn[iz], s0, s1, s2, s3
        if iz == 0:
            while True:
                u1, s0, s1, s2, s3 = _uniform(s0, s1, s2, s3)
                u2, s0, s1, s2, s3 = _uniform(s0, s1, s2, s3)
                x = -math.log(u1) / _ZIG_R
                y = -math.log(u2)
                if y + y >= x * x:
                    break
            return (_ZIG_R + x if hz > 0 else -_ZIG_R - x), s0, s1, s2, s3
        x = hz * wn[iz]
        u1, s0, s1, s2, s3 = _uniform(s0, s1, s2, s3)
        if fn[iz] + u1 * (fn[iz - 1] - fn[iz]) < math.exp(-0.5 * x * x):
            return x, s0, s1, s2, s3


@numba.njit
def _gamma(shape, s0, s1, s2, s3):
    """Gamma(shape, 1) for shape >= 1 (Marsaglia & Tsang 2000) and the next state."""
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x, s0, s1, s2, s3 = _normal(s0, s1, s2, s3)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u, s0, s1, s2, s3 = _uniform(s0, s1, s2, s3)
        if u < 1.0 - 0.0331 * x * x * x * x:
            return d * v, s0, s1, s2, s3
        if math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v, s0, s1, s2, s3


@numba.njit(cache=True)
def standard_normals(seed, path, n):
    """``n`` standard normals of stream ``(seed, path)`` (to test the generator)."""
    s0, s1, s2, s3 = _seed_state(seed, path)
    out = np.empty(n)
    for i in range(n):
        out[i], s0, s1, s2, s3 = _normal(s0, s1, s2, s3)
    return out


def _renamed_function(function, name: str):
    """A copy of ``function`` under another name (same code, globals and defaults)."""
    copy = types.FunctionType(function.__code__, function.__globals__, name,
                              function.__defaults__, function.__closure__)
    copy.__qualname__ = name
    copy.__module__ = function.__module__
    return copy


def _simulate(
    seed, first_path, drift, vol, a_m, a_s, a_i, sector_of, n_sectors,
    div_rate, int_rate, gain_rate, div_row, int_row, gain_row, initial, tail_df,
    close, dividend, interest, lt_gain,
):  # fmt: skip
    n_paths, n_dates, n_assets = close.shape
    pays = np.zeros(n_dates, dtype=np.bool_)
    for t in range(n_dates):
        for a in range(n_assets):
            if div_rate[t, a] + int_rate[t, a] + gain_rate[t, a] > 0.0:
                pays[t] = True
    for p in numba.prange(n_paths):
        s0, s1, s2, s3 = _seed_state(seed, first_path + p)
        zs = np.zeros(max(n_sectors, 1))
        prev = initial.copy()
        sigma = np.empty(n_assets)
        close[p, 0, :] = prev
        for t in range(1, n_dates):
            zm, s0, s1, s2, s3 = _normal(s0, s1, s2, s3)
            for k in range(n_sectors):
                zs[k], s0, s1, s2, s3 = _normal(s0, s1, s2, s3)
            scale = 1.0
            if tail_df > 0.0:
                w, s0, s1, s2, s3 = _gamma(0.5 * tail_df, s0, s1, s2, s3)
                scale = math.sqrt((tail_df - 2.0) / (2.0 * w))
            for a in range(n_assets):
                sigma[a] = vol[a] * scale
            row = close[p, t]
            for a in range(n_assets):
                zi, s0, s1, s2, s3 = _normal(s0, s1, s2, s3)
                x = a_m[a] * zm + a_i[a] * zi
                k = sector_of[a]
                if k >= 0:
                    x += a_s[a] * zs[k]
                row[a] = prev[a] * math.exp(drift[a] + sigma[a] * x)
            if pays[t]:
                for a in range(n_assets):
                    rate = div_rate[t, a] + int_rate[t, a] + gain_rate[t, a]
                    if rate > 0.0:
                        g = row[a] / prev[a]
                        shrink = 1.0
                        if rate > 0.5 * g:  # never pay out more than half the value in a day
                            shrink = 0.5 * g / rate
                        # compact outputs: one row per payment date of each kind
                        if div_rate[t, a] > 0.0:
                            dividend[p, div_row[t], a] = div_rate[t, a] * shrink * prev[a]
                        if int_rate[t, a] > 0.0:
                            interest[p, int_row[t], a] = int_rate[t, a] * shrink * prev[a]
                        if gain_rate[t, a] > 0.0:
                            lt_gain[p, gain_row[t], a] = gain_rate[t, a] * shrink * prev[a]
                        row[a] = prev[a] * (g - rate * shrink)
            for a in range(n_assets):
                prev[a] = row[a]


# The paths of a batch in parallel (each path has its own random stream, so the numbers do not
# depend on the threads); one path without the threading layer: OpenMP's workers spin for a
# while after each parallel region, which on a small machine takes a core from the sweep
# threads that build one path per group of scenarios.
# numba's on-disk cache keys a function by its qualified name and signature, not by its
# options: the serial kernel is compiled from a renamed copy, or it would load the parallel one
# (and start the threads) from the cache.
_simulate_paths = numba.njit(parallel=True, cache=True)(_simulate)
_simulate_one_path = numba.njit(cache=True)(
    _renamed_function(_simulate, "_simulate_one_path"))


# ---------------------------------------------------------------------------- results
PAYMENT_FIELDS = ("dividend", "interest", "lt_capital_gain")


@dataclass(frozen=True, eq=False)
class SyntheticMarkets:
    """Many simulated paths of one synthetic universe.

    ``close`` has shape ``(n_paths, n_dates, n_assets)`` (dollars per share, float64,
    C-contiguous, read-only). The distributions ``dividend``, ``interest`` and
    ``lt_capital_gain`` (dollars per share on the ex-date, 0 otherwise) are the same shape
    when read as attributes, built on first access and kept; they are stored compactly, one
    row per payment date (``payment_rows[name]`` indexes ``dates``; ``payments[name]`` has
    shape ``(n_paths, n_rows, n_assets)``), since they are non-zero on a few dates a year.
    There are no splits, short-term gains or returns of capital. ``path(i)`` gives one path
    as a validated :class:`~taxsim.market.Market`.
    """

    dates: np.ndarray
    specs: tuple[AssetSpec, ...]
    close: np.ndarray
    payment_rows: dict[str, np.ndarray]
    payments: dict[str, np.ndarray]
    seed: int
    first_path: int = 0
    tail_df: float | None = None
    source: str = field(default="")
    _dense: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(spec.ticker for spec in self.specs)

    @property
    def n_paths(self) -> int:
        return self.close.shape[0]

    @property
    def pandas_dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.dates.astype("datetime64[D]").astype("datetime64[ns]"))

    def dense(self, name: str, paths: slice | int = slice(None)) -> np.ndarray:
        """Distribution ``name`` as a dense (paths, dates, assets) array (a new array)."""
        compact = self.payments[name][paths]
        out = np.zeros(compact.shape[:-2] + self.close.shape[1:])
        out[..., self.payment_rows[name], :] = compact
        return out

    def _cached(self, name: str) -> np.ndarray:
        if name not in self._dense:
            array = self.dense(name)
            array.flags.writeable = False
            self._dense[name] = array
        return self._dense[name]

    @property
    def dividend(self) -> np.ndarray:
        """Cash dividends, dollars per share, shape (n_paths, n_dates, n_assets)."""
        return self._cached("dividend")

    @property
    def interest(self) -> np.ndarray:
        """Interest, dollars per share, shape (n_paths, n_dates, n_assets)."""
        return self._cached("interest")

    @property
    def lt_capital_gain(self) -> np.ndarray:
        """Long-term capital-gain distributions, dollars per share, (paths, dates, assets)."""
        return self._cached("lt_capital_gain")

    def total_return(self) -> np.ndarray:
        """Daily total returns (fraction), shape (n_paths, n_dates - 1, n_assets)."""
        grossed = self.close[:, 1:].copy()
        for name in PAYMENT_FIELDS:
            rows = self.payment_rows[name]
            grossed[:, rows - 1, :] += self.payments[name]
        return grossed / self.close[:, :-1] - 1.0

    def path(self, i: int) -> Market:
        """Path ``i`` (0-based within this batch) as a validated :class:`Market`."""
        if not -self.n_paths <= i < self.n_paths:
            raise IndexError(f"path {i} out of range for {self.n_paths} paths")
        i = i % self.n_paths
        return _market_from_specs(
            self.dates,
            self.specs,
            self.close[i],
            *(self.dense(name, i) for name in PAYMENT_FIELDS),
            f"{self.source}, path {self.first_path + i}",
        )


def _market_from_specs(dates, specs, close, dividend, interest, gain, source) -> Market:
    def character(spec):
        return spec.tax_character

    def qualified(spec):
        if spec.qualified_fraction is not None:
            return spec.qualified_fraction
        return DEFAULT_QUALIFIED_FRACTION.get(character(spec), 1.0)

    return Market(
        dates,
        tuple(s.ticker for s in specs),
        close,
        dividend=dividend,
        interest=interest,
        lt_capital_gain=gain,
        asset_class=tuple(
            s.asset_class or DEFAULT_ASSET_CLASS.get(character(s), "equity") for s in specs
        ),
        tax_character=tuple(character(s) for s in specs),
        qualified_fraction=[qualified(s) for s in specs],
        section_199a_fraction=[
            s.section_199a_fraction
            if s.section_199a_fraction is not None
            else default_section_199a_fraction(character(s), qualified(s))
            for s in specs
        ],
        collectibles_fraction=[s.collectibles_fraction for s in specs],
        unrecaptured_1250_fraction=[s.unrecaptured_1250_fraction for s in specs],
        identity_group=tuple(s.identity_group or s.ticker for s in specs),
        expense_ratio=[s.expense_ratio for s in specs],
        sector=tuple(s.sector for s in specs),
        source=source,
    )


def synthetic_dates(start: Any = "2006-01-03", years: float = 20.0) -> np.ndarray:
    """NYSE sessions from ``start`` for ``years`` calendar years (day numbers)."""
    first = to_day(start)
    end = pd.Timestamp(np.datetime64(first, "D")) + pd.DateOffset(
        years=int(years), days=round((years - int(years)) * 365.25)
    )
    return nyse_trading_days(first, end - pd.Timedelta(days=1))


@functools.lru_cache(maxsize=16)
def _dates_and_rates(first: int, years: float, specs: tuple[AssetSpec, ...]) -> tuple:
    """Sessions and payment yields of a universe (read-only arrays), shared by every path and
    batch that starts on ``first`` for ``years``: sweeps build a path per scenario group."""
    dates = synthetic_dates(first, years)
    arrays = (dates, *payment_rates(dates, specs))
    for array in arrays:
        array.flags.writeable = False
    return arrays


def generate(
    n_paths: int = 1,
    *,
    universe: Sequence[AssetSpec] | None = None,
    start: Any = "2006-01-03",
    years: float = 20.0,
    seed: int = 0,
    tail_df: float | None = None,
    first_path: int = 0,
) -> SyntheticMarkets:
    """Simulate ``n_paths`` paths of daily prices and distributions.

    Parameters
    ----------
    n_paths : int
        Number of paths.
    universe : sequence of AssetSpec, optional
        Assets (default :func:`default_universe` ()).
    start : date-like
        First date (the first NYSE session on or after it); closes equal ``initial_price``.
    years : float
        Calendar years covered.
    seed : int
        Non-negative seed; with ``first_path`` it fixes every number.
    tail_df : float, optional
        Student-t degrees of freedom (> 2) of the shared fat-tail scale; None: Gaussian.
    first_path : int
        Index of the first path: ``generate(1, first_path=i)`` is path ``i`` of any batch.

    Returns
    -------
    SyntheticMarkets
    """
    specs = tuple(default_universe() if universe is None else universe)
    if not specs:
        raise ValueError("empty universe")
    if len({s.ticker for s in specs}) != len(specs):
        raise ValueError("tickers of the universe must be distinct")
    if tail_df is not None and not tail_df > 2.0:
        raise ValueError("tail_df must exceed 2 (finite variance)")
    if seed < 0 or first_path < 0 or n_paths < 1:
        raise ValueError("seed and first_path must be >= 0, n_paths >= 1")
    try:
        dates, div_rate, int_rate, gain_rate = _dates_and_rates(to_day(start), float(years), specs)
    except TypeError:  # a spec with an unhashable field: built afresh
        dates = synthetic_dates(start, years)
        div_rate, int_rate, gain_rate = payment_rates(dates, specs)
    sectors = sorted({s.sector for s in specs if s.sector and s.sector_loading})
    sector_of = np.array(
        [sectors.index(s.sector) if s.sector in sectors else -1 for s in specs],
        dtype=np.int64,
    )
    vol = np.array([s.volatility for s in specs]) / math.sqrt(TRADING_DAYS)
    drift = np.array(
        [(math.log1p(s.expected_return) - 0.5 * s.volatility**2) / TRADING_DAYS for s in specs]
    )
    shape = (n_paths, len(dates), len(specs))
    close = np.empty(shape)
    rates = {"dividend": div_rate, "interest": int_rate, "lt_capital_gain": gain_rate}
    rows, row_of, payments = {}, {}, {}
    for name, rate in rates.items():
        rows[name] = np.nonzero((rate > 0).any(axis=1))[0]
        row_of[name] = np.full(len(dates), -1, dtype=np.int64)
        row_of[name][rows[name]] = np.arange(len(rows[name]))
        payments[name] = np.zeros((n_paths, len(rows[name]), len(specs)))
    (_simulate_one_path if n_paths == 1 else _simulate_paths)(
        np.uint64(seed),
        np.uint64(first_path),
        drift,
        vol,
        np.array([s.market_loading for s in specs]),
        np.array([s.sector_loading for s in specs]),
        np.array([s.idiosyncratic_loading for s in specs]),
        sector_of,
        len(sectors),
        div_rate,
        int_rate,
        gain_rate,
        row_of["dividend"],
        row_of["interest"],
        row_of["lt_capital_gain"],
        np.array([s.initial_price for s in specs]),
        0.0 if tail_df is None else float(tail_df),
        close,
        payments["dividend"],
        payments["interest"],
        payments["lt_capital_gain"],
    )
    for array in (close, *rows.values(), *payments.values()):
        array.flags.writeable = False
    tails = "Gaussian" if tail_df is None else f"Student-t tails (df {tail_df:g})"
    return SyntheticMarkets(
        dates=dates,
        specs=specs,
        close=close,
        payment_rows=rows,
        payments=payments,
        seed=seed,
        first_path=first_path,
        tail_df=tail_df,
        source=f"taxsim synthetic market (seed {seed}, {tails})",
    )


def synthetic_market(
    *,
    universe: Sequence[AssetSpec] | None = None,
    start: Any = "2006-01-03",
    years: float = 20.0,
    seed: int = 0,
    path: int = 0,
    tail_df: float | None = None,
) -> Market:
    """One synthetic path as a :class:`Market` (path ``path`` of seed ``seed``)."""
    return generate(
        1,
        universe=universe,
        start=start,
        years=years,
        seed=seed,
        tail_df=tail_df,
        first_path=path,
    ).path(0)
