"""deploy.py serves every target build.py renders: the environments and the pipeline."""

from __future__ import annotations

from deployer import nested, parameters
from deployer.context import Options, render_templates
from deployer.workflow import deploy_target, load_config
from templates import names
from templates.config import target_names
from tests.conftest import SAMPLE


def test_every_target_loads_renders_packages_and_plans_offline(configured_target):
    config = load_config(Options(target=configured_target.name, parameters_dir=configured_target.parameters))
    rendered = render_templates(config)
    nested.package(rendered, names.ROOT_TEMPLATE, lambda name, body: name)  # every TemplateURL resolves
    plan = parameters.plan(rendered[names.ROOT_TEMPLATE], config, (), "abc1234", "abc1234")
    assert plan.image_tag == "abc1234" or names.IMAGE_TAG not in rendered[names.ROOT_TEMPLATE].get("Parameters", {})


def test_the_pipeline_and_production_are_protected_targets():
    protected = {t: deploy_target(load_config(Options(target=t, parameters_dir=SAMPLE))).protected for t in target_names(SAMPLE)}
    assert protected == {"dev": False, "staging": False, "production": True, "pipeline": True}
