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
