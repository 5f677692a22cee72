"""logs.py: what a JSON log line may hold (no credentials, bounded fields), read back as JSON."""

import pytest
from health_check import logs


@pytest.mark.parametrize(
    "text, cleaned",
    [
        ("https://user:pass@shop.example.com/health", "https://shop.example.com/health"),
        ("http://u:p@ss:w@rd@10.0.1.5:8080/api/health?x=a@b", "http://10.0.1.5:8080/api/health?x=a@b"),
        ("HTTPS://ONLY-USER@host", "HTTPS://host"),
        ("two: http://a:b@one/x and https://c:d@two/y.", "two: http://one/x and https://two/y."),
        ("Endpoint(url='http://a:b@host')", "Endpoint(url='http://host')"),
        ("http://host/path@not-credentials", "http://host/path@not-credentials"),
        ("ops@example.com", "ops@example.com"),
    ],
)
def test_credentials_are_taken_out_of_urls(text, cleaned):
    assert logs.without_credentials(text) == cleaned


def test_no_field_of_a_line_carries_credentials(logged):
    logs.info(
        "checking https://a:top-secret@host/x",
        url="https://a:top-secret@host/x",
        urls=["http://b:top-secret@host/y", {"nested": "http://c:top-secret@host/z"}],
        error=ValueError("bad https://d:top-secret@host/"),
    )
    try:
        raise RuntimeError("while calling http://e:top-secret@host/")
    except RuntimeError:
        logs.exception("failed")
    lines = logged()
    assert "top-secret" not in repr(lines)
    assert lines[0]["message"] == "checking https://host/x"
    assert lines[0]["urls"] == ["http://host/y", {"nested": "http://host/z"}]
    assert lines[0]["error"] == "bad https://host/"
    assert "RuntimeError: while calling http://host/" in lines[1]["exception"]
