#!/usr/bin/env python3
"""Hold every rendered target to the AWS Control Tower proactive controls (cfn-guard rules).

    npm ci --prefix security/guard          # the pinned rules and cfn-guard binary, once
    python security/guard_gate.py [--output DIR] [PARAMETERS_DIR ...]   # default: parameters

Each parameters directory is rendered (every target, as ``build.py --no-lint``) into
``DIR/<name>/<target>/``; cfn-guard then runs once over all of them.  The gate prints one line
per failing control and resource, and a table per target of the controls failed, excepted and
passed.  It exits 1 when a failure is not in ``security/guard_exceptions.py`` or an excepted
failure no longer happens (the table must stay true), 2 when it cannot run.

Control Tower evaluates a resource in a CloudFormation hook, on its properties as they will be
provisioned: a nested stack's parameters are values by then.  cfn-guard on a template sees
``{"Ref": "EnvironmentKeyArn"}`` instead, which the rules count as a missing key.  So the gate
evaluates a copy of each template in which every Ref to one of its parameters is replaced by a
sample value of the parameter's type (its Default when it has one), as the hook would see it.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from builder.render import load_targets, render_targets  # noqa: E402
from security.guard_exceptions import EXCEPTIONS, GuardException  # noqa: E402
from templates.config.reader import ConfigError  # noqa: E402

PACKAGE = ROOT / "security" / "guard" / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard"
RULES_SUBDIR = Path("rules") / "control-tower" / "cfn-guard"
HOOK_VIEW = "hook-view"  # where the resolved copies go, beside the rendered targets
GUARD_FAILED = 19  # cfn-guard's exit code when some rule failed; 0 when none did


class GateError(Exception):
    """The gate cannot run (missing install, bad rules, cfn-guard crashed): one line for the user."""


# --- the controls --------------------------------------------------------------------------


@dataclass(frozen=True)
class Control:
    id: str  # CT.S3.PR.2
    rule: str  # s3_bucket_logging_enabled_check
    resource_types: tuple[str, ...]  # what it "Reports on"


def load_controls(rules_dir: Path) -> dict[str, Control]:
    """Rule name -> control, read from each rule file's header and message."""
    controls = {}
    for path in sorted(rules_dir.rglob("*.guard")):
        text = path.read_text(encoding="utf-8")
        rule = re.search(r"^rule (\w+) when is_cfn_template", text, re.MULTILINE)
        control = re.search(r"\[(CT\.[A-Z0-9-]+\.PR\.\d+)\]", text)
        reports = re.search(r"^#\s*Reports on:\s*\n#(.*)$", text, re.MULTILINE)
        if not (rule and control):
            raise GateError(f"{path}: no rule or control id; is the rules package the pinned one?")
        types = tuple(re.findall(r"AWS::\w+::\w+", reports.group(1))) if reports else ()
        controls[rule.group(1)] = Control(control.group(1), rule.group(1), types)
    if not controls:
        raise GateError(f"{rules_dir}: no .guard rules; run `npm ci --prefix security/guard`")
    return controls


def guard_binary(package: Path) -> Path:
    """The cfn-guard binary the package ships for this machine."""
    system = {"Linux": "ubuntu", "Darwin": "macos"}.get(platform.system())
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine().lower())
    binary = package / "bin" / str(system) / str(machine) / "cfn-guard"
    if not (system and machine and binary.is_file()):
        raise GateError(f"{binary}: no cfn-guard for {platform.system()} {platform.machine()}; run `npm ci --prefix security/guard`")
    return binary


# --- what the hook sees ----------------------------------------------------------------------


def sample_value(name: str, spec: dict):
    """A deploy-time value for a parameter: its Default, else a non-empty sample of its Type."""
    if "Default" in spec:
        default = spec["Default"]
        return default.split(",") if spec.get("Type", "").startswith(("List<", "CommaDelimitedList")) else default
    kind = spec.get("Type", "String")
    if kind.startswith("List<") or kind == "CommaDelimitedList":
        return [f"sample-{name.lower()}-1", f"sample-{name.lower()}-2"]
    if kind == "Number":
        return 1
    return f"sample-{name.lower()}"


# Sample values of the pseudo parameters, as a stack in us-east-1 of a commercial-partition account sees them.
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "sample-stack",
}


