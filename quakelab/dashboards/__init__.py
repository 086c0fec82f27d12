"""Voila dashboards: catalog explorer, forecast dashboard and live monitor (``quakelab dashboard NAME``).

The apps are built here (``catalog_explorer.app()``, ...); the notebooks under ``notebooks/dashboards/``
(identical copies ship in the package, ``quakelab/dashboards/notebooks/``) only display them, so Voila
serves thin notebooks and the logic stays testable. They need the ``dash`` extra
(``pip install 'quakelab[dash]'``: Voila, ipywidgets, JupyterLab).
"""

from quakelab._optional import require
from quakelab.dashboards.serve import (
    DASHBOARDS,
    DashboardServer,
    dashboard_command,
    dashboard_env,
    notebook_path,
    serve,
)

require("ipywidgets", "dash", load=False)  # every app module imports it: say which extra installs it

__all__ = ["DASHBOARDS", "DashboardServer", "dashboard_command", "dashboard_env", "notebook_path", "serve"]
