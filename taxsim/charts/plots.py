"""The taxsim charts. Each takes plain pandas / numpy inputs (see ``taxsim.metrics`` for where
they come from) and the run's conventions, returns a Figure and saves it when given ``path``
(``.png``, ``.svg`` or ``.pdf``, or a list of them). Every chart carries the assumptions
footnote of :mod:`taxsim.charts.style`."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import offset_copy

from taxsim.charts.style import (
    ROLE,
    ChartError,
    dollar_formatter,
    format_percent,
    new_figure,
    percent_formatter,
    save,
    styled,
    year_ticks,
)
from taxsim.metrics.activity import cumulative_harvested_losses

PathLike = str | Path | Iterable[str | Path] | None

TITLES = {
    "growth": "Growth of wealth: pre-tax, after-tax and after liquidation",
    "tax_alpha": "Tax alpha by year and cumulative",
    "realized": "Realized gains and losses by year and character",
    "harvested": "Cumulative harvested losses",
    "tax_cost_ratio": "Tax cost ratio by strategy",
    "drift": "Drift from targets and tracking error",
    "distribution": "Distribution of tax alpha across paths",
}


# --------------------------------------------------------------------------- drawing on an Axes
def legend_below(ax: Axes, ncols: int = 3, offset: float = 0.5,
                 last: Sequence[str] = (), x_offset: float = 0.0) -> None:
    """The axes' legend centred under it, ``offset`` inches below its bottom edge (clear of
    the tick labels and the axis label), so it never covers data. Entries named in ``last``
    go last (in that order); ``x_offset`` (inches) moves the legend sideways."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    pairs = [pair for pair in zip(handles, labels, strict=True) if pair[1] not in last]
    pairs += [pair for name in last for pair in zip(handles, labels, strict=True)
              if pair[1] == name]
    handles, labels = [h for h, _ in pairs], [label for _, label in pairs]
    transform = offset_copy(ax.transAxes, fig=ax.figure, x=x_offset, y=-offset,
                            units="inches")
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              bbox_transform=transform, ncols=min(ncols, len(handles)), borderaxespad=0.0,
              handlelength=1.8, columnspacing=1.4)


def draw_growth(ax: Axes, growth: pd.DataFrame, title: str | None = TITLES["growth"],
                legend_offset: float = 0.5, legend_columns: int = 3) -> None:
    """Lines of ``pre_tax``, ``after_tax`` and ``liquidation_value`` (dollars) by date."""
    styles = (
        ("pre_tax", "Pre-tax", ROLE["pre_tax"], "-"),
        ("after_tax", "After tax (pre-liquidation)", ROLE["after_tax"], "-"),
        ("liquidation_value", "After tax, liquidated", ROLE["liquidation"], "--"),
    )
    drawn = 0
    for column, label, color, dash in styles:
        if column in growth.columns and growth[column].notna().any():
            ax.plot(growth.index, growth[column], color=color, linestyle=dash, label=label)
            drawn += 1
    if not drawn:
        raise ChartError("growth: needs pre_tax, after_tax or liquidation_value columns")
    ax.yaxis.set_major_formatter(dollar_formatter)
    ax.set_xlabel("Date")
    ax.set_ylabel("Wealth (dollars)")
    legend_below(ax, legend_columns, legend_offset)
    ax.margins(x=0.01)
    if title:
        ax.set_title(title)


def draw_tax_alpha_by_year(ax: Axes, by_year: pd.DataFrame,
                           title: str | None = TITLES["tax_alpha"],
                           legend_offset: float = 0.5, legend_columns: int = 3,
                           max_year_ticks: int = 12) -> None:
    """Bars of each year's tax alpha, lines of the cumulative (pre- and post-liquidation)."""
    if "tax_alpha" not in by_year.columns:
        raise ChartError("by_year: needs a 'tax_alpha' column (taxsim.metrics.tax_alpha_by_year)")
    years = np.asarray(by_year.index, dtype=int)
    values = by_year["tax_alpha"].to_numpy(np.float64)
    ax.bar(years, values, width=0.6, color=ROLE["alpha"], alpha=0.85,
           label="Tax alpha of the year")
    for column, label, color, dash in (
        ("cumulative_pre_liquidation", "Cumulative, pre-liquidation", ROLE["after_tax"], "-"),
        ("cumulative_post_liquidation", "Cumulative, post-liquidation", ROLE["pre_tax"], "--"),
    ):
        if column in by_year.columns:
            ax.plot(years, by_year[column], color=color, linestyle=dash, marker="o",
                    markersize=3.5, label=label)
    ax.axhline(0.0, color=ROLE["neutral"], linewidth=0.8)
    shown = by_year.reindex(columns=["tax_alpha", "cumulative_pre_liquidation",
                                     "cumulative_post_liquidation"]).to_numpy(np.float64)
    if not np.any(np.abs(shown[np.isfinite(shown)]) > 1e-7):
        ax.set_ylim(-0.01, 0.01)  # all zero: a +-1% axis, not matplotlib's +-5%
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_xlabel("Year")
    ax.set_ylabel("Tax alpha (% of wealth)")
    year_ticks(ax, years, max_year_ticks)
    legend_below(ax, legend_columns, legend_offset, last=("Tax alpha of the year",))
    ax.grid(axis="x", visible=False)
    if title:
        ax.set_title(title)