def hook_view(template: dict) -> dict:
    """The template as the hook sees its resources: Refs to parameters and pseudo parameters are values,
    and so is a Sub that names nothing else.  References to resources stay (the rules check their type)."""
    values = {name: sample_value(name, spec) for name, spec in template.get("Parameters", {}).items()}
    values.update(PSEUDO_PARAMETERS)

    def substitute(text: str):
        names = re.findall(r"\$\{([^}!]+)\}", text)
        if not all(isinstance(values.get(name), (str, int)) for name in names):
            return {"Fn::Sub": text}
        return re.sub(r"\$\{([^}!]+)\}", lambda m: str(values[m.group(1)]), text)

    def resolve(node):
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in values:
                return values[node["Ref"]]
            if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
                return substitute(node["Fn::Sub"])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved = dict(template)
    resolved["Resources"] = resolve(template.get("Resources", {}))
    return resolved


# --- rendering ---------------------------------------------------------------------------


@dataclass
class Target:
    configuration: str  # the parameters directory's name in the output
    name: str
    config: object  # Config or PipelineConfig
    templates: dict[str, dict] = field(default_factory=dict)  # file name -> rendered template

    @property
    def label(self) -> str:
        return f"{self.configuration}/{self.name}"


def configuration_name(parameters: Path) -> str:
    """``parameters``, ``examples-small``: the directory relative to the project, as one path segment."""
    path = Path(parameters).resolve()
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else Path(path.name)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(shown)) or "parameters"


def render(parameters_dirs: list[Path], output: Path) -> list[Target]:
    """Render every target of every parameters directory; write the hook view beside it."""
    shutil.rmtree(output / HOOK_VIEW, ignore_errors=True)  # an earlier run's templates are not this run's
    rendered = []
    for parameters in parameters_dirs:
        name = configuration_name(parameters)
        for config in load_targets(parameters, []):
            render_targets([config], output / name)
            target = Target(name, config.target, config)
            for path in sorted((output / name / config.target).glob("*.json")):
                target.templates[path.name] = json.loads(path.read_text(encoding="utf-8"))
                view = output / HOOK_VIEW / name / config.target / path.name
                view.parent.mkdir(parents=True, exist_ok=True)
                view.write_text(json.dumps(hook_view(target.templates[path.name]), indent=1, sort_keys=True), encoding="utf-8")
            rendered.append(target)
    return rendered


# --- running cfn-guard ---------------------------------------------------------------------


