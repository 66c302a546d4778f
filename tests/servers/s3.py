"""A loopback S3 endpoint (moto's ``ThreadedMotoServer``) for the shared-storage tests.

moto honours S3's conditional puts (``If-None-Match: *``), which is all Lance needs to
commit safely from several processes at once. Everything stays on 127.0.0.1; the
credentials are made up, and distinctive, so a test can prove they never reach output.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: made-up credentials, distinctive enough to grep every output for
ACCESS_KEY = "AKIAH2OTUITESTKEY0001"
SECRET_KEY = "h2otuiSecret/Do+Not+Print/0123456789abcd"


@dataclass
class S3Endpoint:
    endpoint: str
    bucket: str

    def uri(self, prefix: str = "") -> str:
        return f"s3://{self.bucket}/{prefix or uuid.uuid4().hex[:8]}"

    def env(self, uri: str) -> dict[str, str]:
        """The environment that points h2otui at ``uri`` on this endpoint: the storage
        settings through ``H2OTUI_STORAGE__*``, the credentials through ``AWS_*``."""
        return {
            "H2OTUI_STORAGE__URI": uri,
            "H2OTUI_STORAGE__ALLOW_HTTP": "true",
            "H2OTUI_STORAGE__OPTIONS": json.dumps(
                {"endpoint": self.endpoint, "region": "us-east-1"}
            ),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_s3(bucket: str = "h2otui-shared") -> Iterator[S3Endpoint]:
    """A moto S3 server on a free loopback port, with ``bucket`` created."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        )  # fmt: skip
        client.create_bucket(Bucket=bucket)
        yield S3Endpoint(endpoint, bucket)
    finally:
        server.stop()
