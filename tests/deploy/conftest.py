"""Fixtures for deploy.py's tests: a moto server over real HTTP, one per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import boto3
import pytest
import requests

HERE = Path(__file__).resolve().parent
for path in (HERE.parents[1], HERE):  # the project (deploy.py, deployer/) and the test helpers
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from deploy_helpers import REGION  # noqa: E402

from deployer.aws import Aws, global_template_url  # noqa: E402


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_PROFILE", None)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{server._server.server_port}"
    server.stop()


@pytest.fixture
def moto_aws(moto_endpoint) -> Aws:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return Aws(session, endpoint_url=moto_endpoint, template_url=global_template_url)
