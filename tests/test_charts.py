"""taxsim.charts: every chart renders with its title, axis labels and assumptions footnote;
files are written as PNG, SVG and PDF; the factsheet is a one-page PDF."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from taxsim import charts
from taxsim.charts import ChartError, footnote_of
from taxsim.metrics import (
    conventions_of,
    drift,
    growth_frame,
    rolling_tracking_error,
    summarize,
    tax_alpha_by_year,
)
from tests.test_metrics import synthetic_run

RATES = "37% ordinary, 20% long-term, 20% qualified dividends, 3.8% NIIT, 0% state"


@pytest.fixture(scope="module")
def run():
    strategy, twin = synthetic_run(harvest=True), synthetic_run(harvest=False)
    return {
        "strategy": strategy,
        "twin": twin,
        "conventions": conventions_of(strategy),
        "growth": growth_frame(strategy.daily()),
        "by_year": tax_alpha_by_year(strategy.daily(), twin.daily()),
        "form_8949": pd.DataFrame({
            "sold": pd.to_datetime(["2021-03-01", "2021-08-02", "2022-02-01", "2023-06-01"]),
            "gain": [5_000.0, -8_000.0, 12_000.0, -20_000.0],
            "term": ["short", "short", "long", "long"],
        }),
    }


def texts_of(figure: Figure) -> dict:
    axes = figure.axes
    return {
        "titles": [ax.get_title(loc) for ax in axes for loc in ("left", "center")]
        + [figure.get_suptitle()],
        "xlabels": [ax.get_xlabel() for ax in axes],
        "ylabels": [ax.get_ylabel() for ax in axes],
        "footnote": footnote_of(figure),
    }


def check(figure: Figure, title: str, xlabel: str, ylabel: str) -> None:
    assert isinstance(figure, Figure)
    figure.canvas.draw()  # renders without error
    found = texts_of(figure)
    assert title in found["titles"]
    assert xlabel in found["xlabels"]
    assert ylabel in found["ylabels"]
    assert "Hypothetical" in found["footnote"]
    assert RATES in found["footnote"]
    for piece in ("Loss convention: offset", "Lot method: fifo",
                  "Period: 2021-01-04 .. 2023-12-29", "Data: seeded normal"):
        assert piece in found["footnote"]


def test_growth_of_wealth(run, tmp_path):
    paths = [tmp_path / "growth.png", tmp_path / "growth.svg", tmp_path / "growth.pdf"]
    figure = charts.growth_of_wealth(run["growth"], run["conventions"], path=paths)
    check(figure, charts.TITLES["growth"], "Date", "Wealth (dollars)")
    assert [len(line.get_xdata()) for line in figure.axes[0].lines] == [len(run["growth"])] * 3
    for path in paths:
        assert path.stat().st_size > 5_000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:500]
    assert paths[2].read_bytes()[:5] == b"%PDF-"
    assert "Hypothetical" in paths[1].read_text()  # text stays text in the SVG


def test_tax_alpha_by_year_chart(run):
    figure = charts.tax_alpha_by_year_chart(run["by_year"], run["conventions"])
    check(figure, charts.TITLES["tax_alpha"], "Year", "Tax alpha (% of wealth)")
    ax = figure.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    np.testing.assert_allclose(heights, run["by_year"]["tax_alpha"])
    assert "Baseline: the non-managed twin" in footnote_of(figure)


def test_realized_gains_and_harvested_losses(run):
    figure = charts.realized_gains_chart(run["form_8949"], run["conventions"])
    check(figure, charts.TITLES["realized"], "Year of sale", "Realized (dollars)")
    table = charts.realized_by_year(run["form_8949"])
    assert table.loc[2021].tolist() == [5_000.0, 0.0, -8_000.0, 0.0]
    assert table.loc[2023, "long_term_losses"] == -20_000.0

    figure = charts.harvested_losses_chart(run["form_8949"], run["conventions"])
    check(figure, charts.TITLES["harvested"], "Date of sale", "Losses realized (dollars)")
    line = figure.axes[0].lines[0]
    assert line.get_ydata()[0] == 0.0 and line.get_ydata()[-1] == 28_000.0
    assert "All realized losses" in footnote_of(figure)
    flagged = run["form_8949"].assign(harvest=[False, True, False, False])
    figure = charts.harvested_losses_chart(flagged, run["conventions"])
    assert figure.axes[0].lines[0].get_ydata()[-1] == 8_000.0
    assert "flagged as harvests" in footnote_of(figure)


def test_tax_cost_ratio_chart(run):
    ratios = {"buy and hold": 0.006, "calendar rebalance": 0.011, "harvesting": -0.003}
    figure = charts.tax_cost_ratio_chart(ratios, run["conventions"])
    check(figure, charts.TITLES["tax_cost_ratio"], "Tax cost ratio (% of assets a year)",
          "Strategy")
    widths = sorted(patch.get_width() for patch in figure.axes[0].patches)
    assert widths == pytest.approx(sorted(ratios.values()))
    labels = [t.get_text() for t in figure.axes[0].texts]
    assert "1.10%" in labels and "-0.30%" in labels


def test_drift_and_tracking_error_chart(run):
    index = run["growth"].index
    phase = np.arange(len(index)) / 40
    weights = pd.DataFrame({"A": 0.6 + 0.03 * np.sin(phase), "B": 0.4 - 0.03 * np.sin(phase)},
                           index=index)
    returns = run["strategy"].daily()["total_value"].pct_change().fillna(0.0)
    twin_returns = run["twin"].daily()["total_value"].pct_change().fillna(0.0)
    figure = charts.drift_tracking_chart(
        drift(weights, {"A": 0.6, "B": 0.4}), rolling_tracking_error(returns, twin_returns),
        run["conventions"], band=0.05)
    check(figure, charts.TITLES["drift"], "Date", "Weight deviation")
    assert figure.axes[1].get_ylabel() == "Tracking error (a year)"


def test_tax_alpha_distribution_chart(run):
    values = np.random.default_rng(0).normal(0.008, 0.004, 400)
    figure = charts.tax_alpha_distribution_chart(values, run["conventions"],
                                                 what="start dates")
    check(figure, "Distribution of tax alpha across start dates", "Tax alpha (% a year)",
          "Number of start dates")
    assert f"median {np.median(values) * 100:.2f}%" in " ".join(
        t.get_text() for t in figure.axes[0].texts)
    assert "400 start dates" in footnote_of(figure)


def test_factsheet_pdf_is_written(run, tmp_path):
    path = tmp_path / "factsheet.pdf"
    summary = summarize(run["strategy"], run["twin"])
    figure = charts.factsheet(path, summary, run["growth"], run["form_8949"],
                              run["conventions"], by_year=run["by_year"])
    data = path.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 20_000
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") + data.count(
        b"/Type /Page>") == 1  # one page
    assert tuple(figure.get_size_inches()) == (8.5, 11.0)
    assert len(figure.axes) == 6  # two tables, four charts
    footnote = footnote_of(figure)
    assert "Hypothetical" in footnote and RATES in footnote
    texts = " ".join(t.get_text() for t in figure.texts)
    assert "Not tax, legal or investment advice" in " ".join(texts.split())
    table_text = " ".join(t.get_text() for ax in figure.axes[:2] for t in ax.texts)
    assert f"{summary['tax_alpha_post_liquidation'] * 100:.2f}%" in table_text


def test_factsheet_from_a_result_and_charts_refuse_missing_rates(run, tmp_path):
    path = tmp_path / "from_result.pdf"
    charts.factsheet_from_result(run["strategy"], path, twin=run["twin"])
    assert path.stat().st_size > 20_000
    with pytest.raises(ChartError, match="tax_rates"):
        charts.growth_of_wealth(run["growth"], {"period": "2021 .. 2023"})
    with pytest.raises(ChartError, match=".png, .svg or .pdf"):
        charts.growth_of_wealth(run["growth"], run["conventions"], path=tmp_path / "x.jpg")
