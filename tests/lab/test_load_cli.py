"""`python -m lab load`: bad requests are refused at once with a message saying what to
change, before any server is started or any session opened. (The command driving a real
server is tested in tests/e2e/test_workshop_sessions.py, which has one running.)"""

from __future__ import annotations

import pytest

from lab.devserver import free_port
from tests.cli import run_cli

CASES = {
    "no attendee": (["--attendees", "0"], "--attendees takes 1 to 100"),
    "too many": (["--attendees", "101"], "--attendees takes 1 to 100"),
    "negative": (["--attendees", "-3"], "--attendees takes 1 to 100"),
    "too long": (["--attendees", "2", "--minutes", "61"], "--minutes takes 0 to 60"),
    "long pause": (["--attendees", "2", "--pause", "120"], "--pause takes 0 to 60"),
    "another machine": (["--attendees", "2", "--url", "http://10.1.2.3:8501"],
                        "never leaves loopback"),
    "a name": (["--attendees", "2", "--url", "http://example.com:8501"],
               "never leaves loopback"),
    "https": (["--attendees", "2", "--url", "https://127.0.0.1:8501"], "http://127.0.0.1"),
    "no port": (["--attendees", "2", "--url", "http://127.0.0.1"], "http://127.0.0.1:8501"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_request_gets_a_clear_message_and_starts_nothing(case, monkeypatch):
    import lab.devserver

    def no_server(*args, **kwargs):
        raise AssertionError("a bad request must not start a server")

    monkeypatch.setattr(lab.devserver, "running_app", no_server)
    args, message = CASES[case]
    result = run_cli("load", *args, "--json")
    assert result.returncode == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() == ""


def test_a_url_where_nothing_answers_says_to_start_the_server():
    port = free_port()  # nothing listens there
    result = run_cli("load", "--attendees", "2", "--url", f"http://127.0.0.1:{port}",
                     "--json")
    assert result.returncode == 2, result
    assert f"No lab server answers at http://127.0.0.1:{port}" in result.stderr
    assert "leave out --url" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_attendee_count_is_required():
    result = run_cli("load", "--json")
    assert result.returncode == 2
    assert "--attendees" in result.stderr
