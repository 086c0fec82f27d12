"""A store of fitted ETAS models for the forecast service: ``<root>/<name>/model.json`` + ``metadata.json``.

``metadata.json`` holds the SHA-256 of ``model.json`` (the layout of :mod:`quakelab.learn.store`); a model
whose file does not match its checksum is listed with its error and never served. Names are restricted
to ``[A-Za-z0-9][A-Za-z0-9_.-]*`` so that no request can reach a file outside the store.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ModelStoreError(ValueError):
    """A bad model name, a missing model or a checksum mismatch."""


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_name(name: str) -> str:
    """``name`` when it is a valid model name, else :class:`ModelStoreError` naming it.

    Examples
    --------
    >>> check_name("socal-etas")
    'socal-etas'
    >>> check_name("../etc")
    Traceback (most recent call last):
    ...
    quakelab.service.models.ModelStoreError: invalid model name '../etc' (allowed: letters, digits, '_', '.', '-', not starting with '.')
    """
    if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name:
        raise ModelStoreError(
            f"invalid model name {name!r} (allowed: letters, digits, '_', '.', '-', not starting with '.')"
        )
    return name


def save_etas_model(model, name: str, root: str | os.PathLike, *, metadata: dict | None = None) -> Path:
    """Store a fitted :class:`~quakelab.models.ETAS` under ``root/name`` (atomically) with its checksum.

    Returns
    -------
    pathlib.Path
        The model directory.
    """
    import quakelab
    from quakelab.catalog.store import atomic_directory

    check_name(name)
    model.check_is_fitted()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with atomic_directory(root / name) as tmp:
        tmp.mkdir()
        model.save(tmp / "model.json")
        meta = {
            "name": name,
            "kind": "ETAS",
            "format": "etas-json",
            "artifact": "model.json",
            "sha256": sha256_file(tmp / "model.json"),
            "spatial": bool(model.spatial),
            "min_magnitude": model.min_magnitude,
            "region": model.region.to_dict() if model.region is not None else None,
            "quakelab_version": quakelab.__version__,
            "saved_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **(metadata or {}),
        }
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return root / name


def load_verified(root: str | os.PathLike, name: str, expected_sha256: str | None = None):
    """Load ``root/name`` after checking the artifact's SHA-256 (against ``expected_sha256`` when given)."""
    from quakelab.models.etas import ETAS

    d = Path(root) / check_name(name)
    meta_path = d / "metadata.json"
    if not meta_path.is_file():
        raise ModelStoreError(f"no stored model {name!r}")
    meta = json.loads(meta_path.read_text())
    artifact = d / str(meta.get("artifact", "model.json"))
    if artifact.parent != d or not artifact.is_file():
        raise ModelStoreError(f"{name!r}: artifact {artifact.name} is missing or outside the model directory")
    digest = sha256_file(artifact)
    if digest != meta.get("sha256") or (expected_sha256 is not None and digest != expected_sha256):
        raise ModelStoreError(f"{name!r}: checksum mismatch (metadata {meta.get('sha256')}, file {digest})")
    return ETAS.load(artifact), meta


@dataclass
class StoredModel:
    """One entry of the store: metadata, checksum, the loaded model or the error that prevented loading."""

    name: str
    sha256: str | None
    metadata: dict[str, Any]
    model: Any = None
    error: str | None = None

    def describe(self) -> dict[str, Any]:
        """As listed by ``GET /v1/models``."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "verified": self.error is None,
            "error": self.error,
            "metadata": self.metadata,
        }


@dataclass
class ModelStore:
    """The models under ``root``, loaded once and verified; :meth:`refresh` reloads when the store changes."""

    root: Path
    models: dict[str, StoredModel] = field(default_factory=dict)
    signature: tuple = ()
    reloads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.refresh()

    def _signature(self) -> tuple:
        if not self.root.is_dir():
            return ()
        sig = []
        for d in sorted(self.root.iterdir()):
            if d.name.startswith(".") or not d.is_dir():
                continue
            for f in ("metadata.json", "model.json"):
                p = d / f
                st = p.stat() if p.exists() else None
                sig.append((d.name, f, st.st_mtime_ns if st else None, st.st_size if st else None))
        return tuple(sig)

    def refresh(self) -> bool:
        """Reload when files were added, removed or changed; returns True when it reloaded."""
        sig = self._signature()
        if sig == self.signature and self.models is not None and self.reloads:
            return False
        with self._lock:
            models: dict[str, StoredModel] = {}
            if self.root.is_dir():
                for d in sorted(self.root.iterdir()):
                    if d.name.startswith(".") or not d.is_dir() or not NAME_RE.match(d.name):
                        continue
                    meta: dict[str, Any] = {}
                    try:
                        meta = json.loads((d / "metadata.json").read_text())
                        model, meta = load_verified(self.root, d.name)
                        old = self.models.get(d.name)
                        if old is not None and old.sha256 == meta["sha256"] and old.model is not None:
                            model = old.model  # unchanged: keep the loaded object
                        models[d.name] = StoredModel(d.name, meta["sha256"], meta, model)
                    except Exception as exc:  # listed with its error, never served
                        models[d.name] = StoredModel(
                            d.name, meta.get("sha256"), meta, None, f"{type(exc).__name__}: {exc}"
                        )
            self.models = models
            self.signature = sig
            self.reloads += 1
        return True

    def get(self, name: str) -> StoredModel:
        """A verified model by name (:class:`ModelStoreError` when invalid, unknown or unverified)."""
        check_name(name)
        entry = self.models.get(name)
        if entry is None:
            raise ModelStoreError(f"unknown model {name!r}; stored: {sorted(self.models)}")
        if entry.error is not None:
            raise ModelStoreError(f"model {name!r} is not usable: {entry.error}")
        return entry
