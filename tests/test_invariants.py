"""Invariants every configuration's platform must hold, not only the shipped one.

Each test runs once per target of every configuration under test: by default parameters/ and examples/fleet;
``--parameters DIR`` (repeatable) checks another one instead (docs/testing.md). Nothing here pins a value of
the shipped files: expected values come from the configuration being checked.
"""

from __future__ import annotations

import functools
import json
import re

import pytest

from builder import preflight
from security import iam_audit
from templates import names
from templates.config.model import MAX_RULE_PRIORITY
from templates.iam import handler_permissions
from tests.conftest import configured_targets
from tests.templates import contract
from tests.templates.helpers import every, policy_statements, privilege, service_reference, target_of

ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")


def test_the_nested_stack_contract_holds(configured_target):
    assert contract.violations(configured_target.rendered, names.ROOT_TEMPLATE) == []


def test_every_policy_passes_the_iam_audit_no_wildcard_outside_the_list(configured_target):
    offences = [o for file, template in configured_target.rendered.items() for o in iam_audit.audit(file, template)]
    assert not offences, "\n".join(map(str, offences))


def notifying_composites(rendered: dict[str, dict]) -> list[dict]:
    return [
        alarm["Properties"]
        for _, _, alarm in every(rendered, "AWS::CloudWatch::CompositeAlarm")
        if alarm["Properties"].get("AlarmActions") == [{"Ref": names.ALERT_TOPIC_ARN}]
    ]


def test_every_alarm_notifies_the_environments_topic(configured_environment):
    """Directly, or (in an off-hours window) through a composite alarm that notifies it and that the window's
    suppressor alarm silences; the suppressor itself is the only alarm with nothing to say."""
    alarms = [a for kind in ALARM_TYPES for a in every(configured_environment.deployed, kind)]
    assert len(alarms) >= 5 * len(configured_environment.config.project.services) + 2
    composites = notifying_composites(configured_environment.rendered)
    rules = json.dumps([c["AlarmRule"] for c in composites])
    suppressors = [c.get("ActionsSuppressor") for c in composites]
    for where, template, alarm in alarms:
        properties = alarm["Properties"]
        if properties.get("AlarmActions") == [{"Ref": names.ALERT_TOPIC_ARN}]:
            assert names.ALERT_TOPIC_ARN in template["Parameters"], where
        else:
            name = json.dumps(properties["AlarmName"])
            assert f"ALARM({name})".replace('"', '\\"') in rules or properties["AlarmName"] in suppressors, where


# --- what CloudFormation accepts ------------------------------------------------------------------


def is_intrinsic(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))


def schema_problems(schema: dict, node: dict, value, path: str) -> list[str]:
    """What the resource type's registry schema refuses in a literal value: a missing required property, an unknown
    one, a string outside an enumeration or its length bounds, a number outside its bounds.  Values given by an
    intrinsic function are CloudFormation's to check."""
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].rsplit("/", 1)[1]]
    if is_intrinsic(value):
        return []
    found = []
    if isinstance(value, dict) and ("properties" in node or "required" in node):
        found += [f"{path}: {key} is required" for key in node.get("required", []) if key not in value]
        known = node.get("properties", {})
        for key, item in value.items():
            if key in known:
                found += schema_problems(schema, known[key], item, f"{path}.{key}")
            elif node.get("additionalProperties") is False and not node.get("patternProperties"):
                found.append(f"{path}: {key} is not a property")
    elif isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            found += schema_problems(schema, node["items"], item, f"{path}[{index}]")
    elif isinstance(value, str) and "enum" in node and value not in node["enum"]:
        found.append(f"{path}: {value!r} is not one of {node['enum']}")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        found += [f"{path}: {value} {word} {node[key]}" for key, word, out in BOUNDS if key in node and out(value, node[key])]
    elif isinstance(value, str):
        found += [f"{path}: {len(value)} characters, {word} {node[key]}" for key, word, out in LENGTHS if out(len(value), node.get(key))]
    return found


# (schema keyword, what a value beyond it is, whether it is beyond): numbers, then string lengths
BOUNDS = (("minimum", "is below the minimum", lambda v, b: v < b), ("maximum", "is above the maximum", lambda v, b: v > b))
LENGTHS = (
    ("minLength", "fewer than", lambda v, b: b is not None and v < b),
    ("maxLength", "more than", lambda v, b: b is not None and v > b),
)


