"""``simulate``: a household, a market and a strategy in; a :class:`Result` out (pandas edges)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit

from taxsim.dates import to_datetime_index, to_day
from taxsim.engine import enums as sim
from taxsim.engine.kernel import simulate_days
from taxsim.ledger import enums as ledger_enums
from taxsim.ledger.facade import Ledger
from taxsim.ledger.household import Household, TaxProfile
from taxsim.market import Market


class SimulationError(ValueError):
    """A run that cannot proceed; the message names the day, account, asset or setting."""


@dataclass(frozen=True)
class Strategy:
    """A strategy: a decide function plus its parameters.

    ``decide(day_index, day, prices, holdings, cash, targets, state, params, orders) -> int``
    writes orders (rows of ``account, asset, signed shares, lot method``) into ``orders`` and
    returns how many it wrote; see ``strategies/README.md``. Compile it with ``numba.njit``
    for speed; a plain Python function runs through the kernel's pure-Python path.
    """

    name: str
    decide: Callable
    params: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lot_method: str = "fifo"
    max_orders: int = 256
    description: str = ""


_compiled_kernels: dict = {}


def _kernel_for(decide) -> Callable:
    """The day loop compiled for one decide function (or the plain loop for Python ones)."""
    if not hasattr(decide, "py_func"):
        return simulate_days
    if decide not in _compiled_kernels:
        _compiled_kernels[decide] = njit(simulate_days)
    return _compiled_kernels[decide]


def _target_schedule(targets, market: Market, household: Household):
    """(start indices, weights (rows, accounts, assets)) from a mapping or a dated mapping."""
    names = household.account_names
    first_value = next(iter(targets.values())) if targets else None
    dated = isinstance(first_value, Mapping) and all(
        isinstance(v, Mapping) for v in first_value.values()
    )
    schedule = dict(targets) if dated else {market.pandas_dates[0]: targets}
    starts, rows = [], []
    for date, by_account in sorted(schedule.items(), key=lambda item: pd.Timestamp(item[0])):
        weights = np.zeros((len(names), market.n_assets))
        for account, by_asset in by_account.items():
            if account not in names:
                raise SimulationError(f"targets: unknown account {account!r}; have {list(names)}")
            for ticker, weight in by_asset.items():
                if ticker not in market.tickers:
                    raise SimulationError(f"targets[{account!r}]: unknown asset {ticker!r}")
                if not (np.isfinite(weight) and weight >= 0):
                    raise SimulationError(
                        f"targets[{account!r}][{ticker!r}]: weight must be >= 0, got {weight}"
                    )
                weights[names.index(account), market.tickers.index(ticker)] = weight
            total = weights[names.index(account)].sum()
            if total > 1.0 + 1e-9:
                raise SimulationError(f"targets[{account!r}]: weights sum to {total:.6f} > 1")
        index = int(np.searchsorted(market.dates, to_day(date)))
        starts.append(min(index, market.n_dates - 1))
        rows.append(weights)
    return np.array(starts, np.int64), np.ascontiguousarray(np.stack(rows))


def simulate(
    market: Market,
    household: Household,
    strategy: Strategy,
    targets: Mapping,
    contributions: Mapping[str, float] | None = None,
    flows: pd.DataFrame | None = None,
    tax_profile: TaxProfile | None = None,
    loss_convention: str = "standalone",
    cost_bps: float = 0.0,
    cost_per_trade: float = 0.0,
    whole_shares: bool = False,
    advisory_fee_bps: float = 0.0,
    tax_payment: str = "portfolio",
    tax_account: str | None = None,
    taxes: bool = True,
) -> Result:
    """Run ``strategy`` for ``household`` over ``market``.

    Parameters
    ----------
    targets : mapping
        ``{account: {ticker: weight}}`` (fractions of the account's value), or a dated
        schedule ``{date: {account: {ticker: weight}}}`` (a glide path).
    contributions : mapping of account to dollars, optional
        Cash deposited on the first day and invested at the account's targets.
    flows : DataFrame with columns date, account, amount (dollars), optional
        Later contributions (positive) and withdrawals (negative), on trading days.
    tax_payment : {"portfolio", "outside"}
        Whether the annual tax is paid from the tax account's cash (selling if needed, by the
        strategy's lot method) or from outside the portfolio.
    taxes : bool
        False runs the pre-tax twin (no tax is ever charged).
    """
    names = household.account_names
    if tax_payment not in ("portfolio", "outside"):
        raise SimulationError(f"tax_payment must be 'portfolio' or 'outside', got {tax_payment!r}")
    taxable = [a.name for a in household.accounts if a.kind == "taxable"]
    tax_account = tax_account or (taxable[0] if taxable else names[0])
    if tax_account not in names:
        raise SimulationError(f"tax_account: unknown account {tax_account!r}")
    if strategy.lot_method not in ledger_enums.LOT_METHOD_CODES or strategy.lot_method in (
        "specific",
    ):
        raise SimulationError(f"strategy.lot_method {strategy.lot_method!r} cannot raise cash")
    ledger = Ledger(household, market.tickers, tax_profile, loss_convention)
    start_schedule, target_weights = _target_schedule(targets, market, household)

    flow_rows = []
    for account, amount in (contributions or {}).items():
        flow_rows.append((0, names.index(_known(account, names)), float(amount)))
    if flows is not None:
        for row in flows.itertuples(index=False):
            index = int(np.searchsorted(market.dates, to_day(row.date)))
            if index >= market.n_dates or market.dates[index] != to_day(row.date):
                raise SimulationError(f"flow on {pd.Timestamp(row.date).date()}: not a trading day")
            flow_rows.append((index, names.index(_known(row.account, names)), float(row.amount)))
    flow_rows.sort(key=lambda item: item[0])
    flow_index = np.array([r[0] for r in flow_rows], np.int64)
    flow_account = np.array([r[1] for r in flow_rows], np.int64)
    flow_amount = np.array([r[2] for r in flow_rows], np.float64)

    settings = np.zeros(sim.N_SETTINGS)
    settings[sim.SET_COST_BPS] = cost_bps
    settings[sim.SET_COST_PER_TRADE] = cost_per_trade
    settings[sim.SET_WHOLE_SHARES] = 1.0 if whole_shares else 0.0
    settings[sim.SET_ADVISORY_FEE_BPS] = advisory_fee_bps
    settings[sim.SET_TAX_PAYMENT] = (
        sim.PAY_FROM_PORTFOLIO if tax_payment == "portfolio" else sim.PAY_FROM_OUTSIDE
    )
    settings[sim.SET_TAX_ACCOUNT] = names.index(tax_account)
    settings[sim.SET_TAX_SELL_METHOD] = ledger_enums.LOT_METHOD_CODES[strategy.lot_method]
    settings[sim.SET_NO_TAX] = 0.0 if taxes else 1.0

    n_dates, n_assets = market.close.shape
    holdings = np.zeros((len(names), n_assets))
    orders = np.zeros((strategy.max_orders, sim.N_ORDER_FIELDS))
    totals = np.zeros(sim.N_TOTALS)
    account_values = np.zeros((n_dates, len(names)))
    account_cash = np.zeros((n_dates, len(names)))
    tax_paid = np.zeros(n_dates)
    market_gain = np.zeros(n_dates)
    trades = np.zeros(max(1024, 4 * len(names) * n_assets + strategy.max_orders), sim.trade_dtype)
    trade_count = np.zeros(1, np.int64)
    kernel = _kernel_for(strategy.decide)
    params = np.array(strategy.params, dtype=np.float64)  # a strategy may keep state in it
    qualified = np.ascontiguousarray(market.qualified_fraction, dtype=np.float64)
    # municipal bond interest is exempt from federal tax (IRC §103)
    interest_exempt = np.array([c == "municipal_bond" for c in market.tax_character], np.bool_)
    day_index = 0
    while day_index < n_dates:
        day_index, status, ledger_status = kernel(
            day_index, market.dates, market.close, market.dividend, market.st_capital_gain,
            market.lt_capital_gain, market.return_of_capital, market.interest,
            market.split_ratio, qualified, interest_exempt, ledger._state, holdings, start_schedule,
            target_weights, flow_index, flow_account, flow_amount, strategy.decide,
            params, orders, settings, totals, account_values, account_cash,
            tax_paid, market_gain, trades, trade_count,
        )
        if status == sim.SIM_NEED_ROOM:
            grown = np.zeros(2 * trades.shape[0], sim.trade_dtype)
            grown[: trades.shape[0]] = trades
            trades = grown
        elif status != sim.SIM_OK:
            date = market.pandas_dates[min(day_index, n_dates - 1)].date()
            detail = ledger_enums.STATUS_MESSAGES.get(int(ledger_status), "")
            what = "the ledger refused an order" if status == sim.SIM_LEDGER_ERROR else (
                "the strategy wrote an impossible order (selling more than held, a bad index, "
                "or a sale whose cost exceeds its proceeds)"
            )
            detail = f": {detail}" if detail else ""
            raise SimulationError(f"{strategy.name} on {date}: {what}{detail}")
    conventions = {
        "strategy": strategy.name,
        "lot_method": strategy.lot_method,
        "tax_profile": ledger.tax_profile.name,
        "loss_convention": loss_convention if taxes else "none (pre-tax)",
        "tax_payment": sim.TAX_PAYMENT_NAMES[int(settings[sim.SET_TAX_PAYMENT])]
        + f" ({tax_account})",
        "taxes": "charged" if taxes else "none (pre-tax twin)",
        "costs": f"{cost_bps:g} bps + ${cost_per_trade:g} per trade"
        + (", whole shares" if whole_shares else ""),
        "advisory_fee": f"{advisory_fee_bps:g} bps a year",
        "liquidation": "not liquidated (see liquidation columns)",
        "period": f"{market.pandas_dates[0].date()} .. {market.pandas_dates[-1].date()}",
        "data_source": market.source,
        "distributions": "ex-date stands in for pay date",
    }
    return Result(
        market=market, household=household, ledger=ledger, conventions=conventions,
        account_values=account_values, account_cash=account_cash, tax_paid=tax_paid,
        market_gain=market_gain, totals=totals.copy(), trades=trades[: trade_count[0]].copy(),
    )


def _known(account: str, names: tuple[str, ...]) -> str:
    if account not in names:
        raise SimulationError(f"unknown account {account!r}; the household has {list(names)}")
    return account


@dataclass
class Result:
    """What a run produced; pandas views and parquet output."""

    market: Market
    household: Household
    ledger: Ledger
    conventions: dict
    account_values: np.ndarray
    account_cash: np.ndarray
    tax_paid: np.ndarray
    market_gain: np.ndarray
    totals: np.ndarray
    trades: np.ndarray

    @property
    def tax_payable(self) -> float:
        """Tax of the last closed year not yet paid at the end of the run (dollars)."""
        return float(self.totals[sim.TOT_TAX_DUE_PENDING])

    def daily(self) -> pd.DataFrame:
        """Per day: market value and cash by account, total value, cumulative tax paid."""
        names = self.household.account_names
        frame = pd.DataFrame(index=self.market.pandas_dates)
        frame.index.name = "date"
        for i, name in enumerate(names):
            frame[f"value_{name}"] = self.account_values[:, i]
            frame[f"cash_{name}"] = self.account_cash[:, i]
        frame["total_value"] = self.account_values.sum(axis=1) + self.account_cash.sum(axis=1)
        frame["tax_paid_cumulative"] = self.tax_paid
        frame["market_gain"] = self.market_gain
        return frame

    def trades_frame(self) -> pd.DataFrame:
        """Every executed trade (signed shares, close price, cost in dollars, reason)."""
        trades = self.trades
        return pd.DataFrame(
            {
                "date": to_datetime_index(trades["day"]),
                "account": [self.household.account_names[i] for i in trades["account"]],
                "asset": [self.market.tickers[i] for i in trades["asset"]],
                "shares": trades["shares"],
                "price": trades["price"],
                "cost": trades["cost"],
                "lot_method": [ledger_enums.LOT_METHOD_NAMES[m] for m in trades["lot_method"]],
                "reason": [sim.REASON_NAMES[r] for r in trades["reason"]],
            }
        )

    def summary(self) -> dict:
        """Totals of the run (dollars) with its conventions."""
        end_value = float(self.account_values[-1].sum() + self.account_cash[-1].sum())
        return {
            "end_value": end_value,
            "contributions": float(self.totals[sim.TOT_CONTRIBUTIONS]),
            "withdrawals": float(self.totals[sim.TOT_WITHDRAWALS]),
            "tax_paid_from_portfolio": float(self.totals[sim.TOT_TAX_PAID]),
            "tax_paid_from_outside": float(self.totals[sim.TOT_TAX_OUTSIDE]),
            "tax_payable_at_end": self.tax_payable,
            "fees": float(self.totals[sim.TOT_FEES]),
            "costs": float(self.totals[sim.TOT_COSTS]),
            **{f"convention_{k}": v for k, v in self.conventions.items()},
        }

    def to_parquet(self, folder) -> Path:
        """Write daily values, trades, lots, Form 8949 rows, annual tax and conventions."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.daily().to_parquet(folder / "daily.parquet")
        self.trades_frame().to_parquet(folder / "trades.parquet")
        self.ledger.lots().to_parquet(folder / "lots.parquet")
        self.ledger.form_8949().to_parquet(folder / "form_8949.parquet")
        self.ledger.annual_tax().to_parquet(folder / "annual_tax.parquet")
        pd.DataFrame([self.conventions]).to_parquet(folder / "conventions.parquet")
        return folder
