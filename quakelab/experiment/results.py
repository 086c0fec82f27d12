"""The results of an experiment: tidy tables, the moving-block bootstrap, plots, and the results folder.

Folder layout::

    OUTPUT/
      windows/00000/record.json        one finished window (fingerprint, score rows, timings)
      windows/00000/forecasts/*.dat    its forecasts (CSEP ASCII, pycsep's reader); *.catalogs.csv when asked
      models/<model>-<window>-<hash>.json   fitted models (quakelab model files), reused by later runs
      tables/<table>.parquet, .csv     one tidy table per test and the summaries (see Results.TABLES)
      plots/*.png                      test results per window, cumulative information gain, forecast map
      summary.json                     the ranking with intervals
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quakelab.experiment.config import ExperimentConfig


def _frame(records: list[dict[str, Any]], key: str) -> pd.DataFrame:
    rows = []
    for rec in records:
        for row in rec["rows"][key]:
            rows.append(
                {
                    "window": rec["index"],
                    "start": pd.Timestamp(rec["start"]),
                    "end": pd.Timestamp(rec["end"]),
                    **row,
                }
            )
    return pd.DataFrame(rows)


def assemble(
    cfg: ExperimentConfig, records: list[dict[str, Any]], fit_seconds: list[dict[str, Any]]
) -> dict[str, pd.DataFrame]:
    """The tidy tables of an experiment from its window records (in window order)."""
    from quakelab.experiment.scoring import block_bootstrap

    tables: dict[str, pd.DataFrame] = {}
    gridded = _frame(records, "gridded")
    for t in cfg.gridded_tests:
        tables[f"gridded_{t}"] = (
            gridded[gridded["test"] == t].reset_index(drop=True) if len(gridded) else gridded
        )
    cat = _frame(records, "catalog")
    for t in cfg.catalog_tests:
        if len(cat):
            tables[f"catalog_{t}"] = cat[cat["test"] == t].reset_index(drop=True)
    comp = _frame(records, "comparison")
    for t in cfg.comparison_tests:
        if len(comp):
            tables[f"{t}_test"] = comp[comp["test"] == t].reset_index(drop=True)

    ll = _frame(records, "likelihood")
    ref = cfg.reference_model
    ref_ll = ll[ll["model"] == ref].set_index("window")["log_likelihood"]
    ll["information_gain"] = ll["log_likelihood"].to_numpy() - ref_ll.reindex(ll["window"]).to_numpy()
    ll = ll.sort_values(["model", "window"], kind="mergesort")
    ll["cumulative_log_likelihood"] = ll.groupby("model", sort=False)["log_likelihood"].cumsum()
    ll["cumulative_information_gain"] = ll.groupby("model", sort=False)["information_gain"].cumsum()
    ll = ll.sort_values(["window", "model"], kind="mergesort").reset_index(drop=True)
    ll["reference"] = ref
    tables["likelihood"] = ll

    # moving-block bootstrap over windows of the per-window information gain and log-likelihood
    names = [m.name for m in cfg.models]
    wide_ig = ll.pivot(index="window", columns="model", values="information_gain")[names]
    wide_ll = ll.pivot(index="window", columns="model", values="log_likelihood")[names]
    n_events = float(ll[ll["model"] == ref]["n_observed"].sum())
    block = cfg.effective_block_length()
    seed = np.random.SeedSequence(cfg.seed, spawn_key=(2**31,))  # a child no window uses
    rows = []
    for stat, wide in (("information_gain", wide_ig), ("log_likelihood", wide_ll)):
        b = block_bootstrap(
            wide.to_numpy(), block_length=block, resamples=cfg.resamples, confidence=cfg.confidence, seed=seed
        )
        for k, name in enumerate(names):
            r = b.iloc[k]
            rows.append(
                {
                    "model": name,
                    "reference": ref if stat == "information_gain" else "",
                    "statistic": stat,
                    "total": r["total"],
                    "total_low": r["total_low"],
                    "total_high": r["total_high"],
                    "per_window": r["mean"],
                    "per_window_low": r["mean_low"],
                    "per_window_high": r["mean_high"],
                    "per_event": r["total"] / n_events if n_events else np.nan,
                    "per_event_low": r["total_low"] / n_events if n_events else np.nan,
                    "per_event_high": r["total_high"] / n_events if n_events else np.nan,
                    "n_windows": len(wide),
                    "n_events": int(n_events),
                    "block_length": block,
                    "resamples": cfg.resamples,
                    "confidence": cfg.confidence,
                }
            )
    tables["bootstrap"] = pd.DataFrame(rows)

    # pass rates per model and test (gridded and catalog-based)
    rates = []
    for kind, frame in (("gridded", gridded), ("catalog", cat)):
        if not len(frame):
            continue
        for (model, test), g in frame.groupby(["model", "test"], sort=False):
            ok = g["passed"].dropna().astype(bool)
            rates.append(
                {
                    "kind": kind,
                    "model": model,
                    "test": test,
                    "n_windows": len(g),
                    "n_scored": len(ok),
                    "pass_rate": float(ok.mean()) if len(ok) else np.nan,
                    "expected_pass_rate": 1 - cfg.alpha,
                }
            )
    tables["pass_rates"] = pd.DataFrame(rates)

    tim = []
    for rec in records:
        for row in rec["timings"]:
            tim.append({"window": rec["index"], **row})
    for row in fit_seconds:
        tim.append(
            {"window": row["anchor"], "model": row["model"], "stage": "fit", "seconds": row["seconds"]}
        )
    tables["timings"] = pd.DataFrame(tim, columns=["window", "model", "stage", "seconds"])
    return tables


class Results:
    """An experiment's results: tidy DataFrames (``results.tables[name]`` or attributes), plots, the folder.

    Attributes
    ----------
    path : pathlib.Path
        Results folder.
    config : ExperimentConfig
        The definition that made them.
    tables : dict of str -> pandas.DataFrame
        ``gridded_N`` … ``gridded_CL``, ``catalog_N`` … ``catalog_PL`` (simulation-based models), ``T_test``,
        ``W_test`` (every ordered pair of models), ``likelihood`` (per window and model: log-likelihood,
        information gain over the reference, cumulative sums), ``bootstrap`` (totals with moving-block bootstrap
        intervals), ``pass_rates``, ``timings`` (seconds per window, model and stage; not part of the numbers
        compared between runs).
    reused, computed : list of int
        Windows taken from an earlier run and windows computed now.
    """

    def __init__(
        self,
        path: Path,
        config: ExperimentConfig,
        tables: dict[str, pd.DataFrame],
        *,
        reused: list[int] | None = None,
        computed: list[int] | None = None,
    ) -> None:
        self.path = Path(path)
        self.config = config
        self.tables = tables
        self.reused = list(reused or [])
        self.computed = list(computed or [])

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        return (
            f"Results({self.config.name!r}, {len(self.config.windows)} windows, models "
            f"{[m.name for m in self.config.models]}, at {str(self.path)!r})"
        )

    # ------------------------------------------------------------------ summaries
    def summary(self) -> pd.DataFrame:
        """Ranking: total information gain over the reference with its interval, pass rates per test.

        Returns
        -------
        pandas.DataFrame
            One row per model, best first.
        """
        b = self.tables["bootstrap"]
        ig = b[b["statistic"] == "information_gain"].set_index("model")
        out = ig[
            ["reference", "total", "total_low", "total_high", "per_event", "per_event_low", "per_event_high"]
        ].rename(columns=lambda c: c.replace("total", "information_gain") if c.startswith("total") else c)
        rates = self.tables.get("pass_rates")
        if rates is not None and len(rates):
            wide = rates.assign(col=rates["kind"].str[0] + "_" + rates["test"] + "_pass").pivot(
                index="model", columns="col", values="pass_rate"
            )
            out = out.join(wide)
        return out.sort_values("information_gain", ascending=False)

    def forecast(self, model: str, window: int):
        """The written forecast of ``model`` in ``window`` (CSEP ASCII, read back with quakelab's reader)."""
        from quakelab.experiment.runner import _slug
        from quakelab.forecast.io import read_ascii

        s, e = self.config.windows[window]
        path = self.path / "windows" / f"{window:05d}" / "forecasts" / f"{_slug(model)}.dat"
        if not path.exists():
            raise FileNotFoundError(
                f"{path}: forecasts of window {window} were not written (see write_forecasts)"
            )
        g = self.config.grid
        return read_ascii(path, start=s, end=e, region=g.region, name=model)

    # ------------------------------------------------------------------ files
    def write(self, *, plots: bool = True) -> Path:
        """Write the tables (Parquet and CSV), ``summary.json`` and (``plots=True``) the plots, each atomically."""
        from quakelab.catalog.store import atomic_path, write_text_atomic

        tdir = self.path / "tables"
        tdir.mkdir(parents=True, exist_ok=True)
        for name, df in self.tables.items():
            final, tmp = atomic_path(tdir / f"{name}.parquet")
            try:
                _parquet_safe(df).to_parquet(tmp, index=False)
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            write_text_atomic(tdir / f"{name}.csv", df.to_csv(index=False))
        summary = self.summary().reset_index()
        write_text_atomic(
            self.path / "summary.json",
            json.dumps(
                {
                    "experiment": self.config.name,
                    "n_windows": len(self.config.windows),
                    "reference": self.config.reference_model,
                    "block_length": self.config.effective_block_length(),
                    "ranking": json.loads(summary.to_json(orient="records")),
                },
                indent=1,
            ),
        )
        if plots:
            self.write_plots()
        return self.path

    def write_plots(self) -> list[Path]:
        """The standard plots as PNG files under ``plots/``."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from quakelab.catalog.store import atomic_path

        pdir = self.path / "plots"
        pdir.mkdir(parents=True, exist_ok=True)
        out = []
        for name, draw in (
            ("tests_per_window", self.plot_tests),
            ("cumulative_information_gain", self.plot_information_gain),
            ("forecast_map", self.plot_forecast_map),
        ):
            fig = draw().figure if name != "forecast_map" else draw()[0].figure
            final, tmp = atomic_path(pdir / f"{name}.png")
            try:
                fig.savefig(tmp, format="png", dpi=80)
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
                plt.close(fig)
            out.append(final)
        return out

    # ------------------------------------------------------------------ plots
    def plot_tests(self, ax: Any = None) -> Any:
        """Quantile scores of the gridded tests per window (one marker per model; failures filled).

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        tests = list(self.config.gridded_tests)
        if ax is None:
            _, ax = plt.subplots(figsize=(9, 1.4 + 0.9 * max(1, len(tests))))
        names = [m.name for m in self.config.models]
        n_models = len(names)
        for ti, t in enumerate(tests):
            df = self.tables.get(f"gridded_{t}")
            if df is None or not len(df):
                continue
            for k, name in enumerate(names):
                d = df[df["model"] == name]
                y = ti + (k - (n_models - 1) / 2) * 0.8 / max(n_models, 1)
                q = np.where(t == "N", np.minimum(d["quantile"], d["quantile_2"]), d["quantile"])
                ok = d["passed"].astype("boolean").fillna(True).to_numpy(dtype=bool)
                color = f"C{k}"
                ax.scatter(
                    d["window"][ok],
                    np.full(ok.sum(), y),
                    s=12,
                    marker="o",
                    facecolors="none",
                    edgecolors=color,
                )
                ax.scatter(
                    d["window"][~ok],
                    np.full((~ok).sum(), y),
                    s=16,
                    marker="o",
                    color=color,
                    label=name if ti == 0 else None,
                )
                del q
        ax.set_yticks(range(len(tests)), [f"{t}-test" for t in tests])
        ax.set_xlabel("window")
        ax.set_title(f"Gridded tests per window (filled: rejected at alpha={self.config.alpha})")
        handles = [plt.Line2D([], [], marker="o", ls="", color=f"C{k}", label=n) for k, n in enumerate(names)]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        return ax

    def plot_information_gain(self, ax: Any = None) -> Any:
        """Cumulative information gain over the reference model, per model, with the bootstrap interval of the total.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        ll = self.tables["likelihood"]
        b = self.tables["bootstrap"]
        b = b[b["statistic"] == "information_gain"].set_index("model")
        for k, m in enumerate(self.config.models):
            d = ll[ll["model"] == m.name]
            ax.plot(d["end"], d["cumulative_information_gain"], color=f"C{k}", label=m.name)
            if len(d):
                ax.errorbar(
                    d["end"].iloc[-1],
                    b.loc[m.name, "total"],
                    yerr=[
                        [b.loc[m.name, "total"] - b.loc[m.name, "total_low"]],
                        [b.loc[m.name, "total_high"] - b.loc[m.name, "total"]],
                    ],
                    color=f"C{k}",
                    capsize=3,
                )
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_ylabel(f"cumulative information gain over {self.config.reference_model} (nats)")
        ax.set_title(
            f"Cumulative information gain ({self.config.confidence:.0%} block-bootstrap interval at the end)"
        )
        ax.legend(fontsize="small")
        return ax

    def plot_forecast_map(self, window: int | None = None, axes: Any = None) -> Any:
        """Each model's forecast (log10 expected count per cell) beside the events observed in ``window``.

        ``window`` defaults to the last window whose forecasts were written (see ``write_forecasts``).

        Returns
        -------
        array of matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        from quakelab.catalog import open_catalog

        if window is None:  # the last window whose forecasts were written
            written = [
                i
                for i in range(len(self.config.windows))
                if (self.path / "windows" / f"{i:05d}" / "forecasts").is_dir()
            ]
            window = written[-1] if written else len(self.config.windows) - 1
        window = int(window)
        names = [m.name for m in self.config.models]
        if axes is None:
            _, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), squeeze=False)
            axes = axes[0]
        g = self.config.grid
        s, e = self.config.windows[window]
        observed = None
        try:
            cat = self.__dict__.get("_catalog")
            if cat is None and isinstance(self.config.catalog, str | dict):
                cat = open_catalog(self.config.catalog)
            if cat is not None:
                observed = cat[(cat["time"] >= s) & (cat["time"] < e)]
                idx = g.bin_index(observed["longitude"], observed["latitude"], observed["magnitude"])
                observed = observed[idx[:, 0] >= 0]
        except Exception:  # noqa: BLE001 - the map is drawn without the events
            observed = None
        for ax, name in zip(axes, names, strict=False):
            try:
                fc = self.forecast(name, window)
            except FileNotFoundError:
                ax.set_axis_off()
                continue
            rate = fc["expected_count"].sum("magnitude")
            with np.errstate(divide="ignore"):
                im = ax.pcolormesh(g.lon_edges, g.lat_edges, np.log10(rate.where(rate > 0)), shading="flat")
            if observed is not None and len(observed):
                ax.scatter(
                    observed["longitude"], observed["latitude"], s=6, c="w", edgecolors="k", linewidths=0.5
                )
            ax.set_title(f"{name}", fontsize="small")
            ax.set_aspect("equal")
            plt.colorbar(im, ax=ax, shrink=0.7, label="log10 expected count")
        axes[0].figure.suptitle(f"Window {window}: {s:%Y-%m-%d} .. {e:%Y-%m-%d}", fontsize="small")
        return axes

    # ------------------------------------------------------------------ reading back
    @classmethod
    def load(cls, path: str | os.PathLike, experiment: Any = None) -> Results:
        """Read a results folder's tables (Parquet) back; ``experiment`` is its definition (for plots)."""
        from quakelab.experiment.config import load_experiment

        p = Path(path)
        tables = {f.stem: pd.read_parquet(f) for f in sorted((p / "tables").glob("*.parquet"))}
        cfg = (
            load_experiment(experiment)
            if experiment is not None and not isinstance(experiment, ExperimentConfig)
            else experiment
        )
        return cls(p, cfg, tables)


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            vals = out[c].dropna()
            if len(vals) and all(isinstance(v, bool | np.bool_) for v in vals):
                out[c] = out[c].astype("boolean")
    return out
