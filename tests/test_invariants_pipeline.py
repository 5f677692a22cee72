"""Invariants of the release, on every configuration's pipeline target (see tests/test_invariants.py): production
only after staging, its tests and an approval of the exact change set; every artifact and variable an action
reads produced before it; one image build per service; the builds as the file says; each role to its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from templates import names
from templates.config.pipeline import CODEBUILD_MAX_TIMEOUT_MINUTES, release_minutes
from tests.conftest import ConfiguredTarget
from tests.templates.helpers import every, only, resources_of_type, target_of

ROOT = names.ROOT_TEMPLATE
VARIABLE = re.compile(r"#\{([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\}")


def pipeline_of(configured) -> tuple[dict, str, dict]:
    template = configured.rendered[ROOT]
    logical_id, pipeline = only(template, "AWS::CodePipeline::Pipeline", ROOT)
    return template, logical_id, pipeline


def actions(pipeline: dict):
    """(stage index, stage name, action) in the order CodePipeline runs them."""
    for index, stage in enumerate(pipeline["Stages"]):
        for action in sorted(stage["Actions"], key=lambda a: a["RunOrder"]):
            yield index, stage["Name"], action


def variables_of(action: dict) -> dict[str, str]:
    """The environment variables a CodeBuild action passes, by name (``${...}`` of a Sub left as written)."""
    given = action["Configuration"].get("EnvironmentVariables")
    if given is None:
        return {}
    text = given if isinstance(given, str) else given["Fn::Sub"][0]
    return {v["name"]: v["value"] for v in json.loads(text)}


def buildspec(template: dict, action: dict) -> dict:
    project = template["Resources"][target_of(action["Configuration"]["ProjectName"])]["Properties"]
    return yaml.safe_load(project["Source"]["BuildSpec"])


def commit(config) -> str:
    return "#{SourceVariables.ETag}" if config.pipeline.source.provider == "s3" else "#{SourceVariables.CommitId}"


def test_the_pipeline_is_named_as_the_documented_commands_name_it(configured_pipeline):
    """README's `aws codepipeline start-pipeline-execution --name <project>-pipeline` and the console find it by name."""
    _, logical_id, pipeline = pipeline_of(configured_pipeline)
    assert pipeline["Name"] == f"{configured_pipeline.config.project.name}-pipeline", f"{ROOT}: {logical_id}"


def test_production_is_released_only_after_staging_its_tests_and_an_approval(configured_pipeline):
    cfg = configured_pipeline.config.pipeline
    _, logical_id, pipeline = pipeline_of(configured_pipeline)
    where = f"{ROOT}: {logical_id}"
    assert pipeline["PipelineType"] == "V2" and pipeline["ExecutionMode"] == cfg.execution_mode, where
    steps = list(actions(pipeline))
    deploys = [(stage, variables_of(a)["DEPLOY_TARGET"], a) for stage, _, a in steps if "DEPLOY_TARGET" in variables_of(a)]
    targets = [target for _, target, _ in deploys]
    assert targets == [cfg.staging_target, cfg.production_target, cfg.production_target], f"{where}: deploy, plan, execute"
    (staging, plan, execute) = deploys
    tests = [stage for stage, _, a in steps if "BASE_URL" in variables_of(a) or a["ActionTypeId"]["Category"] == "Invoke"]
    approvals = [(stage, a) for stage, _, a in steps if a["ActionTypeId"]["Category"] == "Approval"]
    ((approval_stage, approval),) = approvals
    assert len(tests) == 2 and staging[0] < min(tests) and max(tests) < plan[0] <= approval_stage < execute[0], where
    assert plan[0] == approval_stage and plan[2]["RunOrder"] < approval["RunOrder"], f"{where}: the plan is made before the approval"
    topic = target_of(approval["Configuration"]["NotificationArn"])
    assert configured_pipeline.rendered[ROOT]["Resources"][topic]["Type"] == "AWS::SNS::Topic", where
    plan_namespace = plan[2]["Namespace"]
    assert VARIABLE.fullmatch(approval["Configuration"]["ExternalEntityLink"]).group(1) == plan_namespace, f"{where}: links to the plan"
    change_set = re.search(r"--change-set-name (\S+)", json.dumps(buildspec(configured_pipeline.rendered[ROOT], plan[2]))).group(1)
    assert f"--execute-change-set {change_set}" in json.dumps(buildspec(configured_pipeline.rendered[ROOT], execute[2])), where


