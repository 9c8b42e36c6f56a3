"""Encord: label rows (``rows``: read and write), the export folder with its ontology (``export``), and the
ontology JSON (``ontology``).

The pieces: wire names in ``fields``, coordinates and bitmasks in ``coordinates``, answers in ``answers``,
object and classification hashes in ``hashes``, DICOM slices by instance UID in ``slices`` and label volumes
in ``volumes``; the reader in ``rows_read`` (with ``reading`` and, for series, ``rows_series``) and its fast
path in ``fast``, the writer in ``rows_write``. Encord field names never leave this package.
"""
