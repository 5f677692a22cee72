"""The bootstrap stack: the assets bucket that packaged Lambda zips and templates go to.

Deployed once per account and region by ``python deploy.py --bootstrap`` as
``<project>-bootstrap``; deploy.py reads the bucket's name from the output
``names.ASSETS_BUCKET``.

Decisions:

- The bucket is not named: CloudFormation generates a globally unique name,
  so no account id or region has to be spelled into the template and two
  projects (or a recreated stack) cannot collide.
- Encryption is S3-managed (SSE-S3, AES-256), not KMS.  The objects are
  templates and Lambda code, not secrets; SSE-KMS would make CloudFormation
  and Lambda fetches depend on every deploying principal's kms:Decrypt grant
  on a key the bootstrap would also have to own, for no gain in who can read
  the objects (the bucket policy and IAM already decide that).
- Versioned, with noncurrent versions expiring after 30 days.  Current
  objects are never expired: keys are content-hashed so nothing is
  overwritten, a Lambda rollback re-reads the previous zip, and an archived
  deploy record (``deploys/<target>/<time>/``) can only be redeployed while
  the objects it names exist.
- Retained on stack deletion and replacement: deleting the bootstrap stack
  must not delete the code of running stacks.
"""

from __future__ import annotations

from awacs.aws import Bool, Condition, Deny, PolicyDocument, Principal, Statement
from awacs.s3 import Action as S3Action
from troposphere import GetAtt, Output, Ref, Sub, Template
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    NoncurrentVersionExpiration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from templates import names

NONCURRENT_VERSION_DAYS = 30
INCOMPLETE_UPLOAD_DAYS = 7


def stack_name(project_name: str) -> str:
    return f"{project_name}-bootstrap"


def add_bucket(template: Template) -> Bucket:
    return template.add_resource(
        Bucket(
            "Bucket",
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            BucketEncryption=BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    ServerSideEncryptionRule(ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))
                ]
            ),
            VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
            PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
                BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
            ),
            OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
            LifecycleConfiguration=LifecycleConfiguration(
                Rules=[
                    LifecycleRule(
                        Id="ExpireOldVersions",
                        Status="Enabled",
                        NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=NONCURRENT_VERSION_DAYS),
                        AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=INCOMPLETE_UPLOAD_DAYS),
                    ),
                    LifecycleRule(Id="RemoveExpiredDeleteMarkers", Status="Enabled", ExpiredObjectDeleteMarker=True),
                ]
            ),
        )
    )


def add_tls_only_policy(template: Template, bucket: Bucket) -> BucketPolicy:
    return template.add_resource(
        BucketPolicy(
            "BucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="DenyInsecureTransport",
                        Effect=Deny,
                        Principal=Principal("*"),
                        Action=[S3Action("*")],
                        Resource=[GetAtt(bucket, "Arn"), Sub(f"${{{bucket.title}.Arn}}/*")],
                        Condition=Condition(Bool("aws:SecureTransport", "false")),
                    )
                ],
            ),
        )
    )


def build() -> Template:
    template = Template(Description="Assets bucket for packaged Lambda code and nested templates (deploy.py --bootstrap)")
    bucket = add_bucket(template)
    add_tls_only_policy(template, bucket)
    template.add_output(Output(names.ASSETS_BUCKET, Description="The assets bucket's name", Value=Ref(bucket)))
    return template
