"""The gateway answers its health path (run: python -m unittest discover -s apps/gateway)."""

import json
import threading
import unittest
import urllib.request
from http.server import ThreadingHTTPServer

import gateway


class HealthTest(unittest.TestCase):
    def test_health_path_answers_200(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), gateway.Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{gateway.HEALTH_PATH}") as response:
                self.assertEqual(response.status, 200)
                self.assertEqual(json.load(response)["service"], "gateway")
        finally:
            server.shutdown()


if __name__ == "__main__":
    unittest.main()
