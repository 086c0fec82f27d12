"""Voila dashboards: catalog explorer, forecast dashboard and live monitor (``quakelab dashboard NAME``).

The apps are built here (``catalog_explorer.app()``, ...); the notebooks under ``notebooks/dashboards/``
only display them, so Voila serves thin notebooks and the logic stays testable.
"""

from quakelab.dashboards.serve import DASHBOARDS, DashboardServer, dashboard_command, dashboard_env, serve

__all__ = ["DASHBOARDS", "DashboardServer", "dashboard_command", "dashboard_env", "serve"]
