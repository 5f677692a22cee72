"""What deploy.py zips: lambda/health_check/ holds the handler package and nothing else."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "lambda" / "health_check"

EXPECTED_FILES = {
    "__init__.py",
    "aws.py",
    "canary.py",
    "checks.py",
    "handler.py",
    "lifecycle_hook.py",
    "logs.py",
    "pipeline_job.py",
    "settings.py",
}


def files_for_the_zip() -> set:
    return {
        path.relative_to(PACKAGE_DIR).as_posix()
        for path in PACKAGE_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_zip_holds_exactly_the_handler_package():
    assert files_for_the_zip() == EXPECTED_FILES


def test_the_package_imports_only_the_standard_library_and_boto3():
    import ast
    import sys

    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore"}
    for name in EXPECTED_FILES:
        tree = ast.parse((PACKAGE_DIR / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{name} imports {roots - allowed}"
