"""Building blocks shared by the stack modules: tags, hardened buckets, log groups."""

from __future__ import annotations

from awacs.aws import Bool, Condition, Deny, Principal, Statement
from troposphere import GetAtt, Parameter, Ref, Sub, Tags, Template, iam, logs, s3

from templates import names, policies
from templates.config import Config

RETAIN = "Retain"


def new_template(description: str) -> Template:
    template = Template(Description=description)
    template.set_version("2010-09-09")
    return template


def tags(config: Config, **extra: str) -> Tags:
    return Tags(Project=config.project.name, Target=config.target, **extra)


def deny_insecure_transport(bucket: s3.Bucket) -> Statement:
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[policies.action("s3:*")],
        Resource=[GetAtt(bucket, "Arn"), Sub("${Arn}/*", Arn=GetAtt(bucket, "Arn"))],
        Condition=Condition(Bool({"aws:SecureTransport": "false"})),
    )


def secure_bucket(
    template: Template,
    title: str,
    config: Config,
    expiry_days: int,
    kms_key_arn=None,
    extra_statements: tuple[Statement, ...] = (),
) -> s3.Bucket:
    """A private, encrypted, versioned bucket that refuses plain HTTP and is kept on deletion.

    Without ``kms_key_arn`` it uses SSE-S3: some writers (ALB access logs) accept nothing else.
    """
    if kms_key_arn is None:
        encryption = s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
    else:
        encryption = s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=kms_key_arn)
    bucket = template.add_resource(
        s3.Bucket(
            title,
            DeletionPolicy=RETAIN,
            UpdateReplacePolicy=RETAIN,
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=encryption, BucketKeyEnabled=kms_key_arn is not None)
                ]
            ),
            VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
            PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
                BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
            ),
            OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[
                    s3.LifecycleRule(
                        Id="ExpireOldObjects",
                        Status="Enabled",
                        ExpirationInDays=expiry_days,
                        NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=expiry_days),
                        AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
                    )
                ]
            ),
            Tags=tags(config),
        )
    )
    skip_checks(bucket, {"CKV_AWS_18": "a log or artifact store: logging its own access would need yet another bucket"})
    template.add_resource(
        s3.BucketPolicy(
            f"{title}Policy",
            Bucket=Ref(bucket),
            PolicyDocument=policies.document(deny_insecure_transport(bucket), *extra_statements),
        )
    )
    return bucket


def log_group(template: Template, title: str, config: Config, name, kms_key_arn=None) -> logs.LogGroup:
    """A log group with the environment's retention, encrypted when the environment asks for it.

    Log groups of a protected environment are retained on deletion: they are its audit trail.
    """
    retention = RETAIN if config.environment.protected else "Delete"
    kwargs = {}
    if config.environment.logs.kms_encrypted:
        kwargs["KmsKeyId"] = kms_key_arn
    group = template.add_resource(
        logs.LogGroup(
            title,
            LogGroupName=name,
            RetentionInDays=config.environment.logs.retention_days,
            DeletionPolicy=retention,
            UpdateReplacePolicy=retention,
            **kwargs,
        )
    )
    if not config.environment.logs.kms_encrypted:
        skip_checks(group, {"CKV_AWS_158": "this environment's logs.kms_encrypted is false; CloudWatch Logs still encrypts at rest"})
    return group


def skip_checks(resource, reasons: dict[str, str]):
    """Suppress checkov checks on one resource, each with its written reason (checkov's Metadata syntax)."""
    metadata = dict(getattr(resource, "Metadata", None) or {})
    checkov = dict(metadata.get("checkov", {}))
    skips = list(checkov.get("skip", []))
    skips += [{"id": check, "comment": reason} for check, reason in sorted(reasons.items())]
    checkov["skip"] = skips
    metadata["checkov"] = checkov
    resource.Metadata = metadata
    return resource


def role(template: Template, title: str, service, policy_name: str, *statements) -> iam.Role:
    """A role the given AWS service assumes (for this account only), with one inline policy.

    Every role carries the environment's permissions boundary (rendered by the pipeline target), named by the
    root parameter passed down: the deploy role may create roles only with it attached.
    """
    if names.PERMISSIONS_BOUNDARY_NAME not in template.parameters:
        template.add_parameter(
            Parameter(names.PERMISSIONS_BOUNDARY_NAME, Type="String", Description="the managed policy that bounds every role here")
        )
    return template.add_resource(
        iam.Role(
            title,
            AssumeRolePolicyDocument=policies.trust(service),
            PermissionsBoundary=Sub(
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Name}", Name=Ref(names.PERMISSIONS_BOUNDARY_NAME)
            ),
            Policies=[iam.Policy(PolicyName=policy_name, PolicyDocument=policies.document(*statements))],
        )
    )