def run_guard(binary: Path, rules: Path, data: Path) -> list[dict]:
    command = [str(binary), "validate", "--rules", str(rules), "--data", str(data), "--structured", "--output-format", "json",
               "--show-summary", "none"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode not in (0, GUARD_FAILED):
        raise GateError(f"cfn-guard exited {result.returncode}: {(result.stderr or result.stdout).strip()[:500]}")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise GateError(f"cfn-guard's output is not JSON ({error})") from None


def resources_in(node) -> set[str]:
    """Logical ids named by the paths of a failing rule's clauses (/Resources/<id>/...)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "path" and isinstance(value, str) and value.startswith("/Resources/"):
                found.add(value.split("/")[2])
            else:
                found |= resources_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= resources_in(item)
    return found


@dataclass(frozen=True)
class Failure:
    control: str
    template: str
    resource: str


@dataclass
class Outcome:
    """What the controls found in one target."""

    failures: set[Failure] = field(default_factory=set)
    passed: set[str] = field(default_factory=set)  # controls compliant in some template and failing in none


def outcomes(reports: list[dict], controls: dict[str, Control], view_root: Path) -> dict[str, Outcome]:
    """Target label (configuration/target) -> its outcome."""
    by_target: dict[str, Outcome] = defaultdict(Outcome)
    compliant: dict[str, set[str]] = defaultdict(set)
    for report in reports:
        path = Path(report["name"]).resolve().relative_to(view_root.resolve())
        label, template = str(path.parent), path.name
        outcome = by_target[label]
        for failing in report.get("not_compliant", []):
            control = controls[failing["Rule"]["name"]].id
            for resource in sorted(resources_in(failing)) or ["(template)"]:
                outcome.failures.add(Failure(control, template, resource))
        compliant[label] |= {controls[rule].id for rule in report.get("compliant", [])}
    for label, outcome in by_target.items():
        outcome.passed = compliant[label] - {f.control for f in outcome.failures}
    return by_target


# --- exceptions ----------------------------------------------------------------------------


def exception_for(failure: Failure, target: Target, table: tuple[GuardException, ...]) -> GuardException | None:
    for entry in table:
        if entry.control == failure.control and entry.matches(failure.template, failure.resource) and entry.applies(target.config):
            return entry
    return None


def stale_exceptions(target: Target, outcome: Outcome, controls: dict[str, Control], table) -> list[str]:
    """Excepted (control, resource) pairs that apply here, exist, and no longer fail: the table is out of date."""
    types = defaultdict(set)
    for control in controls.values():
        types[control.id] |= set(control.resource_types)
    failing = {(f.control, f.template, f.resource) for f in outcome.failures}
    stale = []
    for entry in table:
        if not entry.applies(target.config):
            continue
        for template_name, template in target.templates.items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource.get("Type") not in types[entry.control] or not entry.matches(template_name, logical_id):
                    continue
                if not entry.covers(resource):
                    continue
                if (entry.control, template_name, logical_id) not in failing:
                    where = f"{target.label}/{template_name}: {logical_id}"
                    stale.append(f"{where}: {entry.control} passes but is excepted ({entry.configuration})")
    return stale


@dataclass
class Verdict:
    target: Target
    failed: list[Failure]
    excepted: list[Failure]
    stale: list[str]
    passed: set[str]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stale


def judge(target: Target, outcome: Outcome, controls: dict[str, Control], table=EXCEPTIONS) -> Verdict:
    failed, excepted = [], []
    for failure in sorted(outcome.failures, key=lambda f: (f.control, f.template, f.resource)):
        (excepted if exception_for(failure, target, table) else failed).append(failure)
    return Verdict(target, failed, excepted, stale_exceptions(target, outcome, controls, table), outcome.passed)


# --- report --------------------------------------------------------------------------------


def control_table(verdicts: list[Verdict]) -> list[str]:
    header = f"{'target':<32} {'failed':>6} {'excepted':>8} {'passed':>6}  controls failed / excepted"
    lines = [header, "-" * len(header)]
    for verdict in verdicts:
        failed = sorted({f.control for f in verdict.failed})
        excepted = sorted({f.control for f in verdict.excepted} - set(failed))
        detail = ", ".join(failed) + (" / " if failed or excepted else "") + ", ".join(excepted)
        lines.append(f"{verdict.target.label:<32} {len(failed):>6} {len(excepted):>8} {len(verdict.passed):>6}  {detail}")
    return lines


def report(verdicts: list[Verdict]) -> list[str]:
    lines = []
    for verdict in verdicts:
        for failure in verdict.failed:
            lines.append(f"FAILED   {verdict.target.label}/{failure.template}: {failure.resource}: {failure.control}")
        for failure in verdict.excepted:
            lines.append(f"excepted {verdict.target.label}/{failure.template}: {failure.resource}: {failure.control}")
        lines += [f"STALE    {line}" for line in verdict.stale]
    return lines + [""] + control_table(verdicts)


@dataclass
class Evaluation:
    """Every rendered target with what cfn-guard found in it; judged against a table by ``verdicts``."""

    controls: dict[str, Control]
    targets: list[Target]
    outcomes: dict[str, Outcome]

    def verdicts(self, table=EXCEPTIONS) -> list[Verdict]:
        return [judge(t, self.outcomes.get(t.label, Outcome()), self.controls, table) for t in self.targets]


def evaluate(parameters_dirs: list[Path], output: Path, package: Path = PACKAGE) -> Evaluation:
    rules = package / RULES_SUBDIR
    controls = load_controls(rules)
    binary = guard_binary(package)
    targets = render(parameters_dirs, output)
    view_root = output / HOOK_VIEW
    return Evaluation(controls, targets, outcomes(run_guard(binary, rules, view_root), controls, view_root))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parameters", nargs="*", type=Path, default=[ROOT / "parameters"],
                        help="parameters directories to render and check (default: parameters)")
    parser.add_argument("--output", type=Path, help="where to render (default: a temporary directory)")
    parser.add_argument("--package", type=Path, default=PACKAGE, help="the installed @cdklabs/cdk-validator-cfnguard")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            verdicts = evaluate(args.parameters, args.output or Path(scratch), args.package).verdicts()
        except ConfigError as error:
            print("configuration error:\n  " + "\n  ".join(error.problems), file=sys.stderr)
            return 2
        except GateError as error:
            print(f"guard gate: {error}", file=sys.stderr)
            return 2
    print("\n".join(report(verdicts)))
    bad = [v for v in verdicts if not v.ok]
    failed = sum(len(v.failed) for v in verdicts)
    stale = sum(len(v.stale) for v in verdicts)
    print(f"\nControl Tower controls: {failed} failures outside the exception table, {stale} stale exceptions, "
          f"{sum(len(v.excepted) for v in verdicts)} excepted, over {len(verdicts)} targets")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
