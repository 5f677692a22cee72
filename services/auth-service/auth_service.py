"""auth-service: issues and verifies HMAC-SHA256 signed tokens, under /auth.

    POST /auth/token   Authorization: Bearer <client secret>
                       {"subject", "ttlSeconds"?} -> 200 {"token", "tokenType", "expiresAt"}
                                                     401 no or a wrong client credential
                                                     503 minting disabled (no AUTH_CLIENT_SECRET)
    POST /auth/verify  {"token"}                  -> 200 {"valid": true, "subject", "expiresAt"}
                                                     401 {"valid": false, "error": why}
    GET  /health, /auth/health -> 200 {"status": "ok", ...}

Token: base64url(claims JSON) "." base64url(HMAC-SHA256(key, that first part)).
The key comes from AUTH_SIGNING_KEY (injected from Secrets Manager by the task
definition); the service refuses to start without one.

Minting needs a client credential: AUTH_CLIENT_SECRET, a separate secret the
callers allowed to mint present as ``Authorization: Bearer <secret>`` (compared in
constant time).  It is not the signing key: whoever holds the signing key can forge
tokens without asking, so it must never leave the service.  Unset, the service still
starts (health checks and /verify keep working) but refuses every token request;
set but shorter than 32 characters, or equal to the signing key, it refuses to
start.  Verifying needs no credential: it reveals nothing a token's holder lacks.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import sys
import time

from service_kit import App, HttpError, Request, Response, logs, run

MIN_KEY_LENGTH = 32
CLIENT_SECRET_VARIABLE = "AUTH_CLIENT_SECRET"
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="auth-service"'}
DEFAULT_TTL_SECONDS = 900
MAX_TTL_SECONDS = 3600
SUBJECT_MAX_LENGTH = 128


class TokenError(Exception):
    """Why a token is not valid: malformed, bad signature, expired."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, signed_part: str) -> str:
    return _b64encode(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest())


def issue_token(key: bytes, subject: str, ttl_seconds: int, now: float) -> tuple[str, int]:
    expires_at = int(now) + ttl_seconds
    claims = {"sub": subject, "iat": int(now), "exp": expires_at}
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_signature(key, payload)}", expires_at


def verify_token(key: bytes, token: str, now: float) -> dict:
    """The token's claims; raises TokenError when it must not be trusted."""
    payload, dot, signature = token.partition(".")
    if not dot or not payload or not signature:
        raise TokenError("malformed token")
    try:
        # compare_digest: the comparison takes the same time wherever the first difference is.
        if not hmac.compare_digest(signature, _signature(key, payload)):
            raise TokenError("bad signature")
        claims = json.loads(_b64decode(payload))
    except (UnicodeEncodeError, TypeError, binascii.Error, ValueError):
        raise TokenError("malformed token") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise TokenError("malformed token")
    if claims["exp"] <= now:
        raise TokenError("token expired")
    return claims


def signing_key_from_env() -> bytes:
    """AUTH_SIGNING_KEY, or a ValueError saying what is wrong with it."""
    key = os.environ.get("AUTH_SIGNING_KEY", "")
    if not key:
        raise ValueError("AUTH_SIGNING_KEY is not set; it must hold the token signing secret")
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"AUTH_SIGNING_KEY is shorter than {MIN_KEY_LENGTH} characters")
    return key.encode("utf-8")


def client_secret_from_env(signing_key: bytes) -> bytes | None:
    """AUTH_CLIENT_SECRET, None when unset (minting disabled), or a ValueError saying what is wrong with it."""
    secret = os.environ.get(CLIENT_SECRET_VARIABLE, "")
    if not secret:
        return None
    if len(secret) < MIN_KEY_LENGTH:
        raise ValueError(f"{CLIENT_SECRET_VARIABLE} is shorter than {MIN_KEY_LENGTH} characters")
    if secret.encode("utf-8") == signing_key:
        raise ValueError(f"{CLIENT_SECRET_VARIABLE} must differ from AUTH_SIGNING_KEY: a client holding the signing key could forge tokens")
    return secret.encode("utf-8")


def bearer_credential(authorization: str) -> str | None:
    """The credential of an ``Authorization: Bearer <credential>`` header (the scheme in any case), or None."""
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    return credential if scheme.lower() == "bearer" and credential else None


def authenticate_client(request: Request, client_secret: bytes | None) -> None:
    """Raises the 401 (or 503) a token request without the right client credential gets."""
    offered = bearer_credential(request.header("Authorization"))
    if offered is None:
        raise HttpError(401, "a client credential is required: Authorization: Bearer <client secret>", headers=BEARER_CHALLENGE)
    if client_secret is None:
        raise HttpError(503, f"token minting is disabled: the service has no {CLIENT_SECRET_VARIABLE}")
    # Digests of equal length, compared in constant time: neither the secret's content
    # nor its length shows in how long a wrong guess takes to refuse.
    offered_digest = hashlib.sha256(offered.encode("utf-8", "replace")).digest()
    if not hmac.compare_digest(offered_digest, hashlib.sha256(client_secret).digest()):
        raise HttpError(401, "invalid client credential", headers=BEARER_CHALLENGE)


def _token_request(data: dict) -> tuple[str, int]:
    subject = data.get("subject")
    ttl = data.get("ttlSeconds", DEFAULT_TTL_SECONDS)
    problems = {}
    if not isinstance(subject, str) or not subject.strip() or len(subject) > SUBJECT_MAX_LENGTH:
        problems["subject"] = f"required, a non-empty string of at most {SUBJECT_MAX_LENGTH} characters"
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL_SECONDS:
        problems["ttlSeconds"] = f"an integer from 1 to {MAX_TTL_SECONDS}"
    if problems:
        raise HttpError(400, "invalid token request", problems)
    return subject, ttl


def create_app(signing_key: bytes, client_secret: bytes | None = None, clock=time.time) -> App:
    """The service; ``client_secret`` None refuses every token request (minting disabled)."""
    app = App.from_env("auth-service", default_prefix="/auth")

    @app.route("POST", "/token")
    def token(request: Request) -> Response:
        authenticate_client(request, client_secret)  # before the body is even read
        subject, ttl = _token_request(request.json())
        issued, expires_at = issue_token(signing_key, subject, ttl, clock())
        return Response(200, {"token": issued, "tokenType": "Bearer", "expiresAt": expires_at})

    @app.route("POST", "/verify")
    def verify(request: Request) -> Response:
        offered = request.json().get("token")
        if not isinstance(offered, str) or not offered:
            raise HttpError(400, "invalid verify request", {"token": "required, a string"})
        try:
            claims = verify_token(signing_key, offered, clock())
        except TokenError as error:
            return Response(401, {"valid": False, "error": str(error)})
        return Response(200, {"valid": True, "subject": claims.get("sub"), "expiresAt": claims["exp"]})

    return app


def main() -> int:
    try:
        key = signing_key_from_env()
        client_secret = client_secret_from_env(key)
    except ValueError as error:
        logs.error("cannot start", service="auth-service", reason=str(error))
        return 2
    if client_secret is None:
        logs.log(
            "WARNING",
            "token minting disabled",
            service="auth-service",
            reason=f"{CLIENT_SECRET_VARIABLE} is not set: POST /auth/token refuses every request (401 without a credential, 503 with one)",
        )
    run(create_app(key, client_secret))
    return 0


if __name__ == "__main__":
    sys.exit(main())
