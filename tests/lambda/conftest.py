"""Fixtures for the health-check Lambda's tests: real services, misbehaving servers, stubbed AWS.

Everything listens on 127.0.0.1 only, every wait is bounded, and every process
or server started here is stopped at teardown.
"""

import json
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"
if str(LAMBDA_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDA_DIR))

from health_check import aws  # noqa: E402
from local_servers import SERVICE_ROUTES, MisbehavingServers, ServiceProcess  # noqa: E402

# --- the real services as processes ----------------------------------------------


@pytest.fixture(scope="session")
def services():
    started = {}
    try:
        for name in SERVICE_ROUTES:
            started[name] = ServiceProcess(name)
        yield started
    finally:
        for service in started.values():
            service.stop()


@pytest.fixture(scope="session")
def stopped_service():
    """A real notification-service that has been started and then stopped: its port refuses."""
    service = ServiceProcess("notification-service")
    service.stop()
    return service


@pytest.fixture
def misbehaving():
    servers = MisbehavingServers()
    yield servers
    servers.close()


# --- Lambda context and AWS --------------------------------------------------------


class FakeContext:
    aws_request_id = "req-123"

    def __init__(self, remaining_ms: int = 30_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def context():
    return FakeContext()


class StubbedClient:
    """A real botocore client whose calls are answered by a Stubber and recorded.

    The Stubber checks each call's parameters against the service's API model,
    so a wrong parameter name or a too-long message fails the test.
    """

    def __init__(self, service_name: str):
        self.client = boto3.client(service_name, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        self.stubber = Stubber(self.client)
        self.calls = []
        self.client.meta.events.register("before-parameter-build.*.*", self._record)
        self.stubber.activate()
        aws.use_client(service_name, self.client)

    def _record(self, params, model, **kwargs):
        self.calls.append((model.name, params))

    def expect(self, operation: str, response: dict, params=None) -> None:
        self.stubber.add_response(operation, response, params)

    def expect_error(self, operation: str, code: str, message: str = "stubbed error") -> None:
        self.stubber.add_client_error(operation, service_error_code=code, service_message=message)


@pytest.fixture
def stub_aws():
    made = []

    def make(service_name: str) -> StubbedClient:
        stubbed = StubbedClient(service_name)
        made.append(stubbed)
        return stubbed

    yield make
    aws.forget_clients()
    for stubbed in made:
        stubbed.stubber.assert_no_pending_responses()


@pytest.fixture(autouse=True)
def lambda_settings(monkeypatch):
    """Short timeouts and no inherited settings, so every test starts from the same place."""
    for name in ("CANARY_ENDPOINTS", "METRICS_NAMESPACE", "HOOK_MAX_WAIT_SECONDS", "HOOK_CALLBACK_DELAY_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHECK_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("DEADLINE_MARGIN_MS", "1000")
    # A client a test forgot to stub fails at once for want of credentials,
    # instead of probing instance metadata or reaching for AWS.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    yield
    aws.forget_clients()


@pytest.fixture
def logged(capsys):
    """Call it to get the JSON log lines written so far."""

    def read() -> list:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]

    return read
