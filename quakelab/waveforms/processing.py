"""Declarative processing chains whose steps are recorded on every trace."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from quakelab.waveforms.io import WaveformError

#: Steps a chain may use, each an ObsPy Trace/Stream method of the same name (plus ``remove_response``
#: and ``rotate``, which need metadata).
ALLOWED_STEPS = (
    "detrend",
    "taper",
    "filter",
    "decimate",
    "resample",
    "interpolate",
    "trim",
    "remove_response",
    "rotate",
    "normalize",
    "differentiate",
    "integrate",
)


@dataclass
class ProcessingChain:
    """An ordered list of ObsPy processing steps, applied to a copy and recorded in ``stats``.

    Each step is ``(name, parameters)``; ``name`` is an ObsPy method (``detrend``, ``taper``, ``filter``
    with ``type="bandpass"`` etc., ``decimate``, ``resample``, ``remove_response``, ``rotate``, ...).
    After :meth:`apply`, every trace carries ``stats.quakelab_processing`` (the JSON of the chain) so a
    figure can be traced back to how its data were processed; ObsPy's own ``stats.processing`` log is
    kept too.

    Examples
    --------
    >>> chain = ProcessingChain([("detrend", {"type": "linear"}), ("taper", {"max_percentage": 0.05}),
    ...                          ("filter", {"type": "bandpass", "freqmin": 1.0, "freqmax": 10.0})])
    >>> [s[0] for s in chain.steps]
    ['detrend', 'taper', 'filter']
    """

    steps: Sequence[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        steps = []
        for i, step in enumerate(self.steps):
            name, params = (
                (step, {}) if isinstance(step, str) else (step[0], dict(step[1] if len(step) > 1 else {}))
            )
            if name not in ALLOWED_STEPS:
                raise WaveformError(
                    f"step {i} {name!r} is not a known processing step; allowed: {ALLOWED_STEPS}"
                )
            steps.append((name, params))
        self.steps = steps

    def to_json(self) -> str:
        """The chain as JSON (what is recorded on traces)."""
        return json.dumps([[n, p] for n, p in self.steps], default=str)

    def apply(self, stream, *, inventory=None, parallel: bool | str = False):
        """Apply the chain to a copy of ``stream``.

        Parameters
        ----------
        stream : obspy.Stream or obspy.Trace
            Input (not modified).
        inventory : obspy.Inventory, optional
            Station metadata for ``remove_response`` and ``rotate``.
        parallel : bool or str, default False
            Process traces in parallel with dask (``True``: threads; or a dask scheduler name such as
            ``"processes"``); the result is identical. Not used with ``rotate`` (which needs all traces).

        Returns
        -------
        obspy.Stream
            Processed copy.

        Raises
        ------
        WaveformError
            Naming the trace and step that failed (e.g. no response for ``remove_response``).
        """
        import obspy

        st = obspy.Stream([stream]) if isinstance(stream, obspy.Trace) else stream
        if len(st) == 0:
            raise WaveformError("empty stream: nothing to process")
        if parallel and not any(n == "rotate" for n, _ in self.steps) and len(st) > 1:
            import dask

            scheduler = "threads" if parallel is True else str(parallel)
            parts = dask.compute(
                *[dask.delayed(self.apply)(obspy.Stream([tr]), inventory=inventory) for tr in st],
                scheduler=scheduler,
            )
            return obspy.Stream([tr for part in parts for tr in part])
        out = st.copy()
        for name, params in self.steps:
            if name in ("remove_response", "rotate"):
                if inventory is None:
                    raise WaveformError(f"step {name!r} needs station metadata (inventory=...)")
                params = {**params, "inventory": inventory}
            targets = [out] if name == "rotate" else list(out)
            for tr in targets:
                try:
                    getattr(tr, name)(**params)
                except Exception as exc:  # noqa: BLE001 - name the trace and the step
                    who = tr.id if hasattr(tr, "id") else "stream"
                    raise WaveformError(f"{who}: step {name!r} failed ({type(exc).__name__}: {exc})") from exc
        for tr in out:
            tr.stats.quakelab_processing = self.to_json()
        return out
