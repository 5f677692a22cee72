"""notification-service: accepts messages to send, under /notification.

    POST /notification/messages  {recipient, subject, body} -> 202 {"id", "status": "accepted"}
    GET  /health, /notification/health -> 200 {"status": "ok", ...}

A sample: the message is validated and logged, not delivered.
"""

import re
import uuid

from service_kit import App, HttpError, Request, Response, logs, run

RECIPIENT = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LIMITS = {"recipient": 254, "subject": 200, "body": 10_000}


def validate_message(data: dict) -> dict:
    problems = {}
    for field, limit in LIMITS.items():
        value = data.get(field)
        if not isinstance(value, str) or not value.strip():
            problems[field] = "required, a non-empty string"
        elif len(value) > limit:
            problems[field] = f"at most {limit} characters"
    if "recipient" not in problems and not RECIPIENT.fullmatch(data["recipient"]):
        problems["recipient"] = "an email address"
    unknown = sorted(set(data) - set(LIMITS))
    if unknown:
        problems["unknown fields"] = ", ".join(unknown)
    if problems:
        raise HttpError(400, "invalid message", problems)
    return {field: data[field] for field in LIMITS}


def create_app() -> App:
    app = App.from_env("notification-service", default_prefix="/notification")

    @app.route("POST", "/messages")
    def accept_message(request: Request) -> Response:
        message = validate_message(request.json())
        message_id = str(uuid.uuid4())
        # The body stays out of the log: it may be long, and it is the user's content.
        logs.info(
            "message accepted",
            message_id=message_id,
            request_id=request.request_id,
            recipient=message["recipient"],
            subject=message["subject"],
            body_length=len(message["body"]),
        )
        return Response(202, {"id": message_id, "status": "accepted"})

    return app


if __name__ == "__main__":
    run(create_app())
