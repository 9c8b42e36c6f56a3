"""Routers, one per area: catalog, projects, imports, exports (with masks), workflow; included in ``app.py``."""
