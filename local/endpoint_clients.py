"""boto3 clients bound to one running local endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.aws_local import endpoint_client


@dataclass(frozen=True)
class EndpointClients:
    """boto3 clients for the endpoint at ``url``, with its fake credentials."""

    url: str

    def client(self, service: str) -> Any:
        return endpoint_client(self.url, service)
