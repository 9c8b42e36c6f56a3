"""Routers, one per area. Exports and masks (issue 5) add ``exports.py`` here, included in ``app.py``,
with ``key_or_signature`` from ``labelport.api.signed`` as their dependency."""
