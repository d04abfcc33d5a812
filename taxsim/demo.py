"""The offline demo: a household's tax ledger walked through real rules, printed as tables."""

from __future__ import annotations

from taxsim import Account, Household, Ledger, TaxProfile


def ledger_walkthrough() -> str:
    """Run a small, fully offline ledger story and return the printed report."""
    household = Household(
        [
            Account("joint_taxable", kind="taxable", owner="alex"),
            Account("sam_taxable", kind="taxable", owner="sam", reinvest=False),
            Account("alex_ira", kind="tax_deferred", owner="alex"),
        ],
        filing_status="married_joint",
        identity_groups={"SPY": "S&P 500", "IVV": "S&P 500"},
    )
    ledger = Ledger(household, ["SPY", "IVV", "VTI"], TaxProfile(), loss_convention="standalone")
    out: list[str] = []

    def say(text: str = "") -> None:
        out.append(text)

    say("taxsim demo: a household tax ledger, step by step (offline, hand-made prices)")
    say(f"{ledger!r}")
    say()
    ledger.buy("joint_taxable", "SPY", 100, 470.0, "2024-01-02")
    ledger.buy("joint_taxable", "VTI", 200, 235.0, "2024-01-02")
    ledger.buy("sam_taxable", "SPY", 20, 480.0, "2024-03-01")
    say("1. Harvest: sell 100 SPY at a loss on 2024-04-19 and buy IVV (same identity group)")
    ledger.sell("joint_taxable", "SPY", 100, 400.0, "2024-04-19", method="tax_optimal")
    ledger.buy("joint_taxable", "IVV", 90, 440.0, "2024-04-22")
    say("   IVV is substantially identical here, so the loss is a wash sale (IRC 1091):")
    say(ledger.form_8949().to_string(index=False))
    say()
    say("2. Distributions: SPY and IVV dividends (90% qualified), reinvested or kept as cash")
    ledger.distribute("SPY", "2024-06-21", price=545.0, dividend=1.76, qualified_fraction=0.9)
    ledger.distribute("IVV", "2024-06-21", price=547.0, dividend=1.80, qualified_fraction=0.9)
    say()
    say("3. A what-if before selling VTI by tax-optimal lots:")
    what_if = ledger.what_if_sell("joint_taxable", "VTI", 100, 260.0, "2024-12-16",
                                  method="tax_optimal")
    say(f"   realized gain ${what_if['realized_gain']:,.2f}, tax change "
        f"${what_if['tax_change']:,.2f} ({what_if['convention']} convention)")
    ledger.sell("joint_taxable", "VTI", 100, 260.0, "2024-12-16", method="tax_optimal")
    due = ledger.close_year(2024)
    say()
    say(f"4. Close 2024: tax due ${due:,.2f}")
    columns = ["year", "st_gain", "lt_gain", "qualified_dividends", "nonqualified_dividends",
               "wash_disallowed", "carryforward_st_out", "total_tax", "due"]
    say(ledger.annual_tax()[columns].to_string(index=False))
    say()
    say("5. Open lots (note the wash-sale adjustment and tacked holding start):")
    lots = ledger.lots()[["lot_id", "account", "asset", "shares", "basis", "acquired",
                          "holding_start", "wash_adjustment"]]
    say(lots.round({"shares": 4, "basis": 2, "wash_adjustment": 2}).to_string(index=False))
    say()
    prices = {"SPY": 590.0, "IVV": 592.0, "VTI": 290.0}
    liquidation = ledger.liquidation("2025-01-31", prices)
    holdings = sum(liquidation["market_value"].values())
    say(f"6. Liquidation on 2025-01-31: holdings ${holdings:,.2f}, liquidation tax "
        f"${liquidation['liquidation_tax']:,.2f}, after tax "
        f"${holdings - liquidation['liquidation_tax']:,.2f} (IRA valued pre-tax)")
    say()
    say("Conventions: tax profile " + ledger.tax_profile.name + "; loss convention "
        f"{ledger.loss_convention}; taxes not paid from the portfolio; FIFO unless stated; "
        "ex-date stands in for pay date. Hypothetical prices.")
    return "\n".join(out)


