"""boto3 clients, created on first use so tests can put a stubbed client in first."""

import boto3
from botocore.config import Config

# Adaptive mode adds client-side rate limiting to the retries, which matters when
# several hooks (one per service) call ELB at once during a platform deploy.
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=10,
)

_clients: dict = {}


def client(service_name: str):
    if service_name not in _clients:
        _clients[service_name] = boto3.client(service_name, config=CLIENT_CONFIG)
    return _clients[service_name]


def use_client(service_name: str, service_client) -> None:
    """Make ``client(service_name)`` return ``service_client`` (tests, Stubber)."""
    _clients[service_name] = service_client


def forget_clients() -> None:
    _clients.clear()
