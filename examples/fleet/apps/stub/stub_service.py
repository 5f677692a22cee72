"""The example's services: one small real HTTP service, told who it is by its environment.

SERVICE names it, ROUTE is its path prefix behind the load balancer, HEALTH_PATH its health check and PORT
its port; each service's image sets them (apps/<service>/Containerfile).
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handler(service: str, route: str, health_path: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            known = self.path in (health_path, route + health_path) or self.path.startswith(route + "/")
            body = json.dumps({"service": service, "path": self.path}).encode()
            self.send_response(200 if known else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

    return Handler


def main() -> None:
    env = os.environ
    served = handler(env["SERVICE"], env["ROUTE"], env["HEALTH_PATH"])
    ThreadingHTTPServer(("0.0.0.0", int(env["PORT"])), served).serve_forever()


if __name__ == "__main__":
    main()
