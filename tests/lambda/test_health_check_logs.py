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


# --- bounded fields --------------------------------------------------------------------


def test_long_fields_are_cut_to_the_limit(logged):
    logs.info("m" * 5000, reason="r" * 5000, short="kept", count=7, items=["x" * 100] * 50, nested={"k": "v" * 5000, "n": 1})
    (line,) = logged()
    for name in ("message", "reason", "items", "nested"):
        assert len(line[name]) == logs.FIELD_LIMIT, name
    assert line["reason"].startswith("r" * 900) and line["reason"].endswith("…(truncated from 5000 characters)")
    assert line["items"].startswith('["xxx')  # a list or object too long as JSON becomes its cut JSON text
    assert line["nested"].startswith('{"k": "vvv')
    assert (line["short"], line["count"]) == ("kept", 7)


def test_credentials_are_stripped_before_a_field_is_cut(logged):
    # Cut first, "https://user:secret-" would be left with no "@" to recognise it by.
    logs.info("x", url="p" * 960 + "https://user:secret-password@host/health")
    (line,) = logged()
    assert "secret" not in line["url"] and "user" not in line["url"]


def test_a_traceback_keeps_its_end(logged):
    try:
        raise ValueError("a long story " + "." * 10_000 + " the actual error")
    except ValueError:
        logs.exception("failed")
    (line,) = logged()
    assert len(line["exception"]) == logs.TRACEBACK_LIMIT
    assert line["exception"].startswith("(truncated from ") and line["exception"].endswith(". the actual error")


def test_values_json_cannot_hold_are_written_as_text(logged):
    logs.info("x", nan=float("nan"), inf=float("inf"), huge=10**5000, deep=[[[[[["down"]]]]]], obj=object())
    (line,) = logged()  # logged() parses the line with json.loads: it is valid JSON
    assert (line["nan"], line["inf"]) == ("nan", "inf")
    assert line["huge"] == "<an integer of 16610 bits>"
    assert line["deep"] == [[[["[['down']]"]]]]
    assert line["obj"].startswith("<object object at")


def test_hook_fields_from_the_event_are_bounded(stub_aws, context, logged):
    """An event's own values (execution id, stage) go into the lines cut to the limit."""
    from health_check.handler import handler

    stub_aws("elbv2")
    event = {"executionId": "e" * 100_000, "lifecycleStage": "S" * 100_000, "executionDetails": {}, "hookDetails": {}}
    assert handler(event, context) == {"hookStatus": "FAILED"}
    lines = logged()
    assert [len(line["execution_id"]) for line in lines if "execution_id" in line] == [logs.FIELD_LIMIT]
    assert [len(line["lifecycle_stage"]) for line in lines if "lifecycle_stage" in line] == [logs.FIELD_LIMIT] * 2
