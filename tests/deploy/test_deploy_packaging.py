"""Deterministic zips, content-hashed keys and the nested template tree."""

from __future__ import annotations

import io
import os
import shutil
import zipfile

import pytest
from deploy_helpers import FIXTURES, fixture_templates

from deployer import nested, packaging
from deployer.errors import UsageError

SOURCE = FIXTURES / "lambda" / "health_check"


def copy_source(tmp_path, name, mtime, mode):
    target = tmp_path / name / "health_check"
    shutil.copytree(SOURCE, target)
    for path in target.rglob("*"):
        if path.is_file():
            os.chmod(path, mode)
            os.utime(path, (mtime, mtime))
    return target


def test_the_same_source_zips_to_the_same_bytes_whatever_the_mtimes_and_modes(tmp_path):
    first = packaging.zip_directory(copy_source(tmp_path, "a", 1_000_000, 0o600))
    second = packaging.zip_directory(copy_source(tmp_path, "b", 1_700_000_000, 0o755))
    assert first == second
    assert packaging.content_key("lambda/x", first, "zip") == packaging.content_key("lambda/x", second, "zip")


def test_zip_entries_are_sorted_with_a_fixed_time_and_mode_and_no_caches(tmp_path):
    source = copy_source(tmp_path, "src", 1_700_000_000, 0o755)
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "index.cpython-311.pyc").write_bytes(b"cache")
    archive = zipfile.ZipFile(io.BytesIO(packaging.zip_directory(source)))
    infos = archive.infolist()
    assert [info.filename for info in infos] == [
        "health_check/index.py",
        "health_check/lib/helper.py",
    ]  # a package, as the handler names it
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


def test_a_changed_file_changes_the_key(tmp_path):
    source = copy_source(tmp_path, "src", 1, 0o644)
    before = packaging.content_key("lambda/x", packaging.zip_directory(source), "zip")
    (source / "index.py").write_text("# changed\n")
    assert packaging.content_key("lambda/x", packaging.zip_directory(source), "zip") != before


def test_a_missing_or_empty_source_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="Lambda source directory not found"):
        packaging.zip_directory(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="has no files to package"):
        packaging.zip_directory(tmp_path / "empty")


@pytest.mark.parametrize("link", ["a file", "a directory", "the source itself"])
def test_a_symbolic_link_in_the_source_is_refused_naming_it(tmp_path, link):
    """What a link points at (here a file outside the repository) would be zipped and uploaded as the function's code."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "credentials").write_text("secret\n")
    source = copy_source(tmp_path, "src", 1, 0o644)
    if link == "a file":
        named = source / "lib" / "credentials.py"
        named.symlink_to(outside / "credentials")
    elif link == "a directory":
        named = source / "vendored"
        named.symlink_to(outside, target_is_directory=True)
    else:
        named = tmp_path / "linked"
        named.symlink_to(source, target_is_directory=True)
        source = named
    with pytest.raises(UsageError) as refused:
        packaging.zip_directory(source)
    assert str(refused.value).startswith(f"{named}: a symbolic link (to "), refused.value
    assert "secret" not in str(refused.value)


def publish_to_dict(store):
    def publish(name, body):
        key = packaging.content_key(f"templates/{name}", body, "json")
        store[key] = body
        return f"https://bucket/{key}"

    return publish


def test_children_are_published_first_and_parents_point_at_them():
    published = {}
    packaged = nested.package(fixture_templates(), "root.json", publish_to_dict(published))
    assert [key.split("/")[1] for key in published] == ["subnets.json", "network.json", "root.json"]
    network = packaged.templates["network.json"]
    assert network["Resources"]["Subnets"]["Properties"]["TemplateURL"] == packaged.urls["subnets.json"]
    assert packaged.templates["root.json"]["Resources"]["Network"]["Properties"]["TemplateURL"] == packaged.urls["network.json"]
    assert packaged.root_url == packaged.urls["root.json"]


def test_a_change_deep_down_changes_every_key_up_to_the_root_and_nothing_else():
    before = nested.package(fixture_templates(), "root.json", publish_to_dict({}))
    templates = fixture_templates()
    templates["subnets.json"]["Resources"]["Marker"]["Properties"]["Value"] = "changed"
    after = nested.package(templates, "root.json", publish_to_dict({}))
    assert all(before.urls[name] != after.urls[name] for name in ("subnets.json", "network.json", "root.json"))
    templates = fixture_templates()
    templates["root.json"]["Description"] = "changed"
    after = nested.package(templates, "root.json", publish_to_dict({}))
    assert before.urls["network.json"] == after.urls["network.json"] and before.urls["root.json"] != after.urls["root.json"]


def test_the_rendered_templates_are_not_modified():
    templates = fixture_templates()
    nested.package(templates, "root.json", publish_to_dict({}))
    assert templates == fixture_templates()


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda t: t.pop("network.json"),
            "nested stack Network has TemplateURL 'network.json', which is not one of the rendered templates",
        ),
        (
            lambda t: t["subnets.json"]["Resources"].update(
                Loop={"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "network.json"}}
            ),
            "a cycle",
        ),
        (lambda t: t.pop("root.json"), "the rendered templates have no root.json"),
    ],
)
def test_a_broken_tree_is_a_usage_error(change, message):
    templates = fixture_templates()
    change(templates)
    with pytest.raises(UsageError, match=message):
        nested.package(templates, "root.json", publish_to_dict({}))


def test_absolute_and_intrinsic_template_urls_are_left_alone():
    templates = {
        "root.json": {
            "Resources": {
                "A": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://example.com/a.json"}},
                "B": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": {"Fn::Sub": "https://${Bucket}/b.json"}}},
            }
        }
    }
    packaged = nested.package(templates, "root.json", publish_to_dict({}))
    assert packaged.templates == templates
