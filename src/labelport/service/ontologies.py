"""Ontologies: created from a model ontology or Labelbox's normalized form, stored whole (labelport's own JSON,
``model.ontology.ontology_to_dict``) and as nodes for look-ups."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from labelport.errors import NotFoundError
from labelport.formats.labelbox.ontology import from_normalized
from labelport.model.media import MediaType
from labelport.model.ontology import (
    Classification,
    ExternalIds,
    Ontology,
    Option,
    Tool,
    ontology_from_dict,
    ontology_to_dict,
)
from labelport.service.hub import Hub, now
from labelport.service.records import OntologyInfo
from labelport.store.schema import ontologies, ontology_nodes


def _node_rows(ontology: Ontology) -> Iterator[dict[str, Any]]:
    def row(node: Tool | Classification | Option, group: str, parent: str | None, position: int) -> dict[str, Any]:
        kind = "tool" if isinstance(node, Tool) else "classification" if isinstance(node, Classification) else "option"
        return {
            "ontology_id": ontology.id,
            "schema_id": node.schema_id,
            "sibling_group": group,
            "parent_schema_id": parent,
            "kind": kind,
            "type": node.type.value if isinstance(node, Tool | Classification) else None,
            "name": node.name,
            "position": position,
            "labelbox_id": node.external_ids.labelbox,
            "encord_id": node.external_ids.encord,
            "redbrick_id": node.external_ids.redbrick,
        }

    def classification(c: Classification, group: str, parent: str | None, position: int) -> Iterator[dict[str, Any]]:
        yield row(c, group, parent, position)
        for i, option in enumerate(c.options):
            yield row(option, c.schema_id, c.schema_id, i)
            for j, sub in enumerate(option.classifications):
                yield from classification(sub, option.schema_id, option.schema_id, j)

    for i, tool in enumerate(ontology.tools):
        yield row(tool, "tools", None, i)
        for j, sub in enumerate(tool.classifications):
            yield from classification(sub, tool.schema_id, tool.schema_id, j)
    for i, top in enumerate(ontology.classifications):
        yield from classification(top, "classifications", None, i)


def create_ontology(
    hub: Hub, name: str, normalized: Mapping[str, Any] | Ontology, media_type: MediaType | str | None = None
) -> OntologyInfo:
    """Check the whole ontology (names unique among siblings, known tool kinds) before writing any of it."""
    if isinstance(normalized, Ontology):
        ontology = Ontology(
            name=name,
            tools=normalized.tools,
            classifications=normalized.classifications,
            media_type=MediaType.parse(media_type) if media_type is not None else normalized.media_type,
        )
    else:
        ontology = from_normalized(name, normalized, media_type)
    created = now()
    with hub.transaction() as conn:
        conn.execute(
            ontologies.insert().values(
                id=ontology.id,
                organization_id=hub.organization_id,
                name=name,
                media_type=ontology.media_type.value if ontology.media_type else None,
                definition=ontology_to_dict(ontology),
                created_at=created,
            )
        )
        nodes = list(_node_rows(ontology))
        if nodes:  # an empty list would make SQLAlchemy insert one row of defaults
            conn.execute(ontology_nodes.insert(), nodes)
    return OntologyInfo(
        id=ontology.id, name=name, media_type=ontology.media_type, ontology=ontology, created_at=created
    )


def _with_ids(stored: Ontology, linked: Ontology) -> Ontology:
    """``stored`` with the platform ids ``linked`` gives its nodes (by schema id) where ``stored`` has none."""
    wanted = {node.schema_id: node.external_ids for node in linked.walk()}

    def ids(node: Tool | Classification | Option) -> ExternalIds:
        given, have = wanted.get(node.schema_id), node.external_ids
        if given is None:
            return have
        return ExternalIds(
            labelbox=have.labelbox or given.labelbox,
            encord=have.encord or given.encord,
            redbrick=have.redbrick or given.redbrick,
        )

    def classification(c: Classification) -> Classification:
        options = tuple(
            replace(o, external_ids=ids(o), classifications=tuple(classification(s) for s in o.classifications))
            for o in c.options
        )
        return replace(c, external_ids=ids(c), options=options)

    tools = tuple(
        replace(t, external_ids=ids(t), classifications=tuple(classification(c) for c in t.classifications))
        for t in stored.tools
    )
    return replace(stored, tools=tools, classifications=tuple(classification(c) for c in stored.classifications))


def add_external_ids(hub: Hub, ontology_id: str, linked: Ontology) -> OntologyInfo:
    """Record on a stored ontology the platform ids another platform's ontology gives its features (nodes of
    the same schema id in ``linked``), where a node has none yet; names, kinds and schema ids never change."""
    info = get_ontology(hub, ontology_id)
    updated = _with_ids(info.ontology, linked)
    if updated == info.ontology:
        return info
    with hub.transaction() as conn:
        conn.execute(
            ontologies.update().where(ontologies.c.id == ontology_id).values(definition=ontology_to_dict(updated))
        )
        for row in _node_rows(updated):
            conn.execute(
                ontology_nodes.update()
                .where(ontology_nodes.c.ontology_id == ontology_id, ontology_nodes.c.schema_id == row["schema_id"])
                .values(labelbox_id=row["labelbox_id"], encord_id=row["encord_id"], redbrick_id=row["redbrick_id"])
            )
    return get_ontology(hub, ontology_id)


def get_ontology(hub: Hub, ontology_id: str) -> OntologyInfo:
    with hub.read() as conn:
        row = conn.execute(
            sa.select(ontologies).where(
                ontologies.c.id == ontology_id, ontologies.c.organization_id == hub.organization_id
            )
        ).first()
    if row is None:
        raise NotFoundError(f"no ontology with id {ontology_id!r}")
    media_type = MediaType(row.media_type) if row.media_type else None
    ontology = ontology_from_dict({**row.definition, "name": row.name}, id=row.id)
    return OntologyInfo(id=row.id, name=row.name, media_type=media_type, ontology=ontology, created_at=row.created_at)


def list_ontologies(hub: Hub, *, offset: int = 0, limit: int | None = None) -> list[OntologyInfo]:
    """The organisation's ontologies, oldest first (a page with ``offset`` and ``limit``)."""
    with hub.read() as conn:
        ids = conn.execute(
            sa.select(ontologies.c.id)
            .where(ontologies.c.organization_id == hub.organization_id)
            .order_by(ontologies.c.created_at, ontologies.c.id)
            .offset(offset)
            .limit(limit)
        ).scalars()
        wanted = list(ids)
    return [get_ontology(hub, i) for i in wanted]