def test_every_artifact_and_variable_an_action_reads_is_produced_before_it(configured_pipeline):
    template, logical_id, pipeline = pipeline_of(configured_pipeline)
    artifacts, namespaces = set(), {}
    previous_stage, stage_outputs, stage_namespaces, run_order = -1, set(), {}, 0
    for stage, name, action in actions(pipeline):
        where = f"{ROOT}: {logical_id}: {name}/{action['Name']}"
        if stage != previous_stage or action["RunOrder"] != run_order:  # what ran before is visible now
            artifacts |= stage_outputs
            namespaces.update(stage_namespaces)
            stage_outputs, stage_namespaces, previous_stage, run_order = set(), {}, stage, action["RunOrder"]
        for artifact in action.get("InputArtifacts", []):
            assert artifact["Name"] in artifacts, f"{where}: reads {artifact['Name']} before it exists"
        for namespace, variable in VARIABLE.findall(json.dumps(action["Configuration"])):
            assert namespace in namespaces, f"{where}: reads #{{{namespace}.{variable}}} before it exists"
            exported = namespaces[namespace]
            assert exported is None or variable in exported, f"{where}: {namespace} does not export {variable}"
        stage_outputs |= {a["Name"] for a in action.get("OutputArtifacts", [])}
        if "Namespace" in action:
            # A source action's variables are the provider's own; a build's are what its buildspec exports.
            source = action["ActionTypeId"]["Category"] == "Source"
            exported = None if source else buildspec(template, action)["env"].get("exported-variables", [])
            stage_namespaces[action["Namespace"]] = exported


def test_every_service_builds_its_image_once_in_parallel_tagged_with_the_commit(configured_pipeline):
    cfg = configured_pipeline.config
    template, logical_id, pipeline = pipeline_of(configured_pipeline)
    builds = [(a, buildspec(template, a)) for _, name, a in actions(pipeline) if name == "Build"]
    built = [spec["env"]["variables"]["SERVICE_NAME"] for _, spec in builds]
    assert built == [s.name for s in cfg.project.services] and {a["RunOrder"] for a, _ in builds} == {1}, f"{ROOT}: {logical_id}"
    for (action, spec), service in zip(builds, cfg.project.services, strict=True):
        where = f"{ROOT}: {logical_id}: {action['Name']}"
        assert variables_of(action) == {"IMAGE_TAG": commit(cfg)}, where
        assert spec["env"]["variables"] == {
            "SERVICE_NAME": service.name,
            "REPOSITORY_NAME": names.ecr_repository_name(cfg.project.name, service.name),
            "DOCKERFILE": service.dockerfile_path,
            "BUILD_CONTEXT": service.context_dir,
        }, where
        script = "\n".join(spec["phases"]["build"]["commands"])
        assert f"docker build -f {service.dockerfile_path} " in script and script.rstrip().endswith(")"), where


