"""Build inputs the pipeline will look for: every service's sources, Dockerfile and build context, the shared paths
and the unit tests' directories exist in the repository the configuration sits in.

A missing one renders with no finding and fails in CodeBuild, after the source stage, hours later.  The repository
is the configuration's own directory or the one above it (``parameters/`` sits at a repository's root; an example
such as ``examples/fleet`` stands for a repository's root itself): the first of the two that holds any of the
paths.  A configuration kept apart from its repository holds none, and is not checked.
"""

from __future__ import annotations

from pathlib import Path

from builder.preflight.model import Finding, Report
from templates.config.pipeline import PipelineConfig

RULE = "build-input"


def inputs(config: PipelineConfig) -> list[tuple[str, str, str]]:
    """(file, key, path) of every path a build reads, relative to the repository's root."""
    found = []
    for index, service in enumerate(config.project.services):
        paths = (("source_path", service.source_dir), ("dockerfile", service.dockerfile_path), ("build_context", service.context_dir))
        found += [("project.yaml", f"services[{index}].{key}", path) for key, path in paths]
    build = config.pipeline.build
    found += [("pipeline.yaml", f"build.shared_paths[{i}]", path) for i, path in enumerate(build.shared_paths)]
    found += [("pipeline.yaml", f"build.test_commands[{i}].directory", t.directory) for i, t in enumerate(build.test_commands)]
    return found


def repository_root(parameters: Path, paths: list[str]) -> Path | None:
    named = [path for path in paths if path not in (".", "")]  # "." is in every directory: it tells none apart
    for candidate in (parameters, parameters.parent):
        if any((candidate / path).exists() for path in named):
            return candidate
    return None


def check(config: PipelineConfig, parameters: Path) -> Report:
    report = Report()
    wanted = inputs(config)
    root = repository_root(Path(parameters).resolve(), [path for *_, path in wanted])
    if root is None:
        return report
    for file, key, path in wanted:
        where = root / path
        ok = where.is_file() if key.endswith(".dockerfile") else where.exists()
        report.check(RULE, ok, Finding(config.target, file, key, RULE, f"{path!r} (not in {root})", "a path in the repository"))
    return report