def _with_options(known: Classification, wanted: Classification) -> Classification:
    """``known`` with the options (and their nested classifications) of ``wanted`` it lacks."""
    options = list(known.options)
    for option in wanted.options:
        index = next((i for i, o in enumerate(options) if o.value == option.value), None)
        if index is None:
            options.append(option)
            continue
        present = options[index]
        nested = _with_classifications(present.classifications, option.classifications)
        if nested != present.classifications:
            options[index] = replace(present, classifications=nested)
    return known if options == list(known.options) else replace(known, options=tuple(options))


def _with_classifications(
    known: tuple[Classification, ...], wanted: tuple[Classification, ...]
) -> tuple[Classification, ...]:
    out = list(known)
    for node in wanted:
        index = next((i for i, c in enumerate(out) if c.name == node.name), None)
        if index is None:
            out.append(node)
        elif out[index].type is node.type:
            out[index] = _with_options(out[index], node)
    return tuple(out)


def merged_ontology(ontology: Ontology, wanted: Ontology) -> Ontology:
    """``ontology`` with what ``wanted`` has and it lacks, matched by name: a missing tool or classification
    whole, missing nested classifications and options into the node of the same name and kind. A node of
    the same name and another kind is left as it is (the annotations that need it then fail, saying why)."""
    tools = list(ontology.tools)
    for tool in wanted.tools:
        index = next((i for i, t in enumerate(tools) if t.name == tool.name), None)
        if index is None:
            tools.append(tool)
        elif tools[index].type is tool.type:
            nested = _with_classifications(tools[index].classifications, tool.classifications)
            if nested != tools[index].classifications:
                tools[index] = replace(tools[index], classifications=nested)
    classifications = _with_classifications(ontology.classifications, wanted.classifications)
    if tools == list(ontology.tools) and classifications == ontology.classifications:
        return ontology
    return replace(ontology, tools=tuple(tools), classifications=classifications)


def add_features(hub: Hub, ontology_id: str, wanted: Ontology) -> OntologyInfo:
    """Add to an ontology the features of ``wanted`` it lacks (``merged_ontology``); existing ids are kept."""
    info = get_ontology(hub, ontology_id)
    merged = merged_ontology(info.ontology, wanted)
    if merged is info.ontology:
        return info
    with hub.transaction() as conn:
        conn.execute(
            ontologies.update().where(ontologies.c.id == ontology_id).values(definition=ontology_to_dict(merged))
        )
        conn.execute(ontology_nodes.delete().where(ontology_nodes.c.ontology_id == ontology_id))
        nodes = list(_node_rows(merged))
        if nodes:
            conn.execute(ontology_nodes.insert(), nodes)
    return get_ontology(hub, ontology_id)