def test_each_release_runs_deploy_py_for_its_environment_with_that_environments_deploy_role(configured_pipeline):
    cfg = configured_pipeline.config
    template, logical_id, pipeline = pipeline_of(configured_pipeline)
    for _, name, action in actions(pipeline):
        given = variables_of(action)
        if "DEPLOY_TARGET" not in given:
            continue
        where = f"{ROOT}: {logical_id}: {name}/{action['Name']}"
        environment = given["DEPLOY_TARGET"]
        assert given["STACK_NAME"] == cfg.environment_stack(environment) and given["IMAGE_TAG"] == commit(cfg), where
        assert given["DEPLOY_ROLE_ARN"] == "${DeployRoleArn}", where
        role_id = target_of(action["Configuration"]["EnvironmentVariables"]["Fn::Sub"][1]["DeployRoleArn"])
        trust = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": ["cloudformation.amazonaws.com"]}], f"{where}: {role_id}"
        managed = resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
        attached = [p for p in managed if {"Ref": role_id} in p["Properties"].get("Roles", [])]
        assert attached, f"{where}: {role_id} has no policy"
        project = template["Resources"][target_of(action["Configuration"]["ProjectName"])]["Properties"]
        if "--plan" in " ".join(buildspec(template, action)["phases"]["build"]["commands"]):
            continue  # planning is no release: it needs no longer than a build
        needed = min(CODEBUILD_MAX_TIMEOUT_MINUTES, release_minutes(ConfiguredTarget(configured_pipeline.parameters, environment).config))
        assert project["TimeoutInMinutes"] >= max(needed, cfg.pipeline.build.timeout_minutes), f"{where}: stopped before its release ends"
        build_role = template["Resources"][target_of(project["ServiceRole"])]["Properties"]
        passes = [s for p in build_role["Policies"] for s in p["PolicyDocument"]["Statement"] if "iam:PassRole" in s["Action"]]
        assert [(s["Resource"], s["Condition"]) for s in passes] == [
            ([{"Fn::GetAtt": [role_id, "Arn"]}], {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}})
        ], f"{where}: passes this environment's deploy role, to CloudFormation only"
        commands = " ".join(buildspec(template, action)["phases"]["build"]["commands"])
        assert 'python deploy.py --env "$DEPLOY_TARGET"' in commands, where


def test_the_builds_run_as_the_file_says_privileged_only_to_build_images(configured_pipeline):
    settings = configured_pipeline.config.pipeline.build
    template = configured_pipeline.rendered[ROOT]
    projects = list(every({ROOT: template}, "AWS::CodeBuild::Project"))
    assert projects
    for where, _, project in projects:
        properties = project["Properties"]
        environment = properties["Environment"]
        assert (environment["ComputeType"], environment["Image"]) == (settings.compute_type, settings.image), where
        if "python deploy.py" not in properties["Source"]["BuildSpec"]:  # a release's timeout: see the next test
            assert properties["TimeoutInMinutes"] == settings.timeout_minutes, where
        spec = yaml.safe_load(properties["Source"]["BuildSpec"])
        assert spec["phases"]["install"]["runtime-versions"] == {"python": settings.python_version}, where
        docker = "docker build" in properties["Source"]["BuildSpec"]
        assert environment["PrivilegedMode"] is docker, f"{where}: the Docker daemon for image builds alone"
        assert properties["Source"]["Type"] == properties["Artifacts"]["Type"] == "CODEPIPELINE", where
        logs = properties["LogsConfig"]["CloudWatchLogs"]
        assert logs["Status"] == "ENABLED" and template["Resources"][target_of(logs["GroupName"])]["Type"] == "AWS::Logs::LogGroup", where
        role = template["Resources"][target_of(properties["ServiceRole"])]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["codebuild.amazonaws.com"]}, where
        writes = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if "logs:PutLogEvents" in s["Action"]]
        assert [json.dumps(s["Resource"]).count(json.dumps(logs["GroupName"])) for s in writes] == [1], f"{where}: its own log group"


# What CodeBuild sets in every build (CodeBuild User Guide, "Environment variables in build environments").
CODEBUILD_SETS = re.compile(r"CODEBUILD_[A-Z_]+|AWS_REGION|AWS_DEFAULT_REGION|HOME|PATH")
ASSIGNED = re.compile(r"(?:^|[\s;(])([A-Z_][A-Z0-9_]*)=")
READ = re.compile(r"\$\{?([A-Z_][A-Z0-9_]*)")


