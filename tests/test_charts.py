"""taxsim.charts: every chart renders with its title, axis labels and assumptions footnote;
files are written as PNG, SVG and PDF; the factsheet is a one-page PDF."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from taxsim import charts
from taxsim.charts import ChartError, footnote_of
from taxsim.charts.style import format_percent
from taxsim.metrics import (
    conventions_of,
    drift,
    growth_frame,
    rolling_tracking_error,
    summarize,
    tax_alpha_by_year,
)
from taxsim.metrics.summary import PRE_TAX_FROM_THIS_RUN, PRE_TAX_FROM_TWIN
from tests.test_metrics import synthetic_run

RATES = ("37% ordinary, 20% long-term, 20% qualified dividends, 3.8% NIIT, 0% state, "
         "20% §199A deduction on REIT dividends")


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
    for piece in ("Loss convention: offset (every loss assumed used at once against outside "
                  "gains)", "Lot method: fifo (first in, first out)",
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


# --------------------------------------------------------------------------- publication checks
# What a reviewer sees when opening the files: nothing cut off by the figure's edge, no tick
# labels running together, no legend over the data, no two texts on top of each other.


def _tick_labels(ax) -> list:
    """The tick labels drawn on ``ax`` (ticks inside the view limits, with text)."""
    shown = []
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        low, high = min(low, high), max(low, high)
        tolerance = 1e-9 * max(1.0, abs(high - low))
        for ticks in (axis.get_major_ticks(), axis.get_minor_ticks()):
            for tick in ticks:
                label = tick.label1
                if (tick.get_visible() and label.get_visible() and label.get_text()
                        and low - tolerance <= tick.get_loc() <= high + tolerance):
                    shown.append(label)
    return shown


def layout_problems(figure: Figure) -> list[str]:
    """Every text inside the figure, tick labels apart, legends clear of every axes' data
    area, and no two texts (titles, labels, footnote, value labels, legends) overlapping."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    page = figure.bbox
    problems = []
    tick_ids = {id(t) for ax in figure.axes for axis in (ax.xaxis, ax.yaxis)
                for ticks in (axis.get_major_ticks(), axis.get_minor_ticks())
                for tick in ticks for t in (tick.label1, tick.label2)}
    legend_ids = {id(t) for ax in figure.axes if ax.get_legend() is not None
                  for t in ax.get_legend().findobj(lambda a: True)}
    texts = [t for t in figure.findobj(lambda a: hasattr(a, "get_text")
                                       and hasattr(a, "get_window_extent"))
             if id(t) not in tick_ids and id(t) not in legend_ids and t.get_visible()
             and str(t.get_text()).strip()]

    def inside(name, box):
        if (box.x0 < page.x0 - 1 or box.x1 > page.x1 + 1 or box.y0 < page.y0 - 1
                or box.y1 > page.y1 + 1):
            problems.append(f"{name} leaves the figure: {box.bounds}")

    boxes = [(repr(t.get_text()[:40]), t.get_window_extent(renderer)) for t in texts]
    for ax in figure.axes:
        legend = ax.get_legend()
        if legend is not None:
            box = legend.get_window_extent(renderer)
            boxes.append((f"legend of {ax.get_title('left')!r}", box))
            for other in figure.axes:
                if other.axison and box.overlaps(other.bbox):
                    problems.append(f"legend of {ax.get_title('left')!r} over the data of "
                                    f"{other.get_title('left')!r}")
        for axis in ("x", "y"):
            labels = [t for t in _tick_labels(ax)
                      if (t in ax.get_xticklabels(which="both")) == (axis == "x")]
            extents = sorted((t.get_window_extent(renderer) for t in labels),
                             key=lambda b: b.x0 if axis == "x" else b.y0)
            # side by side, year labels need a visible gap (half the font size), not 3 px
            gap = (0.5 * max((t.get_fontsize() for t in labels), default=0.0) * figure.dpi
                   / 72.0 if axis == "x" else 0.0)
            for a, b in zip(extents, extents[1:], strict=False):
                if a.overlaps(b) or (axis == "x" and a.x1 + gap > b.x0):
                    problems.append(f"{axis} tick labels of {ax.get_title('left')!r} run "
                                    "together")
            for t, box in zip(labels, (t.get_window_extent(renderer) for t in labels),
                              strict=True):
                inside(f"tick label {t.get_text()!r}", box)
    for name, box in boxes:
        inside(name, box)
    for i, (name_a, a) in enumerate(boxes):
        for name_b, b in boxes[i + 1:]:
            if a.overlaps(b) and a.width > 0 and b.width > 0:
                problems.append(f"{name_a} overlaps {name_b}")
    return problems


