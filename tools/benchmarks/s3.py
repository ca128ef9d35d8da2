"""A real S3 API on 127.0.0.1 for the remote tests and benchmark: moto in server mode, with IAM auth on.

moto's in-process mock (mock_aws) patches botocore inside one Python process; `dvc` runs in its own
process (and s3fs uses aiobotocore), so it needs a server. Auth is switched on after set-up, so that a
wrong key or secret is refused the way AWS refuses it (InvalidAccessKeyId, SignatureDoesNotMatch).
`env()` also keeps botocore away from anything outside 127.0.0.1: no ~/.aws files, no EC2 metadata.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGION = "us-east-1"
BOOTSTRAP = {"AWS_ACCESS_KEY_ID": "bootstrap", "AWS_SECRET_ACCESS_KEY": "bootstrap"}  # fake: auth is off then
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    key_id: str
    secret: str

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def env(self, home: Path, **overrides: str) -> dict[str, str]:
        """Environment variables for a client of this server: its keys, the region, and nothing from
        ``home`` (~/.aws) or the network outside 127.0.0.1. ``overrides`` win (e.g. a wrong secret)."""
        return {
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(home / "aws-config-absent"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials-absent"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            **overrides,
        }

    def client(self) -> Any:
        import boto3  # a dev dependency (tests, benchmarks), imported when used

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under prefix, sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


@contextmanager
def s3_server(bucket: str = "penguins") -> Iterator[S3Server]:
    """Start moto on 127.0.0.1 (a free port), create an IAM user allowed s3:*, its access key and ``bucket``,
    switch IAM auth on, yield, stop."""
    import boto3
    from moto import settings
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not one line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        bootstrap = {
            "endpoint_url": endpoint,
            "region_name": REGION,
            "aws_access_key_id": BOOTSTRAP["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": BOOTSTRAP["AWS_SECRET_ACCESS_KEY"],
        }
        iam = boto3.client("iam", **bootstrap)
        iam.create_user(UserName="dvc")
        iam.put_user_policy(UserName="dvc", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
        key = iam.create_access_key(UserName="dvc")["AccessKey"]
        boto3.client("s3", **bootstrap).create_bucket(Bucket=bucket)
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # from now on every request is authenticated
        yield S3Server(endpoint, bucket, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = previous
        server.stop()
