"""Container health check: ``python -m service_kit.healthcheck`` exits 0 when the health endpoint says ok.

The endpoint is ``HEALTH_CHECK_PATH`` (the service's ``health_check_path``, which the task definition passes
as the target groups check it), ``/health`` when unset.

The slim base image has no curl; this keeps the Dockerfile's HEALTHCHECK readable.
"""

import json
import os
import sys
import urllib.request


def main() -> int:
    path = os.environ.get("HEALTH_CHECK_PATH", "") or "/health"
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8080')}{path}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(url, timeout=2) as response:
            healthy = response.status == 200 and json.load(response).get("status") == "ok"
    except Exception as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
