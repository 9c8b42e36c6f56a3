"""Labels: all annotations of one kind (prediction or ground truth) on one data row in one project."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from labelport.errors import ValidationError
from labelport.model._checks import enum_value, finite
from labelport.model.annotation import AnyAnnotation
from labelport.model.encoded import EncodedAnnotation


class LabelKind(StrEnum):
    """Pre-labels (model-assisted labeling) and ground truth are stored apart."""

    PREDICTION = "prediction"
    GROUND_TRUTH = "ground_truth"

    @classmethod
    def parse(cls, value: str | LabelKind) -> LabelKind:
        if isinstance(value, str) and value.lower().replace("-", "_") in {"prelabels", "mal", "predictions"}:
            return cls.PREDICTION
        return enum_value(cls, value.replace("-", "_") if isinstance(value, str) else value, "label kind")


@dataclass(frozen=True, slots=True)
class LabelDetails:
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None


@dataclass(frozen=True, slots=True)
class PerformanceDetails:
    seconds_to_create: float | None = None
    seconds_to_review: float | None = None
    skipped: bool = False

    def __post_init__(self) -> None:
        for name in ("seconds_to_create", "seconds_to_review"):
            value = getattr(self, name)
            if value is not None:
                number = finite(value, name)
                if number < 0:
                    raise ValidationError(f"{name} must be >= 0, found {value!r}", field=name, value=value)
                object.__setattr__(self, name, number)


@dataclass(frozen=True, slots=True)
class Label:
    """The annotations of one kind (pre-labels or ground truth) on the data row of its ``LabeledItem``.

    ``annotations`` hold model annotations, or ``EncodedAnnotation`` (their stored JSON, decoded on demand)
    where a fast path produced or read them.
    """

    kind: LabelKind
    annotations: tuple[AnyAnnotation | EncodedAnnotation, ...] = ()
    details: LabelDetails = field(default_factory=LabelDetails)
    performance: PerformanceDetails = field(default_factory=PerformanceDetails)
    id: str | None = None

    def __post_init__(self) -> None:
        if type(self.kind) is not LabelKind:
            object.__setattr__(self, "kind", LabelKind.parse(self.kind))
        if type(self.annotations) is not tuple:
            object.__setattr__(self, "annotations", tuple(self.annotations))
