"""The lint stage: the same findings, in the same order, serially, in a pool and from the cache."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from builder import lint, lint_cache
from builder.lint import lint_stage, lint_template, worker_count
from builder.lint_cache import LintCache, entry_key
from builder.stages import Rendered
from templates.render import to_json


def bad_template(index: int) -> dict:
    """Resources that give an error (unknown property) and a warning (Fn::Sub without a variable)."""
    resources = {f"Topic{n}": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": f"topic {index}-{n}"}} for n in range(8)}
    resources["Stray"] = {"Type": "AWS::SNS::Topic", "Properties": {"Colour": f"blue-{index}"}}
    resources["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": f"queue-{index}"}}}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


CHILD = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"Needed": {"Type": "String"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Ref": "Needed"}}}},
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
}
ROOT = {
    "AWSTemplateFormatVersion": "2010-09-09",
    # cfn-lint's W3002 (a local TemplateURL needs packaging) is what deploy.py does; the platform's root ignores it too.
    "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W3002"]}}},
    "Resources": {
        "Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "child.json", "Parameters": {"Extra": "x"}}},
    },
    "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Child", "Outputs.TopicArn"]}}},
}


def write(directory: Path, name: str, template: dict, target: str = "fixture") -> Rendered:
    directory.mkdir(parents=True, exist_ok=True)
    text = to_json(template)
    (directory / name).write_text(text)
    return Rendered(target, directory / name, template, text)


@pytest.fixture
def fixture_templates(tmp_path) -> list[Rendered]:
    rendered = [write(tmp_path / "a", f"bad-{i}.json", bad_template(i)) for i in range(4)]
    rendered.append(write(tmp_path / "a", "child.json", CHILD))
    rendered.append(write(tmp_path / "a", "root.json", ROOT))
    rendered.append(write(tmp_path / "b", "bad-0.json", bad_template(0), target="twin"))  # same content, another place
    return rendered


def run(stage, templates):
    return stage.start(templates)()


def findings_of(checked) -> list[list[str]]:
    return [[str(f) for f in c.findings] for c in checked]


def direct(templates) -> list[list[str]]:
    """What linting each template on its own, one after the other, finds."""
    return [[str(f) for f in lint_template(r.path, r.template)] for r in templates]


def test_the_fixture_has_errors_warnings_and_nested_stack_findings(fixture_templates):
    rules = {f.split(": ")[2].split()[0] for findings in direct(fixture_templates) for f in findings}
    assert {"E3002", "W1020", "E3043"} <= rules, rules


def test_findings_are_identical_serially_in_a_pool_and_from_a_cold_and_a_warm_cache(fixture_templates, tmp_path):
    expected = direct(fixture_templates)
    assert worker_count(fixture_templates, 2, lint.start_method()) == 2  # so the pool really runs below
    serial = run(lint_stage(jobs=1), fixture_templates)
    pooled = run(lint_stage(jobs=2), fixture_templates)
    cold = run(lint_stage(jobs=2, cache=LintCache(tmp_path / "cache")), fixture_templates)
    warm = run(lint_stage(jobs=2, cache=LintCache(tmp_path / "cache")), fixture_templates)
    assert findings_of(serial) == findings_of(pooled) == findings_of(cold) == findings_of(warm) == expected
    assert [c.cached for c in cold] == [False] * 6 + [True]  # the twin shares its content's result
    assert all(c.cached and c.seconds == 0 for c in warm)
    assert all(c.seconds > 0 for c in cold[:6])


def test_a_changed_child_is_linted_again_with_its_parent(fixture_templates, tmp_path):
    cache = tmp_path / "cache"
    before = run(lint_stage(cache=LintCache(cache)), fixture_templates)
    fixed_child = {**CHILD, "Parameters": {"Extra": {"Type": "String"}}}
    fixture_templates[4] = write(tmp_path / "a", "child.json", fixed_child)
    after = run(lint_stage(cache=LintCache(cache)), fixture_templates)
    assert [c.cached for c in after] == [True] * 4 + [False, False, True]  # child and root, not the others
    assert findings_of(after) == direct(fixture_templates)
    assert findings_of(after)[5] != findings_of(before)[5]  # the root's E3043 findings went away


def test_the_key_covers_regions_cfn_lint_version_content_and_children(fixture_templates, monkeypatch):
    root = fixture_templates[5]
    key = entry_key(root, ("us-east-1",))
    unrelated = entry_key(fixture_templates[0], ("us-east-1",))
    assert entry_key(root, ("us-east-1",)) == key
    assert entry_key(root, ("eu-west-1",)) != key
    assert entry_key(root, ("us-east-1", "eu-west-1")) != key
    other_text = Rendered(root.target, root.path, root.template, root.text + " ")
    assert entry_key(other_text, ("us-east-1",)) != key
    root.path.with_name("child.json").write_text("{}")
    assert entry_key(root, ("us-east-1",)) != key
    assert entry_key(fixture_templates[0], ("us-east-1",)) == unrelated
    monkeypatch.setattr(lint_cache, "cfn_lint_version", lambda: "0.0.0")
    assert entry_key(fixture_templates[0], ("us-east-1",)) != unrelated


def test_local_children_follow_conditions_and_skip_remote_urls(tmp_path):
    template = {
        "Resources": {
            "A": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": {"Fn::If": ["C", "one.json", "two.json"]}}},
            "B": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://bucket.s3.amazonaws.com/x.json"}},
            "C": {"Type": "AWS::SNS::Topic", "Properties": {"TemplateURL": "not-a-stack.json"}},
        }
    }
    assert [p.name for p in lint_cache.local_children(tmp_path / "root.json", template)] == ["one.json", "two.json"]


@pytest.mark.parametrize("damage", ["{not json", "", '{"findings": [{"rule": "E1"}]}', '{"findings": 3}', "[]"])
def test_a_corrupt_entry_is_linted_again_and_rewritten(fixture_templates, tmp_path, damage):
    cache = tmp_path / "cache"
    expected = findings_of(run(lint_stage(cache=LintCache(cache)), fixture_templates))
    entries = sorted(cache.glob("*/*.findings"))
    assert len(entries) == 6
    for entry in entries:
        entry.write_text(damage)
    again = run(lint_stage(cache=LintCache(cache)), fixture_templates)
    assert findings_of(again) == expected
    assert [c.cached for c in again] == [False] * 6 + [True]
    assert all(c.cached for c in run(lint_stage(cache=LintCache(cache)), fixture_templates))


def test_a_failed_write_leaves_no_entry_and_no_temporary_file(fixture_templates, tmp_path, monkeypatch):
    def refuse(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lint_cache.os, "replace", refuse)
    cache = tmp_path / "cache"
    checked = run(lint_stage(cache=LintCache(cache)), fixture_templates)
    assert findings_of(checked) == direct(fixture_templates)  # the build's result does not depend on the cache
    assert [p for p in cache.rglob("*") if p.is_file()] == []


def _lint_with_shared_cache(arguments) -> list[list[str]]:
    templates, cache = arguments
    return findings_of(run(lint_stage(cache=LintCache(cache)), templates))


def test_concurrent_runs_share_one_cache_directory(fixture_templates, tmp_path):
    cache = tmp_path / "cache"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_lint_with_shared_cache, [(fixture_templates, cache)] * 4)
    expected = direct(fixture_templates)
    assert all(result == expected for result in results)
    for entry in cache.glob("*/*"):
        assert entry.suffix == ".findings", entry  # no temporary file left behind
        json.loads(entry.read_text())
    assert findings_of(run(lint_stage(cache=LintCache(cache)), fixture_templates)) == expected


def test_old_entries_are_pruned(tmp_path):
    cache = LintCache(tmp_path)
    cache.put("ab" * 32, [])
    cache.put("cd" * 32, [])
    old = tmp_path / "ab" / f"{'ab' * 32}.findings"
    os.utime(old, (0, 0))
    cache.prune()
    assert not old.exists()
    assert cache.get("cd" * 32, "x.json") == ()


def many(resources: int, templates: int = 4) -> list[Rendered]:
    template = {"Resources": {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(resources)}}
    return [Rendered("t", Path(f"{n}.json"), template, "") for n in range(templates)]


@pytest.mark.parametrize(
    ("todo", "jobs", "method", "expected"),
    [
        (many(50, templates=1), 8, "fork", 1),  # one template: nothing to share
        (many(50), 1, "fork", 1),  # --jobs 1
        (many(1), 2, "fork", 1),  # too little work to pay for a worker's start
        (many(50), 2, "fork", 2),
        (many(50), 8, "fork", 4),  # no more workers than templates
        (many(10), 2, "spawn", 1),  # a spawned worker loads the rules itself: only large builds pay for that
        (many(300), 2, "spawn", 2),
        (many(1), 2, "loader", 1),  # the loader lints alone (build.py's own process never loads the rules then)
        (many(50), 2, "loader", 2),
    ],
)
def test_the_pool_is_used_only_when_it_pays(todo, jobs, method, expected):
    assert worker_count(todo, jobs, method) == expected