# ----------------------------------------------------------------------------- results folders
# A run folder (``taxsim run --out DIR``, ``taxsim demo``):
#   DIR/result/        Result.to_parquet (daily, trades, lots, form_8949, annual_tax,
#                      conventions, tax_rates)
#   DIR/twins/<name>/  the same for each twin (non_managed, pre_tax)
#   DIR/summary.json   taxsim.metrics.summarize of the run
#   DIR/config.json    the validated run configuration (when run from a config)
#   DIR/charts/        factsheet.png and single charts (``taxsim report DIR``)
# The rates of a folder read back come from its tax_rates.parquet (what the ledger used), else
# from config.json (folders written before tax_rates.parquet existed); with neither they are
# unknown, and every summary and chart of it says so (RATES_NOT_RECORDED) instead of assuming
# a default profile.

RATES_NOT_RECORDED = (
    "not recorded in this results folder (written before taxsim stored them in "
    "tax_rates.parquet); the run's rates are unknown"
)
"""``tax_rates`` of a folder read back without its rates (``StoredResult.rates_recorded``)."""


def write_run_folder(result, folder, config=None) -> dict:
    """Write a run (and its twins) as parquet, its summary as JSON; return the summary.

    Each ``Result.to_parquet`` folder keeps the run's conventions and tax rates, so the folder
    states them without ``config``; with it, ``config.json`` is written too."""
    import json
    from pathlib import Path

    from taxsim.metrics import summarize

    folder = Path(folder)
    result.to_parquet(folder / "result")
    for name, twin in (getattr(result, "twins", None) or {}).items():
        twin.to_parquet(folder / "twins" / name)
    summary = summarize(result)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    if config is not None:  # a profile with rates by year has no flat rates to record
        from taxsim.config import FLAT_ONLY_RATES

        (folder / "config.json").write_text(config.model_dump_json(
            indent=2, exclude={"tax": set(FLAT_ONLY_RATES)} if config.tax.profile != "flat"
            else None))
    return summary



def _read_config(text: str):
    """A run folder's config.json as a RunConfig; the flat rates that folders written before
    config.TaxConfig refused them carry beside a profile with rates by year (the defaults,
    dumped, never used) are dropped."""
    import json

    from taxsim.config import FLAT_ONLY_RATES, RunConfig

    data = json.loads(text)
    tax = data.get("tax") or {}
    if tax.get("profile", "flat") != "flat":
        for name in FLAT_ONLY_RATES:
            tax.pop(name, None)
    return RunConfig.model_validate(data)


class _StoredLedger:
    def __init__(self, folder, tax_profile, collectibles=()):
        self.folder = folder
        self.tax_profile = tax_profile
        self.collectibles = tuple(collectibles)  # conventions state their 28% rate

    def _read(self, name):
        import pandas as pd

        return pd.read_parquet(self.folder / f"{name}.parquet")

    def form_8949(self):
        return self._read("form_8949")

    def annual_tax(self):
        return self._read("annual_tax")

    def lots(self):
        return self._read("lots")


class StoredResult:
    """A run read back from a ``Result.to_parquet`` folder (what metrics and charts need).

    ``ledger.tax_profile``: the folder's ``tax_rates.parquet``, else ``tax_profile`` (rebuilt
    from a run folder's config.json), else None: the rates are unknown, ``rates_recorded`` is
    False and ``conventions["tax_rates"]`` says so (:data:`RATES_NOT_RECORDED`).
    """

    def __init__(self, folder, tax_profile=None, twins=None):
        from pathlib import Path

        import pandas as pd

        from taxsim.engine.run import (
            TAX_RATES_FILE,
            collectibles_from_frame,
            tax_profile_from_frame,
        )

        self.folder = Path(folder)
        if not (self.folder / "daily.parquet").exists():
            raise FileNotFoundError(f"{self.folder}: no daily.parquet (not a results folder)")
        self._daily = pd.read_parquet(self.folder / "daily.parquet")
        conventions = pd.read_parquet(self.folder / "conventions.parquet")
        self.conventions = {k: v for k, v in conventions.iloc[0].items()}
        if "last day only" in str(self.conventions.get("liquidation", "")):
            from taxsim.metrics.after_tax import END_ONLY_ATTR

            self._daily.attrs[END_ONLY_ATTR] = True
        collectibles = ()
        if (self.folder / TAX_RATES_FILE).exists():
            rates_frame = pd.read_parquet(self.folder / TAX_RATES_FILE)
            tax_profile = tax_profile_from_frame(rates_frame)
            collectibles = collectibles_from_frame(rates_frame)
        self.rates_recorded = tax_profile is not None
        if not self.rates_recorded:
            named = self.conventions.get("tax_profile")
            self.conventions["tax_rates"] = RATES_NOT_RECORDED + (
                f" (its tax profile was named {named!r})" if named else "")
        self.ledger = _StoredLedger(self.folder, tax_profile, collectibles)
        self.twins = dict(twins or {})
        self.tax_payable = 0.0

    def daily(self):
        return self._daily.copy()

    def trades_frame(self):
        import pandas as pd

        return pd.read_parquet(self.folder / "trades.parquet")


