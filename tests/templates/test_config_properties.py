"""Property-based: every configuration the model's own declarations describe is refused in one line per problem,
or loads, renders every target (the pipeline included) and passes the preflight.

Configurations are generated from the dataclass fields and their checks (``templates/config/fields.py``): mostly
values the checks accept, one in thirty just outside, so both ways out are exercised.  CI runs a bounded
number of examples; ``tox -e properties`` (HYPOTHESIS_PROFILE=long) runs many more.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from builder import preflight
from templates import config as config_module
from templates.config import fields, model
from templates.render import render
from tests.conftest import SAMPLE

settings.register_profile("ci", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Fields whose values must stay apart between the generated targets or services (names, routes, ranges) are
# left to the sample's values or drawn from small pools; everything else comes from its declaration.
FIXED = {"vpc_cidr", "public_subnets", "private_subnets", "certificate_arn", "domain_name", "hosted_zone_id", "subscriptions"}


# Schedules EventBridge documents (a pattern cannot say which numbers each cron field takes).
SCHEDULES = ["rate(1 minute)", "rate(5 minutes)", "rate(2 hours)", "cron(0 19 ? * MON-FRI *)", "cron(0/15 7-18 ? * MON-FRI *)"]


def mostly(inside: st.SearchStrategy, outside: st.SearchStrategy) -> st.SearchStrategy:
    """``inside`` 29 times in 30: one value outside its field's range refuses the whole file, so an even mix would
    leave few configurations to render."""
    return st.integers(0, 29).flatmap(lambda draw: outside if draw == 0 else inside)


def scalar(kind: type, check) -> st.SearchStrategy:
    schema = getattr(check, "schema", {})
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind is bool:
        return st.booleans()
    if kind in (int, float) and "minimum" in schema:
        low, high = schema["minimum"], schema.get("maximum", schema["minimum"] + 1000)
        inside = st.integers(low, high) if kind is int else st.floats(low, high, allow_nan=False)
        return mostly(inside, st.sampled_from([low - 1, high + 1]))
    if kind is float:
        return st.floats(0, 1000, allow_nan=False)
    if kind is int:
        return st.integers(0, 1000)
    if check in (fields.SCHEDULE, fields.CRON):
        return mostly(st.sampled_from(SCHEDULES + ([""] if check is fields.CRON else [])), st.just("cron(0 25 * * ? *)"))
    pattern = getattr(check, "pattern", None)
    if pattern and "(?" not in pattern:
        return mostly(st.from_regex(re.compile(pattern), fullmatch=True).filter(lambda v: len(v) < 60), st.just("not valid!"))
    return st.sampled_from([getattr(check, "default", ""), "x"]) if check is None else st.just("")


def mapping(cls: type, depth: int = 0) -> st.SearchStrategy:
    """A dict for ``cls``: each field left out (its default) or drawn from its declaration."""
    hints = typing.get_type_hints(cls)
    fields = {}
    for spec in dataclasses.fields(cls):
        if spec.name in FIXED:
            continue
        kind = hints[spec.name]
        if dataclasses.is_dataclass(kind):
            value = mapping(kind, depth + 1)
        elif typing.get_origin(kind) is tuple:
            continue  # lists (endpoints, health commands) keep their defaults: their rules have their own tests
        else:
            value = scalar(kind, spec.metadata.get("check"))
        fields[spec.name] = st.one_of(st.just(None), value)
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not None})


def plain_http_when_protected(settings_: dict) -> dict:
    """A protected target has no certificate here (certificate_arn is fixed out): the rule then asks for plain_http."""
    if settings_.get("protected", model.Environment.protected):
        return {**settings_, "load_balancer": {**settings_.get("load_balancer", {}), "plain_http": True}}
    return settings_


ENVIRONMENT = mapping(model.Environment).map(plain_http_when_protected)


# A task size Fargate accepts: the memory depends on the cpu (model.FARGATE_MEMORY), which two independent draws miss.
TASK_SIZE = st.sampled_from(sorted(model.FARGATE_MEMORY)).flatmap(
    lambda cpu: st.sampled_from(model.FARGATE_MEMORY[cpu]).map(lambda memory: {"cpu": cpu, "memory": memory})
)


def service(index: int) -> st.SearchStrategy:
    base = {"name": st.just(f"svc-{index}"), "route_path": st.just(f"/s{index}"), "build_context": st.just("services")}
    drawn_apart = ("name", "route_path", "priority", "cpu", "memory")
    extra = mapping(model.Service).map(lambda d: {k: v for k, v in d.items() if k not in drawn_apart})
    sized = st.one_of(st.just({}), TASK_SIZE)
    return st.tuples(st.fixed_dictionaries(base), extra, sized).map(lambda parts: {**parts[1], **parts[2], **parts[0]})


PROJECT = st.integers(1, 3).flatmap(lambda n: st.tuples(*[service(i) for i in range(n)])).map(
    lambda services: {"name": "prop", "services": list(services)}
)


def write(directory: Path, project: dict, staging: dict, production: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "project.yaml").write_text(yaml.safe_dump(project))
    for name, settings_, cidr in (("staging", staging, "10.10.0.0/16"), ("production", production, "10.20.0.0/16")):
        network = {**settings_.get("network", {}), "vpc_cidr": cidr}
        (directory / f"{name}.yaml").write_text(yaml.safe_dump({**settings_, "network": network}))
    pipeline = yaml.safe_load((SAMPLE / "pipeline.yaml").read_text())
    pipeline.pop("build", None)
    pipeline.pop("integration_tests", None)
    (directory / "pipeline.yaml").write_text(yaml.safe_dump(pipeline))


@given(project=PROJECT, staging=ENVIRONMENT, production=ENVIRONMENT)
def test_a_configuration_is_refused_in_one_line_per_problem_or_renders_and_passes_the_preflight(
    tmp_path_factory, project, staging, production
):
    directory = tmp_path_factory.mktemp("generated")
    write(directory, project, staging, production)
    try:
        configs = [config_module.load_target(directory, name) for name in config_module.target_names(directory)]
        rendered = {cfg.target: render(cfg) for cfg in configs}
    except config_module.ConfigError as error:
        event("refused")
        # One line each, naming the file (or, for a render-time quota, the target) it is about.
        where = (str(directory), *config_module.target_names(directory))
        assert error.problems and all("\n" not in p and p.startswith(where) for p in error.problems), error.problems
        return
    event("rendered")
    report = preflight.run(rendered, configs)
    assert [str(f) for f in report.findings] == []