def test_every_build_runs_bash_and_reads_only_variables_it_was_given_or_set(configured_pipeline):
    """The commands use bash (pipefail, ${VAR%%/*}); a variable read before anything sets it is empty, silently."""
    cfg = configured_pipeline.config
    template, logical_id, pipeline = pipeline_of(configured_pipeline)
    own_commands = [entry.command for entry in cfg.pipeline.build.test_commands]  # the file's own shell, not ours to read
    for _, _, action in actions(pipeline):
        if "ProjectName" not in action["Configuration"]:
            continue
        where = f"{ROOT}: {target_of(action['Configuration']['ProjectName'])}"
        spec = buildspec(template, action)
        assert spec["env"]["shell"] == "bash", where
        known = set(spec["env"].get("variables", {})) | set(variables_of(action))
        for phase in ("install", "pre_build", "build", "post_build"):
            for command in spec["phases"].get(phase, {}).get("commands", []):
                for own in own_commands:
                    command = command.replace(own, "")
                known |= set(ASSIGNED.findall(command))
                unknown = {v for v in READ.findall(command) if v not in known and not CODEBUILD_SETS.fullmatch(v)}
                assert not unknown, f"{where}: {phase} reads {sorted(unknown)} that nothing sets"


# The IAM actions behind what the buildspecs run besides `aws <service> <command>` (whose action is the command's
# name in CamelCase): the registry login, and a push (ECR User Guide, "Pushing an image": the layer uploads).
CLI_ACTIONS = {("ecr", "get-login-password"): {"ecr:GetAuthorizationToken"}}
DOCKER_PUSH = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
}