def load_run_folder(folder) -> StoredResult:
    """A run folder (``taxsim run``/``demo``) or a bare ``Result.to_parquet`` folder.

    Rates: each folder's ``tax_rates.parquet``; for older folders without it, a run folder's
    ``config.json``; else unknown (``StoredResult.rates_recorded`` False), never a default.
    """
    from pathlib import Path

    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{folder}: no such folder")
    tax_profile = None
    if (folder / "config.json").exists():
        from taxsim.config import build_tax_profile

        tax_profile = build_tax_profile(_read_config((folder / "config.json").read_text()).tax)
    main = folder / "result" if (folder / "result" / "daily.parquet").exists() else folder
    twins = {}
    twin_root = folder / "twins"
    if twin_root.is_dir():
        for path in sorted(twin_root.iterdir()):
            if (path / "daily.parquet").exists():
                twins[path.name] = StoredResult(path, tax_profile)
    return StoredResult(main, tax_profile, twins)


REPORT_FORMATS = (".png", ".svg")
"""Each single chart of :func:`write_report` in these formats (a raster preview and a vector
file for print); the factsheet is a one-page PDF plus a PNG preview."""


def write_report(folder, out=None, result=None) -> list:
    """Factsheet (``factsheet.pdf``, one US Letter page, and a ``factsheet.png`` preview) and
    single charts (each as PNG and SVG: growth of wealth, realized gains and losses, harvested
    losses and, with a non-managed twin, tax alpha by year) of a results folder; returns the
    files written.

    ``result``: the folder already read (:func:`load_run_folder`), else it is read here."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from taxsim.charts import (
        factsheet_from_result,
        growth_of_wealth,
        harvested_losses_chart,
        realized_gains_chart,
        tax_alpha_by_year_chart,
    )
    from taxsim.charts.style import save
    from taxsim.metrics import conventions_of, growth_frame, tax_alpha_by_year

    result = result if result is not None else load_run_folder(folder)
    out = Path(out) if out is not None else Path(folder) / "charts"
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "factsheet.pdf"]
    written += save(factsheet_from_result(result, written[0]), out / "factsheet.png")

    def saved(chart, name: str, *arguments) -> None:
        paths = [out / f"{name}{suffix}" for suffix in REPORT_FORMATS]
        chart(*arguments, paths)
        written.extend(paths)

    conventions = conventions_of(result)
    daily = result.daily()
    pre_tax = result.twins.get("pre_tax")
    growth = growth_frame(daily, pre_tax.daily() if pre_tax is not None else None, None)
    saved(growth_of_wealth, "growth", growth, conventions)
    form_8949 = result.ledger.form_8949()
    saved(realized_gains_chart, "realized_gains", form_8949, conventions)
    saved(harvested_losses_chart, "harvested_losses", form_8949, conventions)
    twin = result.twins.get("non_managed")
    if twin is not None:
        by_year = tax_alpha_by_year(daily, twin.daily())
        saved(tax_alpha_by_year_chart, "tax_alpha_by_year", by_year, conventions)
    plt.close("all")
    return written


def demo_config(years: float = 3.0, seed: int = 11):
    """The simulation of ``taxsim demo``: a two-account household on a synthetic market,
    tax-loss harvesting between two US equity funds, with twins (for tax alpha)."""
    from taxsim.config import config_from_dict

    return config_from_dict({
        "name": "demo: tax-loss harvesting on a synthetic market",
        "market": {"source": "synthetic", "seed": seed, "years": years, "start": "2007-01-03"},
        "household": {
            "filing_status": "married_joint",
            "identity_groups": {},
            "accounts": [
                {"name": "taxable", "kind": "taxable", "cash": 1_000_000},
                {"name": "ira", "kind": "tax_deferred", "cash": 300_000},
            ],
        },
        "targets": {
            "taxable": {"USTOTAL": 0.45, "INTL": 0.25, "MUNI": 0.30},
            "ira": {"BOND": 0.6, "REIT": 0.4},
        },
        "strategy": {"name": "loss_harvest", "params": {
            "substitutes": [["USTOTAL", "USLARGE"]], "threshold": 0.05,
            "rebalance": "quarterly"}},
        "tax": {"state": 0.05},
        "costs": {"cost_bps": 2.0},
        "run": {"twins": True},
    }, "demo")
