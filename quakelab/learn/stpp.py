"""A spatio-temporal neural point process scored on the full EarthquakeNPP log-likelihood.

:class:`SpatioTemporalNPP` models the next event's time and, given its time, its location, from the whole
history:

* a GRU reads the events (standardised log inter-event time, magnitude above ``min_magnitude``, position in the region);
* **time**: its state after event i gives a mixture of log-normal distributions of the time to event i + 1
  (as :class:`quakelab.learn.NeuralTPP`);
* **space**: given the next event's time t, its location density is a mixture of

  - the uniform density over the region and ``len(background_km)`` Gaussian kernel-density estimates of all
    earlier events (fixed bandwidths, weights learned from the GRU state): the learned background;
  - Gaussian kernels centred on the ``n_neighbours`` most recent events j, ``n_scales`` kernels per event,
    with weights ``alpha m'_j - p log(t - t_j + c) + w_s`` and bandwidths
    ``exp(b_s + gamma m'_j + delta log(t - t_j))`` (``alpha, p, w_s, b_s`` from the GRU state, ``c, gamma,
    delta`` learned constants): magnitude- and time-dependent triggering kernels.

Every component is normalised over the region exactly: positions are mapped to an equirectangular plane
``u = R cos(lat_c) (lon - lon_min)``, ``v = R (lat - lat_min)`` (km, ``lat_c`` the centre latitude) in which the
longitude-latitude box is the rectangle ``[0, W] x [0, H]``, and a Gaussian's mass in a rectangle is a product
of two differences of error functions. Densities are reported per true km² (on the WGS84 ellipsoid, the unit
of every area in quakelab, see :mod:`quakelab.region`, and of :func:`quakelab.evaluate.etas_test_scores`): the
ellipsoid's area element is ``M(lat) N(lat) cos(lat) / (R² cos(lat_c))`` times the plane's (``M, N`` the radii
of curvature), so ``f_true = f_plane R² cos(lat_c) / (M N cos(lat))``, exact. Only longitude-latitude boxes are
supported as regions.

Scores: ``TLL_i = log f_T(t_i - t_{i-1} | H)`` (the first interval conditioned on no event between the previous
event and the test start) and ``SLL_i = log f_S(x_i | t_i, H)``; they equal EarthquakeNPP's
``log lambda*(t_i) - Lambda_i`` and ``log lambda(t_i, x_i) - log lambda*(t_i)``, so the numbers compare with ETAS's
directly. Every score uses only earlier events.
"""

from __future__ import annotations

import math
import time as _time
from typing import Any

import numpy as np
import pandas as pd

from quakelab._compat import renamed_attribute, renamed_kwargs
from quakelab.learn.keras_models import _tpp_forward, import_tensorflow, set_seed
from quakelab.timeutils import utc

EARTH_RADIUS_KM = 6378.1
#: background densities of recent (catalog, targets) pairs: deterministic, shared by the seeds of a study
_BACKGROUND_CACHE: dict[str, np.ndarray] = {}


def limit_threads(n: int = 1) -> None:
    """Limit TensorFlow to ``n`` intra- and inter-op threads (call before any TensorFlow operation)."""
    tf = import_tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(n))
        tf.config.threading.set_inter_op_parallelism_threads(int(n))
    except RuntimeError:  # the runtime is already initialised: keep its setting
        pass