def long_run_inputs():
    """21 years of hand-made chart inputs (2005-2025), as a real run over that span gives."""
    rng = np.random.default_rng(4)
    years = np.arange(2005, 2026)
    alpha = rng.normal(0.004, 0.004, len(years))
    by_year = pd.DataFrame({"tax_alpha": alpha,
                            "cumulative_pre_liquidation": np.cumsum(alpha),
                            "cumulative_post_liquidation": np.cumsum(alpha) * 0.6},
                           index=pd.Index(years, name="year"))
    sold = pd.to_datetime([f"{y}-{m:02d}-15" for y in years for m in (3, 9)])
    form_8949 = pd.DataFrame({"sold": sold,
                              "gain": rng.normal(5_000, 60_000, len(sold)),
                              "term": np.where(np.arange(len(sold)) % 3 == 0, "short", "long")})
    dates = pd.bdate_range("2005-01-03", "2025-12-31")
    wealth = 1e6 * np.exp(np.cumsum(rng.normal(0.0004, 0.011, len(dates))))
    growth = pd.DataFrame({"pre_tax": wealth, "after_tax": wealth * 0.97,
                           "liquidation_value": wealth * 0.9}, index=dates)
    return by_year, form_8949, growth


LONG_NAMES = {
    "Buy and hold": 0.006,
    "Calendar rebalancing (quarterly, FIFO lots)": 0.011,
    "Drift bands 5% absolute / 25% relative, cash-flow-only rebalancing": 0.004,
    "Loss harvesting (5% threshold, quarterly rebalancing, SPY/VTI swap)": -0.0011,
    "Tax-aware rebalancing (max gain 2%)": 0.003,
    "Direct indexing, 100 stocks, daily harvest checks": 0.0021,
    "Asset location (bonds in the IRA)": 0.0015,
    "Non-managed twin": 0.0092,
}


def publication_figures(run, tmp_path):
    by_year, form_8949, growth = long_run_inputs()
    conventions = dict(run["conventions"], period="2005-01-03 .. 2025-12-31")
    standalone = dict(conventions, loss_convention="standalone")
    index = run["growth"].index
    weights = pd.DataFrame({"A": 0.6 + 0.03 * np.sin(np.arange(len(index)) / 40)},
                           index=index).assign(B=lambda f: 1 - f["A"])
    returns = run["strategy"].daily()["total_value"].pct_change().fillna(0.0)
    twin_returns = run["twin"].daily()["total_value"].pct_change().fillna(0.0)
    summary = summarize(run["strategy"], run["twin"])
    rng = np.random.default_rng(1)
    return {
        "growth": charts.growth_of_wealth(growth, conventions),
        "tax alpha, 21 years": charts.tax_alpha_by_year_chart(by_year, conventions),
        "tax alpha, negative": charts.tax_alpha_by_year_chart(-by_year.iloc[:4], conventions),
        "realized, 21 years": charts.realized_gains_chart(form_8949, conventions),
        "realized, run": charts.realized_gains_chart(run["form_8949"], run["conventions"]),
        "harvested": charts.harvested_losses_chart(form_8949, conventions),
        "tax cost ratio, long names": charts.tax_cost_ratio_chart(LONG_NAMES, conventions),
        "tax cost ratio, negative": charts.tax_cost_ratio_chart(
            {"Harvester": -0.004, "Other harvester": -0.0012}, conventions),
        "drift": charts.drift_tracking_chart(
            drift(weights, {"A": 0.6, "B": 0.4}), rolling_tracking_error(returns, twin_returns),
            run["conventions"], band=0.05),
        "distribution": charts.tax_alpha_distribution_chart(
            rng.normal(-0.001, 0.004, 300), conventions, what="simulated paths"),
        "factsheet, 21 years": charts.factsheet(
            tmp_path / "long.pdf", summary, growth, form_8949, standalone, by_year=by_year),
        "factsheet, every convention": charts.factsheet(
            tmp_path / "conventions.pdf", summary, run["growth"], run["form_8949"],
            dict(standalone, sale_lot_methods="tax_optimal 412 sales, gains_first 37 sales "
                 "(gains with the least tax first, then the smallest losses), fifo 3 sales "
                 "(first in, first out)", identity_groups="household mapping; not applied "
                 "from the market's metadata: SPY/IVV ('sp500'), VTI/ITOT ('total_market') "
                 "(wash sales between them are not checked)", legacy_lots="12 lots held "
                 "before the run, worth $1,234,567.89 at the first day's close: part of the "
                 "initial investment, not a contribution"), by_year=run["by_year"]),
        "factsheet, long title": charts.factsheet(
            tmp_path / "title.pdf", summary, run["growth"], run["form_8949"],
            run["conventions"], by_year=run["by_year"],
            title="Drift bands 5% absolute / 25% relative with cash-flow-only rebalancing and "
            "loss harvesting between two S&P 500 funds: after-tax results, 2021-2023"),
    }


