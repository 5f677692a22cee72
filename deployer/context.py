"""What a command is given: the user's options and its collaborators."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deployer.aws import Aws
from deployer.console import Console
from deployer.parameters import git_commit
from deployer.result import Result
from deployer.signals import Signals
from deployer.timing import Poll


@dataclass(frozen=True)
class Options:
    target: str | None = None
    image_tag: str | None = None
    params: tuple[str, ...] = ()
    yes: bool = False
    confirm: str | None = None  # a protected target's name, typed in advance
    dry_run: bool = False
    package_only: bool = False
    output: Path | None = None
    wait: bool = False
    plan: bool = False  # create the change set, show it and keep it (--plan)
    change_set_name: str | None = None  # the name --plan gives its change set
    execute_change_set: str | None = None  # a change set made by --plan, to execute
    role_arn: str | None = None  # the CloudFormation service role the change set runs with
    parameters_dir: Path = Path("parameters")
    project_dir: Path = Path(".")


def render_templates(config) -> dict[str, dict]:
    # Imported late: commands that render nothing (--bootstrap, --follow, --delete) need no troposphere.
    from templates.render import render

    return render(config)


@dataclass
class Context:
    aws: Aws
    console: Console
    poll: Poll = field(default_factory=Poll)
    render: Callable[[object], dict[str, dict]] = render_templates
    token: Callable[[], str] = lambda: uuid.uuid4().hex
    commit: Callable[[Path], str | None] = git_commit
    signals: Signals = field(default_factory=Signals)
    result: Result = field(default_factory=Result)
