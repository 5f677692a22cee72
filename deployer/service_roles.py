"""The service-linked roles an environment's first deploy needs, made before it by ``deploy.py --bootstrap``.

ECS, Elastic Load Balancing and Application Auto Scaling create their service-linked roles on first use in an
account, but IAM is eventually consistent: in a fresh account the cluster, the load balancer and the scalable
target race the role they have just asked for ("Unable to assume the service linked role").  Made here once,
before any environment, and waited for until IAM returns them (IAM User Guide, "Using service-linked roles":
https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html; "Service-linked role for
Amazon ECS": https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html).
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from templates.iam.deploy_roles import SERVICE_LINKED_ROLES

# How long to wait for IAM to return a role it has just made: the role_exists waiter, every 2 s, up to a minute.
WAIT = {"Delay": 2, "MaxAttempts": 30}


def exists(iam, name: str) -> bool:
    try:
        iam.get_role(RoleName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return False
        raise
    return True


def already_made(error: ClientError) -> bool:
    """IAM's answer when the role exists (made meanwhile): "Service role name ... has been taken in this account"."""
    code = error.response.get("Error", {}).get("Code")
    return code == "EntityAlreadyExists" or (code == "InvalidInput" and "has been taken" in str(error))


def missing(iam) -> dict[str, str]:
    """Service -> role name, for each service-linked role the account does not have yet."""
    return {service: name for service, name in sorted(SERVICE_LINKED_ROLES.items()) if not exists(iam, name)}


def ensure(iam, say: Callable[[str], None]) -> list[str]:
    """Create every missing role (one made meanwhile is no error) and wait until IAM returns each; the names made."""
    made = []
    for service in missing(iam):
        try:
            created = iam.create_service_linked_role(AWSServiceName=service)["Role"]["RoleName"]
        except ClientError as error:
            if already_made(error):
                continue
            raise
        say(f"created the service-linked role {created} for {service}")
        made.append(created)
    for name in made:
        iam.get_waiter("role_exists").wait(RoleName=name, WaiterConfig=WAIT)
    return made
