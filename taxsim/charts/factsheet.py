"""A one-page PDF factsheet: summary table, four charts, assumptions and disclosures."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import offset_copy

from taxsim.charts.plots import (
    draw_growth,
    draw_harvested,
    draw_realized,
    draw_tax_alpha_by_year,
)
from taxsim.charts.style import (
    FOOTNOTE_SIZE,
    ROLE,
    TEXT_COLOR,
    ChartError,
    footnote_text,
    format_dollars,
    format_percent,
    save,
    styled,
)
from taxsim.metrics.summary import PRE_TAX_FROM_TWIN

PAGE = (8.5, 11.0)  # US Letter, inches
LEGEND_OFFSET = 0.3  # inches from a panel's bottom edge to its legend

DISCLOSURES = (
    "Hypothetical performance. These results come from a simulation (taxsim) that replays "
    "market data day by day through the strategy with a US tax-lot ledger; they do not "
    "reflect actual trading or any client account, and were prepared with the benefit of "
    "hindsight. Past or simulated performance does not guarantee future results. Taxes are "
    "computed at the marginal rates stated (federal, net investment income tax and state, as "
    "shown), the same for every year of the period; {losses} Actual taxes depend on each "
    "investor's situation. After-tax returns are modelled on SEC Form N-1A Item "
    "26(b)(2)-(3): pre-liquidation values are net of taxes on distributions and realized "
    "gains; post-liquidation values also assume every taxable lot sold on the last day. The "
    "pre-tax return is that of the same strategy run without taxes (where the run has its "
    "twins); the tax cost ratio compares the after-tax return with the run's own return "
    "before its investor's taxes (taxes paid treated as withdrawals), shown in the table. Tax "
    "alpha is the annualized after-tax return minus that of the non-managed twin (same "
    "targets, flows, costs and taxes, FIFO, no loss harvesting or tax awareness). Not tax, "
    "legal or investment advice."
)
"""The factsheet's disclosures; ``{losses}`` is the sentence of the run's loss convention
(:data:`LOSS_DISCLOSURES`)."""

LOSS_DISCLOSURES = {
    "offset": "losses are assumed to offset other gains of the same character in full, so "
    "that a realized loss is worth its tax rate at once (the loss convention 'offset', as in "
    "SEC Form N-1A), so after-tax returns can exceed pre-tax ones and taxes paid can be "
    "negative (the losses' value); an investor without such gains would benefit less or later.",
    "standalone": "losses offset only the household's own gains, then up to $3,000 of "
    "ordinary income a year, the rest carried forward (the loss convention 'standalone').",
}
UNKNOWN_LOSS_DISCLOSURE = "losses follow the loss convention stated in the assumptions."


def disclosures(conventions: Mapping[str, Any]) -> str:
    """The disclosures of a factsheet, with the sentence of the run's loss convention (a
    household that deducts its losses in full is said so only when the run assumed it)."""
    convention = str(conventions.get("loss_convention", "")).strip()
    text = DISCLOSURES.format(losses=LOSS_DISCLOSURES.get(convention,
                                                          UNKNOWN_LOSS_DISCLOSURE))
    if "rates by year" in str(conventions.get("tax_rates", "")):
        text = text.replace(", the same for every year of the period;", " for each year;")
    return text

RETURN_ROWS = (
    ("pre_tax_return", "Pre-tax return (a year)", "percent"),
    ("pre_tax_return_this_run", "Pre-tax return, taxes as withdrawals", "percent"),
    ("after_tax_return_pre_liquidation", "After-tax return, pre-liquidation", "percent"),
    ("after_tax_return_post_liquidation", "After-tax return, post-liquidation", "percent"),
    ("tax_cost_ratio", "Tax cost ratio", "percent"),
    ("tax_alpha_pre_liquidation", "Tax alpha, pre-liquidation", "percent"),
    ("tax_alpha_post_liquidation", "Tax alpha, post-liquidation", "percent"),
    ("tracking_error", "Tracking error vs the twin", "percent"),
)
WEALTH_ROWS = (
    ("end_value", "Value at the end", "dollars"),
    ("liquidation_value", "Liquidation value at the end", "dollars"),
    ("deferred_tax_liability", "Deferred tax liability", "dollars"),
    ("taxes_paid", "Taxes paid", "dollars"),
    ("harvested_losses", "Realized losses", "dollars"),
    ("harvest_yield_mean", "Harvest yield (mean of years)", "percent"),
    ("turnover_mean", "Turnover (mean of years)", "percent"),
)


NOTES_TOP = 2.05  # inches from the page's bottom: the assumptions start here ...
NOTES_BOTTOM = 0.35  # ... and the disclosures below them end above this
NOTES_GAP = 0.08  # inches between the two blocks


def _lines_height(n_lines: int, size: float) -> float:
    """Inches that ``n_lines`` of ``size``-point text take at a line spacing of 1.3."""
    return n_lines * size * 1.3 / 72.0


def _notes_fitted(note: str, disclosure: str, width_inches: float,
                  room_inches: float) -> tuple[float, list[str], list[str]]:
    """The font size (points) and wrapped lines of the assumptions and the disclosures, the
    disclosures half a point smaller, so that both fit ``room_inches`` stacked: every
    convention a run states is printed, a long list in smaller type (down to 5 points)."""
    size = FOOTNOTE_SIZE
    while True:
        characters = int(width_inches * 72.0 / (size * 0.53))
        note_lines = textwrap.wrap(note, characters)
        disclosure_lines = textwrap.wrap(disclosure, int(characters * 1.07))
        height = (_lines_height(len(note_lines), size) + NOTES_GAP
                  + _lines_height(len(disclosure_lines), size - 0.5))
        if height <= room_inches or size <= 5.0:
            return size, note_lines, disclosure_lines
        size -= 0.25


def return_rows(summary: Mapping[str, Any]) -> tuple:
    """The returns table's rows for ``summary``.

    With a pre-tax twin, ``pre_tax_return`` is the twin's (the strategy run without taxes),
    while the tax cost ratio compares the after-tax return with this run's own return before
    its investor's taxes (``pre_tax_return_this_run``, taxes paid treated as withdrawals): both
    are shown, named, so that a reader can check the ratio from the table. Without a twin the
    two are one figure, shown once.
    """
    twin_source = summary.get("pre_tax_source") == PRE_TAX_FROM_TWIN
    rows = []
    for key, label, kind in RETURN_ROWS:
        if key == "pre_tax_return" and twin_source:
            label = "Pre-tax return, run without taxes"
        if key == "pre_tax_return_this_run" and not twin_source:
            continue
        rows.append((key, label, kind))
    return tuple(rows)


def _format(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return format_percent(float(value)) if kind == "percent" else format_dollars(float(value))


def _draw_table(ax, heading: str, rows: tuple, summary: Mapping[str, Any]) -> None:
    ax.set_axis_off()
    shown = [(label, _format(summary.get(key), kind)) for key, label, kind in rows
             if key in summary]
    ax.text(0.0, 1.0, heading, transform=ax.transAxes, fontsize=10, fontweight="bold",
            va="top", color=TEXT_COLOR)
    step = 0.86 / max(len(shown), 1)
    for index, (label, value) in enumerate(shown):
        y = 0.86 - index * step
        if index % 2 == 0:
            ax.axhspan(y - 0.62 * step, y + 0.38 * step, color="#F2F2F2", zorder=0)
        ax.text(0.02, y, label, transform=ax.transAxes, fontsize=8.6, va="center",
                color=TEXT_COLOR)
        ax.text(0.98, y, value, transform=ax.transAxes, fontsize=8.6, va="center",
                ha="right", color=TEXT_COLOR, fontweight="bold")
    ax.set_ylim(0, 1)
    ax.set_xlim(0, 1)


def factsheet(
    path: str | Path,
    summary: Mapping[str, Any],
    growth: pd.DataFrame,
    form_8949: pd.DataFrame,
    conventions: Mapping[str, Any],
    by_year: pd.DataFrame | None = None,
    title: str = "Tax-managed strategy: hypothetical results",
) -> Figure:
    """Write a one-page PDF (US Letter) factsheet and return its Figure.

    Parameters
    ----------
    path : str or Path
        The PDF to write (a .png or .svg also works, for previews).
    summary : mapping
        ``taxsim.metrics.summarize(result)``.
    growth : DataFrame
        ``taxsim.metrics.growth_frame(daily, pre_tax_daily)``.
    form_8949 : DataFrame
        ``result.ledger.form_8949()``.
    conventions : mapping
        ``taxsim.metrics.conventions_of(result)``.
    by_year : DataFrame, optional
        ``taxsim.metrics.tax_alpha_by_year(daily, twin_daily)``; without it the tax alpha
        panel says that a twin is needed.
    title : str
        The page title.
    """
    footnote = footnote_text(conventions)
    width, height = PAGE

    def rect(left: float, bottom: float, w: float, h: float) -> tuple:
        """Inches from the page's bottom-left corner as figure fractions."""
        return (left / width, bottom / height, w / width, h / height)

    with styled():
        figure = Figure(figsize=PAGE)
        FigureCanvasAgg(figure)
        figure.text(1 - 0.6 / width, 1 - 0.32 / height, "HYPOTHETICAL", fontsize=8.5,
                    fontweight="bold", va="top", ha="right", color=ROLE["loss"])
        heading = figure.text(0.6 / width, 1 - 0.5 / height, title, va="top",
                              color=TEXT_COLOR, fontsize=15, fontweight="bold")
        title_lines = _fit_title(heading, width - 1.2)
        strategy = conventions.get("strategy")
        subtitle = " | ".join(
            str(part) for part in (
                strategy if strategy and str(strategy).lower() not in title.lower() else None,
                conventions.get("period") or f"{summary.get('start')} .. {summary.get('end')}",
                f"data: {conventions.get('data_source')}" if conventions.get("data_source")
                else None,
                f"baseline: {summary['twin_strategy']}" if summary.get("twin_strategy")
                else None,
            ) if part
        )
        figure.text(0.6 / width, 1 - (0.82 if title_lines == 1 else 0.98) / height,
                    "\n".join(textwrap.wrap(subtitle, 118, max_lines=3 - title_lines,
                                             placeholder=" ...")),
                    fontsize=8.8, va="top", color=ROLE["neutral"], linespacing=1.25)

        _draw_table(figure.add_axes(rect(0.6, 7.85, 3.45, 1.9)), "Returns (annualized)",
                    return_rows(summary), summary)
        _draw_table(figure.add_axes(rect(4.45, 7.85, 3.45, 1.9)), "Wealth, taxes, trading",
                    WEALTH_ROWS, summary)

        # two rows of charts: 1.85 in axes, with room above for the title and below for the
        # tick labels and a two-row legend
        panels = [figure.add_axes(rect(left, bottom, 3.05, 1.85))
                  for bottom in (5.65, 2.83) for left in (0.95, 4.85)]
        draw_growth(panels[0], growth, title="Growth of wealth", legend_offset=LEGEND_OFFSET,
                    legend_columns=2)
        if by_year is not None and len(by_year):
            draw_tax_alpha_by_year(panels[1], by_year, title="Tax alpha by year",
                                   legend_offset=LEGEND_OFFSET, legend_columns=2,
                                   max_year_ticks=6)
        else:
            panels[1].set_axis_off()
            panels[1].set_title("Tax alpha by year")
            panels[1].text(0.5, 0.5, "Needs the non-managed twin\n(simulate(..., twins=True))",
                           ha="center", va="center", color=ROLE["neutral"],
                           transform=panels[1].transAxes)
        draw_realized(panels[2], form_8949, title="Realized gains and losses by year",
                      legend_offset=LEGEND_OFFSET, legend_columns=3, max_year_ticks=6)
        draw_harvested(panels[3], form_8949,
                       title="Cumulative harvested losses" if "harvest" in form_8949.columns
                       else "Cumulative realized losses",
                       start=growth.index[0], end=growth.index[-1])
        for ax in panels:
            ax.title.set_fontsize(10)
            ax.set_xlabel("")
            ax.yaxis.label.set_fontsize(8.5)
            ax.tick_params(labelsize=7.5)
            legend = ax.get_legend()
            if legend is not None:
                for text in legend.get_texts():
                    text.set_fontsize(7.2)
        for ax in (panels[0], panels[3]):
            if ax.lines:  # an empty panel ("No losses realized") keeps no ticks
                ax.xaxis.set_major_locator(_year_locator())

        size, note_lines, disclosure_lines = _notes_fitted(
            "Assumptions. " + footnote, disclosures(conventions), width - 1.2,
            NOTES_TOP - NOTES_BOTTOM)
        note = figure.text(0.6 / width, NOTES_TOP / height, "\n".join(note_lines),
                           fontsize=size, va="top", color="#444444", linespacing=1.3)
        note.set_gid("footnote")
        below = NOTES_TOP - _lines_height(len(note_lines), size) - NOTES_GAP
        figure.text(0.6 / width, below / height, "\n".join(disclosure_lines),
                    fontsize=size - 0.5, va="top", color="#555555",
                    linespacing=1.3).set_gid("disclosures")
        _legends_within(figure, panels, 0.6, width - 0.6)
    if Path(path).suffix.lower() not in (".pdf", ".png", ".svg"):
        raise ChartError(f"path {path}: use .pdf (or .png / .svg for a preview)")
    save(figure, path)
    return figure


