"""CodePipeline quotas on the pipeline's declaration, with intrinsic functions resolved.

https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html: "Maximum length of an action
configuration value: 1,000 characters" (UserParameters, ParameterOverrides, EnvironmentVariables, ...), and
"Number of actions in a stage: minimum 1, maximum 50". ``#{...}`` variables are counted as written: the quota
applies to the declaration that CreatePipeline/UpdatePipeline receive.
"""

from __future__ import annotations

import json

from builder.preflight.model import Finding, Report
from builder.preflight.resolve import Target

RULE_VALUE = "codepipeline-configuration-value"
RULE_ACTIONS = "codepipeline-actions-per-stage"
CONFIGURATION_VALUE = 1_000
ACTIONS_PER_STAGE = 50


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def check(target: Target) -> Report:
    report = Report()
    for stack, logical_id, _ in target.resources("AWS::CodePipeline::Pipeline"):
        for stage in stack.properties(logical_id).get("Stages", []):
            actions = stage.get("Actions", [])
            where = (target.name, stack.file, f"{logical_id} stage {stage['Name']}")
            report.check(
                RULE_ACTIONS,
                len(actions) <= ACTIONS_PER_STAGE,
                Finding(*where, RULE_ACTIONS, f"{len(actions)} actions", str(ACTIONS_PER_STAGE)),
            )
            for action in actions:
                for key, value in sorted(action.get("Configuration", {}).items()):
                    size = len(_text(value))
                    report.check(
                        RULE_VALUE,
                        size <= CONFIGURATION_VALUE,
                        Finding(
                            target.name,
                            stack.file,
                            f"{logical_id} action {action['Name']}.{key}",
                            RULE_VALUE,
                            f"{size} characters",
                            str(CONFIGURATION_VALUE),
                        ),
                    )
    return report