def test_every_resource_is_what_its_registry_schema_accepts(configured_target):
    """The registry schemas cfn-lint ships (templates/iam/handler_permissions.py reads them)."""
    found = []
    for file, template in configured_target.rendered.items():
        for logical_id, resource in template["Resources"].items():
            schema = handler_permissions._schema(resource["Type"])  # as tests/templates/test_handler_permissions.py reads it
            found += schema_problems(schema, schema, resource.get("Properties", {}), f"{file}: {logical_id}")
    assert found == []


PARAMETER_TYPE = re.compile(r"String|Number|List<Number>|CommaDelimitedList|(List<)?AWS::[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z]+>?")


def refused(parameter: dict, value: str) -> str | None:
    """Why CloudFormation would refuse ``value`` for ``parameter``, or None."""
    if "AllowedValues" in parameter and value not in parameter["AllowedValues"]:
        return f"{value!r} is not one of {parameter['AllowedValues']}"
    if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value):
        return f"{value!r} does not match {parameter['AllowedPattern']}"
    if parameter["Type"] == "Number":
        number = float(value)
        if not parameter.get("MinValue", number) <= number <= parameter.get("MaxValue", number):
            return f"{value} is outside {parameter.get('MinValue')}..{parameter.get('MaxValue')}"
    return None


def test_every_parameter_has_a_type_and_every_value_given_to_it_is_accepted(configured_target):
    """Defaults, and the fixed values a parent passes its nested stacks, within each parameter's constraints."""
    rendered = configured_target.rendered
    for file, template in rendered.items():
        for name, parameter in template.get("Parameters", {}).items():
            assert PARAMETER_TYPE.fullmatch(parameter["Type"]), f"{file}: {name}: {parameter['Type']}"
            if "Default" in parameter:
                assert refused(parameter, str(parameter["Default"])) is None, f"{file}: {name}"
        for logical_id, stack in template["Resources"].items():
            if stack["Type"] != "AWS::CloudFormation::Stack":
                continue
            child = rendered[stack["Properties"]["TemplateURL"]].get("Parameters", {})
            for name, value in stack["Properties"].get("Parameters", {}).items():
                if isinstance(value, str):
                    assert refused(child[name], value) is None, f"{file}: {logical_id}: {name}: {refused(child[name], value)}"