def realized_by_year(form_8949: pd.DataFrame) -> pd.DataFrame:
    """Realized gains and losses (dollars) by year of sale and term: columns
    ``short_term_gains``, ``long_term_gains`` (positive), ``short_term_losses``,
    ``long_term_losses`` (negative)."""
    for column in ("sold", "gain", "term"):
        if column not in form_8949.columns:
            raise ChartError(f"form_8949: needs a {column!r} column")
    years = pd.DatetimeIndex(form_8949["sold"]).year
    gain = form_8949["gain"].to_numpy(np.float64)
    long = (form_8949["term"] == "long").to_numpy()
    frame = pd.DataFrame({
        "short_term_gains": np.where(~long & (gain > 0), gain, 0.0),
        "long_term_gains": np.where(long & (gain > 0), gain, 0.0),
        "short_term_losses": np.where(~long & (gain < 0), gain, 0.0),
        "long_term_losses": np.where(long & (gain < 0), gain, 0.0),
    }).groupby(np.asarray(years)).sum()
    frame.index.name = "year"
    return frame


def _no_data(ax: Axes, message: str) -> None:
    """An empty panel: the message in the middle, no meaningless ticks."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes,
            color=ROLE["neutral"])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(visible=False)


def draw_realized(ax: Axes, form_8949: pd.DataFrame,
                  title: str | None = TITLES["realized"], legend_offset: float = 0.5,
                  legend_columns: int = 5, max_year_ticks: int = 12) -> None:
    """Stacked bars: gains above zero, losses below; short-term dark, long-term light."""
    table = realized_by_year(form_8949)
    if table.empty:
        _no_data(ax, "No realized gains or losses")
    else:
        years = table.index.to_numpy(int)
        ax.bar(years, table["short_term_gains"], 0.7, color=ROLE["gain"],
               label="Short-term gains")
        ax.bar(years, table["long_term_gains"], 0.7, bottom=table["short_term_gains"],
               color=ROLE["gain_long"], label="Long-term gains")
        ax.bar(years, table["short_term_losses"], 0.7, color=ROLE["loss"],
               label="Short-term losses")
        ax.bar(years, table["long_term_losses"], 0.7, bottom=table["short_term_losses"],
               color=ROLE["loss_long"], label="Long-term losses")
        net = table.sum(axis=1)
        ax.plot(years, net, linestyle="none", marker="D", markersize=4, color="black",
                markeredgecolor="white", markeredgewidth=0.6, label="Net")
        # explicit limits: a stacked bar's base is a "sticky" edge, which would otherwise
        # end the axis exactly at the top of the tallest stack (the bar looks clipped)
        high = float(max(0.0, (table["short_term_gains"] + table["long_term_gains"]).max(),
                         net.max()))
        low = float(min(0.0, (table["short_term_losses"] + table["long_term_losses"]).min(),
                        net.min()))
        pad = 0.07 * max(high - low, 1.0)
        ax.set_ylim(low - pad if low < 0 else 0.0, high + pad if high > 0 else pad)
        year_ticks(ax, years, max_year_ticks)
        legend_below(ax, legend_columns, legend_offset, last=("Net",))
        ax.yaxis.set_major_formatter(dollar_formatter)
    ax.axhline(0.0, color=ROLE["neutral"], linewidth=0.8)
    ax.set_xlabel("Year of sale")
    ax.set_ylabel("Realized (dollars)")
    ax.grid(axis="x", visible=False)
    if title:
        ax.set_title(title)


def period_of(conventions: Mapping[str, Any]) -> tuple[Any, Any]:
    """(start, end) Timestamps from ``conventions["period"]`` ("YYYY-MM-DD .. YYYY-MM-DD"), or
    (None, None)."""
    parts = str(conventions.get("period", "")).split(" .. ")
    try:
        return (pd.Timestamp(parts[0]), pd.Timestamp(parts[1])) if len(parts) == 2 else (
            None, None)
    except ValueError:
        return None, None


def draw_harvested(ax: Axes, form_8949: pd.DataFrame,
                   title: str | None = TITLES["harvested"], start: Any = None,
                   end: Any = None) -> None:
    """Step line of the running total of harvested (or all realized) losses, from 0 at
    ``start`` (default: the first sale) to ``end`` (default: the last sale)."""
    series = cumulative_harvested_losses(form_8949)
    if series.empty:
        _no_data(ax, "No losses realized")
    else:
        first = min(pd.Timestamp(start), series.index[0]) if start is not None else (
            series.index[0])
        last = max(pd.Timestamp(end), series.index[-1]) if end is not None else series.index[-1]
        dates = pd.DatetimeIndex([first, *series.index, last])
        values = np.concatenate([[0.0], series.to_numpy(), [series.iloc[-1]]])
        ax.step(dates, values, where="post", color=ROLE["loss"])
        ax.fill_between(dates, values, step="post", color=ROLE["loss"], alpha=0.15,
                        linewidth=0)
        ax.annotate(f"${series.iloc[-1]:,.0f}", (dates[-1], values[-1]), xytext=(-4, 6),
                    textcoords="offset points", ha="right", fontsize=8.5)
        ax.set_ylim(bottom=0, top=values.max() * 1.12)
        ax.margins(x=0.01)
        ax.yaxis.set_major_formatter(dollar_formatter)
    ax.set_xlabel("Date of sale")
    ax.set_ylabel("Losses realized (dollars)")
    if title:
        ax.set_title(title)


# --------------------------------------------------------------------------- the charts
def growth_of_wealth(growth: pd.DataFrame, conventions: Mapping[str, Any],
                     path: PathLike = None) -> Figure:
    """Growth of wealth: pre-tax, after-tax (pre-liquidation) and liquidation value.

    Parameters
    ----------
    growth : DataFrame
        ``taxsim.metrics.growth_frame(daily, pre_tax_daily)``: columns ``pre_tax``,
        ``after_tax``, ``liquidation_value`` (dollars) by date.
    conventions : mapping
        ``taxsim.metrics.conventions_of(result)`` (rates, loss convention, ...).
    path : str, Path or list of them, optional
        Where to save (.png / .svg / .pdf).
    """
    figure, ax = new_figure(conventions)
    with styled():
        draw_growth(ax, growth)
    save(figure, path)
    return figure


def tax_alpha_by_year_chart(by_year: pd.DataFrame, conventions: Mapping[str, Any],
                            path: PathLike = None) -> Figure:
    """Tax alpha of each year (bars) and cumulative (lines).

    ``by_year``: ``taxsim.metrics.tax_alpha_by_year(daily, twin_daily)``.
    """
    figure, ax = new_figure(conventions, extra_footnote="Baseline: the non-managed twin")
    with styled():
        draw_tax_alpha_by_year(ax, by_year)
    save(figure, path)
    return figure


def realized_gains_chart(form_8949: pd.DataFrame, conventions: Mapping[str, Any],
                         path: PathLike = None) -> Figure:
    """Realized gains and losses by year and character (short-/long-term).

    ``form_8949``: ``Ledger.form_8949()`` (taxable accounts; gains after wash-sale
    adjustments).
    """
    figure, ax = new_figure(conventions)
    with styled():
        draw_realized(ax, form_8949)
    save(figure, path)
    return figure


def harvested_losses_chart(form_8949: pd.DataFrame, conventions: Mapping[str, Any],
                           path: PathLike = None) -> Figure:
    """Cumulative harvested losses. Rows flagged by a ``harvest`` column count; without the
    column every realized loss counts (the footnote says which)."""
    which = ("Sales flagged as harvests" if "harvest" in form_8949.columns
             else "All realized losses (whatever the reason of the sale)")
    figure, ax = new_figure(conventions, extra_footnote=which)
    with styled():
        draw_harvested(ax, form_8949, start=period_of(conventions)[0],
                       end=period_of(conventions)[1])
        if "harvest" not in form_8949.columns:  # the title alone would overstate it
            ax.set_title("every realized loss counted", loc="right", fontsize=8.5,
                         fontweight="normal", color=ROLE["neutral"])
    save(figure, path)
    return figure


def _wrap_label(name: str, width: int = 30) -> str:
    return "\n".join(textwrap.wrap(str(name), width, break_long_words=False)) or str(name)


def fit_value_labels(ax: Axes, labels: Sequence[Any], margin: float = 4.0) -> None:
    """Widen the x limits of ``ax`` until every value label (``ax.text`` at a bar's end,
    ``ha`` "left" past a positive bar, "right" past a negative one) lies inside the axes,
    ``margin`` pixels clear of its edges. Draws the figure (layout included) to measure."""
    figure = ax.figure
    for _ in range(4):
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        box = ax.get_window_extent(renderer)
        low, high = ax.get_xlim()
        width = box.width
        new_low, new_high = low, high
        for label in labels:
            extent = label.get_window_extent(renderer).width + margin
            anchor = label.get_position()[0]
            if extent >= 0.9 * width:
                continue
            if label.get_ha() == "left":
                new_high = max(new_high, low + (anchor - low) * width / (width - extent))
            else:
                new_low = min(new_low, high - (high - anchor) * width / (width - extent))
        if (new_low, new_high) == (low, high):
            return
        ax.set_xlim(new_low, new_high)


def tax_cost_ratio_chart(ratios: Mapping[str, float] | pd.Series, conventions: Mapping[str, Any],
                         path: PathLike = None) -> Figure:
    """Tax cost ratio of several strategies (horizontal bars, lowest at the top).

    ``ratios``: strategy name -> tax cost ratio (fraction), e.g. each run's
    ``summarize(result)["tax_cost_ratio"]``. Long names wrap; the axis starts at zero unless
    a ratio is negative (a harvester's under the offset convention can be).
    """
    series = pd.Series(ratios, dtype=np.float64).sort_values(ascending=False)
    if series.empty:
        raise ChartError("ratios: no strategies")
    names = [_wrap_label(name) for name in series.index]
    lines = sum(name.count("\n") + 1 for name in names)
    height = min(11.0, 2.6 + 0.3 * len(series) + 0.14 * lines)
    figure, ax = new_figure(conventions, size=(8.0, height),
                            extra_footnote="Tax cost ratio (Morningstar) = 1 - (1 + after-tax "
                            "return) / (1 + pre-tax return)")
    with styled():
        values = series.to_numpy()
        positions = np.arange(len(series))
        colors = [ROLE["after_tax"] if v >= 0 else ROLE["alpha"] for v in values]
        ax.barh(positions, values, color=colors, height=0.6)
        ax.set_yticks(positions, names)
        low, high = min(0.0, float(values.min())), max(0.0, float(values.max()))
        span = max(high - low, 0.001)  # all zero: a 0.1% axis, not one of 1e-8 %
        labels = [
            ax.text(value + (0.012 * span if value >= 0 else -0.012 * span), y,
                    format_percent(value), va="center", ha="left" if value >= 0 else "right",
                    fontsize=8.5)
            for y, value in zip(positions, values, strict=True)
        ]
        ax.set_xlim(low - 0.05 * span if low < 0 else 0.0,
                    max(high + 0.05 * span, low + span) if (values >= 0).any() else 0.0)
        ax.set_ylim(-0.6, len(series) - 0.4)
        ax.axvline(0.0, color=ROLE["neutral"], linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(percent_formatter())
        ax.set_xlabel("Tax cost ratio (% of assets a year)")
        ax.set_ylabel("Strategy")
        ax.grid(axis="y", visible=False)
        ax.set_title(TITLES["tax_cost_ratio"])
        fit_value_labels(ax, labels)
    save(figure, path)
    return figure


def drift_tracking_chart(
    drift: pd.Series,
    tracking_error: pd.Series,
    conventions: Mapping[str, Any],
    band: float | None = None,
    path: PathLike = None,
) -> Figure:
    """Drift (largest weight deviation from target, top) and rolling tracking error (bottom).

    Parameters
    ----------
    drift : Series
        ``taxsim.metrics.drift(weights, targets)`` by date (fraction).
    tracking_error : Series
        ``taxsim.metrics.rolling_tracking_error(returns, twin_returns)`` by date (fraction).
    band : float, optional
        A rebalancing band to draw on the drift panel (fraction).
    """
    figure, (top, bottom) = new_figure(conventions, size=(8.0, 6.2), nrows=2, sharex=True)
    with styled():
        figure.suptitle(TITLES["drift"], x=0.02, ha="left", fontsize=11.5, fontweight="bold")
        top.plot(drift.index, drift.to_numpy(), color=ROLE["pre_tax"], linewidth=1.1)
        if band is not None:
            top.axhline(band, color=ROLE["loss"], linestyle="--", linewidth=1.2)
            top.annotate(f"band {format_percent(band, 1)}", (1.0, band),
                         xycoords=("axes fraction", "data"), xytext=(-2, 3),
                         textcoords="offset points", ha="right", va="bottom", fontsize=8,
                         color=ROLE["loss"])
        top.yaxis.set_major_formatter(percent_formatter())
        top.set_ylabel("Weight deviation")
        top.set_ylim(bottom=0, top=max(float(np.nanmax(drift.to_numpy())), band or 0.0) * 1.15
                     + 1e-9)
        top.set_title("Largest deviation of any asset from its target weight", fontsize=10,
                      fontweight="normal")
        bottom.plot(tracking_error.index, tracking_error.to_numpy(), color=ROLE["after_tax"],
                    linewidth=1.4)
        bottom.yaxis.set_major_formatter(percent_formatter())
        bottom.set_ylabel("Tracking error (a year)")
        bottom.set_xlabel("Date")
        bottom.set_ylim(bottom=0)
        bottom.set_title("Tracking error against the non-managed twin (rolling, annualized)",
                         fontsize=10, fontweight="normal")
    save(figure, path)
    return figure


def tax_alpha_distribution_chart(
    tax_alphas: Sequence[float] | np.ndarray | pd.Series,
    conventions: Mapping[str, Any],
    quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
    what: str = "paths",
    path: PathLike = None,
) -> Figure:
    """Histogram of tax alpha across paths or start dates, with quantile lines; bars below
    zero (the strategy behind its twin) in the loss colour, and under the plot the mean, the
    median and the share below zero.

    Parameters
    ----------
    tax_alphas : array or Series
        One annualized tax alpha (fraction) per path or start date.
    quantiles : sequence of float
        Quantiles to mark (dashed lines, labelled above the plot area).
    what : str
        What the observations are ("paths", "start dates"), for the labels.
    """
    values = np.asarray(tax_alphas, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ChartError("tax_alphas: no finite values")
    marks = np.quantile(values, quantiles)
    figure, ax = new_figure(
        conventions,
        extra_footnote=f"{values.size} {what}; quantiles "
        + ", ".join(f"{int(round(100 * q))}th {format_percent(m)}"
                    for q, m in zip(quantiles, marks, strict=True)),
    )
    with styled():
        bins = min(60, max(10, int(np.sqrt(values.size) * 2)))
        _, edges, patches = ax.hist(values, bins=bins, color=ROLE["alpha"], alpha=0.85,
                                    edgecolor="white", linewidth=0.5)
        for left, right, patch in zip(edges[:-1], edges[1:], patches, strict=True):
            if (left + right) / 2 < 0:
                patch.set_facecolor(ROLE["loss"])
        for q, m in zip(quantiles, marks, strict=True):
            ax.axvline(m, color=ROLE["neutral"] if q != 0.5 else "black",
                       linestyle="--" if q != 0.5 else "-", linewidth=1.0)
        top = ax.get_ylim()[1]
        ax.set_ylim(top=top * 1.18)
        for index, (q, m) in enumerate(zip(quantiles, marks, strict=True)):
            label = "median" if q == 0.5 else f"{int(round(100 * q))}th"
            ax.text(m, top * (1.02 + 0.075 * (index % 2)), label, ha="center", va="bottom",
                    fontsize=7.5, color=ROLE["neutral"],
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
        ax.xaxis.set_major_formatter(percent_formatter())
        ax.set_xlabel("Tax alpha (% a year)")
        ax.set_ylabel(f"Number of {what}")
        ax.set_title(TITLES["distribution"].replace("paths", what))
        below = float(np.mean(values < 0))
        summary = (f"mean {format_percent(values.mean())}   "
                   f"median {format_percent(float(np.median(values)))}   "
                   f"below zero: {format_percent(below, 0 if below in (0.0, 1.0) else 1)}"
                   f" of {what}")
        # under the x axis label, as the other charts' legends: never over the bars
        ax.text(0.5, 0.0, summary, ha="center", va="top", fontsize=8.5,
                transform=offset_copy(ax.transAxes, fig=figure, y=-0.5, units="inches"))
    save(figure, path)
    return figure
