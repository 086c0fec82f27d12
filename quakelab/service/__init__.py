"""The forecast service behind ``quakelab serve`` (FastAPI + uvicorn): see :func:`create_app`."""

from quakelab.service.app import ServiceConfig, check_bind, create_app, serve
from quakelab.service.models import ModelStore, ModelStoreError, load_verified, save_etas_model, sha256_file

__all__ = [
    "ModelStore",
    "ModelStoreError",
    "ServiceConfig",
    "check_bind",
    "create_app",
    "load_verified",
    "save_etas_model",
    "serve",
    "sha256_file",
]