def policy_documents(template: dict):
    """(logical id, document) of every IAM policy a template declares: inline, managed, and resource policies."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for policy in properties.get("Policies", []) if resource["Type"] == "AWS::IAM::Role" else []:
            yield logical_id, policy["PolicyDocument"]
        for key in ("PolicyDocument", "KeyPolicy"):
            if isinstance(properties.get(key), dict) and "Statement" in properties[key]:
                yield logical_id, properties[key]


def test_every_policy_statement_names_its_effect_actions_and_resources(configured_target):
    """An empty Action or Resource list is a policy IAM refuses (or one that grants nothing, silently)."""
    for file, template in configured_target.rendered.items():
        for logical_id, document in policy_documents(template):
            assert document["Version"] == "2012-10-17", f"{file}: {logical_id}"
            for statement in policy_statements(document):
                where = f"{file}: {logical_id}: {statement.get('Sid', '')}"
                assert statement["Effect"] in ("Allow", "Deny"), where
                assert statement.get("Action") or statement.get("NotAction"), where
                assert statement.get("Resource") or statement.get("NotResource"), where


def unscopable_action(action: str) -> bool:
    """Listed with no resource type in the service authorization reference; or, newer than the reference, an EC2
    Describe call, which the EC2 guide documents as not resource-scoped but for a listed few."""
    found = privilege(action)
    if found is None:
        return action.startswith("ec2:Describe") and "*" not in action
    return {r["resource_type"] for r in found["resource_types"]} == {""}


def test_actions_that_act_on_no_resource_are_granted_on_every_resource(configured_target):
    """An action the service authorization reference lists with no resource type is evaluated on "*": granted on an
    ARN or under a tag it is granted nothing, and the call that needs it (CloudFormation's, a function's) fails."""
    for file, template in configured_target.rendered.items():
        for logical_id, document in policy_documents(template):
            for statement in policy_statements(document):
                resources = statement.get("Resource", [])
                if statement["Effect"] != "Allow" or resources in ("*", ["*"]):
                    continue
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                unscopable = [a for a in actions if unscopable_action(a)]
                assert not unscopable, f"{file}: {logical_id}: {statement.get('Sid', '')}: {unscopable} on {resources}"


# Wildcard tokens of an ARN: IAM's "*" and "?" match any text; a field of a reference format (a partition, an
# account, an id, a name) any text without a colon, which separates an ARN's fields.
ANY, FIELD_TEXT = "any text", "text without a colon"


def arn_tokens(arn: str, variable: str = ANY) -> tuple:
    """An ARN as literal characters and wildcards; what a ``${...}`` stands for: a reference format's field
    (FIELD_TEXT), or anything a template substitutes (ANY: a whole ARN, say)."""
    tokens = []
    for part in re.split(r"(\$\{[^}]+\})", arn):
        tokens += [variable] if part.startswith("${") else [ANY if c in "*?" else c for c in part]
    return tuple(tokens)


def overlap(a: tuple, b: tuple) -> bool:
    """Whether some ARN matches both token sequences."""
    wildcards = (ANY, FIELD_TEXT)

    def takes(wildcard: str, token: str) -> bool:
        return token in wildcards or wildcard == ANY or token != ":"

    @functools.cache
    def from_(i: int, j: int) -> bool:
        if i == len(a) or j == len(b):
            return all(t in wildcards for t in a[i:] + b[j:])
        if a[i] in wildcards and (from_(i + 1, j) or (takes(a[i], b[j]) and from_(i, j + 1))):
            return True
        if b[j] in wildcards and (from_(i, j + 1) or (takes(b[j], a[i]) and from_(i + 1, j))):
            return True
        return a[i] not in wildcards and a[i] == b[j] and from_(i + 1, j + 1)

    return from_(0, 0)


# CloudWatch Logs authorizes most log-group actions on the group's ARN with a trailing ":*" (LogGroup.arn: "Use this
# version to refer to the ARN in IAM policies ... for most API actions"), not the reference's format alone.
EVALUATED_WITH_SUFFIX = {("logs", "log-group"): ":*"}


def arn_formats(service: str, resource_type: str) -> list[tuple]:
    """The ARN formats a grant on the resource type may take, as tokens: the reference's, and the evaluated one."""
    formats = [r["arn"] for r in service_reference().get(service, {}).get("resources", []) if r["resource"] == resource_type]
    suffix = EVALUATED_WITH_SUFFIX.get((service, resource_type))
    return [arn_tokens(f, FIELD_TEXT) for f in formats[:1] + [f + suffix for f in formats[:1] if suffix]]


def literal_arn(resource) -> str | None:
    """A resource written as a string or Fn::Sub (its ``${...}`` kept); None for a Ref or GetAtt, whose type varies."""
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]
    return None


def missing_resource_types(action: str, resources: list) -> list[str]:
    """The resource types the reference says a call is always authorized on (marked ``*``) that none of ``resources``
    names: granted on the others only, the call is denied.  Unknown when a resource is a Ref or GetAtt."""
    found = privilege(action)
    arns = [literal_arn(r) for r in resources]
    if found is None or None in arns or "*" in arns:
        return []
    service = action.split(":", 1)[0]
    missing = []
    for required in (r["resource_type"][:-1] for r in found["resource_types"] if r["resource_type"].endswith("*")):
        formats = arn_formats(service, required)
        if formats and not any(overlap(form, arn_tokens(arn)) for form in formats for arn in arns):
            missing.append(required)
    return missing


def grants(template: dict) -> dict[str, list[dict]]:
    """The Allow statements of each principal: a role's inline and attached managed policies together (IAM authorizes
    each resource of a call on its own, so different statements may grant them), and each resource policy apart."""
    found: dict[str, list[dict]] = {}
    for logical_id, document in policy_documents(template):
        resource = template["Resources"][logical_id]
        managed = resource["Type"] == "AWS::IAM::ManagedPolicy"
        owners = [target_of(r) for r in resource["Properties"].get("Roles", [])] if managed else [logical_id]
        allowed = [st for st in policy_statements(document) if st["Effect"] == "Allow"]
        for owner in owners:
            found.setdefault(owner, []).extend(allowed)
    return found


