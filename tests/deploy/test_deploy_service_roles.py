"""deploy.py --bootstrap makes the service-linked roles an environment's first deploy needs, once, and waits for them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from deploy_helpers import make_context, options, output, stubbed

from deployer import service_roles, workflow
from templates.iam.deploy_roles import SERVICE_LINKED_ROLES


def linked_roles(aws) -> dict[str, str]:
    """Service -> the service-linked role IAM holds for it (moto names them its own way; AWS uses the documented names)."""
    roles = aws.iam.list_roles(PathPrefix="/aws-service-role/")["Roles"]
    return {role["Path"].split("/")[2]: role["RoleName"] for role in roles}


def test_the_bootstrap_makes_every_missing_service_linked_role_and_a_second_one_makes_none(moto_aws):
    ctx = make_context(moto_aws, interactive=False)
    assert workflow.bootstrap(options(yes=True), ctx) == 0
    assert set(linked_roles(moto_aws)) == set(SERVICE_LINKED_ROLES)
    assert output(ctx.console).count("created the service-linked role") == len(SERVICE_LINKED_ROLES)
    again = make_context(moto_aws, interactive=False)
    assert workflow.bootstrap(options(yes=True), again) == 0  # made already: no error
    assert set(linked_roles(moto_aws)) == set(SERVICE_LINKED_ROLES)


def test_a_dry_run_names_the_roles_it_would_make_and_makes_none(moto_aws):
    ctx = make_context(moto_aws, interactive=False)
    assert workflow.bootstrap(options(dry_run=True), ctx) == 0
    assert linked_roles(moto_aws) == {}
    text = output(ctx.console)
    assert all(f"would create the service-linked role {name} for {service}" in text for service, name in SERVICE_LINKED_ROLES.items())


SERVICES = sorted(SERVICE_LINKED_ROLES)  # the order ensure() asks in


def role(service: str) -> dict:
    name = SERVICE_LINKED_ROLES[service]
    arn = f"arn:aws:iam::123456789012:role/aws-service-role/{service}/{name}"
    return {"Role": {"Path": f"/aws-service-role/{service}/", "RoleName": name, "RoleId": "AROAEXAMPLE123456789", "Arn": arn,
                     "CreateDate": "2026-01-01T00:00:00Z"}}  # fmt: skip


def test_roles_the_account_has_are_left_alone():
    iam, stubber = stubbed("iam")
    for service in SERVICES:
        stubber.add_response("get_role", role(service), {"RoleName": SERVICE_LINKED_ROLES[service]})
    assert service_roles.ensure(iam, print) == []  # no CreateServiceLinkedRole: the stubber would refuse it
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "message", "tolerated"),
    [
        ("InvalidInput", "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.", True),
        ("EntityAlreadyExists", "Role with name AWSServiceRoleForECS already exists.", True),
        ("AccessDenied", "not authorized to perform: iam:CreateServiceLinkedRole", False),
    ],
)
def test_a_role_made_meanwhile_is_no_error_and_anything_else_is(code, message, tolerated):
    """The first role is made by another run meanwhile; the other two are made here and waited for."""
    iam, stubber = stubbed("iam")
    for service in SERVICES:
        stubber.add_client_error("get_role", "NoSuchEntity", "cannot be found", 404, {"RoleName": SERVICE_LINKED_ROLES[service]})
    stubber.add_client_error("create_service_linked_role", code, message, 400, {"AWSServiceName": SERVICES[0]})
    if not tolerated:
        with pytest.raises(ClientError, match=code):
            service_roles.ensure(iam, print)
        return
    for service in SERVICES[1:]:
        stubber.add_response("create_service_linked_role", role(service), {"AWSServiceName": service})
    for service in SERVICES[1:]:  # the waiter: IAM returns each role made (it reads the HTTP status)
        answer = {**role(service), "ResponseMetadata": {"HTTPStatusCode": 200}}
        stubber.add_response("get_role", answer, {"RoleName": SERVICE_LINKED_ROLES[service]})
    assert service_roles.ensure(iam, print) == [SERVICE_LINKED_ROLES[s] for s in SERVICES[1:]]
    stubber.assert_no_pending_responses()
