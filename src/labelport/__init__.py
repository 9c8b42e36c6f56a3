"""labelport: an open, self-hosted annotation hub for medical imaging.

``labelport.Client()`` opens the embedded store (SQLite under ``$LABELPORT_HOME``);
``labelport.Client(api_key, endpoint)`` talks to a server and never loads the store. The ontology
builder and the canonical model are re-exported here for the platform-style API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelport.errors import LabelportError
from labelport.model.media import MediaType

__version__ = "0.1.0"

__all__ = [
    "Classification",
    "Client",
    "LabelImport",
    "LabelportError",
    "MALPredictionImport",
    "MediaType",
    "OntologyBuilder",
    "Option",
    "Tool",
    "__version__",
    "convert",
]

if TYPE_CHECKING:
    from labelport.sdk.client import Client
    from labelport.sdk.imports import LabelImport, MALPredictionImport
    from labelport.sdk.ontology_builder import Classification, OntologyBuilder, Option, Tool
    from labelport.service.convert import convert


def __getattr__(name: str) -> Any:
    # The SDK loads when first asked for, and its embedded store (the service, SQLAlchemy) only when an
    # embedded Client is made: `import labelport` and a client of a server stay light.
    if name == "Client":
        from labelport.sdk.client import Client

        return Client
    if name in {"LabelImport", "MALPredictionImport"}:
        from labelport.sdk import imports

        return getattr(imports, name)
    if name == "convert":
        from labelport.service.convert import convert

        return convert
    if name in {"OntologyBuilder", "Tool", "Classification", "Option"}:
        from labelport.sdk import ontology_builder

        return getattr(ontology_builder, name)
    raise AttributeError(f"module 'labelport' has no attribute {name!r}")
