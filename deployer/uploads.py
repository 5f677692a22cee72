"""Uploads to the assets bucket: an object is skipped only when S3 vouches that it holds these very bytes.

Keys carry the content hash, but a key that exists proves nothing about its bytes: whoever may write
there can put other bytes under it.  So every object is written with its SHA-256 checksum, and an
object already there is trusted only when the checksum S3 stored with it is the SHA-256 of the bytes
this run built; anything else (other bytes, no SHA-256 checksum at all) is uploaded again, and said.

What the S3 API Reference documents and this relies on:

- PutObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html): ``ChecksumAlgorithm``
  (``x-amz-sdk-checksum-algorithm``) with ``ChecksumSHA256`` (``x-amz-checksum-sha256``), "the Base64
  encoded, 256-bit SHA256 digest of the object", "a data integrity check to verify that the data received
  is the same data that was originally sent": S3 answers BadDigest ("The Content-MD5 or checksum value that you
  specified did not match what the server received", https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)
  instead of storing other bytes, and keeps the checksum with the object ("Checking object integrity",
  Amazon S3 User Guide, https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
- HeadObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html): ``ChecksumMode``
  (``x-amz-checksum-mode: ENABLED``), "To retrieve the checksum, this parameter must be enabled"; the
  answer's ``ChecksumSHA256`` "is only present if the checksum was uploaded with the object", and for a
  multipart object it may be a checksum of the parts' checksums, not of the object: neither counts as a
  match.  Its ``VersionId`` is the version whose checksum was read.

An unchanged redeploy still costs one HEAD per artefact and no upload.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

MISSING = {"404", "NoSuchKey", "NotFound"}


def sha256_checksum(body: bytes) -> str:
    """The checksum S3 keeps for a SHA-256 upload: the digest, Base64-encoded (not hex)."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


@dataclass
class UploadStats:
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # there already, but not with this run's bytes: uploaded again
    bytes_uploaded: int = 0


class Uploader:
    def __init__(self, s3, bucket: str, warn: Callable[[str], None] | None = None):
        self.s3 = s3
        self.bucket = bucket
        self.warn = warn or (lambda line: None)
        self.stats = UploadStats()

    def head(self, key: str) -> dict | None:
        """The object's metadata with its stored checksum, or None when there is no such key."""
        try:
            return self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in MISSING:
                return None
            raise

    def ensure(self, key: str, body: bytes, content_type: str) -> str | None:
        """Upload unless the object there is verified to hold ``body``; the version id of the object that does."""
        found = self.head(key)
        if found is not None:
            stored, expected = found.get("ChecksumSHA256"), sha256_checksum(body)
            if stored == expected:
                self.stats.skipped.append(key)
                return found.get("VersionId")
            held = f"SHA-256 {stored}" if stored else "no SHA-256 checksum"
            self.warn(
                f"s3://{self.bucket}/{key} does not hold the bytes this run built ({held}, expected {expected}): "
                "uploading them again; the object there is not used"
            )
            self.stats.replaced.append(key)
        return self.put(key, body, content_type)

    def put(self, key: str, body: bytes, content_type: str) -> str | None:
        """Write ``body`` with its SHA-256 checksum (S3 refuses it if the bytes it received differ); its version id."""
        response = self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=sha256_checksum(body),
        )
        self.stats.uploaded.append(key)
        self.stats.bytes_uploaded += len(body)
        return response.get("VersionId")
