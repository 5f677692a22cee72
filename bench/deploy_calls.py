#!/usr/bin/env python3
"""API calls and bytes uploaded by a first deploy and by an unchanged redeploy.

Runs deploy.py's workflow against moto's server over real HTTP with the test
fixtures (a root with a nested stack that has one of its own, and one Lambda
package), counting with botocore event hooks on the session:

- ``before-call``: one per API operation invoked (what the code asks for);
- ``before-send``: one per HTTP request (retries included);
- PutObject bodies: the bytes uploaded to the assets bucket (deploy records included);
- Content-Length of every request: all bytes sent.

Besides the deploy's own work, every run makes sts:GetCallerIdentity (it starts by saying
account and region) and s3:HeadBucket (the assets bucket still exists); a run on an existing
stack also lists its change sets once (cloudformation:ListChangeSets) to remove those that
crashed runs left behind.

    python bench/deploy_calls.py
"""

from __future__ import annotations

import collections
import io
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "deploy")]

import boto3  # noqa: E402
from deploy_helpers import FIXTURES, Tokens, fast_poll, fixture_templates  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

# The local server logs every request; the figures below are what matters.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

from deployer import workflow  # noqa: E402
from deployer.aws import Aws, global_template_url  # noqa: E402
from deployer.console import Console  # noqa: E402
from deployer.context import Context, Options  # noqa: E402


class Counter:
    def __init__(self):
        self.calls: collections.Counter = collections.Counter()
        self.requests = 0
        self.bytes_sent = 0
        self.bytes_uploaded = 0
        self.bytes_recorded = 0

    def reset(self):
        self.__init__()

    def on_call(self, model, params, **_):
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def on_put_object(self, params, **_):
        # Body as the caller passed it (the uploader sends bytes); deploy records apart from artefacts.
        if params["Key"].startswith("deploys/"):
            self.bytes_recorded += len(params["Body"])
        else:
            self.bytes_uploaded += len(params["Body"])

    def on_send(self, request, **_):
        self.requests += 1
        self.bytes_sent += int(request.headers.get("Content-Length") or 0)


def run(label, counter, aws, options):
    counter.reset()
    templates = fixture_templates()
    ctx = Context(
        aws,
        Console(out=io.StringIO(), interactive=False, live=False),
        fast_poll(),
        render=lambda config: templates,
        token=Tokens(),
        commit=lambda directory: "abc1234",
    )
    assert workflow.deploy(options, ctx) == 0, ctx.console.out.getvalue()
    print(
        f"{label}: {sum(counter.calls.values())} API calls ({counter.requests} HTTP requests), "
        f"{counter.bytes_uploaded} artefact bytes + {counter.bytes_recorded} record bytes uploaded "
        f"in {counter.calls['s3:PutObject']} objects, "
        f"{counter.bytes_sent} request bytes sent"
    )
    for name, count in sorted(counter.calls.items()):
        print(f"    {count:3d}  {name}")
    return ctx


def main() -> int:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server._server.server_port}"
        session = boto3.Session(region_name="us-east-1")
        counter = Counter()
        session.events.register("before-call", counter.on_call)
        session.events.register("before-send", counter.on_send)
        session.events.register("before-parameter-build.s3.PutObject", counter.on_put_object)
        aws = Aws(session, endpoint_url=endpoint, template_url=global_template_url)
        options = Options(target="staging", image_tag="v1", yes=True, parameters_dir=FIXTURES / "parameters", project_dir=FIXTURES)
        quiet = Context(
            aws, Console(out=io.StringIO(), interactive=False, live=False), fast_poll(), token=Tokens(), commit=lambda directory: "abc1234"
        )
        workflow.bootstrap(options, quiet)
        print("fixture: root.json -> network.json -> subnets.json, one Lambda zip; bootstrap not counted")
        run("first deploy", counter, aws, options)
        run("unchanged redeploy", counter, aws, options)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
