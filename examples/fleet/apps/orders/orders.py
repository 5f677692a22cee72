"""orders: the example's smallest real service; answers its health path and /orders/*."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEALTH_PATH = "/status"
ROUTE = "/orders"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the standard library's name)
        status = 200 if self.path in (HEALTH_PATH, ROUTE + HEALTH_PATH) or self.path.startswith(ROUTE + "/") else 404
        body = json.dumps({"service": "orders", "path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


def main() -> None:
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "3000"))), Handler).serve_forever()


if __name__ == "__main__":
    main()