def test_a_call_granted_on_arns_is_granted_on_every_resource_type_it_needs(configured_target):
    """ec2:CreateNetworkInterface, say, is authorized on the network interface and on the subnet: granted on one of
    them only, a VPC function cannot start (Service Authorization Reference, the action's required resource types)."""
    for file, template in configured_target.rendered.items():
        for owner, statements in grants(template).items():
            resources: dict[str, list] = {}
            for statement in statements:
                given = statement.get("Resource", [])
                for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
                    resources.setdefault(action, []).extend([given] if isinstance(given, str) else given)
            for action, on in sorted(resources.items()):
                missing = missing_resource_types(action, on)
                assert not missing, f"{file}: {owner}: {action} granted on no {missing}"


def test_every_nested_stack_carries_the_targets_tags(configured_target):
    """CloudFormation gives them to every resource the stack creates; the deploy roles authorize by Target."""
    project = configured_target.config.project.name
    for file, template in configured_target.rendered.items():
        for logical_id, stack in template["Resources"].items():
            if stack["Type"] == "AWS::CloudFormation::Stack":
                stack_tags = {t["Key"]: t["Value"] for t in stack["Properties"]["Tags"]}
                assert stack_tags == {"Project": project, "Target": configured_target.name}, f"{file}: {logical_id}"


def test_a_service_stacks_parameters_accept_every_value_the_configuration_accepts(configured_environment):
    """CloudFormation re-checks what the loader has checked: its bounds may not be narrower (project.yaml's
    priority 1 or port 65535 must deploy)."""
    # The ranges templates/config/model.py accepts: Service.priority (0 is derived, from 1000 up), Service.container_port.
    bounds = {"RulePriority": (1, MAX_RULE_PRIORITY), "ContainerPort": (1024, 65535)}
    for file, template in configured_environment.rendered.items():
        for name, (low, high) in bounds.items():
            parameter = template.get("Parameters", {}).get(name)
            if parameter is not None:
                assert parameter["MinValue"] <= low and parameter["MaxValue"] >= high, f"{file}: {name}"


def test_every_switch_parameter_accepts_both_settings(configured_target):
    """A "true"/"false" parameter (a service's Running, the pipeline's CreateRepositories) must accept both: each
    setting is a documented way to deploy (docs/architecture.md, "First deploy without images")."""
    switches = 0
    for file, template in configured_target.rendered.items():
        for name, parameter in template.get("Parameters", {}).items():
            allowed = parameter.get("AllowedValues")
            if allowed and set(allowed) <= {"true", "false"}:
                assert sorted(allowed) == ["false", "true"] and parameter["Default"] in allowed, f"{file}: {name}"
                switches += 1
    assert switches


def test_the_approval_waits_as_long_as_the_file_says(configured_pipeline):
    approvals = [
        action
        for _, _, pipeline in every(configured_pipeline.rendered, "AWS::CodePipeline::Pipeline")
        for stage in pipeline["Properties"]["Stages"]
        for action in stage["Actions"]
        if action["ActionTypeId"]["Category"] == "Approval"
    ]
    assert [a["TimeoutInMinutes"] for a in approvals] == [configured_pipeline.config.pipeline.approval.timeout_minutes]


def test_every_checkov_suppression_carries_a_reason(configured_target):
    for file, template in configured_target.rendered.items():
        for logical_id, resource in template["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert skip["id"].startswith("CKV") and len(skip["comment"]) > 20, f"{file}: {logical_id}"


# --- preflight over a whole configuration -------------------------------------------------------


def configurations(config) -> dict:
    by_directory: dict = {}
    for configured in configured_targets(config):
        by_directory.setdefault(configured.parameters, []).append(configured)
    return by_directory


@pytest.fixture(scope="module")
def preflight_reports(pytestconfig):
    reports = {}
    for directory, configured in configurations(pytestconfig).items():
        rendered = {c.name: c.rendered for c in configured}
        reports[directory.name] = preflight.run(rendered, [c.config for c in configured])
    return reports


def test_preflight_finds_nothing_on_any_configuration(preflight_reports):
    for name, report in preflight_reports.items():
        assert sum(report.checks.values()) > 0, name
        assert [str(f) for f in report.findings] == [], name


def test_preflight_checks_every_deploy_role_the_pipeline_uses(preflight_reports):
    """The deploy-role rules find the roles however the pipeline passes them (CodeBuild running deploy.py)."""
    for name, report in preflight_reports.items():
        assert report.checks.get("deploy-role-sufficiency", 0) > 100, name
        assert report.checks.get("deploy-role-isolation", 0) > 10, name
