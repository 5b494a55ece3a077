"""collector/review/csrf.py keeps its promise: a POST needs the session's own token, whatever else it holds."""

from __future__ import annotations

import pytest
from flask import Flask, session

from collector.errors import Refusal
from collector.review import csrf
from collector.statuses import read_history
from tests.review.conftest import csrf_of

SESSION_TOKEN = "jeton-de-la-session-" + "x" * 23


def guard(method: str, session_token: str | None, sent: str | None) -> None:
    """Run csrf.protect() in a real Flask request whose session holds `session_token`."""
    app = Flask(__name__)
    app.secret_key = "clé de test"
    with app.test_request_context("/", method=method, data={} if sent is None else {csrf.FIELD: sent}):
        if session_token is not None:
            session[csrf.SESSION_KEY] = session_token
        csrf.protect()


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_need_no_token(method):
    guard(method, None, None)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unsafe_methods_pass_with_the_sessions_token(method):
    guard(method, SESSION_TOKEN, SESSION_TOKEN)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("session_token, sent", [
    (SESSION_TOKEN, "un-autre-jeton"),        # a wrong, non-empty token against a session that holds one
    (SESSION_TOKEN, SESSION_TOKEN[:-1]),
    (SESSION_TOKEN, ""),
    (SESSION_TOKEN, None),
    (None, SESSION_TOKEN),                    # a session without a token accepts nothing
    (None, "None"),
    (None, ""),
    ("", ""),
])
def test_unsafe_methods_without_the_sessions_token_are_refused_in_french(method, session_token, sent):
    with pytest.raises(Refusal) as refusal:
        guard(method, session_token, sent)
    assert refusal.value.status == 403
    assert refusal.value.message == "Jeton de sécurité absent ou expiré : rechargez la page et recommencez."


def test_the_token_is_made_once_per_session_and_kept():
    app = Flask(__name__)
    app.secret_key = "clé de test"
    with app.test_request_context("/"):
        first = csrf.token()
        assert len(first) == 43 and first == session[csrf.SESSION_KEY]
        assert csrf.token() == first
    with app.test_request_context("/"):
        assert csrf.token() != first


def test_a_logged_in_reviewer_with_a_token_in_session_cannot_post_a_wrong_one(logged_in, records, test_store):
    page = logged_in.get("/instruction/AMI-2021-0001")
    token = csrf_of(page.text)
    refused = logged_in.post("/instruction/AMI-2021-0001/statut",
                             data={"statut": "en_instruction", "csrf_token": token[::-1]})
    assert refused.status_code == 403
    assert read_history(test_store, "AMI-2021-0001")["events"] == []
    accepted = logged_in.post("/instruction/AMI-2021-0001/statut", data={"statut": "en_instruction", "csrf_token": token})
    assert accepted.status_code in {302, 303}
    assert read_history(test_store, "AMI-2021-0001")["status"] == "en_instruction"
