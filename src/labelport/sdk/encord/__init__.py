"""Encord's SDK verbs on labelport (notes/encord.md section 8): code written for ``encord`` runs with its
import lines changed to ``from labelport.sdk.encord import ...``.

``EncordUserClient.create_with_ssh_private_key(...)`` opens the embedded store (``labelport.Client()``; the
key is not needed and not read); ``user_client.get_project(id)`` is a labelport project, whose
``list_label_rows_v2`` and ``create_bundle`` give Encord label rows (``label_row``), the objects and
classifications of its ``ontology_structure`` (``ontology``) make instances (``instances``) placed with
Encord's coordinate classes (``coordinates``), and ``label_row.save()`` replaces the row's label. A project of
a client of a server (``labelport.Client(api_key, endpoint)``) does all of it over HTTP, the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from labelport.formats.encord.fields import DataType, Shape
from labelport.sdk.client import Client
from labelport.sdk.encord.coordinates import (
    BitmaskCoordinates,
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
    Visibility,
)
from labelport.sdk.encord.instances import ClassificationInstance, ObjectInstance, Range
from labelport.sdk.encord.label_row import Bundle, LabelRowV2
from labelport.sdk.encord.ontology import (
    Attribute,
    ChecklistAttribute,
    Classification,
    FlatOption,
    LabelRowError,
    NestableOption,
    Object,
    OntologyError,
    OntologyStructure,
    Option,
    RadioAttribute,
    TextAttribute,
)
from labelport.sdk.resources import Project


class EncordUserClient:
    """Where Encord scripts get their client: labelport's embedded one, or a labelport server's when the
    environment names one (``LABELPORT_ENDPOINT`` and ``LABELPORT_API_KEY``), so a script runs against either
    with only its import lines changed."""

    @staticmethod
    def create_with_ssh_private_key(
        ssh_private_key: str | None = None,
        password: str | None = None,
        requests_settings: Any = None,
        *,
        ssh_private_key_path: str | Path | None = None,
        **_options: Any,
    ) -> Client:
        """A client of the server at ``$LABELPORT_ENDPOINT`` with ``$LABELPORT_API_KEY`` when either is set,
        else the embedded client (``$LABELPORT_HOME``); Encord's key arguments are accepted and not used."""
        key, endpoint = os.environ.get("LABELPORT_API_KEY"), os.environ.get("LABELPORT_ENDPOINT")
        if key or endpoint:
            return Client(key or None, endpoint or None)
        return Client()


__all__ = [
    "Attribute",
    "BitmaskCoordinates",
    "BoundingBoxCoordinates",
    "Bundle",
    "ChecklistAttribute",
    "Classification",
    "ClassificationInstance",
    "DataType",
    "EncordUserClient",
    "FlatOption",
    "LabelRowError",
    "LabelRowV2",
    "NestableOption",
    "Object",
    "ObjectInstance",
    "OntologyError",
    "OntologyStructure",
    "Option",
    "PointCoordinate",
    "PolygonCoordinates",
    "PolylineCoordinates",
    "Project",
    "RadioAttribute",
    "Range",
    "RotatableBoundingBoxCoordinates",
    "Shape",
    "SkeletonCoordinate",
    "SkeletonCoordinates",
    "TextAttribute",
    "Visibility",
]
