"""An ontology as Encord's SDK shows it (``encord.objects``): objects, classifications, attributes, options,
found by title or by ``featureNodeHash``, and ``create_instance()`` for the labels put on a label row.

Built from the project's ontology through its Encord form (``formats.encord.ontology.write_ontology``), so
the hashes are the ones an Encord export of the project carries.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from labelport.errors import LabelportError
from labelport.formats.encord.fields import (
    ATTRIBUTES,
    COLOR,
    DYNAMIC,
    FEATURE_NODE_HASH,
    GLOBAL_LEVEL,
    LABEL,
    LEVEL,
    NAME,
    ONTOLOGY_CLASSIFICATIONS,
    ONTOLOGY_OBJECTS,
    OPTIONS,
    REQUIRED,
    SHAPE,
    TYPE,
    VALUE,
    AttributeType,
    Shape,
)
from labelport.formats.encord.ontology import write_ontology
from labelport.model.ontology import Ontology

if TYPE_CHECKING:
    from labelport.sdk.encord.instances import ClassificationInstance, ObjectInstance


class OntologyError(LabelportError):
    """A node looked up by title or hash is not there, or is not of the kind asked for."""


class LabelRowError(LabelportError):
    """A label is put together wrongly: a shape its object does not draw, an answer of another attribute, ..."""


class _Node:
    """A node of the tree: its hash, its title, and the nodes under it."""

    feature_node_hash: str

    @property
    def title(self) -> str:
        raise NotImplementedError

    def children(self) -> Iterator[_Node]:
        return iter(())

    def descendants(self) -> Iterator[_Node]:
        for child in self.children():
            yield child
            yield from child.descendants()

    def get_child_by_hash(self, feature_node_hash: str, type_: type[N] | None = None) -> N:
        return _one(
            self.descendants(), lambda n: n.feature_node_hash == feature_node_hash, type_, f"hash {feature_node_hash!r}"
        )

    def get_child_by_title(self, title: str, type_: type[N] | None = None) -> N:
        return _one(self.descendants(), lambda n: n.title == title, type_, f"title {title!r}")

    def get_children_by_title(self, title: str, type_: type[N] | None = None) -> list[N]:
        return [n for n in self.descendants() if n.title == title and (type_ is None or isinstance(n, type_))]  # type: ignore[misc]


N = TypeVar("N", bound=_Node)


def _one(nodes: Iterator[_Node], match: Any, type_: type[N] | None, what: str) -> N:
    found = [n for n in nodes if match(n) and (type_ is None or isinstance(n, type_))]
    kind = type_.__name__ if type_ is not None else "node"
    if not found:
        raise OntologyError(f"no {kind} with {what} in the ontology")
    if len(found) > 1 and len({n.feature_node_hash for n in found}) > 1:
        raise OntologyError(f"{len(found)} nodes have {what}; look the {kind} up by its hash")
    return found[0]  # type: ignore[return-value]


@dataclass(eq=False)
class Option(_Node):
    """An answer of a radio or checklist attribute; a radio option holds nested attributes."""

    label: str
    value: str
    feature_node_hash: str
    attributes: list[Attribute] = field(default_factory=list)
    parent: Attribute | None = field(default=None, repr=False)

    @property
    def title(self) -> str:
        return self.label

    def children(self) -> Iterator[_Node]:
        return iter(self.attributes)


NestableOption = Option
FlatOption = Option


@dataclass(eq=False)
class Attribute(_Node):
    """A question of an object or classification: radio, checklist or text."""

    name: str
    feature_node_hash: str
    required: bool = False
    dynamic: bool = False
    options: list[Option] = field(default_factory=list)
    parent: _Node | None = field(default=None, repr=False)

    kind = AttributeType.TEXT

    @property
    def title(self) -> str:
        return self.name

    def children(self) -> Iterator[_Node]:
        return iter(self.options)


class RadioAttribute(Attribute):
    kind = AttributeType.RADIO


class ChecklistAttribute(Attribute):
    kind = AttributeType.CHECKLIST


class TextAttribute(Attribute):
    kind = AttributeType.TEXT


_ATTRIBUTES: dict[str, type[Attribute]] = {
    AttributeType.RADIO: RadioAttribute,
    AttributeType.CHECKLIST: ChecklistAttribute,
    AttributeType.TEXT: TextAttribute,
}


@dataclass(eq=False)
class Object(_Node):
    """A kind of object the annotators draw, of one ``shape``."""

    name: str
    color: str
    shape: Shape
    feature_node_hash: str
    attributes: list[Attribute] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.name

    def children(self) -> Iterator[_Node]:
        return iter(self.attributes)

    def create_instance(self) -> ObjectInstance:
        from labelport.sdk.encord.instances import ObjectInstance

        return ObjectInstance(self)


@dataclass(eq=False)
class Classification(_Node):
    """A question about the whole frame (or, ``is_global``, the whole label row), with one attribute."""

    feature_node_hash: str
    attributes: list[Attribute] = field(default_factory=list)
    is_global: bool = False

    @property
    def title(self) -> str:
        return self.attributes[0].name if self.attributes else ""

    def children(self) -> Iterator[_Node]:
        return iter(self.attributes)

    def create_instance(self) -> ClassificationInstance:
        from labelport.sdk.encord.instances import ClassificationInstance

        return ClassificationInstance(self)


def _attribute(data: Mapping[str, Any], parent: _Node) -> Attribute:
    cls = _ATTRIBUTES[str(data[TYPE])]
    attribute = cls(
        name=str(data[NAME]),
        feature_node_hash=str(data[FEATURE_NODE_HASH]),
        required=bool(data.get(REQUIRED, False)),
        dynamic=bool(data.get(DYNAMIC, False)),
        parent=parent,
    )
    for raw in data.get(OPTIONS) or ():
        option = Option(
            str(raw.get(LABEL) or raw[VALUE]), str(raw[VALUE]), str(raw[FEATURE_NODE_HASH]), parent=attribute
        )
        option.attributes = [_attribute(sub, option) for sub in raw.get(OPTIONS) or ()]
        attribute.options.append(option)
    return attribute


@dataclass(eq=False)
class OntologyStructure(_Node):
    """The objects and classifications of an ontology."""

    objects: list[Object] = field(default_factory=list)
    classifications: list[Classification] = field(default_factory=list)
    feature_node_hash: str = ""

    @property
    def title(self) -> str:
        return ""

    def children(self) -> Iterator[_Node]:
        yield from self.objects
        yield from self.classifications

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OntologyStructure:
        """From Encord's ontology structure (the shapes labelport draws)."""
        structure = cls()
        for raw in data.get(ONTOLOGY_OBJECTS) or ():
            if raw.get(SHAPE) not in Shape.__members__.values():
                continue
            obj = Object(str(raw[NAME]), str(raw.get(COLOR) or ""), Shape(raw[SHAPE]), str(raw[FEATURE_NODE_HASH]))
            obj.attributes = [_attribute(a, obj) for a in raw.get(ATTRIBUTES) or () if a.get(TYPE) in _ATTRIBUTES]
            structure.objects.append(obj)
        for raw in data.get(ONTOLOGY_CLASSIFICATIONS) or ():
            classification = Classification(str(raw[FEATURE_NODE_HASH]), is_global=raw.get(LEVEL) == GLOBAL_LEVEL)
            classification.attributes = [_attribute(a, classification) for a in raw.get(ATTRIBUTES) or ()]
            structure.classifications.append(classification)
        return structure

    @classmethod
    def of(cls, ontology: Ontology) -> OntologyStructure:
        return cls.from_dict(write_ontology(ontology))


def attribute_of(option: Option) -> Attribute:
    if option.parent is None:
        raise OntologyError(f"option {option.label!r} belongs to no attribute")
    return option.parent


def attributes_under(nodes: Sequence[Attribute]) -> Iterator[Attribute]:
    """Every attribute of a subtree, nested ones included."""
    for attribute in nodes:
        yield attribute
        for option in attribute.options:
            yield from attributes_under(option.attributes)


__all__ = [
    "Attribute",
    "ChecklistAttribute",
    "Classification",
    "FlatOption",
    "LabelRowError",
    "NestableOption",
    "Object",
    "OntologyError",
    "OntologyStructure",
    "Option",
    "RadioAttribute",
    "Shape",
    "TextAttribute",
    "attribute_of",
    "attributes_under",
]
