"""Failures a user can act on, as one line each.

``deploy.py`` prints ``error: <message>`` and exits with ``exit_code``; it never
shows a traceback for these.  :func:`explain` turns the botocore exceptions a
deploy commonly meets into such a line; anything it does not recognise keeps
the operation name and AWS's own message, still on one line.
"""

from __future__ import annotations

import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    TokenRetrievalError,
)
from botocore.parsers import ResponseParserError  # not a BotoCoreError: callers catch it explicitly (AWS_ERRORS)


class DeployError(Exception):
    """A failure with a one-line explanation; exit status 1."""

    exit_code = 1


class Refused(DeployError):
    """deploy.py would not go on (not confirmed, a state it must not touch); nothing was changed; exit status 2."""

    exit_code = 2


class UsageError(Refused):
    """Bad arguments or configuration, found before any AWS call; exit status 2."""


class Interrupted(DeployError):
    """Ctrl-C: nothing was left half-done; the message says how to resume."""

    exit_code = 130


# What a call to AWS can raise besides DeployError: each becomes one line through explain().
AWS_ERRORS = (BotoCoreError, ClientError, ResponseParserError)

EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "403"}
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
}
INVALID_CREDENTIALS = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch"}

# "... is not authorized to perform: cloudformation:CreateChangeSet on resource: ..."
_ACTION = re.compile(r"perform:?\s+([A-Za-z0-9-]+:[A-Za-z0-9*]+)")

# S3 answers a HEAD with a bare status code; name the IAM action HeadObject needs.
_IAM_ACTION_FOR_OPERATION = {"HeadObject": "s3:GetObject"}


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def denied_action(error: ClientError) -> str:
    match = _ACTION.search(error.response.get("Error", {}).get("Message", "") or "")
    if match:
        return match.group(1)
    operation = error.operation_name
    return _IAM_ACTION_FOR_OPERATION.get(operation, operation)


def explain(error: Exception) -> DeployError:
    """The one-line DeployError for a botocore exception."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return DeployError(
            "no AWS credentials found: set AWS_PROFILE (or pass --profile), run `aws sso login`, "
            "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(error, TokenRetrievalError):
        return DeployError(f"the AWS SSO token has expired: run `aws sso login` and rerun ({one_line(error)})")
    if isinstance(error, NoRegionError):
        return DeployError("no AWS region configured: pass --region, or set AWS_REGION (or a region in your AWS profile)")
    if isinstance(error, ProfileNotFound):
        return DeployError(f"{one_line(error)}: check --profile / AWS_PROFILE against ~/.aws/config")
    if isinstance(error, ConnectTimeoutError | ReadTimeoutError):
        return DeployError(f"AWS did not answer in time ({one_line(error)}): check the network, VPN or HTTPS_PROXY, then rerun")
    if isinstance(error, EndpointConnectionError):
        return DeployError(f"cannot reach AWS: {one_line(error)}; check the network, proxy and region")
    if isinstance(error, ResponseParserError):
        # A proxy, captive portal or load balancer answered instead of AWS (an HTML 5xx page, say).
        return DeployError(
            "the answer did not come from an AWS API (not the XML/JSON AWS sends; often an HTML error page from a proxy "
            "or a wrong --endpoint-url/AWS_ENDPOINT_URL): check HTTPS_PROXY and the endpoint, then rerun"
        )
    if isinstance(error, ClientError):
        return _explain_client_error(error)
    if isinstance(error, BotoCoreError):
        return DeployError(one_line(error))
    raise TypeError(f"not a botocore error: {error!r}")


def _explain_client_error(error: ClientError) -> DeployError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = one_line(details.get("Message", "") or "")
    operation = error.operation_name
    if code in EXPIRED:
        return DeployError("the AWS session token has expired: refresh your credentials (for example `aws sso login`) and rerun")
    if code in INVALID_CREDENTIALS:
        return DeployError(f"AWS rejected the credentials ({code}): check AWS_PROFILE or the access keys in use")
    if code in DENIED:
        return DeployError(
            f"access denied: your credentials may not perform {denied_action(error)} "
            f"(called by {operation}); ask for that permission or use a role that has it"
        )
    if code in THROTTLED:
        return DeployError(
            f"AWS kept throttling {operation} after 10 adaptive retries: wait a minute and rerun, or deploy fewer targets at once"
        )
    if code == "NoSuchBucket":
        bucket = details.get("BucketName", "")
        named = f" {bucket}" if bucket else ""
        return DeployError(
            f"the assets bucket{named} does not exist: run `python deploy.py --bootstrap` to create it in this account and region"
        )
    if code.isdigit():
        # botocore's code for an error body it could not read is the HTTP status: no AWS error document came back.
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", code)
        return DeployError(
            f"{operation} got HTTP {status} without an AWS error document (a proxy or gateway answered?): "
            "check HTTPS_PROXY and the endpoint, wait a minute and rerun"
        )
    return DeployError(f"{operation} failed: {code}: {message}" if message else f"{operation} failed: {code}")


def is_not_found(error: ClientError) -> bool:
    """True for CloudFormation's "Stack with id X does not exist"."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationError" and "does not exist" in (details.get("Message") or "")
