"""Content-addressed uploads to the assets bucket: an object already there is not sent again.

Keys carry the content hash, so "the key exists" means "these bytes are
there"; one HEAD decides, and an unchanged redeploy costs one HEAD per
artefact and no upload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import ClientError

MISSING = {"404", "NoSuchKey", "NotFound"}


@dataclass
class UploadStats:
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_uploaded: int = 0


class Uploader:
    def __init__(self, s3, bucket: str):
        self.s3 = s3
        self.bucket = bucket
        self.stats = UploadStats()

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in MISSING:
                return False
            raise
        return True

    def ensure(self, key: str, body: bytes, content_type: str) -> bool:
        """Upload unless present; True when bytes were sent."""
        if self.exists(key):
            self.stats.skipped.append(key)
            return False
        self.put(key, body, content_type)
        return True

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        self.stats.uploaded.append(key)
        self.stats.bytes_uploaded += len(body)
