"""The AWS clients a deploy uses, created once, with adaptive retries.

Everything that calls AWS takes an :class:`Aws`, so tests inject clients that
point at moto's server (``endpoint_url``) or are wrapped in botocore Stubbers
(``clients``), and the benchmark counts calls with a hook on the session.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from urllib.parse import quote

import boto3
import botocore.loaders
import botocore.regions
from botocore.config import Config
from botocore.exceptions import NoRegionError

# Adaptive mode adds client-side rate limiting on top of exponential backoff,
# which is what a follow loop polling several nested stacks needs.
RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})

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
    def create(cls, region: str | None = None, profile: str | None = None, endpoint_url: str | None = None) -> Aws:
        return cls(boto3.Session(region_name=region, profile_name=profile), endpoint_url=endpoint_url)

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