class RegionPlane:
    """The equirectangular map of a longitude-latitude box onto ``[0, W] x [0, H]`` km (see the module doc).

    Parameters
    ----------
    bbox : tuple of float
        ``(min_lon, max_lon, min_lat, max_lat)``.
    earth_radius_km : float
    """

    def __init__(self, bbox, earth_radius_km: float = EARTH_RADIUS_KM) -> None:
        lon0, lon1, lat0, lat1 = (float(b) for b in bbox)
        if not (lon0 < lon1 and lat0 < lat1):
            raise ValueError(f"bbox must be (min_lon, max_lon, min_lat, max_lat), got {bbox}")
        self.bbox, self.radius = (lon0, lon1, lat0, lat1), float(earth_radius_km)
        self.lat_c = 0.5 * (lat0 + lat1)
        self.kx = self.radius * math.cos(math.radians(self.lat_c)) * math.pi / 180
        self.ky = self.radius * math.pi / 180
        self.width, self.height = self.kx * (lon1 - lon0), self.ky * (lat1 - lat0)

    @property
    def area_km2(self) -> float:
        """True (WGS84) area of the box, km² (the area of the ETAS and Poisson models on the same box)."""
        from quakelab.region import band_area_km2

        lon0, lon1, lat0, lat1 = self.bbox
        return float(band_area_km2(lat0, lat1, lon1 - lon0))

    def to_plane(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Plane coordinates (km)."""
        return (
            self.kx * (np.asarray(lon, float) - self.bbox[0]),
            self.ky * (np.asarray(lat, float) - self.bbox[2]),
        )

    def log_sphere_factor(self, lat) -> np.ndarray:
        """``log(R² cos(lat_c) / (M N cos(lat)))``: add to a log density per plane km² to get it per true
        (WGS84) km²."""
        from quakelab.region import WGS84_A_KM, WGS84_F

        e2 = WGS84_F * (2 - WGS84_F)
        phi = np.radians(np.asarray(lat, float))
        s2 = np.sin(phi) ** 2
        log_mn_cos = math.log(WGS84_A_KM**2 * (1 - e2)) + np.log(np.cos(phi)) - 2 * np.log1p(-e2 * s2)
        return math.log(self.radius**2 * math.cos(math.radians(self.lat_c))) - log_mn_cos


def _log_box_mass_np(u, v, sigma, width, height) -> np.ndarray:
    """log of the mass of an isotropic Gaussian (centre (u, v), scale sigma) inside ``[0, W] x [0, H]``."""
    from scipy.special import ndtr

    mx = ndtr((width - u) / sigma) - ndtr(-u / sigma)
    my = ndtr((height - v) / sigma) - ndtr(-v / sigma)
    return np.log(np.maximum(mx * my, 1e-300))


def background_log_densities(
    uq: np.ndarray,
    vq: np.ndarray,
    us: np.ndarray,
    vs: np.ndarray,
    n_sources: np.ndarray,
    bandwidths_km,
    width: float,
    height: float,
    *,
    source_bandwidths_km: np.ndarray | None = None,
    chunk: int = 256,
) -> np.ndarray:
    """Log densities (per plane km²) of the background components at query points.

    Component 0 is the uniform density ``1 / (W H)``; component k >= 1 the Gaussian kernel-density estimate
    with bandwidth ``bandwidths_km[k - 1]`` of the first ``n_sources[q]`` sources (each kernel normalised over
    the rectangle); then, for each column a of ``source_bandwidths_km``, the adaptive estimate whose kernel on
    source j has bandwidth ``source_bandwidths_km[j, a]``. With no source, the uniform density.

    Parameters
    ----------
    uq, vq : array (Q,)
        Query points (plane km).
    us, vs : array (N,)
        Sources in time order.
    n_sources : array of int (Q,)
        Sources available to each query (the events strictly before it).
    bandwidths_km : sequence of float
    width, height : float
    source_bandwidths_km : array (N, A), optional
        Per-source bandwidths of ``A`` adaptive estimates (e.g. :func:`adaptive_bandwidths`).

    Returns
    -------
    numpy.ndarray
        ``(Q, 1 + len(bandwidths_km) + A)``.
    """
    uq, vq, us, vs = (np.asarray(a, float) for a in (uq, vq, us, vs))
    n_sources = np.asarray(n_sources, int)
    bw = np.asarray(bandwidths_km, float)
    sb = np.zeros((us.size, 0)) if source_bandwidths_km is None else np.asarray(source_bandwidths_km, float)
    if sb.ndim != 2 or sb.shape[0] != us.size:
        raise ValueError(f"source_bandwidths_km must be (n_sources={us.size}, A), got {sb.shape}")
    log_u = -math.log(width * height)
    out = np.full((uq.size, 1 + bw.size + sb.shape[1]), log_u)
    # per source and bandwidth: bandwidth and 1 / (2 pi s^2 Z_j(s))
    sig = np.concatenate([np.broadcast_to(bw[None, :], (us.size, bw.size)), sb], axis=1)
    norm = np.exp(-_log_box_mass_np(us[:, None], vs[:, None], sig, width, height)) / (2 * math.pi * sig * sig)
    order = np.argsort(n_sources, kind="stable")
    for a in range(0, uq.size, chunk):
        q = order[a : a + chunk]
        nmax = int(n_sources[q].max()) if q.size else 0
        if nmax == 0:
            continue
        r2 = (uq[q, None] - us[None, :nmax]) ** 2 + (vq[q, None] - vs[None, :nmax]) ** 2
        keep = np.arange(nmax)[None, :] < n_sources[q, None]
        cnt = n_sources[q]
        for k in range(sig.shape[1]):
            s2 = sig[None, :nmax, k] ** 2
            dens = np.where(keep, np.exp(-0.5 * r2 / s2) * norm[None, :nmax, k], 0.0).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                val = np.log(np.maximum(dens, 1e-300) / np.maximum(cnt, 1))
            out[q, 1 + k] = np.where(cnt > 0, val, log_u)
    return out


def adaptive_bandwidths(
    u: np.ndarray,
    v: np.ndarray,
    k_neighbours,
    *,
    min_km: float = 0.2,
    max_km: float = 50.0,
    chunk: int = 512,
) -> np.ndarray:
    """Causal adaptive bandwidths: for each source, the distance to its k-th nearest *earlier* source.

    The adaptive (variable-bandwidth) kernel estimate of Zhuang et al. (2002), as ETAS's background uses, with
    each source's bandwidth taken from the sources before it only, so a density built from the first n
    sources depends on nothing later. Sources with fewer than k predecessors get ``max_km``.

    Parameters
    ----------
    u, v : array (N,)
        Source positions (plane km), in time order.
    k_neighbours : sequence of int
        One bandwidth column per k.
    min_km, max_km : float
        Bounds of the bandwidths.

    Returns
    -------
    numpy.ndarray
        ``(N, len(k_neighbours))`` km.
    """
    u, v = np.asarray(u, float), np.asarray(v, float)
    ks = [int(k) for k in k_neighbours]
    if any(k < 1 for k in ks):
        raise ValueError(f"k_neighbours must be >= 1, got {ks}")
    n = u.size
    out = np.full((n, len(ks)), float(max_km))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        if b <= 1:
            continue
        d2 = (u[a:b, None] - u[None, :b]) ** 2 + (v[a:b, None] - v[None, :b]) ** 2
        d2[np.arange(b)[None, :] >= np.arange(a, b)[:, None]] = np.inf  # only earlier sources
        for c, k in enumerate(ks):
            if k > b - 1:
                continue
            kth = np.partition(d2, k - 1, axis=1)[:, k - 1]
            out[a:b, c] = np.where(np.isfinite(kth), np.sqrt(kth), max_km)
    return np.clip(out, min_km, max_km)


def block_bootstrap_mean(
    values: np.ndarray,
    times,
    *,
    block_days: float = 30.0,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.Series:
    """Mean per event with a percentile interval from a block bootstrap over calendar blocks.

    Events are grouped in consecutive non-overlapping blocks of ``block_days`` (an earthquake sequence's
    events mostly share a block, so their dependence is kept); blocks are resampled with replacement and the
    statistic is the ratio ``sum(values) / count`` over the resampled blocks.

    Returns
    -------
    pandas.Series
        ``mean, ci_low, ci_high, n, n_blocks, block_days``.
    """
    values = np.asarray(values, float)
    t = pd.DatetimeIndex(times)
    days = ((t - t.min()) / pd.Timedelta(days=1)).to_numpy()
    block = np.floor(days / block_days).astype(int)
    codes, _ = pd.factorize(block)
    nb = codes.max() + 1
    sums = np.bincount(codes, weights=values, minlength=nb)
    cnts = np.bincount(codes, minlength=nb).astype(float)
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, nb, size=(n_boot, nb))
    boot = sums[draw].sum(axis=1) / cnts[draw].sum(axis=1)
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return pd.Series(
        {
            "mean": float(values.mean()),
            "ci_low": float(lo),
            "ci_high": float(hi),
            "n": int(values.size),
            "n_blocks": int(nb),
            "block_days": float(block_days),
        }
    )


class SpatioTemporalNPP:
    """Spatio-temporal neural point process (see the module docstring).

    Parameters
    ----------
    units : int, default 32
        GRU units.
    n_components : int, default 8
        Log-normal components of the inter-event time.
    n_neighbours : int, default 128
        Most recent events that carry triggering kernels.
    n_scales : int, default 3
        Gaussian kernels per recent event (a scale mixture: heavier tails than one Gaussian).
    kernel_scales_km : tuple of float, optional
        Initial bandwidths (km) of the ``n_scales`` kernels (learned afterwards); default ``0.3 * 5**s``.
        A wider, denser ladder approximates a power-law kernel such as ETAS's ``(r^2 + d)^-(1 + rho)``
        (a Student-type density is a scale mixture of Gaussians) while keeping the exact normalisation.
    background_km : tuple of float, default (0.5, 2.0, 8.0)
        Bandwidths of the background kernel-density estimates of all earlier events.
    adaptive_k : tuple of int, default ()
        Adaptive background components: for each k, the kernel estimate of all earlier events whose kernel on
        event j has the distance from j to its k-th nearest earlier event as bandwidth (the kind of
        background ETAS's ``background="adaptive"`` uses; see :func:`adaptive_bandwidths`), with a learned
        weight like the other components.
    adaptive_min_km : float, default 0.2
        Smallest adaptive bandwidth.
    context, window : int, default 64, 256
        Training windows of ``window`` events whose first ``context`` outputs are history only.
    epochs, patience, batch_size : int, default 60, 6, 8
    learning_rate : float, default 3e-3
    min_interval_days : float, default 1e-6
        Floor of inter-event times (simultaneous events).
    seed : int, default 0
    jit_compile : bool, default True
        Compile the training and validation steps with XLA. Compiling costs about half a minute before the
        first epoch; each later epoch is then about 1.9 times faster on CPU (SanJac_10, notebook 09's
        model, ``benchmarks/bench_stnpp_training.py``). False runs them as TensorFlow graphs, which is faster
        for fits of a few epochs. Scores do not depend on it (the same arithmetic, to rounding).
    """

    def __init__(
        self,
        *,
        units: int = 32,
        n_components: int = 8,
        n_neighbours: int = 128,
        n_scales: int = 3,
        kernel_scales_km: tuple[float, ...] | None = None,
        background_km: tuple[float, ...] = (0.5, 2.0, 8.0),
        adaptive_k: tuple[int, ...] = (),
        adaptive_min_km: float = 0.2,
        context: int = 64,
        window: int = 256,
        epochs: int = 60,
        patience: int = 6,
        batch_size: int = 8,
        learning_rate: float = 3e-3,
        min_interval_days: float = 1e-6,
        seed: int = 0,
        jit_compile: bool = True,
    ) -> None:
        if not 0 < context < window:
            raise ValueError("need 0 < context < window")
        self.units, self.n_components, self.n_neighbours = int(units), int(n_components), int(n_neighbours)
        self.n_scales, self.background_km = int(n_scales), tuple(float(b) for b in background_km)
        if kernel_scales_km is not None:
            kernel_scales_km = tuple(float(k) for k in kernel_scales_km)
            if len(kernel_scales_km) != self.n_scales or min(kernel_scales_km) <= 0:
                raise ValueError(
                    f"kernel_scales_km needs n_scales={self.n_scales} positive values, got {kernel_scales_km}"
                )
        self.kernel_scales_km = kernel_scales_km
        self.adaptive_k, self.adaptive_min_km = tuple(int(k) for k in adaptive_k), float(adaptive_min_km)
        self.context, self.window = int(context), int(window)
        self.epochs, self.patience, self.batch_size = int(epochs), int(patience), int(batch_size)
        self.learning_rate, self.min_interval_days, self.seed = (
            float(learning_rate),
            float(min_interval_days),
            int(seed),
        )
        self.jit_compile = bool(jit_compile)
        self.model_: Any = None

    # ------------------------------------------------------------------ layout of the head's outputs
    @property
    def _n_bg(self) -> int:
        return 1 + len(self.background_km) + len(self.adaptive_k)

    @property
    def _n_out(self) -> int:
        return 3 * self.n_components + self._n_bg + 2 + 2 * self.n_scales

    # ------------------------------------------------------------------ data
    def _prepare(self, events: pd.DataFrame) -> dict[str, Any]:
        """Sorted arrays of a catalog: times, inter-event times, plane positions, neighbours."""
        for col in ("time", "longitude", "latitude", "magnitude"):
            if col not in events:
                raise ValueError(f"events need a column {col!r}")
        lon0, lon1, lat0, lat1 = self.plane_.bbox
        ev = events[
            (events["longitude"] >= lon0)
            & (events["longitude"] <= lon1)
            & (events["latitude"] >= lat0)
            & (events["latitude"] <= lat1)
            & (events["magnitude"] >= self.min_magnitude_ - 1e-9)
        ]
        ev = ev.sort_values("time", kind="mergesort").reset_index(drop=True)
        times = pd.DatetimeIndex(ev["time"])
        days = ((times - times[0]) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        tau = np.maximum(np.diff(days, prepend=np.nan), self.min_interval_days)
        u, v = self.plane_.to_plane(ev["longitude"].to_numpy(float), ev["latitude"].to_numpy(float))
        mprime = ev["magnitude"].to_numpy(float) - self.min_magnitude_
        n, K = len(ev), self.n_neighbours
        nb = np.arange(n)[:, None] - 1 - np.arange(K)[None, :]
        valid = nb >= 0
        nbc = np.clip(nb, 0, None)
        dt = np.maximum(days[:, None] - days[nbc], self.min_interval_days)
        return {
            "events": ev,
            "times": times,
            "days": days,
            "tau": tau,
            "u": u,
            "v": v,
            "m": mprime,
            "nb": nbc.astype(np.int32),
            "nb_valid": valid,
            "log_dt": np.where(valid, np.log(dt), 0.0).astype(np.float32),
        }

    def _background(self, d: dict[str, Any], targets: np.ndarray) -> np.ndarray:
        import hashlib

        key = hashlib.sha256(
            b"".join(np.ascontiguousarray(a).tobytes() for a in (d["u"], d["v"], targets))
            + repr((self.background_km, self.adaptive_k, self.adaptive_min_km, self.plane_.bbox)).encode()
        ).hexdigest()
        if key not in _BACKGROUND_CACHE:
            if len(_BACKGROUND_CACHE) >= 8:
                _BACKGROUND_CACHE.pop(next(iter(_BACKGROUND_CACHE)))
            _BACKGROUND_CACHE[key] = self._compute_background(d, targets)
        return _BACKGROUND_CACHE[key]

    def _source_bandwidths(self, d: dict[str, Any]) -> np.ndarray | None:
        if not self.adaptive_k:
            return None
        return adaptive_bandwidths(d["u"], d["v"], self.adaptive_k, min_km=self.adaptive_min_km)

    def _compute_background(self, d: dict[str, Any], targets: np.ndarray) -> np.ndarray:
        return background_log_densities(
            d["u"][targets],
            d["v"][targets],
            d["u"],
            d["v"],
            targets,
            self.background_km,
            self.plane_.width,
            self.plane_.height,
            source_bandwidths_km=self._source_bandwidths(d),
        )

    def _inputs(self, d: dict[str, Any]) -> np.ndarray:
        z = (np.log(d["tau"]) - self.log_tau_mean_) / self.log_tau_std_
        z = np.where(np.isnan(z), 0.0, z)
        return np.column_stack(
            [z, d["m"], d["u"] / self.plane_.width - 0.5, d["v"] / self.plane_.height - 0.5]
        ).astype(np.float32)

    def _windows(self, first_target: int, last_target: int) -> np.ndarray:
        """Starts of the windows whose scored outputs predict the targets.

        Windows sit on a fixed grid (``k * stride - context``), so the prediction of a target does not depend
        on which other targets are asked for: every target is predicted by one window, whose state starts
        ``context`` to ``window - 1`` events before it.
        """
        stride = self.window - self.context
        k0, k1 = (max(first_target, 1) - 1) // stride, (max(last_target, 1) - 1) // stride
        return np.arange(k0, k1 + 1) * stride - self.context

    def _gather(self, Zin: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = Zin.shape[0]
        pos = starts[:, None] + np.arange(self.window)[None, :]
        ok = (pos >= 0) & (pos < n)
        X = np.where(ok[..., None], Zin[np.clip(pos, 0, n - 1)], 0.0).astype(np.float32)
        return X, pos + 1

    # ------------------------------------------------------------------ network
    def _build(self) -> None:
        tf = import_tensorflow()
        keras = tf.keras
        inp = keras.Input(shape=(None, 4))
        h = keras.layers.GRU(self.units, return_sequences=True)(inp)
        h = keras.layers.Dense(self.units, activation="tanh")(h)
        out = keras.layers.Dense(
            self._n_out, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01)
        )(h)
        self.model_ = keras.Model(inp, out)
        S = self.n_scales
        self.log_c_ = tf.Variable(math.log(1e-3), dtype=tf.float32, name="log_c")
        self.gamma_ = tf.Variable(0.4, dtype=tf.float32, name="gamma")
        self.delta_ = tf.Variable(0.05, dtype=tf.float32, name="delta")
        init = 0.3 * 5.0 ** np.arange(S) if self.kernel_scales_km is None else np.array(self.kernel_scales_km)
        self.base_log_sigma_ = tf.Variable(np.log(init).astype(np.float32), name="base_log_sigma")
        self.bg_bias_ = tf.Variable(np.zeros(self._n_bg, np.float32), name="bg_bias")
        self._extra = [self.log_c_, self.gamma_, self.delta_, self.base_log_sigma_, self.bg_bias_]

    def _heads(self, out):
        """Split the head outputs: temporal mixture, background logits, triggering coefficients."""
        tf = import_tensorflow()
        K, nbg, S = self.n_components, self._n_bg, self.n_scales
        o = 3 * K
        temporal = out[..., :o]
        bg_logit = out[..., o : o + nbg] + self.bg_bias_
        alpha = tf.nn.softplus(out[..., o + nbg] + 0.5)
        p = tf.nn.softplus(out[..., o + nbg + 1] + 0.5)
        s0 = o + nbg + 2
        scale_logit = out[..., s0 : s0 + S]
        log_sigma_off = out[..., s0 + S : s0 + 2 * S]
        return temporal, bg_logit, alpha, p, scale_logit, log_sigma_off

    def _spatial_logpdf(self, out, log_dt, m_nb, u_nb, v_nb, valid, uq, vq, bgq):
        """Log density per plane km² at query points.

        Shapes: ``out (B, n_out)``, neighbour arrays ``(B, K)``, ``uq, vq (B, Q)``, ``bgq (B, Q, n_bg)``.
        """
        tf = import_tensorflow()
        _, bg_logit, alpha, p, scale_logit, log_sigma_off = self._heads(out)
        c = tf.exp(self.log_c_)
        dt = tf.exp(log_dt)
        logit = (
            alpha[:, None, None] * m_nb[..., None]
            - p[:, None, None] * tf.math.log(dt + c)[..., None]
            + scale_logit[:, None, :]
        )  # (B, K, S)
        log_sigma = (
            self.base_log_sigma_[None, None, :]
            + log_sigma_off[:, None, :]
            + self.gamma_ * m_nb[..., None]
            + self.delta_ * log_dt[..., None]
        )
        log_sigma = tf.clip_by_value(log_sigma, math.log(0.02), math.log(100.0))
        sigma = tf.exp(log_sigma)
        r2 = 1.0 / (math.sqrt(2.0) * sigma)
        W, H = self.plane_.width, self.plane_.height
        uj, vj = u_nb[..., None], v_nb[..., None]
        mx = 0.5 * (tf.math.erf((W - uj) * r2) - tf.math.erf(-uj * r2))
        my = 0.5 * (tf.math.erf((H - vj) * r2) - tf.math.erf(-vj * r2))
        log_mass = tf.math.log(tf.maximum(mx * my, 1e-30))
        neg = tf.constant(-1e9, tf.float32)
        logit = tf.where(valid[..., None], logit, neg)
        B = tf.shape(logit)[0]
        all_logit = tf.concat([bg_logit, tf.reshape(logit, [B, -1])], axis=1)
        log_w = tf.nn.log_softmax(all_logit, axis=1)
        n_bg = self._n_bg
        lw_bg, lw_tr = log_w[:, :n_bg], tf.reshape(log_w[:, n_bg:], tf.shape(logit))
        du = uq[:, :, None, None] - uj[:, None, :, :]
        dv = vq[:, :, None, None] - vj[:, None, :, :]
        comp = (
            -math.log(2 * math.pi)
            - 2.0 * log_sigma[:, None]
            - 0.5 * (du * du + dv * dv) / tf.square(sigma[:, None])
            - log_mass[:, None]
            + lw_tr[:, None]
        )  # (B, Q, K, S)
        Q = tf.shape(uq)[1]
        comp = tf.reshape(comp, [B, Q, -1])
        return tf.reduce_logsumexp(tf.concat([bgq + lw_bg[:, None, :], comp], axis=2), axis=2)

    def _temporal_logpdf_z(self, out, z):
        tf = import_tensorflow()
        K = self.n_components
        logits, mu = out[..., :K], out[..., K : 2 * K]
        log_sigma = tf.clip_by_value(out[..., 2 * K : 3 * K], -5.0, 3.0)
        lp = (
            tf.nn.log_softmax(logits, axis=-1)
            - log_sigma
            - 0.5 * math.log(2 * math.pi)
            - 0.5 * tf.square((z[..., None] - mu) / tf.exp(log_sigma))
        )
        return tf.reduce_logsumexp(lp, axis=-1)

    # ------------------------------------------------------------------ training
    mc_ = renamed_attribute("min_magnitude_")

    @renamed_kwargs(mc="min_magnitude")
    def fit(
        self, events: pd.DataFrame, *, min_magnitude: float, region, train_start, train_end, val_end
    ) -> SpatioTemporalNPP:
        """Fit on the events in ``[train_start, train_end)``, stop early on ``[train_end, val_end)``.

        Parameters
        ----------
        events : pandas.DataFrame
            ``time, longitude, latitude, magnitude``; earlier events (before ``train_start``) are history.
        min_magnitude : float
            Magnitude threshold, usually the magnitude of completeness (smaller events are dropped). Old
            name: ``mc`` (deprecated).
        region : tuple of float
            ``(min_lon, max_lon, min_lat, max_lat)``; events outside are dropped.
        train_start, train_end, val_end : time-like

        Returns
        -------
        SpatioTemporalNPP
            ``history_`` (per epoch: training loss, validation NLL per event, seconds), ``best_epoch_`` (the
            1-based epoch whose weights are kept), ``stopped_early_`` (False: the ``epochs`` cap ended
            training), ``fit_seconds_``, ``n_train_events_``, ``n_val_events_``.
        """
        tf = import_tensorflow()
        set_seed(self.seed)
        t_prep = _time.perf_counter()
        self.min_magnitude_, self.plane_ = float(min_magnitude), RegionPlane(region)
        d = self._prepare(events[events["time"] < utc(val_end)])
        t = d["times"]
        train = np.asarray((t >= utc(train_start)) & (t < utc(train_end)))
        val = np.asarray((t >= utc(train_end)) & (t < utc(val_end)))
        train[0] = val[0] = False
        if train.sum() < self.window or val.sum() < self.context:
            raise ValueError(
                f"too few events: {train.sum()} training (need {self.window}), {val.sum()} validation "
                f"(need {self.context})"
            )
        self.log_tau_mean_ = float(np.nanmean(np.log(d["tau"][train])))
        self.log_tau_std_ = float(np.nanstd(np.log(d["tau"][train])))
        Zin = self._inputs(d)
        n = len(t)
        z = np.nan_to_num((np.log(d["tau"]) - self.log_tau_mean_) / self.log_tau_std_).astype(np.float32)
        bg = np.zeros((n, self._n_bg), np.float32)
        idx = np.flatnonzero(train | val)
        bg[idx] = self._background(d, idx)
        const = {
            "z": tf.constant(z),
            "log_dt": tf.constant(d["log_dt"]),
            "nb": tf.constant(d["nb"]),
            "valid": tf.constant(d["nb_valid"]),
            "m": tf.constant(d["m"].astype(np.float32)),
            "u": tf.constant(d["u"].astype(np.float32)),
            "v": tf.constant(d["v"].astype(np.float32)),
            "bg": tf.constant(bg),
        }
        self._build()

        def batch(mask):
            ii = np.flatnonzero(mask)
            starts = self._windows(ii[0], ii[-1])
            X, tgt = self._gather(Zin, starts)
            ok = (tgt >= 1) & (tgt < n) & (np.arange(self.window)[None, :] >= self.context)
            ok &= np.where(ok, mask[np.clip(tgt, 0, n - 1)], False)
            return X, np.clip(tgt, 0, n - 1).astype(np.int32), ok.astype(np.float32)

        Xt, Tt, Wt = batch(train)
        Xv, Tv, Wv = batch(val)
        self.n_train_events_, self.n_val_events_ = int(Wt.sum()), int(Wv.sum())
        self.prepare_seconds_ = _time.perf_counter() - t_prep
        t0 = _time.perf_counter()
        self._train(const, (Xt, Tt, Wt), (Xv, Tv, Wv))
        self.fit_seconds_ = _time.perf_counter() - t0
        return self

    def _train(self, const: dict[str, Any], train: tuple, val: tuple) -> None:
        """Adam on shuffled batches of windows, early stopping on the validation loss, best weights restored.

        One XLA-compiled step serves every batch: the last, shorter batch is padded with weight-0 windows
        (the loss is the weighted sum over the real targets divided by their number, so padding changes
        nothing), and validation runs in compiled chunks of fixed size, padded the same way. The GRU runs as
        :func:`quakelab.learn.keras_models._tpp_forward` (the model's own weights, its input projection
        hoisted out of the time loop). Windows are shuffled each epoch by a generator seeded with ``seed``.
        Sets ``history_`` (per epoch: training loss, validation temporal/spatial/total NLL per event,
        seconds since the start), ``best_epoch_`` (1-based) and ``stopped_early_``.
        """
        tf = import_tensorflow()
        Xt, Tt, Wt = train
        Xv, Tv, Wv = val
        model = self.model_
        opt = tf.keras.optimizers.Adam(self.learning_rate)
        variables = model.trainable_variables + self._extra
        opt.build(variables)
        n_out = self._n_out

        def nll(X, T, Wm):
            out = _tpp_forward(model, X)  # (B, W, n_out)
            flat_t = tf.reshape(T, [-1])
            o = tf.reshape(out, [-1, n_out])
            nb = tf.gather(const["nb"], flat_t)
            lt = self._temporal_logpdf_z(o, tf.gather(const["z"], flat_t))
            ls = self._spatial_logpdf(
                o,
                tf.gather(const["log_dt"], flat_t),
                tf.gather(const["m"], nb),
                tf.gather(const["u"], nb),
                tf.gather(const["v"], nb),
                tf.gather(const["valid"], flat_t),
                tf.gather(const["u"], flat_t)[:, None],
                tf.gather(const["v"], flat_t)[:, None],
                tf.gather(const["bg"], flat_t)[:, None, :],
            )[:, 0]
            w = tf.reshape(Wm, [-1])
            return -tf.reduce_sum(w * lt), -tf.reduce_sum(w * ls)

        @tf.function(jit_compile=self.jit_compile, autograph=False)
        def train_step(X, T, Wm):
            with tf.GradientTape() as tape:
                a, b = nll(X, T, Wm)
                loss = (a + b) / tf.maximum(tf.reduce_sum(Wm), 1.0)
            grads = tape.gradient(loss, variables)
            grads, _ = tf.clip_by_global_norm(grads, 10.0)
            opt.apply(grads, variables)
            return loss

        eval_step = tf.function(nll, jit_compile=self.jit_compile, autograph=False)
        chunk = 32

        def padded(idx, size, W):
            """Indices padded to ``size`` (padding repeats window 0) and the weights with 0 for padding."""
            real = np.concatenate([np.ones(len(idx), bool), np.zeros(size - len(idx), bool)])
            take = np.concatenate([idx, np.zeros(size - len(idx), idx.dtype)])
            return take, np.where(real[:, None], W[take], 0.0).astype(np.float32)

        def evaluate():
            a = b = 0.0
            for s in range(0, len(Xv), chunk):
                take, w = padded(np.arange(s, min(s + chunk, len(Xv))), chunk, Wv)
                ra, rb = eval_step(Xv[take], Tv[take], w)
                a, b = a + float(ra), b + float(rb)
            tot = float(Wv.sum())
            return a / tot, b / tot

        rng = np.random.default_rng(self.seed)
        B = self.batch_size
        best, best_weights, wait, rows = np.inf, None, 0, []
        self.best_epoch_, self.stopped_early_ = 0, False
        t0 = _time.perf_counter()
        for epoch in range(self.epochs):
            order = rng.permutation(len(Xt))
            losses = []
            for s in range(0, len(order), B):
                take, w = padded(order[s : s + B], B, Wt)
                losses.append(float(train_step(Xt[take], Tt[take], w)))
            vt, vs = evaluate()
            rows.append(
                {
                    "epoch": epoch,
                    "seconds": _time.perf_counter() - t0,
                    "loss": float(np.mean(losses)),
                    "val_temporal": vt,
                    "val_spatial": vs,
                    "val_loss": vt + vs,
                }
            )
            if vt + vs < best - 1e-4:
                best, wait, self.best_epoch_ = vt + vs, 0, epoch + 1
                best_weights = [v.numpy() for v in variables]
            else:
                wait += 1
                if wait >= self.patience:
                    self.stopped_early_ = True
                    break
        for var, val_ in zip(variables, best_weights or [v.numpy() for v in variables], strict=True):
            var.assign(val_)
        self.fit_seconds_ = _time.perf_counter() - t0
        self.history_ = pd.DataFrame(rows).set_index("epoch")
        return self

    # ------------------------------------------------------------------ evaluation
    def _outputs(self, d: dict[str, Any], targets: np.ndarray) -> np.ndarray:
        """Head outputs predicting each target (from the encoder state after the event before it)."""
        Zin = self._inputs(d)
        n = Zin.shape[0]
        starts = self._windows(int(targets.min()), int(targets.max()))
        X, tgt = self._gather(Zin, starts)
        out = np.asarray(self.model_.predict(X, verbose=0, batch_size=32), dtype=np.float32)
        scored = (np.arange(self.window)[None, :] >= self.context) & (tgt < n) & (tgt >= 1)
        params = np.full((n, self._n_out), np.nan, np.float32)
        params[tgt[scored]] = out[scored]
        return params[targets]

    def _spatial_at(self, d, targets, out, uq, vq, bgq, chunk: int = 512) -> np.ndarray:
        tf = import_tensorflow()
        res = []
        for a in range(0, len(targets), chunk):
            tt = targets[a : a + chunk]
            nb = d["nb"][tt]
            res.append(
                self._spatial_logpdf(
                    tf.constant(out[a : a + chunk]),
                    tf.constant(d["log_dt"][tt]),
                    tf.constant(d["m"][nb].astype(np.float32)),
                    tf.constant(d["u"][nb].astype(np.float32)),
                    tf.constant(d["v"][nb].astype(np.float32)),
                    tf.constant(d["nb_valid"][tt]),
                    tf.constant(np.asarray(uq[a : a + chunk], np.float32)),
                    tf.constant(np.asarray(vq[a : a + chunk], np.float32)),
                    tf.constant(np.asarray(bgq[a : a + chunk], np.float32)),
                ).numpy()
            )
        return np.concatenate(res, axis=0).astype(float)

    def _temporal_params(self, out: np.ndarray):
        from scipy.special import log_softmax

        K = self.n_components
        o = out.astype(float)
        return log_softmax(o[:, :K], axis=1), o[:, K : 2 * K], np.exp(np.clip(o[:, 2 * K : 3 * K], -5, 3))

    def time_log_density(self, out: np.ndarray, tau_days: np.ndarray) -> np.ndarray:
        """Log density (per day) of the next inter-event time for head outputs ``out`` (rows) at ``tau_days``.

        ``tau_days`` is ``(n,)`` or ``(n, m)`` (m times per row).
        """
        from scipy.special import logsumexp

        log_w, mu, sig = self._temporal_params(np.atleast_2d(out))
        x = np.asarray(tau_days, float)
        x2 = x if x.ndim == 2 else x[:, None]
        z = (np.log(x2) - self.log_tau_mean_) / self.log_tau_std_
        lz = logsumexp(
            log_w[:, None, :]
            - np.log(sig)[:, None, :]
            - 0.5 * np.log(2 * np.pi)
            - 0.5 * ((z[..., None] - mu[:, None, :]) / sig[:, None, :]) ** 2,
            axis=2,
        )
        res = lz - np.log(x2) - math.log(self.log_tau_std_)
        return res if x.ndim == 2 else res[:, 0]

    def score(self, events: pd.DataFrame, *, test_start, test_end, name: str = "spatio-temporal NPP"):
        """EarthquakeNPP temporal and spatial log-likelihood per test event.

        Returns
        -------
        quakelab.evaluate.LikelihoodScore
            ``tll``, ``sll`` (per km² of the sphere), ``ll = tll + sll``; ``per_event`` with
            ``time, longitude, latitude, magnitude, tll, sll, ll``.
        """
        from scipy.special import log_ndtr, logsumexp

        from quakelab.evaluate.likelihood import LikelihoodScore

        if self.model_ is None:
            raise RuntimeError("fit the model first")
        t0, t1 = utc(test_start), utc(test_end)
        d = self._prepare(events[events["time"] < t1])
        times = d["times"]
        targets = np.flatnonzero(np.asarray(times >= t0))
        if targets.size == 0 or targets[0] == 0:
            raise ValueError("need test events and at least one event before the test start")
        out = self._outputs(d, targets)
        tll = self.time_log_density(out, d["tau"][targets])
        gap0 = (t0 - times[targets[0] - 1]) / pd.Timedelta(days=1)
        if gap0 > 0:
            log_w, mu, sig = self._temporal_params(out[:1])
            z0 = (math.log(gap0) - self.log_tau_mean_) / self.log_tau_std_
            tll[0] -= float(logsumexp(log_w[0] + log_ndtr(-(z0 - mu[0]) / sig[0])))
        bg = self._background(d, targets)
        sll = self._spatial_at(d, targets, out, d["u"][targets, None], d["v"][targets, None], bg[:, None, :])[
            :, 0
        ]
        ev = d["events"].iloc[targets]
        sll = sll + self.plane_.log_sphere_factor(ev["latitude"].to_numpy(float))
        per = pd.DataFrame(
            {
                "time": ev["time"].to_numpy(),
                "longitude": ev["longitude"].to_numpy(float),
                "latitude": ev["latitude"].to_numpy(float),
                "magnitude": ev["magnitude"].to_numpy(float),
                "tll": tll,
                "sll": sll,
                "ll": tll + sll,
            }
        )
        return LikelihoodScore(
            model=name,
            ll=float(per["ll"].mean()),
            tll=float(tll.mean()),
            sll=float(sll.mean()),
            n_test_events=int(targets.size),
            per_event=per,
        )

    def spatial_log_density(self, events: pd.DataFrame, at, lon, lat) -> np.ndarray:
        """Log density (per km² of the sphere) of the location of an event occurring at time ``at``.

        Conditioned on the events strictly before ``at`` (and on an event occurring at ``at``).

        Parameters
        ----------
        events : pandas.DataFrame
            Catalog (only events before ``at`` are used).
        at : time-like
        lon, lat : array-like
            Query points (same shape).

        Returns
        -------
        numpy.ndarray
            Same shape as ``lon``.
        """
        if self.model_ is None:
            raise RuntimeError("fit the model first")
        at = utc(at)
        hist = events[events["time"] < at]
        lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
        # a placeholder event at ``at`` (its own values never reach its prediction: causal encoder)
        last = hist.sort_values("time").iloc[-1]
        probe = pd.DataFrame(
            {
                "time": [at],
                "longitude": [last["longitude"]],
                "latitude": [last["latitude"]],
                "magnitude": [max(float(last["magnitude"]), self.min_magnitude_)],
            }
        )
        d = self._prepare(
            pd.concat([hist[["time", "longitude", "latitude", "magnitude"]], probe], ignore_index=True)
        )
        target = np.array([len(d["days"]) - 1])
        out = self._outputs(d, target)
        uq, vq = self.plane_.to_plane(lon_a.ravel(), lat_a.ravel())
        bg = background_log_densities(
            uq,
            vq,
            d["u"],
            d["v"],
            np.full(uq.size, target[0]),
            self.background_km,
            self.plane_.width,
            self.plane_.height,
            source_bandwidths_km=self._source_bandwidths(d),
        )
        val = self._spatial_at(d, target, out, uq[None, :], vq[None, :], bg[None, :, :], chunk=1)[0]
        return (val + self.plane_.log_sphere_factor(lat_a.ravel())).reshape(lon_a.shape)

    def time_log_density_after(self, events: pd.DataFrame, at, tau_days) -> np.ndarray:
        """Log density (per day) of the time from the last event before ``at`` to the next event."""
        hist = events[events["time"] < utc(at)]
        last = hist.sort_values("time").iloc[-1]
        probe = pd.DataFrame(
            {
                "time": [utc(at)],
                "longitude": [last["longitude"]],
                "latitude": [last["latitude"]],
                "magnitude": [max(float(last["magnitude"]), self.min_magnitude_)],
            }
        )
        d = self._prepare(
            pd.concat([hist[["time", "longitude", "latitude", "magnitude"]], probe], ignore_index=True)
        )
        out = self._outputs(d, np.array([len(d["days"]) - 1]))
        return self.time_log_density(out, np.asarray(tau_days, float)[None, :])[0]


def fit_etas_cached(
    catalog: pd.DataFrame,
    *,
    cache_paths,
    min_magnitude: float,
    region,
    auxiliary_start,
    start,
    end,
    theta0: dict[str, float] | None = None,
    **etas_options: Any,
):
    """Fit an ETAS model, or load an earlier fit of the same settings on the same events.

    A saved model is reused only when its configuration (``min_magnitude``, region, ``region_integral``, background,
    ``theta0``), its training span and the fingerprint of the events it was fitted on (stored in
    ``fit_info_["events_sha256"]``) match this call; otherwise the model is fitted and saved to the first path.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Canonical catalog.
    cache_paths : sequence of path-like
        Files to look in, in order (e.g. this run's output folder, then the previous report's); the fit is
        written to the first.
    min_magnitude, region, auxiliary_start, start, end, theta0 :
        As :class:`quakelab.models.ETAS` and its ``fit``.
    **etas_options
        Further :class:`quakelab.models.ETAS` options (``region_integral``, ``background``, ...).

    Returns
    -------
    tuple of (ETAS, bool)
        The model and whether it was loaded from a cache file.
    """
    import hashlib
    import json
    import shutil
    import warnings
    from pathlib import Path

    from quakelab.models import ETAS

    model = ETAS(min_magnitude, region=region, theta0=theta0, **etas_options)
    ev = model.select_events(catalog, auxiliary_start, end)
    cols = [c for c in ("time", "longitude", "latitude", "magnitude") if c in ev]
    digest = hashlib.sha256(
        pd.util.hash_pandas_object(ev[cols], index=False).to_numpy().tobytes()
    ).hexdigest()
    want = {k: v for k, v in model.to_dict().items() if k not in ("background",)}
    span = {"auxiliary_start": str(utc(auxiliary_start)), "start": str(utc(start)), "end": str(utc(end))}
    paths = [Path(p) for p in cache_paths]
    for p in paths:
        if not p.exists():
            continue
        try:
            saved = json.loads(p.read_text())
            cached = ETAS.load(p)
        except (OSError, ValueError, KeyError):
            continue
        info = saved.get("fit_info") or {}
        same = all(
            json.dumps(saved.get(k), default=float) == json.dumps(v, default=float) for k, v in want.items()
        )
        if same and info.get("events_sha256") == digest and all(info.get(k) == v for k, v in span.items()):
            if p != paths[0]:
                paths[0].parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, paths[0])
            return cached, True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a supercritical fit is reported by its branching ratio
        model.fit(catalog, auxiliary_start=auxiliary_start, start=start, end=end, standard_errors=False)
    model.fit_info_["events_sha256"] = digest
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    model.save(paths[0])
    return model, False


def etas_spatial_log_density(
    model,
    catalog: pd.DataFrame,
    at,
    lon,
    lat,
    *,
    auxiliary_start,
    kernel_mc: float | None = None,
    chunk: int = 256,
) -> np.ndarray:
    """ETAS's log density (per km²) of the location of an event at time ``at``: ``lambda(at, x) / lambda*(at)``.

    The EarthquakeNPP spatial density of a fitted :class:`quakelab.models.ETAS` (the one
    :func:`quakelab.evaluate.etas_test_scores` scores): sources are the events in ``[auxiliary_start, at)``,
    kernels use ``m - kernel_mc``, a spatially variable background enters as ``mu A f(x)``, and ``lambda*``
    integrates each kernel over the plane or the region as the model's ``region_integral`` says.

    Parameters
    ----------
    model : quakelab.models.ETAS
        Fitted model.
    catalog : pandas.DataFrame
    at : time-like
    lon, lat : array-like
        Query points (degrees, same shape).
    auxiliary_start : time-like
        First source time (as in the scoring).
    kernel_mc : float, optional
        Magnitude subtracted in the kernels; the model's ``m_ref`` when None.
    chunk : int, default 256
        Query points per block (memory: ``chunk`` times the number of sources).

    Returns
    -------
    numpy.ndarray
        Same shape as ``lon``.
    """
    model.check_is_fitted()
    at = utc(at)
    ev = model.select_events(catalog, auxiliary_start, at)
    ev = ev[ev["time"] < at]
    p = model.params_.natural
    ref = model.m_ref if kernel_mc is None else float(kernel_mc)
    mprime = ev["magnitude"].to_numpy(float) - ref
    dt = ((at - ev["time"]) / pd.Timedelta(days=1)).to_numpy(float)
    g = p["k0"] * np.exp(p["a"] * mprime) * np.exp(-dt / p["tau"]) / (dt + p["c"]) ** (1 + p["omega"])
    keep = g > 1e-12 * max(g.max(initial=0.0), 1e-300)  # sources whose weight can matter
    ev, g, mprime = ev[keep], g[keep], mprime[keep]
    big_d = p["d"] * np.exp(p["gamma"] * mprime)
    integral = model.spatial_integral(
        mprime + model.m_ref, ev["latitude"].to_numpy(float), ev["longitude"].to_numpy(float)
    )
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    la2 = np.radians(ev["latitude"].to_numpy(float))[None, :]
    lo2 = np.radians(ev["longitude"].to_numpy(float))[None, :]
    triggered = np.empty(lon_a.size)
    qlat, qlon = np.radians(lat_a.ravel()), np.radians(lon_a.ravel())
    for a in range(0, qlat.size, chunk):  # (chunk, sources) at a time: bounded memory
        la1, lo1 = qlat[a : a + chunk, None], qlon[a : a + chunk, None]
        h = np.sin((la1 - la2) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo1 - lo2) / 2) ** 2
        r2 = (2 * model.earth_radius_km * np.arcsin(np.sqrt(np.minimum(h, 1.0)))) ** 2
        triggered[a : a + chunk] = (g[None, :] / (r2 + big_d[None, :]) ** (1 + p["rho"])).sum(axis=1)
    area = model.area_km2
    background = getattr(model, "background", None)
    if background is not None:
        bg = p["mu"] * area * np.asarray(background.density(lon_a.ravel(), lat_a.ravel()), float)
    else:
        bg = np.full(lon_a.size, p["mu"])
    lam = bg + triggered
    lam_star = p["mu"] * area + float((g * integral).sum())
    return np.log(lam / lam_star).reshape(lon_a.shape)


def seed_mixture(per_events) -> pd.DataFrame:
    """The equal-weight mixture of several models' densities, scored per event.

    For models s = 1..S scored on the same events, the mixture's joint density is the mean of
    ``exp(ll_s)`` and its time density the mean of ``exp(tll_s)``; its spatial score is the difference (the
    mixture's conditional location density). A mixture of densities is itself a density, so this is a model
    (unlike the mean of the scores).

    Parameters
    ----------
    per_events : sequence of pandas.DataFrame
        ``per_event`` tables of :meth:`SpatioTemporalNPP.score` on the same events.

    Returns
    -------
    pandas.DataFrame
        The first table with ``tll, sll, ll`` replaced.
    """
    from scipy.special import logsumexp

    tabs = list(per_events)
    if not tabs:
        raise ValueError("need at least one per-event table")
    for t in tabs[1:]:
        if len(t) != len(tabs[0]) or not (t["time"].to_numpy() == tabs[0]["time"].to_numpy()).all():
            raise ValueError("the per-event tables must hold the same events")
    out = tabs[0].copy()
    k = math.log(len(tabs))
    out["tll"] = logsumexp(np.stack([t["tll"].to_numpy(float) for t in tabs]), axis=0) - k
    out["ll"] = logsumexp(np.stack([t["ll"].to_numpy(float) for t in tabs]), axis=0) - k
    out["sll"] = out["ll"] - out["tll"]
    return out


def paired_gains(
    models: dict[str, pd.DataFrame],
    references: dict[str, pd.DataFrame],
    subsets: dict[str, np.ndarray] | None = None,
    *,
    block_days: float = 30.0,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Paired log-likelihood gains per event of models over references, with block-bootstrap intervals.

    Parameters
    ----------
    models, references : dict of str to pandas.DataFrame
        Per-event tables (``time, tll, sll, ll``) on the same events, in the same order.
    subsets : dict of str to boolean array, optional
        Named event selections (default: all events).
    block_days, n_boot, seed :
        As :func:`block_bootstrap_mean`.

    Returns
    -------
    pandas.DataFrame
        One row per (model, reference, part, events): ``gain, ci_low, ci_high, n, n_blocks, block_days``;
        ``part`` is ``temporal``, ``spatial`` or ``total``.
    """
    rows = []
    for ref_name, ref in references.items():
        times = pd.DatetimeIndex(ref["time"])
        subs = subsets or {"all": np.ones(len(ref), bool)}
        for name, pe in models.items():
            if len(pe) != len(ref) or not (pd.DatetimeIndex(pe["time"]) == times).all():
                raise ValueError(f"{name} and {ref_name} are not scored on the same events")
            for part, col in (("temporal", "tll"), ("spatial", "sll"), ("total", "ll")):
                d = pe[col].to_numpy(float) - ref[col].to_numpy(float)
                for sub, keep in subs.items():
                    b = block_bootstrap_mean(
                        d[keep], times[keep], block_days=block_days, n_boot=n_boot, seed=seed
                    )
                    rows.append(
                        {
                            "model": name,
                            "reference": ref_name,
                            "part": part,
                            "events": sub,
                            "gain": b["mean"],
                            "ci_low": b["ci_low"],
                            "ci_high": b["ci_high"],
                            "n": int(b["n"]),
                            "n_blocks": int(b["n_blocks"]),
                            "block_days": block_days,
                        }
                    )
    return pd.DataFrame(rows)
