"""Python SDK with the verbs users know from the platforms: ``Client``, resources, ``OntologyBuilder``."""

from labelport.sdk.client import Client
from labelport.sdk.ontology_builder import Classification, OntologyBuilder, Option, Tool

__all__ = ["Classification", "Client", "OntologyBuilder", "Option", "Tool"]
