"""Model store: ``<root>/<name>/`` holds the artifact and ``metadata.json`` (with the artifact's SHA-256).

scikit-learn models are stored with joblib (a pickle: load only models you trust; the checksum is
verified before unpickling so a modified or truncated file is refused), Keras models in Keras's native
``.keras`` format. A model directory is written under a temporary name and renamed, so a crash never
leaves a half-written model behind.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quakelab.catalog.store import atomic_directory

DEFAULT_ROOT = Path("models") / "saved_models"


class ModelStoreError(RuntimeError):
    """A stored model is missing, altered or does not match what the caller expects."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_hash(*arrays) -> str:
    """SHA-256 of training data (arrays or DataFrames: values, column names and index), for model metadata.

    Examples
    --------
    >>> import numpy as np
    >>> data_hash(np.zeros(3)) == data_hash(np.zeros(3)) != data_hash(np.ones(3))
    True
    >>> import pandas as pd
    >>> data_hash(pd.DataFrame({"a": [1.0]})) != data_hash(pd.DataFrame({"b": [1.0]}))
    True
    """
    import numpy as np
    import pandas as pd

    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, (pd.DataFrame, pd.Series)):
            h.update(pd.util.hash_pandas_object(a, index=True).to_numpy().tobytes())
            names = a.columns if isinstance(a, pd.DataFrame) else [a.name]
            h.update(json.dumps([str(c) for c in names]).encode())
        else:
            arr = np.ascontiguousarray(np.asarray(a))
            h.update(str(arr.dtype).encode() + str(arr.shape).encode())
            h.update(arr.tobytes())
    return h.hexdigest()


def _is_keras(model: Any) -> bool:
    return type(model).__module__.startswith(("keras", "tensorflow"))


def save_model(
    model: Any,
    name: str,
    *,
    features: Sequence[str],
    root: str | os.PathLike = DEFAULT_ROOT,
    metadata: dict | None = None,
) -> Path:
    """Store a fitted model with its metadata; replaces an existing model of that name atomically.

    Parameters
    ----------
    model : estimator or keras.Model
        The fitted model (any picklable object that is not a Keras model goes through joblib).
    name : str
        Directory name under ``root``.
    features : sequence of str
        The input schema (feature names in order); checked again by :func:`load_model`.
    root : path, default ``models/saved_models``
    metadata : dict, optional
        Parameters, training window, data hash, metrics... (JSON-serialisable).

    Returns
    -------
    pathlib.Path
        The model directory.
    """
    import quakelab

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if not name or "/" in name or name.startswith("."):
        raise ModelStoreError(f"invalid model name {name!r}")
    with atomic_directory(root / name) as tmp:
        tmp.mkdir()
        if _is_keras(model):
            artifact, fmt = tmp / "model.keras", "keras"
            model.save(artifact)
        else:
            import joblib

            artifact, fmt = tmp / "model.joblib", "joblib"
            joblib.dump(model, artifact)
        meta = {
            "name": name,
            "format": fmt,
            "artifact": artifact.name,
            "sha256": _sha256(artifact),
            "features": list(features),
            "quakelab_version": quakelab.__version__,
            "saved_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **(metadata or {}),
        }
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return root / name


def load_model(
    name: str,
    *,
    root: str | os.PathLike = DEFAULT_ROOT,
    features: Sequence[str] | None = None,
    custom_objects: dict | None = None,
) -> tuple[Any, dict]:
    """Load a stored model after checking its checksum and, when given, its feature schema.

    Parameters
    ----------
    name : str
    root : path
    features : sequence of str, optional
        The features the caller will feed; must equal the stored schema.
    custom_objects : dict, optional
        Keras custom layers/losses.

    Returns
    -------
    (model, metadata)

    Raises
    ------
    ModelStoreError
        Missing model or metadata, checksum mismatch, or a different feature schema.
    """
    d = Path(root) / name
    meta_path = d / "metadata.json"
    if not meta_path.is_file():
        raise ModelStoreError(f"no stored model {name!r} under {Path(root)} (missing {meta_path})")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as e:
        raise ModelStoreError(f"{meta_path}: not valid JSON ({e})") from e
    artifact = d / meta.get("artifact", "")
    if not artifact.is_file():
        raise ModelStoreError(f"{name!r}: artifact {artifact} is missing")
    digest = _sha256(artifact)
    if digest != meta.get("sha256"):
        raise ModelStoreError(
            f"{artifact}: checksum mismatch (stored {meta.get('sha256')}, file {digest}); "
            "the file was modified or truncated — refusing to load it"
        )
    if features is not None and list(features) != list(meta.get("features", [])):
        stored = list(meta.get("features", []))
        missing = sorted(set(stored) - set(features))
        extra = sorted(set(features) - set(stored))
        raise ModelStoreError(
            f"{name!r}: feature schema differs from the stored one (missing {missing}, "
            f"unexpected {extra}{', or another order' if not missing and not extra else ''})"
        )
    if meta.get("format") == "keras":
        from quakelab.learn.keras_models import import_tensorflow

        keras = import_tensorflow().keras
        model = keras.models.load_model(artifact, custom_objects=custom_objects, compile=False)
    else:
        import joblib

        model = joblib.load(artifact)
    return model, meta
