"""Loading an environment target: project.yaml and <target>.yaml, read, checked and combined into a Config."""

from __future__ import annotations

from pathlib import Path

from templates.config import compliance, rules
from templates.config.fields import did_you_mean
from templates.config.model import PIPELINE_FILE, PROJECT_FILE, Config, Environment, Project
from templates.config.reader import ConfigError, check_parameters_dir, load_file, read_file


def available_targets(parameters_dir: Path) -> list[str]:
    """Every environment target: one per ``<name>.yaml`` beside project.yaml."""
    check_parameters_dir(parameters_dir)
    return sorted(p.stem for p in Path(parameters_dir).glob("*.yaml") if p.name not in (PROJECT_FILE, PIPELINE_FILE))


def load_project(parameters_dir: Path) -> Project:
    check_parameters_dir(parameters_dir)
    return load_file(Path(parameters_dir) / PROJECT_FILE, Project, rules.check_project)


def unknown_target(parameters_dir: Path, target: str) -> ConfigError:
    """The error for a target with no parameter file: the known ones, and the nearest of them."""
    known = available_targets(parameters_dir)
    if (Path(parameters_dir) / PIPELINE_FILE).is_file():
        known_text = ", ".join(known) + (", or " if known else "") + "pipeline"
        known = [*known, "pipeline"]
    else:
        known_text = ", ".join(known) or "none"
    path = Path(parameters_dir) / f"{target}.yaml"
    return ConfigError([f"{path}: no such target {target!r}; {did_you_mean(target, known)}expected one of: {known_text}"])


def load_environment(parameters_dir: Path, target: str) -> Environment:
    path = Path(parameters_dir) / f"{target}.yaml"
    if not path.is_file():
        raise unknown_target(parameters_dir, target)
    environment, given, problems = read_file(path, Environment)
    if environment is not None:
        problems += compliance.contradictions(environment, given, str(path))
        environment = compliance.applied(environment)
        problems += rules.check_environment(environment, str(path))
    if problems:
        raise ConfigError(problems)
    return environment


def load(parameters_dir: Path, target: str) -> Config:
    """Load and validate one target's configuration; raise ConfigError listing every problem."""
    check_parameters_dir(parameters_dir)
    problems: list[str] = []
    project = environment = None
    try:
        project = load_project(parameters_dir)
    except ConfigError as error:
        problems += error.problems
    try:
        environment = load_environment(parameters_dir, target)
    except ConfigError as error:
        problems += error.problems
    if problems:
        raise ConfigError(problems)
    names_problems = rules.check_target_names(project.name, target, str(Path(parameters_dir) / f"{target}.yaml"))
    if names_problems:
        raise ConfigError(names_problems)
    return Config(target=target, project=project, environment=environment)
