"""Annotations in their stored JSON form, decoded only when a caller needs the model object.

Large imports and exports move millions of plain objects (a box, a polygon) whose checks need a few fields
only; building model objects for each and encoding them again costs more than the rest of the work. A fast
path hands an ``EncodedAnnotation`` instead: ``payload`` is exactly ``model.codec.to_json`` of the
annotation it stands for, and ``decode()`` rebuilds it (through the constructors, so it is checked again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelport.model.annotation import AnyAnnotation, ClassificationAnnotation


@dataclass(slots=True)
class EncodedAnnotation:
    """An annotation as ``codec.to_json`` wrote it, with the fields checks and indexes need at hand.

    Not frozen (treat it as if it were): one is made per line of large files, and frozen dataclasses cost
    several times more to create. ``geometry`` is the geometry's type name for objects (``"Polygon"``), else
    None. ``classifications`` are the object's answers as model objects (the payload holds them encoded too),
    for the checks against the ontology that the model annotation's would take.
    """

    uuid: str
    payload: dict[str, Any]
    name: str | None = None
    schema_id: str | None = None
    geometry: str | None = None
    confidence: float | None = None
    classifications: tuple[ClassificationAnnotation, ...] = ()

    @property
    def type_name(self) -> str:
        """The model class name of the annotation (``ObjectAnnotation``, ``TrackedObject`` ...)."""
        return str(self.payload.get("type"))

    def decode(self) -> AnyAnnotation:
        from labelport.model.codec import from_json

        decoded: AnyAnnotation = from_json(self.payload)
        return decoded


def decoded(annotation: AnyAnnotation | EncodedAnnotation) -> AnyAnnotation:
    """The model annotation, decoding an ``EncodedAnnotation``."""
    return annotation.decode() if isinstance(annotation, EncodedAnnotation) else annotation


__all__ = ["EncodedAnnotation", "decoded"]
