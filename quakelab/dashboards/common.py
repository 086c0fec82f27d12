"""Shared pieces of the dashboards: loading state, figure outputs, where the reports and the live store are."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from quakelab.paths import live_dir, project_root, reports_dir  # noqa: F401 - used by the apps


def loading(message: str) -> w.VBox:
    """A container that shows a loading message until :func:`fill` replaces it."""
    return w.VBox([w.HTML(f"<div class='ql-loading' style='padding:2em;font-size:1.2em'>⏳ {message}</div>")])


def fill(container: w.VBox, build: Callable[[], w.Widget]) -> None:
    """Build the app and put it in place of the loading message (an error message if building fails)."""
    try:
        container.children = [build()]
    except Exception as e:  # shown to the user instead of a blank page
        container.children = [
            w.HTML(
                f"<div class='ql-error' style='color:#b00'>Could not build the dashboard: "
                f"{type(e).__name__}: {e}</div>"
            )
        ]
        raise


def figure_output(draw: Callable[[], object]) -> w.Output:
    """An Output widget showing the figure returned by ``draw()`` (a matplotlib Figure or Axes)."""
    out = w.Output()
    redraw(out, draw)
    return out


def redraw(out: w.Output, draw: Callable[[], object]) -> None:
    """Replace the figure in ``out`` by a new one from ``draw()``."""
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    with out:
        out.clear_output(wait=True)
        fig = draw()
        fig = getattr(fig, "figure", fig)
        buf = io.BytesIO()  # rendered here: independent of the kernel's matplotlib backend
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        display(Image(data=buf.getvalue(), format="png"))


def table_html(df, max_rows: int = 200) -> str:
    """A compact HTML table (first ``max_rows`` rows)."""
    shown = df.head(max_rows)
    more = (
        f"<div style='color:#666'>{len(df) - max_rows:,} more rows not shown</div>"
        if len(df) > max_rows
        else ""
    )
    return (
        "<div class='ql-table' style='max-height:420px;overflow:auto'>"
        + shown.to_html(index=False, border=0, float_format=lambda x: f"{x:.3f}")
        + "</div>"
        + more
    )