def test_nothing_is_clipped_overlapping_or_over_the_data(run, tmp_path):
    problems = {name: layout_problems(figure)
                for name, figure in publication_figures(run, tmp_path).items()}
    assert {name: found for name, found in problems.items() if found} == {}


def test_realized_axis_clears_the_tallest_stack(run):
    """A stacked bar's base is a sticky edge: without explicit limits the axis ended exactly
    at the top of the tallest gain stack, which looked cut off."""
    _, form_8949, _ = long_run_inputs()
    for frame in (form_8949, run["form_8949"]):
        ax = charts.realized_gains_chart(frame, run["conventions"]).axes[0]
        table = charts.realized_by_year(frame)
        top = (table["short_term_gains"] + table["long_term_gains"]).max()
        bottom = (table["short_term_losses"] + table["long_term_losses"]).min()
        low, high = ax.get_ylim()
        span = top - min(bottom, 0.0)
        assert high >= top + 0.05 * span and (bottom >= 0 or low <= bottom - 0.05 * span)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[-1] == "Net" and not any(p.get_hatch() for p in ax.patches)


def test_tax_cost_ratio_axis_starts_at_zero_and_labels_fit(run):
    figure = charts.tax_cost_ratio_chart({"a": 0.004, "b": 0.009}, run["conventions"])
    ax = figure.axes[0]
    assert ax.get_xlim()[0] == 0.0  # no empty negative half when every ratio is positive
    figure = charts.tax_cost_ratio_chart({"A": 0.0, "B": 0.0}, run["conventions"])
    ax = figure.axes[0]
    assert ax.get_xlim()[1] - ax.get_xlim()[0] >= 0.001 - 1e-12
    figure.canvas.draw()
    assert all(len(t.get_text().split(".")[-1]) <= 4 for t in _tick_labels(ax)
               if "%" in t.get_text())  # "0.05%", not "0.00001%"
    figure = charts.tax_cost_ratio_chart(LONG_NAMES, run["conventions"])
    ax = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    for text in ax.texts:  # every value label inside the plot area
        box = text.get_window_extent(renderer)
        assert ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1, text.get_text()
    assert max(len(line) for t in ax.get_yticklabels() for line in t.get_text().split("\n")) \
        <= 30


def test_percent_ticks_use_the_decimals_of_their_spacing(run):
    figure, ax = charts.new_figure(run["conventions"])
    formatter = charts.style.percent_formatter()
    ax.yaxis.set_major_formatter(formatter)
    for ticks, expected in (([0.0, 0.002, 0.004], ["0.0%", "0.2%", "0.4%"]),
                            ([0.0, 0.0025, 0.005], ["0.00%", "0.25%", "0.50%"]),
                            ([-0.01, 0.0, 0.01], ["-1%", "0%", "1%"]),
                            ([0.003, 0.0035, 0.004], ["0.30%", "0.35%", "0.40%"])):
        ax.set_yticks(ticks)
        ax.set_ylim(ticks[0], ticks[-1])
        assert [formatter(v) for v in ticks] == expected


def test_distribution_marks_tax_alpha_below_zero_under_the_plot(run):
    values = np.random.default_rng(3).normal(-0.001, 0.003, 200)
    figure = charts.tax_alpha_distribution_chart(values, run["conventions"])
    ax = figure.axes[0]
    colors = {(patch.get_x() + patch.get_width() / 2 < 0): patch.get_facecolor()[:3]
              for patch in ax.patches}
    assert colors[True] != colors[False]
    summary = next(t for t in ax.texts if "median" in t.get_text() and "mean" in t.get_text())
    assert f"below zero: {np.mean(values < 0) * 100:.1f}% of paths" in summary.get_text()
    figure.canvas.draw()
    box = summary.get_window_extent(figure.canvas.get_renderer())
    assert box.y1 < ax.bbox.y0  # under the axes: never over the bars