def test_each_build_may_make_the_aws_calls_its_buildspec_makes(configured_pipeline):
    cfg = configured_pipeline.config
    template = configured_pipeline.rendered[ROOT]
    for where, _, project in every({ROOT: template}, "AWS::CodeBuild::Project"):
        text = project["Properties"]["Source"]["BuildSpec"]
        needed = set(DOCKER_PUSH if "docker push" in text else ())
        for service, command in set(re.findall(r"\baws ([a-z0-9-]+) ([a-z][a-z0-9-]+)", text)):
            needed |= CLI_ACTIONS.get((service, command), {f"{service}:{''.join(w.capitalize() for w in command.split('-'))}"})
        role = template["Resources"][target_of(project["Properties"]["ServiceRole"])]["Properties"]
        granted = {a for p in role["Policies"] for st in p["PolicyDocument"]["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}
        assert needed <= granted, f"{where}: may not {sorted(needed - granted)}"
        if "docker push" in text:  # its own repository only
            repositories = [names.ecr_repository_name(cfg.project.name, s.name) for s in cfg.project.services]
            (own,) = [r for r in repositories if f"REPOSITORY_NAME: {r}\n" in text]
            repository = f"repository/{own}"
            pushes = [st for p in role["Policies"] for st in p["PolicyDocument"]["Statement"] if "ecr:PutImage" in st["Action"]]
            assert [json.dumps(st["Resource"]).count(repository) for st in pushes] == [1] and len(pushes[0]["Resource"]) == 1, where


REPO = Path(__file__).resolve().parents[1]
# deploy.py's clients as deployer/ names them, and the IAM action of an operation whose name is not its own.
CLIENTS = {"cfn": "cloudformation", "s3": "s3", "ecr": "ecr"}
OPERATION_ACTIONS = {("s3", "head_object"): "s3:GetObject", ("s3", "head_bucket"): "s3:ListBucket"}
# Calls the release role is not given, and why.
NOT_RELEASED = {
    "cloudformation:DeleteStack": "deploy.py --delete and re-creating the bootstrap stack are run by people; the pipeline "
    "never deletes (nor can it remove the empty stack a failed CREATE change set leaves)",
}


def deploy_py_calls() -> set[str]:
    """The IAM actions of every CloudFormation, S3 and ECR call in deployer/ (operations and paginators)."""
    found = set()
    for path in sorted((REPO / "deployer").glob("*.py")):
        text = path.read_text()
        calls = re.findall(r"\b(cfn|s3|ecr)\.([a-z][a-z_]+)\(", text)
        calls += re.findall(r"\b(cfn|s3|ecr)\.get_paginator\(\"([a-z_]+)\"\)", text)
        for client, operation in calls:
            if operation == "get_paginator":
                continue
            service = CLIENTS[client]
            found.add(OPERATION_ACTIONS.get((service, operation), f"{service}:{''.join(w.capitalize() for w in operation.split('_'))}"))
    return found


def test_each_release_role_may_make_every_call_deploy_py_makes(configured_pipeline):
    """deploy.py runs in the release builds: a call its role lacks fails the release halfway."""
    template = configured_pipeline.rendered[ROOT]
    calls = deploy_py_calls()
    assert {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "s3:PutObject"} <= calls, "deployer/ read wrongly"
    releases = [
        (where, project)
        for where, _, project in every({ROOT: template}, "AWS::CodeBuild::Project")
        if "python deploy.py" in project["Properties"]["Source"]["BuildSpec"]
    ]
    assert releases
    for where, project in releases:
        role = template["Resources"][target_of(project["Properties"]["ServiceRole"])]["Properties"]
        granted = {a for p in role["Policies"] for st in p["PolicyDocument"]["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}
        missing = calls - granted - set(NOT_RELEASED)
        assert not missing, f"{where}: deploy.py calls {sorted(missing)}"


def test_the_integration_tests_check_every_services_health_and_the_files_requests(configured_pipeline):
    cfg = configured_pipeline.config
    template, logical_id, pipeline = pipeline_of(configured_pipeline)
    (functional,) = [a for _, _, a in actions(pipeline) if "BASE_URL" in variables_of(a)]
    checks = json.loads(buildspec(template, functional)["env"]["variables"]["INTEGRATION_CHECKS"])["checks"]
    expected = []
    for s in cfg.project.services:
        health = f"{s.route_path}{s.health_check_path}"
        expected.append({"service": s.name, "method": "GET", "path": health, "expect_status": 200, "health": True})
        for check in cfg.integration_checks(s):
            entry = {"service": s.name, "method": check.method, "path": check.path, "expect_status": check.expect_status}
            expected.append({**entry, **({"body": json.loads(check.body)} if check.body else {})})
    assert checks == expected, f"{ROOT}: {logical_id}: FunctionalTests"
    (smoke,) = [a for _, _, a in actions(pipeline) if a["ActionTypeId"]["Category"] == "Invoke"]
    canary = f"{cfg.environment_stack(cfg.pipeline.staging_target)}-health-canary"
    assert smoke["Configuration"]["FunctionName"] == canary, f"{ROOT}: {logical_id}: the staging canary"


def test_the_source_is_the_files_branch_and_starts_the_pipeline_on_a_push(configured_pipeline):
    source = configured_pipeline.config.pipeline.source
    template, logical_id, pipeline = pipeline_of(configured_pipeline)
    ((_, _, action),) = [step for step in actions(pipeline) if step[2]["ActionTypeId"]["Category"] == "Source"]
    where = f"{ROOT}: {logical_id}: {action['Name']}"
    configuration = action["Configuration"]
    if source.provider == "s3":
        assert (configuration["S3Bucket"], configuration["S3ObjectKey"]) == (source.repository, source.object_key), where
    else:
        assert configuration["BranchName"] == source.branch, where
        assert configuration.get("FullRepositoryId", configuration.get("RepositoryName")) == source.repository, where
    rules = resources_of_type(template, "AWS::Events::Rule")
    if source.provider == "codestar":
        (trigger,) = pipeline["Triggers"]
        pushes = trigger["GitConfiguration"]["Push"]
        assert trigger["GitConfiguration"]["SourceActionName"] == action["Name"] and pushes, where
        assert all(p["Branches"]["Includes"] == [source.branch] and p["FilePaths"]["Includes"] for p in pushes), where
        assert not rules, f"{ROOT}: no EventBridge rule with a trigger"
        return
    assert configuration["PollForSourceChanges"] == "false" and "Triggers" not in pipeline, where
    ((rule_id, rule),) = rules.items()
    properties = rule["Properties"]
    (target,) = properties["Targets"]
    assert properties["State"] == "ENABLED" and target["Arn"]["Fn::Sub"][1] == {"Pipeline": {"Ref": logical_id}}, f"{ROOT}: {rule_id}"
    starter = template["Resources"][target_of(target["RoleArn"])]["Properties"]
    assert starter["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["events.amazonaws.com"]}, f"{ROOT}: {rule_id}"
    (start,) = [st for p in starter["Policies"] for st in p["PolicyDocument"]["Statement"]]
    assert (start["Action"], start["Resource"]) == (["codepipeline:StartPipelineExecution"], [target["Arn"]]), f"{ROOT}: {rule_id}"
    pattern = properties["EventPattern"]
    if source.provider == "codecommit":
        repository = f"arn:${{AWS::Partition}}:codecommit:${{AWS::Region}}:${{AWS::AccountId}}:{source.repository}"
        assert pattern["resources"] == [{"Fn::Sub": repository}], f"{ROOT}: {rule_id}: this repository's pushes only"
        branch = (pattern["detail"]["referenceName"], pattern["detail"]["referenceType"])
        assert branch == ([source.branch], ["branch"]), f"{ROOT}: {rule_id}"
    else:
        assert pattern["detail"] == {"bucket": {"name": [source.repository]}, "object": {"key": [source.object_key]}}, f"{ROOT}: {rule_id}"


def test_the_pipeline_may_start_its_builds_invoke_stagings_canary_and_ask_for_approval(configured_pipeline):
    cfg = configured_pipeline.config
    template, logical_id, pipeline = pipeline_of(configured_pipeline)
    role = template["Resources"][target_of(pipeline["RoleArn"])]["Properties"]
    where = f"{ROOT}: {target_of(pipeline['RoleArn'])}"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["codepipeline.amazonaws.com"]}, where
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    (builds,) = [s for s in statements if "codebuild:StartBuild" in s["Action"]]
    projects = {target_of(a["Configuration"]["ProjectName"]) for _, _, a in actions(pipeline) if "ProjectName" in a["Configuration"]}
    assert {target_of(r) for r in builds["Resource"]} == projects, f"{where}: the pipeline's own projects"
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    canary = f"{cfg.environment_stack(cfg.pipeline.staging_target)}-health-canary"
    function = f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{canary}"
    assert [r["Fn::Sub"] for r in invoke["Resource"]] == [function], where
    source = cfg.pipeline.source
    reads = {a for s in statements for a in s["Action"]}
    # What the source action needs of the pipeline's role (CodePipeline User Guide, its action reference per provider).
    needed = {
        "codestar": {f"{source.connection_service}:UseConnection"},
        "codecommit": {"codecommit:GetBranch", "codecommit:GetCommit", "codecommit:UploadArchive", "codecommit:GetUploadArchiveStatus"},
        "s3": {"s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketVersioning"},
    }[source.provider]
    assert reads >= needed, f"{where}: the source action needs {sorted(needed - reads)}"
    (publish,) = [s for s in statements if "sns:Publish" in s["Action"]]
    (_, _, approval), *_ = [step for step in actions(pipeline) if step[2]["ActionTypeId"]["Category"] == "Approval"]
    assert publish["Resource"] == [approval["Configuration"]["NotificationArn"]], where
    notification_id, properties = only(template, "AWS::CodeStarNotifications::NotificationRule", ROOT)
    where = f"{ROOT}: {notification_id}"
    topic = [{"TargetType": "SNS", "TargetAddress": publish["Resource"][0]}]
    assert properties["Status"] == "ENABLED" and properties["Targets"] == topic, where
    assert properties["Resource"]["Fn::Sub"][1] == {"Pipeline": {"Ref": logical_id}}, where
    events = {"codepipeline-pipeline-pipeline-execution-failed", "codepipeline-pipeline-manual-approval-needed"}
    assert events <= set(properties["EventTypeIds"]), f"{where}: failures and pending approvals are told"
