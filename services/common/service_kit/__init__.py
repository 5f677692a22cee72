"""A tiny HTTP service kit on the standard library, shared by the sample services.

Why no framework: the images then hold nothing but CPython and this code (no
third-party runtime dependencies to pin, scan or patch), and http.server (behind
the kit's own accept loop and worker pool) is enough for a JSON API of a few
routes behind an ALB.
"""

from .app import App, HttpError, Request, Response
from .server import run, serve

__all__ = ["App", "HttpError", "Request", "Response", "run", "serve"]
