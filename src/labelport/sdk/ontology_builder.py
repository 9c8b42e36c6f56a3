"""``OntologyBuilder``, ``Tool``, ``Classification`` and ``Option`` as Labelbox's SDK spells them; they build
Labelbox's ontology JSON and live in ``labelport.formats.labelbox.ontology_builder``."""

from labelport.formats.labelbox.ontology_builder import Classification, OntologyBuilder, Option, Tool

__all__ = ["Classification", "OntologyBuilder", "Option", "Tool"]