def test_empty_panels_show_a_message_and_no_meaningless_ticks(run, tmp_path):
    empty = pd.DataFrame({"sold": pd.to_datetime([]), "gain": [], "term": []})
    for chart in (charts.realized_gains_chart, charts.harvested_losses_chart):
        figure = chart(empty, run["conventions"])
        figure.canvas.draw()
        assert not _tick_labels(figure.axes[0]), chart.__name__
        assert any(t.get_text().startswith("No ") for t in figure.axes[0].texts)
    figure = charts.factsheet(tmp_path / "empty.pdf", summarize(run["strategy"], run["twin"]),
                              run["growth"], empty, run["conventions"], by_year=run["by_year"])
    figure.canvas.draw()
    assert not _tick_labels(figure.axes[4]) and not _tick_labels(figure.axes[5])


def test_factsheet_disclosures_follow_the_loss_convention(run, tmp_path):
    summary = summarize(run["strategy"], run["twin"])

    def disclosures_of(conventions):
        figure = charts.factsheet(tmp_path / "f.pdf", summary, run["growth"], run["form_8949"],
                                  conventions, by_year=run["by_year"])
        text = next(t for t in figure.texts if t.get_gid() == "disclosures").get_text()
        return " ".join(text.split())

    offset = disclosures_of(run["conventions"])
    assert "loss convention 'offset'" in offset and "in full" in offset
    standalone = disclosures_of(dict(run["conventions"], loss_convention="standalone"))
    assert "loss convention 'standalone'" in standalone and "$3,000" in standalone
    assert "in full" not in standalone  # the old text promised a full deduction to every run
    for text in (offset, standalone):
        assert "Hypothetical performance" in text and "Not tax, legal or investment advice" in text


def test_footnotes_are_written_for_readers(run):
    footnote = charts.footnote_text(run["conventions"])
    assert "liquidation_value" not in footnote
    figure = charts.harvested_losses_chart(run["form_8949"], run["conventions"])
    assert figure.axes[0].get_title("right") == "every realized loss counted"
    flagged = run["form_8949"].assign(harvest=[False, True, False, False])
    assert charts.harvested_losses_chart(flagged, run["conventions"]).axes[0].get_title(
        "right") == ""


def test_factsheet_legends_stay_within_the_page_margins(run, tmp_path):
    by_year, form_8949, growth = long_run_inputs()
    figure = charts.factsheet(tmp_path / "f.pdf", summarize(run["strategy"], run["twin"]),
                              growth, form_8949, run["conventions"], by_year=by_year)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    left, right = 0.6 * figure.dpi, (8.5 - 0.6) * figure.dpi  # the title's and tables' edges
    for ax in figure.axes:
        if ax.get_legend() is not None:
            box = ax.get_legend().get_window_extent(renderer)
            assert left - 1 <= box.x0 and box.x1 <= right + 1, ax.get_title("left")


def test_factsheet_shows_the_pre_tax_return_the_tax_cost_ratio_uses(run, tmp_path):
    """With a pre-tax twin, ``pre_tax_return`` is the twin's while the tax cost ratio uses
    this run's own pre-tax return: the table names and shows both, so that the ratio can be
    checked from the page; without a twin, one pre-tax row."""
    own = summarize(run["strategy"], run["twin"])
    assert own["pre_tax_source"] == PRE_TAX_FROM_THIS_RUN
    twin_sourced = dict(own, pre_tax_return=own["pre_tax_return_this_run"] + 0.0123,
                        pre_tax_source=PRE_TAX_FROM_TWIN)

    def table_of(summary):
        figure = charts.factsheet(tmp_path / "f.pdf", summary, run["growth"], run["form_8949"],
                                  run["conventions"], by_year=run["by_year"])
        assert not layout_problems(figure)
        texts = [t.get_text() for t in figure.axes[0].texts]
        return dict(zip(texts[1::2], texts[2::2], strict=True))

    alone = table_of(own)
    assert alone["Pre-tax return (a year)"] == format_percent(own["pre_tax_return"])
    assert not any("withdrawals" in label for label in alone)
    both = table_of(twin_sourced)
    assert both["Pre-tax return, run without taxes"] == format_percent(
        twin_sourced["pre_tax_return"])
    assert both["Pre-tax return, taxes as withdrawals"] == format_percent(
        own["pre_tax_return_this_run"])
    ratio = 1 - (1 + own["after_tax_return_pre_liquidation"]) / (
        1 + own["pre_tax_return_this_run"])
    assert own["tax_cost_ratio"] == pytest.approx(ratio, rel=1e-12)
    assert len(both) == len(alone) + 1
