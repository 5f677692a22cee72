"""Building blocks shared by the stack modules: tags, hardened buckets, log groups."""

from __future__ import annotations

from awacs.aws import Allow, Bool, Condition, Deny, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Parameter, Ref, Sub, Tags, Template, iam, logs, s3

from templates import names
from templates.config.model import Config
from templates.iam import policies

RETAIN = "Retain"
SERVER_ACCESS_LOG_BUCKET = "ServerAccessLogBucket"
SERVER_ACCESS_LOG_EXPIRY_DAYS = 365  # a year, as the log groups of a compliant environment

# cfn-lint's W3002 warns that a local TemplateURL needs packaging.  That is the
# design: deploy.py uploads each child and rewrites the URL, so it is silenced
# on the nested stacks alone, with the reason kept beside it in the template.
PACKAGED_BY_DEPLOY = {
    "cfn-lint": {"config": {"ignore_checks": ["W3002"]}},
    "SuppressionReasons": {"W3002": "local TemplateURL by design: deploy.py uploads the child and rewrites the URL"},
}


def new_template(description: str) -> Template:
    template = Template(Description=description)
    template.set_version("2010-09-09")
    return template


def switch(title: str, description: str = "", default: str = "true") -> Parameter:
    """A "true"/"false" stack parameter (nested stack parameters are strings)."""
    described = {"Description": description} if description else {}
    return Parameter(title, Type="String", AllowedValues=["true", "false"], Default=default, **described)


def tags(config: Config, **extra: str) -> Tags:
    return Tags(Project=config.project.name, Target=config.target, **extra)


def deny_insecure_transport(bucket: s3.Bucket) -> Statement:
    # The objects' ARN as Join, not Sub: Control Tower's CT.S3.PR.8 rule recognises only
    # [GetAtt Bucket.Arn, Join ["", [GetAtt Bucket.Arn, "/*"]]] as this bucket's resources.
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[policies.action("s3:*")],
        Resource=[GetAtt(bucket, "Arn"), Join("", [GetAtt(bucket, "Arn"), "/*"])],
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
    if getattr(config, "compliant", False) and title != SERVER_ACCESS_LOG_BUCKET:
        log_bucket = server_access_log_bucket(template, config)
        bucket.LoggingConfiguration = s3.LoggingConfiguration(DestinationBucketName=Ref(log_bucket), LogFilePrefix=f"{title}/")
        bucket.DependsOn = [f"{SERVER_ACCESS_LOG_BUCKET}Policy"]
    else:
        skip_checks(bucket, {"CKV_AWS_18": "a log or artifact store: logging its own access would need yet another bucket"})
    template.add_resource(
        s3.BucketPolicy(
            f"{title}Policy",
            Bucket=Ref(bucket),
            PolicyDocument=policies.document(deny_insecure_transport(bucket), *extra_statements),
        )
    )
    return bucket


def server_access_log_bucket(template: Template, config: Config) -> s3.Bucket:
    """The template's bucket for S3 server access logs (compliance: control-tower, CT.S3.PR.2), made once.

    SSE-S3: the encryption the S3 User Guide documents for a log-delivery target bucket.  No Object
    Lock (a locked bucket cannot receive the logs), no logging of its own.  S3 writes the logs as the
    logging.s3.amazonaws.com service principal, allowed by the bucket policy for this account's
    buckets only (S3 User Guide, "Permissions for log delivery").
    """
    if SERVER_ACCESS_LOG_BUCKET in template.resources:
        return template.resources[SERVER_ACCESS_LOG_BUCKET]
    delivery = Statement(
        Sid="S3DeliversServerAccessLogs",
        Effect=Allow,
        Principal=policies.service_principal("logging.s3.amazonaws.com"),
        Action=[policies.action("s3:PutObject")],
        Resource=[Sub(f"${{{SERVER_ACCESS_LOG_BUCKET}.Arn}}/*")],
        Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
    )
    return secure_bucket(template, SERVER_ACCESS_LOG_BUCKET, config, SERVER_ACCESS_LOG_EXPIRY_DAYS, extra_statements=(delivery,))


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


def role(template: Template, title: str, kind: str, policy_name: str, *statements) -> iam.Role:
    """A role of ``kind`` (``policies.TRUSTS``: the service that assumes it, on its documented conditions), with one
    inline policy.

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
            AssumeRolePolicyDocument=policies.trust(kind),
            PermissionsBoundary=Sub(
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Name}", Name=Ref(names.PERMISSIONS_BOUNDARY_NAME)
            ),
            Policies=[iam.Policy(PolicyName=policy_name, PolicyDocument=policies.document(*statements))],
        )
    )
