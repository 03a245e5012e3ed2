"""A real S3 server for the tests (``rclone serve s3``) and a fault-injecting proxy."""

from tests.s3_server.faults import FaultProxy, S3Faults
from tests.s3_server.server import ACCESS_KEY, BUCKET, REGION, SECRET_KEY, RcloneS3

__all__ = ["ACCESS_KEY", "BUCKET", "REGION", "SECRET_KEY", "FaultProxy", "RcloneS3", "S3Faults"]
