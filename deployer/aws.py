"""The AWS clients a deploy uses, created once, with adaptive retries.

Everything that calls AWS takes an :class:`Aws`, so tests inject clients that
point at moto's server (``endpoint_url``) or are wrapped in botocore Stubbers
(``clients``), and the benchmark counts calls with a hook on the session.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote

import boto3
import botocore.loaders
import botocore.regions
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, NoRegionError, ProfileNotFound, ReadTimeoutError

from deployer.errors import UsageError

# Adaptive mode adds client-side rate limiting on top of exponential backoff,
# which is what a follow loop polling several nested stacks needs.
RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=10)
# The first call (who am I?) tries once with short time-outs, so an unreachable AWS is said
# within seconds rather than after a minute of silent retries; then once more, patiently.
FIRST_TIMEOUT = 3.0
# (botocore's "max_attempts" counts retries; "total_max_attempts" counts every attempt.)
RETRY_IDENTITY = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=10, read_timeout=15)
UNREACHABLE = (ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError)


@dataclass(frozen=True)
class Where:
    """The region and where it came from, the profile and the endpoint: what a run states first."""

    region: str | None
    region_source: str
    profile: str | None
    endpoint_url: str | None


def resolve(region: str | None, profile: str | None, endpoint_url: str | None, environ: Mapping[str, str], profile_region) -> Where:
    """The AWS CLI v2's order: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region.

    botocore alone reads AWS_DEFAULT_REGION but not AWS_REGION (the variable the CLI v2 and
    the SDKs document first), so the order is spelled out here rather than left to it.
    ``profile_region`` is called only when needed: it reads ~/.aws/config.
    """
    profile = profile or environ.get("AWS_PROFILE") or None
    endpoint_url = endpoint_url or environ.get("AWS_ENDPOINT_URL") or None
    for value, source in (
        (region, "--region"),
        (environ.get("AWS_REGION"), "AWS_REGION"),
        (environ.get("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION"),
    ):
        if value:
            return Where(value, source, profile, endpoint_url)
    found = profile_region()
    return Where(found, f"profile {profile or 'default'}" if found else "", profile, endpoint_url)


def known_regions(session: boto3.Session) -> set[str]:
    """Every region botocore's endpoint data lists CloudFormation in, across partitions."""
    return {
        region for partition in session.get_available_partitions() for region in session.get_available_regions("cloudformation", partition)
    }


def check_region(session: boto3.Session, region: str) -> None:
    known = known_regions(session)
    if region in known:
        return
    close = difflib.get_close_matches(region, sorted(known), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UsageError(
        f"unknown AWS region {region!r}: {hint}expected a region such as us-east-1 or eu-west-1 "
        "(a region newer than this botocore needs `pip install -U boto3 botocore`)"
    )


TemplateUrl = Callable[[str, str], str]


def global_template_url(bucket: str, key: str) -> str:
    """The legacy global form, which local emulators such as moto parse."""
    return f"https://{bucket}.s3.amazonaws.com/{quote(key)}"


def regional_template_url(session: boto3.Session, region: str) -> TemplateUrl:
    """``https://BUCKET.s3.REGION.<partition DNS suffix>/KEY``.

    The suffix comes from botocore's partition data rather than a literal
    ".amazonaws.com", because it differs outside the commercial partition
    (``amazonaws.com.cn`` in China).  The regional host is used instead of
    the S3 client's endpoint because the client's us-east-1 endpoint is the
    global one, which CloudFormation in other partitions does not accept.
    """
    partition = session.get_partition_for_region(region)
    resolver = botocore.regions.EndpointResolver(botocore.loaders.create_loader().load_data("endpoints"))
    suffix = resolver.get_partition_dns_suffix(partition)

    def url(bucket: str, key: str) -> str:
        return f"https://{bucket}.s3.{region}.{suffix}/{quote(key)}"

    return url


class Aws:
    """Lazily created clients sharing one session and one retry policy."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        endpoint_url: str | None = None,
        clients: dict | None = None,
        template_url: TemplateUrl | None = None,
    ):
        self.session = session or boto3.Session()
        self.endpoint_url = endpoint_url
        self._clients = dict(clients or {})
        self._template_url = template_url

    @classmethod
    def create(
        cls,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Aws:
        """Clients as the AWS CLI v2 would set them up; an unknown region is refused before any call."""
        environ = os.environ if environ is None else environ
        try:
            base = boto3.Session(profile_name=profile or environ.get("AWS_PROFILE") or None)
        except ProfileNotFound as error:
            raise UsageError(f"{error}: check --profile / AWS_PROFILE against ~/.aws/config") from None
        where = resolve(region, profile, endpoint_url, environ, lambda: base._session.get_scoped_config().get("region"))
        if not where.region:
            raise UsageError("no AWS region configured: pass --region, or set AWS_REGION (or a region in your AWS profile)")
        if not where.endpoint_url:
            check_region(base, where.region)
        aws = cls(boto3.Session(region_name=where.region, profile_name=where.profile), endpoint_url=where.endpoint_url)
        aws.where = where
        return aws

    where: Where | None = None
    first_timeout: float = FIRST_TIMEOUT
    retry_config: Config = RETRY_IDENTITY

    def identity(self, say: Callable[[str], None]) -> dict:
        """STS GetCallerIdentity: the account a run acts in (and the credentials checked, before anything else)."""
        quick = Config(
            connect_timeout=self.first_timeout, read_timeout=self.first_timeout, retries={"mode": "standard", "total_max_attempts": 1}
        )
        try:
            return self._sts(quick).get_caller_identity()
        except UNREACHABLE as error:
            say(f"AWS did not answer within {self.first_timeout:g} s ({type(error).__name__}); retrying with longer time-outs ...")
        return self._sts(self.retry_config).get_caller_identity()

    def _sts(self, config: Config):
        if "sts" in self._clients:  # injected (a Stubber)
            return self._clients["sts"]
        _ = self.region
        return self.session.client("sts", config=config, endpoint_url=self.endpoint_url)

    @property
    def sqs(self):
        return self.client("sqs")

    def client(self, service: str):
        if service not in self._clients:
            _ = self.region  # fail with NoRegionError before botocore picks a surprising default
            self._clients[service] = self.session.client(service, config=RETRY_CONFIG, endpoint_url=self.endpoint_url)
        return self._clients[service]

    @property
    def cloudformation(self):
        return self.client("cloudformation")

    @property
    def s3(self):
        return self.client("s3")

    @property
    def ecr(self):
        return self.client("ecr")

    @property
    def iam(self):
        return self.client("iam")

    @cached_property
    def region(self) -> str:
        for client in self._clients.values():
            return client.meta.region_name
        if not self.session.region_name:
            raise NoRegionError()
        return self.session.region_name

    def template_url(self, bucket: str, key: str) -> str:
        """The URL CloudFormation fetches an uploaded template from."""
        if self._template_url is None:
            # A custom endpoint means an emulator, which only understands the global form.
            self._template_url = global_template_url if self.endpoint_url else regional_template_url(self.session, self.region)
        return self._template_url(bucket, key)
