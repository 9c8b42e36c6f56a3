"""Use cases and business rules. Every SDK verb, CLI command and HTTP route is a thin call into here."""

from labelport.service.hub import Hub

__all__ = ["Hub"]
