"""Helpers for deploy.py's tests: fixture templates, a fake clock, a scripted console."""

from __future__ import annotations

import copy
import functools
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deployer.aws import Aws  # noqa: E402
from deployer.console import Console  # noqa: E402
from deployer.context import Context, Options  # noqa: E402
from deployer.timing import Poll  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REGION = "us-east-1"


def fixture_templates() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted((FIXTURES / "templates").glob("*.json"))}


class Clock:
    """A fake clock that moves one second per sleep, so elapsed times are deterministic."""

    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += 1.0

    def monotonic(self) -> float:
        return self.now

    def utcnow(self) -> datetime:
        return datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=self.now)


def fast_poll() -> Poll:
    clock = Clock()
    return Poll(interval=0, sleeper=clock.sleep, monotonic=clock.monotonic, utcnow=clock.utcnow)


class Script:
    """Answers prompts from a list, remembering the questions."""

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.questions: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.questions.append(prompt)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def console(*answers, interactive: bool = True) -> Console:
    c = Console(out=io.StringIO(), ask=Script(*answers), interactive=interactive, live=False)
    return c


def output(c: Console) -> str:
    return c.out.getvalue()


class Tokens:
    def __init__(self):
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"{self.count:08d}" + "0" * 24


def make_context(aws: Aws, *answers, interactive: bool = True, templates=None) -> Context:
    rendered = templates if templates is not None else fixture_templates()
    return Context(
        aws=aws,
        console=console(*answers, interactive=interactive),
        poll=fast_poll(),
        render=lambda config: copy.deepcopy(rendered),
        token=Tokens(),
        commit=lambda directory: "abc1234",
    )


def options(**overrides) -> Options:
    values = dict(target="staging", image_tag="v1", parameters_dir=FIXTURES / "parameters", project_dir=FIXTURES)
    values.update(overrides)
    return Options(**values)


@functools.cache
def stub_session():
    """The session every stubbed client comes from: it reads botocore's endpoints and service models once, not once
    per client (a second or so for the five clients of a test)."""
    import boto3

    return boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


def stubbed(service: str):
    """A real client (so Stubber validates against the API model) and its Stubber, activated."""
    from botocore.stub import Stubber

    client = stub_session().client(service)
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


ACCOUNT = "123456789012"


def identity_client():
    """A stubbed STS answering one GetCallerIdentity, the call every command starts with."""
    client, stubber = stubbed("sts")
    stubber.add_response("get_caller_identity", {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/dev"})
    return client


STACK_ARN = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo-staging/11111111-1111-1111-1111-111111111111"
NETWORK_ARN = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo-staging-Network-ABC/22222222-2222-2222-2222-222222222222"
SUBNETS_ARN = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/demo-staging-Network-ABC-Subnets-DEF/33333333-3333-3333-3333-333333333333"
)


def change_set_arn(name: str) -> str:
    return f"arn:aws:cloudformation:us-east-1:123456789012:changeSet/{name}/44444444-4444-4444-4444-444444444444"


def at(second: int) -> datetime:
    return datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=second)
