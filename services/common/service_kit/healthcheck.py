"""Container health check: ``python -m service_kit.healthcheck`` exits 0 when /health says ok.

The slim base image has no curl; this keeps the Dockerfile's HEALTHCHECK readable.
"""

import json
import os
import sys
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8080')}/health"
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
