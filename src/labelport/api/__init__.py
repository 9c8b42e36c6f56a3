"""The HTTP API: a FastAPI app over ``labelport.service``, with API keys and project roles.

``create_app(ServerConfig(...))`` builds it; ``labelport serve`` runs it under uvicorn. Every route is a
thin call into the service layer; authorisation rules live in ``labelport.service.auth``.
"""

from labelport.api.app import ServerConfig, create_app

__all__ = ["ServerConfig", "create_app"]
