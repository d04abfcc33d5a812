"""Draw the README's figure (notebooks/figures/tax_alpha.png) from the real ETF data:

    python notebooks/readme_figure.py

Loss harvesting between S&P 500 and total-market funds (SPY, IVV, VTI) with QQQ, 2000-2026,
tax paid from outside the portfolio, against its non-managed twin: growth of wealth and tax
alpha by year, with the conventions in the footnote.
"""

from pathlib import Path

from strategies import loss_harvest
from taxsim import Account, Household, load, metrics
from taxsim.charts.plots import draw_growth, draw_tax_alpha_by_year, legend_below
from taxsim.charts.style import new_figure, save, styled
from taxsim.engine import simulate


def main() -> Path:
    market = load(["SPY", "IVV", "VTI", "QQQ"], "2000-01-01", "2026-05-29", source="us_etfs")
    household = Household([Account("taxable", reinvest=False)])
    strategy = loss_harvest(market.tickers, [("SPY", "IVV", "VTI")], n_accounts=1,
                            threshold=0.05, rebalance="quarterly", swap_back=True)
    result = simulate(market, household, strategy, {"taxable": {"SPY": 0.7, "QQQ": 0.3}},
                      contributions={"taxable": 1_000_000.0}, cost_bps=1.0, twins=True,
                      tax_payment="outside")
    twin = result.twins["non_managed"]
    growth = metrics.growth_frame(result.daily(), result.twins["pre_tax"].daily(),
                                  result.tax_payable)
    by_year = metrics.tax_alpha_by_year(result.daily(), twin.daily(), result.tax_payable,
                                        twin.tax_payable)
    conventions = metrics.conventions_of(result)
    figure, (left, right) = new_figure(conventions, size=(11.0, 4.6), ncols=2)
    with styled():
        draw_growth(left, growth, title="Growth of $1M: loss harvesting, SPY/IVV/VTI + QQQ")
        draw_tax_alpha_by_year(right, by_year,
                               title="Tax alpha against the non-managed twin, by year")
        legend_below(left)
    out = Path(__file__).parent / "figures" / "tax_alpha.png"
    out.parent.mkdir(exist_ok=True)
    save(figure, out)
    return out


if __name__ == "__main__":
    print(main())
