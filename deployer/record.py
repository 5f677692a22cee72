"""The archive of successful deploys: ``deploys/<target>/<UTC time>/`` in the assets bucket (``names.records_prefix``).

Each record holds the packaged templates exactly as deployed (their nested
``TemplateURL``s point at the content-hashed objects, which the bucket never
expires), the resolved parameters in the CLI's ``--parameters file://`` form,
and who/what/when - enough to inspect an earlier deploy or to deploy it again.
"""

from __future__ import annotations

import json
from datetime import datetime

from deployer.nested import PackagedTemplates
from deployer.uploads import Uploader
from templates import names

JSON = "application/json"


def record_prefix(target: str, when: datetime) -> str:
    return f"{names.records_prefix(target)}/{when.strftime('%Y%m%dT%H%M%SZ')}"


def parameter_file(parameters: dict[str, str]) -> bytes:
    listed = [{"ParameterKey": key, "ParameterValue": value} for key, value in sorted(parameters.items())]
    return (json.dumps(listed, indent=2) + "\n").encode()


def archive(
    uploader: Uploader,
    target: str,
    when: datetime,
    packaged: PackagedTemplates,
    parameters: dict[str, str],
    details: dict[str, str],
) -> str:
    prefix = record_prefix(target, when)
    for name in sorted(packaged.bodies):
        uploader.put(f"{prefix}/templates/{name}", packaged.bodies[name], JSON)
    uploader.put(f"{prefix}/parameters.json", parameter_file(parameters), JSON)
    manifest = dict(details, root_template_url=packaged.root_url, recorded_at=when.isoformat())
    uploader.put(f"{prefix}/deploy.json", (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(), JSON)
    return prefix
