"""The stub answers its health path and its route (run: python -m unittest discover -s apps/stub)."""

import json
import threading
import unittest
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import stub_service


class StubServiceTest(unittest.TestCase):
    def setUp(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), stub_service.handler("gateway", "/gw", "/healthz"))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def test_health_path_and_route_answer_200(self):
        for path in ("/healthz", "/gw/healthz", "/gw/anything"):
            with urllib.request.urlopen(self.base + path) as response:
                self.assertEqual(response.status, 200)
                self.assertEqual(json.load(response)["service"], "gateway")

    def test_other_paths_are_404(self):
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(self.base + "/elsewhere")
        self.assertEqual(caught.exception.code, 404)


if __name__ == "__main__":
    unittest.main()