def _fit_title(text, inches: float) -> int:
    """Fit the page title into ``inches`` of width: shrink it from 15 to 11 points; if that is
    not enough, break it into two lines (12 points, down to 9.5) and, past that, end the
    second line with an ellipsis. Returns the number of lines (1 or 2)."""
    figure = text.figure
    renderer = figure.canvas.get_renderer()

    def wide() -> bool:
        return text.get_window_extent(renderer).width / figure.dpi > inches

    while wide() and text.get_fontsize() > 11:
        text.set_fontsize(text.get_fontsize() - 0.5)
    if not wide():
        return 1
    title = text.get_text()
    text.set_linespacing(1.15)
    for size in (12.0, 11.0, 10.0, 9.5):
        text.set_fontsize(size)
        characters = int(inches * 72.0 / (size * 0.6))
        while True:  # the widest line decides: fewer characters a line until it fits
            text.set_text("\n".join(textwrap.wrap(title, characters, max_lines=2,
                                                  placeholder=" \N{HORIZONTAL ELLIPSIS}")))
            if not wide() or characters <= 40:
                break
            characters -= 3
        if not wide():
            break
    return 2


def _legends_within(figure, panels, left: float, right: float) -> None:
    """Move each panel's legend sideways so that it lies between ``left`` and ``right``
    inches (the page margins): a centred legend wider than its panel would overhang."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for ax in panels:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        x0, x1 = box.x0 / figure.dpi, box.x1 / figure.dpi
        shift = (right - x1) if x1 > right else (left - x0) if x0 < left else 0.0
        if shift:  # as legend_below placed it, moved by ``shift`` inches
            legend.set_bbox_to_anchor((0.5, 0.0), transform=offset_copy(
                ax.transAxes, fig=figure, x=shift, y=-LEGEND_OFFSET, units="inches"))


def _year_locator():
    from matplotlib.dates import AutoDateLocator

    return AutoDateLocator(minticks=3, maxticks=6)


def factsheet_from_result(result: Any, path: str | Path, twin: Any = None,
                          title: str | None = None) -> Figure:
    """:func:`factsheet` of a run: computes the summary, growth and tax alpha by year.

    ``twin`` defaults to ``result.twins["non_managed"]`` (absent: no tax alpha panel).
    """
    from taxsim.metrics import conventions_of, growth_frame, summarize, tax_alpha_by_year

    daily = result.daily()
    twins = getattr(result, "twins", None) or {}
    twin = twin if twin is not None else twins.get("non_managed")
    payable = None if "accrued_tax" in daily.columns else float(getattr(result, "tax_payable",
                                                                        0.0))
    pre_tax = twins.get("pre_tax")
    growth = growth_frame(daily, pre_tax.daily() if pre_tax is not None else None, payable)
    by_year = None
    if twin is not None:
        twin_daily = twin.daily()
        twin_payable = None if "accrued_tax" in twin_daily.columns else float(
            getattr(twin, "tax_payable", 0.0))
        by_year = tax_alpha_by_year(daily, twin_daily, payable, twin_payable)
    conventions = conventions_of(result)
    return factsheet(
        path, summarize(result, twin), growth, result.ledger.form_8949(), conventions,
        by_year=by_year,
        title=title or f"{str(conventions.get('strategy', 'strategy')).capitalize()}: "
        "after-tax results",
    )
