"""The registry schemas handler_permissions reads itself are the ones cfn-lint's provider schema manager gives."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from cfnlint.schema.manager import ProviderSchemaManager

from templates.config import load_target, target_names
from templates.config import pipeline as pipeline_config
from templates.iam import handler_permissions
from templates.render import render
from tests.conftest import EXAMPLE, REPO, SAMPLE

REGION = handler_permissions.SCHEMA_REGION


def cfn_lint_schema(manager: ProviderSchemaManager, resource_type: str) -> dict:
    return manager.get_resource_schema(REGION, resource_type).schema


def rendered_types(parameters) -> set[str]:
    found = set()
    for name in target_names(parameters):
        for template in render(load_target(parameters, name)).values():
            found |= handler_permissions.resource_types(template)
    return found


def test_every_type_of_the_region_reads_as_cfn_lint_reads_it():
    types = PROVIDER_SCHEMA_MANAGER.get_resource_types(REGION)
    assert len(types) > 1000 and "AWS::Serverless::Function" in types  # the region's types and SAM's
    different = [t for t in types if handler_permissions._schema(t) != cfn_lint_schema(PROVIDER_SCHEMA_MANAGER, t)]
    assert different == []


@pytest.mark.parametrize("parameters", [SAMPLE, EXAMPLE], ids=["shop", "fleet"])
def test_every_type_the_configurations_render_has_cfn_lint_s_handler_permissions(parameters):
    types = rendered_types(parameters)
    assert {"AWS::ECS::Service", "AWS::IAM::Role", "AWS::CodePipeline::Pipeline"} <= types
    for resource_type in sorted(types):
        handlers = cfn_lint_schema(PROVIDER_SCHEMA_MANAGER, resource_type).get("handlers", {})
        expected = {name: tuple(sorted(set(h.get("permissions", ())))) for name, h in sorted(handlers.items())}
        assert handler_permissions.handler_permissions(resource_type) == expected, resource_type


@pytest.mark.parametrize("resource_type", ["Custom::Anything", "My::Org::Thing::MODULE"])
def test_custom_resources_and_modules_read_as_cfn_lint_reads_them(resource_type):
    assert handler_permissions._schema(resource_type) == cfn_lint_schema(PROVIDER_SCHEMA_MANAGER, resource_type)


def test_an_unknown_type_is_unknown_to_both():
    with pytest.raises(handler_permissions.UnknownResourceType, match="AWS::Nothing::Here"):
        handler_permissions._schema("AWS::Nothing::Here")
    with pytest.raises(Exception, match="AWS::Nothing::Here"):
        cfn_lint_schema(PROVIDER_SCHEMA_MANAGER, "AWS::Nothing::Here")


def test_newer_schemas_in_cfn_lint_s_cache_directory_are_read_as_cfn_lint_reads_them(tmp_path, monkeypatch):
    """``cfn-lint --update-specs`` leaves newer schemas in the cache directory: cfn-lint prefers them, and so do we."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    schemas = tmp_path / "aws" / "cfn-lint" / "schemas"
    (schemas / "providers").mkdir(parents=True)
    (schemas / "resources").mkdir()
    (schemas / "version.json").write_text(json.dumps({"schema_date": "9999-01-01T00:00:00Z"}))
    (schemas / "providers" / "us-east-1.json").write_text(json.dumps({"AWS::SNS::Topic": "abc"}))
    newer = {"typeName": "AWS::SNS::Topic", "handlers": {"create": {"permissions": ["sns:CreateTopic", "sns:Newer"]}}}
    (schemas / "resources" / "abc.json").write_text(json.dumps(newer))
    handler_permissions._schema_dir.cache_clear()
    handler_permissions._schema.cache_clear()
    try:
        assert handler_permissions._schema("AWS::SNS::Topic") == newer == cfn_lint_schema(ProviderSchemaManager(), "AWS::SNS::Topic")
    finally:
        handler_permissions._schema_dir.cache_clear()
        handler_permissions._schema.cache_clear()


def test_rendering_the_pipeline_does_not_import_cfn_lint():
    code = (
        "import sys; from pathlib import Path; from templates.config import pipeline as pipeline_config; "
        "from templates.render import render; "
        f"render(pipeline_config.load_pipeline(Path({str(SAMPLE)!r}))); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cfnlint'))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert pipeline_config.has_pipeline(SAMPLE)


def test_without_schema_files_cfn_lint_itself_is_asked(monkeypatch):
    """No packaged or cached provider files: cfn-lint would download them, so it is left to cfn-lint."""
    monkeypatch.setattr(handler_permissions, "_schema_dir", lambda: None)
    handler_permissions._schema.cache_clear()
    try:
        assert handler_permissions._schema("AWS::SNS::Topic") == cfn_lint_schema(PROVIDER_SCHEMA_MANAGER, "AWS::SNS::Topic")
        with pytest.raises(handler_permissions.UnknownResourceType):
            handler_permissions._schema("AWS::Nothing::Here")
    finally:
        handler_permissions._schema.cache_clear()
