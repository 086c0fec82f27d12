"""TensorFlow/Keras forecasters: a recurrent or temporal-convolution model over per-cell feature histories,
and a neural temporal point process over the event sequence (RECAST-style).

Seeds are fixed (``keras.utils.set_random_seed`` and TensorFlow op determinism), so a rerun on the
same machine gives the same numbers. Training runs on the CPU; TensorFlow uses a GPU when one is
visible, none is needed.
"""

from __future__ import annotations

import math
import os
import time as _time
from typing import Any

import numpy as np
import pandas as pd

from quakelab._compat import renamed_attribute, renamed_kwargs
from quakelab._optional import require
from quakelab.timeutils import utc


def import_tensorflow():
    """Import TensorFlow with its start-up noise silenced (settings must precede the import)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # 2 still prints tf.data graph-attribute errors
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    return require("tensorflow", "ml")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's kernels deterministic."""
    tf = import_tensorflow()
    tf.keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


class SequenceForecaster:
    """Occurrence probability per cell and time step from the cell's feature history.

    A unidirectional GRU (``kind="gru"``) or a stack of causal dilated 1-D convolutions (``kind="tcn"``)
    reads each cell's sequence of (signed-log, standardised) features; a sigmoid head gives the
    probability of ``occurs_next`` at every step. The output at step k depends only on features up to
    k, which are themselves causal. Trained with binary cross-entropy on the training steps only, early
    stopping on the validation steps (best weights restored).

    Parameters
    ----------
    kind : {"gru", "tcn"}
    units : int, default 32
    epochs : int, default 80
    patience : int, default 8
    batch_size : int, default 32
        Cells per batch.
    learning_rate : float, default 3e-3
    seed : int, default 0
    """

    def __init__(
        self,
        kind: str = "gru",
        *,
        units: int = 32,
        epochs: int = 80,
        patience: int = 8,
        batch_size: int = 32,
        learning_rate: float = 3e-3,
        seed: int = 0,
    ) -> None:
        if kind not in ("gru", "tcn"):
            raise ValueError(f"kind must be 'gru' or 'tcn', got {kind!r}")
        self.kind, self.units, self.epochs, self.patience = kind, int(units), int(epochs), int(patience)
        self.batch_size, self.learning_rate, self.seed = int(batch_size), float(learning_rate), int(seed)
        self.model_: Any = None

    def _transform(self, X: np.ndarray) -> np.ndarray:
        z = (_signed_log1p(X.astype(np.float64)) - self.mean_) / self.std_
        missing = np.isnan(z)
        z = np.where(missing, 0.0, z)
        return np.concatenate([z, missing[..., self.has_missing_]], axis=-1).astype(np.float32)

    def _build(self, n_inputs: int):
        keras = import_tensorflow().keras
        inp = keras.Input(shape=(None, n_inputs))
        if self.kind == "gru":
            h = keras.layers.GRU(self.units, return_sequences=True)(inp)
        else:
            h = inp
            for dilation in (1, 2, 4, 8):
                h = keras.layers.Conv1D(
                    self.units, 3, padding="causal", dilation_rate=dilation, activation="relu"
                )(h)
        out = keras.layers.Dense(1, activation="sigmoid")(h)
        model = keras.Model(inp, out)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="binary_crossentropy")
        return model

    def fit(
        self, X: np.ndarray, y: np.ndarray, train_steps: np.ndarray, val_steps: np.ndarray
    ) -> SequenceForecaster:
        """Fit on ``X`` (cell, time, feature), ``y`` (cell, time) with boolean step masks.

        Normalisation constants come from the training steps only.
        """
        keras = import_tensorflow().keras
        set_seed(self.seed)
        train_steps, val_steps = np.asarray(train_steps, bool), np.asarray(val_steps, bool)
        lx = _signed_log1p(X[:, train_steps].astype(np.float64))
        self.mean_ = np.nan_to_num(np.nanmean(lx, axis=(0, 1)))
        self.std_ = np.nan_to_num(np.nanstd(lx, axis=(0, 1)), nan=1.0)
        self.std_[self.std_ == 0] = 1.0
        self.has_missing_ = np.isnan(X).any(axis=(0, 1))
        Z = self._transform(X)
        yy = np.nan_to_num(y.astype(np.float32))[..., None]
        w_train = np.broadcast_to(train_steps[None, :], y.shape).astype(np.float32)
        w_val = np.broadcast_to(val_steps[None, :], y.shape).astype(np.float32)
        self.model_ = self._build(Z.shape[-1])
        t0 = _time.perf_counter()
        stop = keras.callbacks.EarlyStopping(patience=self.patience, restore_best_weights=True)
        hist = self.model_.fit(
            Z,
            yy,
            sample_weight=w_train,
            validation_data=(Z, yy, w_val),
            epochs=self.epochs,
            batch_size=self.batch_size,
            callbacks=[stop],
            verbose=0,
            shuffle=True,
        )
        self.history_ = pd.DataFrame(hist.history)
        self.fit_seconds_ = _time.perf_counter() - t0
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities (cell, time)."""
        if self.model_ is None:
            raise RuntimeError("fit the model first")
        return np.asarray(self.model_.predict(self._transform(X), verbose=0, batch_size=self.batch_size))[
            ..., 0
        ]


def _mixture_nll(n_components: int):
    keras = import_tensorflow().keras
    ops = keras.ops
    half_log_2pi = 0.5 * math.log(2 * math.pi)

    def loss(y_true, y_pred):
        logits = y_pred[..., :n_components]
        mu = y_pred[..., n_components : 2 * n_components]
        log_sigma = ops.clip(y_pred[..., 2 * n_components :], -5.0, 3.0)
        z = y_true[..., :1]
        lp = (
            ops.log_softmax(logits, axis=-1)
            - log_sigma
            - half_log_2pi
            - 0.5 * ops.square((z - mu) / ops.exp(log_sigma))
        )
        return -ops.logsumexp(lp, axis=-1)

    return loss


def _tpp_forward(model, x):
    """The output of :meth:`NeuralTPP._build`'s model for inputs ``x`` (batch, time, 2), by its own weights.

    The same arithmetic as the Keras GRU (``reset_after``, sigmoid gates, tanh candidate, zero initial
    state) and the two dense layers, with the input projection of every step done in one product before the
    recurrence; the recurrence is a ``tf.scan`` (compiled into one loop under XLA).
    """
    tf = import_tensorflow()
    gru, dense, head = (layer for layer in model.layers if layer.weights)
    cell = gru.cell
    kernel, rkernel, bias = (tf.convert_to_tensor(v) for v in (cell.kernel, cell.recurrent_kernel, cell.bias))
    xp = tf.transpose(tf.einsum("btd,dk->btk", x, kernel) + bias[0], [1, 0, 2])  # (time, batch, 3 units)

    def step(h, xs):
        x_z, x_r, x_h = tf.split(xs, 3, axis=-1)
        r_z, r_r, r_h = tf.split(tf.matmul(h, rkernel) + bias[1], 3, axis=-1)
        z = tf.sigmoid(x_z + r_z)
        r = tf.sigmoid(x_r + r_r)
        return z * h + (1 - z) * tf.tanh(x_h + r * r_h)

    h0 = tf.zeros([tf.shape(x)[0], cell.units], dtype=x.dtype)
    h = tf.transpose(tf.scan(step, xp, initializer=h0), [1, 0, 2])
    h = tf.tanh(tf.matmul(h, tf.convert_to_tensor(dense.kernel)) + tf.convert_to_tensor(dense.bias))
    return tf.matmul(h, tf.convert_to_tensor(head.kernel)) + tf.convert_to_tensor(head.bias)


def _window_loss(model, nll, x, y, w, n):
    """Keras's ``sum_over_batch_size`` loss of ``n`` windows: ``sum(w * nll) / (n * window)``.

    ``x`` (batch, window, 2) inputs, ``y`` (batch, window) standardised log inter-event times, ``w`` (batch,
    window) weights (0 for history and padding), ``nll`` from :func:`_mixture_nll`; rows past ``n`` are padding.
    """
    tf = import_tensorflow()
    out = _tpp_forward(model, x)
    return tf.reduce_sum(nll(y[..., None], out) * w) / (tf.cast(n, out.dtype) * x.shape[1])


class NeuralTPP:
    """Neural temporal point process: GRU history encoder, log-normal mixture of the next inter-event time.

    Following RECAST (Dascher-Cousineau et al. 2023): each event enters as (log inter-event time,
    magnitude − min_magnitude); after event i a GRU state gives the weights, means and spreads of a mixture of
    ``n_components`` log-normal distributions for the time to event i + 1. Trained by maximum likelihood
    on windows of ``window`` events whose first ``context`` outputs are history only (so every scored
    interval has at least ``context`` events of history), early stopping on a later validation window.

    The temporal log-likelihood of a test window ``[T0, T1)`` per event,
    ``(sum_i log f(tau_i | H_i) - log S(T0 - t_prev | H)) / N`` with the first interval measured from
    the last event before ``T0``, equals ``sum_i (log lambda*(t_i) - integral of lambda* from max(t_{i-1}, T0)
    to t_i) / N``: the EarthquakeNPP temporal score (TLL) of ETAS, so the two compare directly.

    Parameters
    ----------
    units : int, default 32
    n_components : int, default 8
    context : int, default 128
    window : int, default 512
    epochs : int, default 200
    patience : int, default 15
    batch_size : int, default 16
    learning_rate : float, default 2e-3
    min_interval_days : float, default 1e-6
        Inter-event times below (simultaneous events) are raised to this (0.09 s).
    seed : int, default 0

    Attributes
    ----------
    history_ : pandas.DataFrame
        Per epoch: ``loss`` (training), ``val_loss`` (validation), ``seconds`` (the first includes compilation).
    best_epoch_ : int
        The epoch (from 1) of the lowest validation loss, whose weights are kept.
    stopped_early_ : bool
        True when validation stopped the training (``patience`` epochs without improvement); False when it ran
        to ``epochs`` (then the fit may be short of its optimum).
    """

    def __init__(
        self,
        *,
        units: int = 32,
        n_components: int = 8,
        context: int = 128,
        window: int = 512,
        epochs: int = 200,
        patience: int = 15,
        batch_size: int = 16,
        learning_rate: float = 2e-3,
        min_interval_days: float = 1e-6,
        seed: int = 0,
    ) -> None:
        if not 0 < context < window:
            raise ValueError("need 0 < context < window")
        self.units, self.n_components, self.context, self.window = (
            int(units),
            int(n_components),
            int(context),
            int(window),
        )
        self.epochs, self.patience, self.batch_size = int(epochs), int(patience), int(batch_size)
        self.learning_rate, self.min_interval_days, self.seed = (
            float(learning_rate),
            float(min_interval_days),
            int(seed),
        )
        self.model_: Any = None

    # ------------------------------------------------------------------ data
    def _sequence(self, events: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
        ev = events.sort_values("time", kind="mergesort")
        t = pd.DatetimeIndex(ev["time"])
        days = ((t - t[0]) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        tau = np.maximum(np.diff(days, prepend=np.nan), self.min_interval_days)
        return t, tau, ev["magnitude"].to_numpy(dtype=float)

    def _inputs(self, tau: np.ndarray, mags: np.ndarray) -> np.ndarray:
        z = (np.log(tau) - self.log_tau_mean_) / self.log_tau_std_
        z = np.where(np.isnan(z), 0.0, z)
        return np.column_stack([z, mags - self.min_magnitude_]).astype(np.float32)

    def _windows(self, n: int, first_target: int, last_target: int) -> np.ndarray:
        """Window starts whose scored targets (s + context + 1 .. s + window) cover the targets."""
        stride = self.window - self.context
        s0 = first_target - self.context - 1
        return np.arange(s0, last_target - self.context, stride)

    def _gather(self, Zin: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Input windows (clipped at the sequence ends: padded with zeros) and target index per output."""
        n = Zin.shape[0]
        pos = starts[:, None] + np.arange(self.window)[None, :]
        valid = (pos >= 0) & (pos < n)
        X = np.where(valid[..., None], Zin[np.clip(pos, 0, n - 1)], 0.0).astype(np.float32)
        return X, pos + 1  # the output at input position p predicts interval p + 1

    def _build(self):
        keras = import_tensorflow().keras
        inp = keras.Input(shape=(None, 2))
        h = keras.layers.GRU(self.units, return_sequences=True)(inp)
        h = keras.layers.Dense(self.units, activation="tanh")(h)
        out = keras.layers.Dense(3 * self.n_components)(h)
        model = keras.Model(inp, out)
        model.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate), loss=_mixture_nll(self.n_components)
        )
        return model

    mc_ = renamed_attribute("min_magnitude_")

    @renamed_kwargs(mc="min_magnitude")
    def fit(
        self, events: pd.DataFrame, *, min_magnitude: float, train_start, train_end, val_end
    ) -> NeuralTPP:
        """Fit on the intervals ending in ``[train_start, train_end)``, stop early on ``[train_end, val_end)``.

        Parameters
        ----------
        events : pandas.DataFrame
            ``time, magnitude`` of the events of the region above ``min_magnitude`` (earlier events are history).
        min_magnitude : float
            Magnitude threshold of the events (old name ``mc``, deprecated).
        train_start, train_end, val_end : time-like
        """
        set_seed(self.seed)
        self.min_magnitude_ = float(min_magnitude)
        ev = events[events["time"] < utc(val_end)]
        t, tau, mags = self._sequence(ev)
        train = np.asarray((t >= utc(train_start)) & (t < utc(train_end)))
        val = np.asarray((t >= utc(train_end)) & (t < utc(val_end)))
        if train.sum() < 2 * self.window or val.sum() < self.context:
            raise ValueError(
                f"too few events: {train.sum()} training (need {2 * self.window}), {val.sum()} validation"
            )
        self.log_tau_mean_ = float(np.nanmean(np.log(tau[train])))
        self.log_tau_std_ = float(np.nanstd(np.log(tau[train])))
        Zin = self._inputs(tau, mags)
        ztarget = ((np.log(tau) - self.log_tau_mean_) / self.log_tau_std_).astype(np.float32)

        def batch(mask):
            idx = np.flatnonzero(mask)
            starts = self._windows(len(t), idx[0], idx[-1])
            X, tgt = self._gather(Zin, starts)
            ok = (tgt >= 1) & (tgt < len(t)) & (np.arange(self.window)[None, :] >= self.context)
            ok &= np.where(tgt < len(t), mask[np.clip(tgt, 0, len(t) - 1)], False)
            y = np.where(ok, ztarget[np.clip(tgt, 0, len(t) - 1)], 0.0)[..., None].astype(np.float32)
            return X, y, ok.astype(np.float32)

        Xt, yt, wt = batch(train)
        Xv, yv, wv = batch(val)
        self.model_ = self._build()
        t0 = _time.perf_counter()
        self._train(Xt, yt[..., 0], wt, Xv, yv[..., 0], wv)
        self.fit_seconds_ = _time.perf_counter() - t0
        self.n_train_intervals_, self.n_val_intervals_ = int(wt.sum()), int(wv.sum())
        return self

    def _train(self, Xt, yt, wt, Xv, yv, wv) -> None:
        """Adam on shuffled batches of windows, early stopping on the validation loss, best weights restored.

        The loss of a batch is Keras's ``sum_over_batch_size`` reduction, ``sum(w * nll) / (b * window)``
        over its ``b`` windows (the history and padding positions have weight 0); the validation loss the
        same over all validation windows. One compiled step (XLA) serves every batch: the last, shorter
        batch is padded with weight-0 windows and divided by its own size, so no shape is traced twice.
        The GRU runs as :func:`_tpp_forward` (the model's own weights, its input projection hoisted out
        of the time loop). Windows are shuffled each epoch by a generator seeded with ``seed``.
        """
        tf = import_tensorflow()
        model, B = self.model_, self.batch_size
        variables = model.trainable_variables
        opt = model.optimizer
        opt.build(variables)
        nll = _mixture_nll(self.n_components)

        def batch_loss(x, y, w, n):
            return _window_loss(model, nll, x, y, w, n)

        @tf.function(jit_compile=True, autograph=False)
        def train_step(x, y, w, n):
            with tf.GradientTape() as tape:
                loss = batch_loss(x, y, w, n)
            opt.apply(tape.gradient(loss, variables), variables)
            return loss

        eval_loss = tf.function(batch_loss, jit_compile=True, autograph=False)
        n_val = tf.constant(float(len(Xv)))
        rng = np.random.default_rng(self.seed)
        n = len(Xt)
        pad = (-n) % B
        best, best_weights, wait, rows = np.inf, None, 0, []
        self.best_epoch_, self.stopped_early_ = 0, False
        for epoch in range(self.epochs):
            t_epoch = _time.perf_counter()
            order = rng.permutation(n)
            if pad:
                order = np.concatenate([order, np.full(pad, -1)])
            total = 0.0
            for k in range(0, len(order), B):
                idx = order[k : k + B]
                real = idx >= 0
                take = np.where(real, idx, 0)
                w = np.where(real[:, None], wt[take], 0.0).astype(np.float32)
                b = float(real.sum())
                total += float(train_step(Xt[take], yt[take], w, tf.constant(b))) * b
            val_loss = float(eval_loss(Xv, yv, wv, n_val))
            rows.append({"loss": total / n, "val_loss": val_loss, "seconds": _time.perf_counter() - t_epoch})
            if val_loss < best:
                best, best_weights, wait, self.best_epoch_ = val_loss, model.get_weights(), 0, epoch + 1
            else:
                wait += 1
                if wait >= self.patience:
                    self.stopped_early_ = True
                    break
        if best_weights is not None:
            model.set_weights(best_weights)
        self.history_ = pd.DataFrame(rows)
        self.history_.index.name = "epoch"

    def _mixture(self, events: pd.DataFrame, targets: np.ndarray):
        t, tau, mags = self._sequence(events)
        Zin = self._inputs(tau, mags)
        starts = self._windows(len(t), targets[0], targets[-1])
        X, tgt = self._gather(Zin, starts)
        out = np.asarray(self.model_.predict(X, verbose=0, batch_size=self.batch_size), dtype=np.float64)
        scored = np.arange(self.window)[None, :] >= self.context
        K = self.n_components
        params = np.full((len(t), 3 * K), np.nan)
        sel = scored & (tgt < len(t)) & (tgt >= 0)
        params[tgt[sel]] = out[sel]
        return t, tau, params[targets]

    def window_mixture(self, events: pd.DataFrame, test_start, test_end) -> tuple:
        """The predicted mixture at every test event: ``(events, targets, tau, log_w, mu, sig, gap0)``.

        ``events`` are those before ``test_end`` in time order, ``targets`` their indices in the test window,
        ``gap0`` the days from the last event before the window to its start (its first interval is
        conditioned on that quiet gap).

        Parameters
        ----------
        events : pandas.DataFrame
            Canonical catalog (history and test window).
        test_start, test_end : time-like
            Test window, half open, UTC.

        Returns
        -------
        tuple
            ``(events, targets, tau, log_w, mu, sig, gap0)``: the events before ``test_end``, the indices of the
            test events, their inter-event times, and the mixture's log-weights, means and scales (one row per
            test event).
        """
        from scipy.special import log_softmax

        t0, t1 = utc(test_start), utc(test_end)
        ev = events[events["time"] < t1].sort_values("time", kind="mergesort").reset_index(drop=True)
        times = pd.DatetimeIndex(ev["time"])
        targets = np.flatnonzero(np.asarray(times >= t0))
        if targets.size == 0 or targets[0] == 0:
            raise ValueError("need test events and at least one event before the test start")
        _, tau, params = self._mixture(ev, targets)
        K = self.n_components
        log_w = log_softmax(params[:, :K], axis=1)
        mu, sig = params[:, K : 2 * K], np.exp(np.clip(params[:, 2 * K :], -5, 3))
        gap0 = (t0 - times[targets[0] - 1]) / pd.Timedelta(days=1)
        return ev, targets, tau, log_w, mu, sig, gap0

    def score(self, events: pd.DataFrame, *, test_start, test_end, name: str = "neural TPP"):
        """EarthquakeNPP temporal log-likelihood per test event (see the class docstring).

        Returns
        -------
        quakelab.evaluate.LikelihoodScore
            ``tll`` (and ``ll``) the mean, ``sll`` NaN; ``per_event`` with ``time, magnitude, tll``.
        """
        from scipy.special import log_ndtr, logsumexp

        from quakelab.evaluate.likelihood import LikelihoodScore

        if self.model_ is None:
            raise RuntimeError("fit the model first")
        ev, targets, tau, log_w, mu, sig, gap0 = self.window_mixture(events, test_start, test_end)

        def log_pdf(x):  # density of tau: Gaussian mixture in z, Jacobian 1 / (tau * std)
            z = ((np.log(x) - self.log_tau_mean_) / self.log_tau_std_)[:, None]
            lz = logsumexp(
                log_w - np.log(sig) - 0.5 * np.log(2 * np.pi) - 0.5 * ((z - mu) / sig) ** 2, axis=1
            )
            return lz - np.log(x) - np.log(self.log_tau_std_)

        tll = log_pdf(tau[targets])
        if gap0 > 0:  # no event in [t_prev, T0): condition on it
            z0 = (math.log(gap0) - self.log_tau_mean_) / self.log_tau_std_
            tll[0] -= float(logsumexp(log_w[0] + log_ndtr(-(z0 - mu[0]) / sig[0])))
        per = pd.DataFrame(
            {
                "time": ev["time"].to_numpy()[targets],
                "magnitude": ev["magnitude"].to_numpy()[targets],
                "tll": tll,
            }
        )
        return LikelihoodScore(
            model=name,
            ll=float(tll.mean()),
            tll=float(tll.mean()),
            sll=math.nan,
            n_test_events=int(targets.size),
            per_event=per,
        )
