"""Labelbox: NDJSON imports (``ndjson``), export_v2 rows (``export_v2``), the legacy export (``export_labels``),
the ontology JSON (``ontology``), import statuses (``statuses``) and the Python annotation types (``types``).

Labelbox field names live in ``fields`` and never leave this package.
"""
