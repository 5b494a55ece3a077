"""collector/review/users.py keeps its promises: names and passwords are checked before anything is
written, the file holds only scrypt hashes and is the owner's alone, it is rewritten under a lock that is
released afterwards, and a session generation ends every session of an account at once.

The promises of an account store hold on both stores, through `store.reviewers` (the `reviewers`
fixture: the data folder's users.yaml, PostgreSQL's reviewer_accounts); those about the file itself
use users.py directly.

The tests that hash no password come first: a mutation run stops at the first failing test."""

from __future__ import annotations

import fcntl
import os
import re
import stat

import psycopg
import pytest

from collector.review import users
from collector.review.users import (UserError, authenticate, end_sessions, read_users, session_generation,
                                    session_is_current, set_password)
from collector.stores.folder_reviewers import FolderReviewers
from tests.conftest import STORE_KINDS

PASSWORD = "correct horse battery"


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def stored_text(reviewers) -> str:
    """Everything the store keeps about accounts, as text ("" when it keeps nothing)."""
    if isinstance(reviewers, FolderReviewers):
        path = users_file(reviewers.data_dir)
        if not os.path.exists(path):
            return ""
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    with psycopg.connect(reviewers.store.url) as connection:
        return "\n".join(str(row) for row in connection.execute("SELECT * FROM reviewer_accounts"))


def users_file(data_dir: str) -> str:
    return os.path.join(data_dir, "accounts", "users.yaml")


def write_users_file(data_dir: str, text: str) -> None:
    os.makedirs(os.path.join(data_dir, "accounts"), exist_ok=True)
    with open(users_file(data_dir), "w", encoding="utf-8") as handle:
        handle.write(text)


# --- whether a session is current ----------------------------------------------------------

@pytest.mark.parametrize("accounts, generation", [
    ({"alice": {"session": "abc"}}, "abd"),
    ({"alice": {"session": "abc"}}, None),
    ({"alice": {"session": "abc"}}, ["abc"]),
    ({"alice": {"session": ""}}, ""),  # an empty generation is never current
    ({"alice": {"session": 12}}, 12),
    ({"alice": {}}, None),
    ({"alice": "abc"}, "abc"),
    ({"bob": {"session": "abc"}}, "abc"),
])
def test_a_session_is_current_only_with_the_accounts_own_non_empty_generation(accounts, generation):
    assert session_is_current(accounts, "alice", generation) is False


def test_a_session_with_the_current_generation_is_current():
    assert session_is_current({"alice": {"session": "abc"}}, "alice", "abc") is True


# --- reading the file ------------------------------------------------------------------------

def test_no_account_at_first(reviewers):
    assert reviewers.accounts() == {} and reviewers.account("alice") is None
    assert reviewers.authenticate("alice", PASSWORD) is False
    assert reviewers.session_generation("alice") is None
    assert reviewers.session_is_current("alice", None) is False


@pytest.mark.parametrize("text", ["", "users:\n", "users: [alice]\n", "- users\n", "comptes: {}\n"])
def test_a_file_without_a_users_mapping_is_refused_in_french(data_dir, text):
    write_users_file(data_dir, text)
    with pytest.raises(UserError, match="la clé « users » est absente ou mal formée"):
        read_users(data_dir)


def test_an_unreadable_file_is_refused_in_french_and_never_lets_anyone_in(data_dir):
    write_users_file(data_dir, "users: {alice: [\n")
    with pytest.raises(UserError, match="^Fichier des comptes illisible : "):
        read_users(data_dir)
    assert authenticate(data_dir, "alice", PASSWORD) is False
    assert session_generation(data_dir, "alice") is None


@pytest.mark.parametrize("account", ["alice: texte", "alice: {password_hash: 12}", "alice: {}"])
def test_an_account_without_a_usable_hash_never_lets_anyone_in(data_dir, account):
    write_users_file(data_dir, f"users:\n  {account}\n")
    assert authenticate(data_dir, "alice", PASSWORD) is False
    assert authenticate(data_dir, "alice", "") is False


def test_a_wrong_password_or_an_unknown_name_is_refused(reviewers):
    reviewers.set_password("alice", PASSWORD)
    assert reviewers.authenticate("alice", PASSWORD + "!") is False
    assert reviewers.authenticate("bob", PASSWORD) is False
    assert reviewers.authenticate("alice", PASSWORD) is True


# --- names and passwords (refusals first: they cost no password hashing) --------------------

@pytest.mark.parametrize("name", ["a", "a" * 41, "-ab", ".ab", "Alice", "jean dupont", "élodie", "", "alice\n"])
def test_other_names_are_refused_in_french_and_nothing_is_written(reviewers, name):
    with pytest.raises(UserError, match="Nom de compte invalide : 2 à 40 caractères"):
        reviewers.set_password(name, PASSWORD)
    assert stored_text(reviewers) == ""


def test_a_password_of_twelve_characters_is_enough_and_eleven_is_not(reviewers):
    with pytest.raises(UserError, match="^Mot de passe trop court : 12 caractères au moins.$"):
        reviewers.set_password("alice", "x" * 11)
    assert stored_text(reviewers) == ""
    assert reviewers.set_password("alice", "x" * 12) is True


# --- what the file holds ---------------------------------------------------------------------

def test_the_store_holds_a_scrypt_hash_a_paris_creation_time_and_a_generation(reviewers):
    reviewers.set_password("alice", PASSWORD)
    (name, account), = reviewers.accounts().items()
    assert name == "alice" and reviewers.account("alice") == account
    assert account["password_hash"].startswith("scrypt:") and PASSWORD not in account["password_hash"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", str(account["created_at"]))
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", account["session"])  # 128 random bits
    assert "alice" in stored_text(reviewers) and PASSWORD not in stored_text(reviewers)


def test_the_accounts_are_the_owners_alone(data_dir):
    set_password(data_dir, "alice", PASSWORD)
    assert stat.S_IMODE(os.stat(users_file(data_dir)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(data_dir, "accounts")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(data_dir, "accounts", "users.lock")).st_mode) == 0o600


def test_a_password_change_keeps_the_account_its_creation_time_and_the_others(reviewers):
    assert reviewers.set_password("alice", PASSWORD) is True
    reviewers.set_password("bob", PASSWORD)
    before = reviewers.account("alice")
    assert reviewers.set_password("alice", "un tout autre mot de passe") is False
    after = reviewers.accounts()
    assert after["alice"]["created_at"] == before["created_at"]
    assert after["alice"]["session"] != before["session"]
    assert reviewers.authenticate("alice", "un tout autre mot de passe") is True
    assert reviewers.authenticate("alice", PASSWORD) is False
    assert reviewers.authenticate("bob", PASSWORD) is True


def test_removing_an_account_forgets_it_and_only_it(reviewers):
    reviewers.set_password("alice", PASSWORD)
    reviewers.set_password("bob", PASSWORD)
    generation = reviewers.session_generation("alice")
    assert reviewers.remove("alice") is True
    assert list(reviewers.accounts()) == ["bob"] and reviewers.account("alice") is None
    assert reviewers.authenticate("alice", PASSWORD) is False
    assert reviewers.session_is_current("alice", generation) is False
    assert reviewers.remove("alice") is False
    assert reviewers.authenticate("bob", PASSWORD) is True


def test_the_file_is_rewritten_under_the_accounts_lock_and_the_lock_is_released(data_dir, monkeypatch):
    set_password(data_dir, "alice", PASSWORD)
    lock_path = os.path.join(data_dir, "accounts", "users.lock")
    real_replace, seen = os.replace, []

    def replace(source, target, **kwargs):
        if str(target).endswith("users.yaml"):
            seen.append(lock_state(lock_path))
        return real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    end_sessions(data_dir, "alice")
    assert seen == ["locked"]
    assert lock_state(lock_path) == "free"  # and no descriptor is left holding it


def lock_state(path: str) -> str:
    other = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return "free"
    except BlockingIOError:
        return "locked"
    finally:
        os.close(other)


# --- session generations ---------------------------------------------------------------------

def test_ending_the_sessions_draws_a_new_generation_and_only_that_one_is_current(reviewers):
    reviewers.set_password("alice", PASSWORD)
    old = reviewers.session_generation("alice")
    new = reviewers.end_sessions("alice")
    assert new and new != old
    assert reviewers.session_generation("alice") == new
    assert reviewers.session_is_current("alice", new) is True
    assert reviewers.session_is_current("alice", old) is False
    assert reviewers.session_is_current("bob", new) is False


def test_ending_the_sessions_of_an_unknown_account_creates_nothing(reviewers):
    reviewers.set_password("alice", PASSWORD)
    before = reviewers.accounts()
    assert reviewers.end_sessions("bob") is None
    assert reviewers.accounts() == before


def test_an_account_without_a_generation_gets_one_drawn_once(data_dir):
    set_password(data_dir, "alice", PASSWORD)
    for empty in ("", None):
        accounts = read_users(data_dir)
        accounts["alice"]["session"] = empty
        write_users_file(data_dir, users.dump_yaml({"users": accounts}))
        drawn = session_generation(data_dir, "alice")
        assert isinstance(drawn, str) and drawn
        assert read_users(data_dir)["alice"]["session"] == drawn
        assert session_generation(data_dir, "alice") == drawn


def test_an_account_that_is_not_a_mapping_has_no_generation(data_dir):
    write_users_file(data_dir, "users:\n  alice: texte\n")
    assert session_generation(data_dir, "alice") is None
    assert end_sessions(data_dir, "alice") is None


# --- names accepted ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ab", "a" * 40, "0ab", "jean.dupont", "j_d-2"])
def test_names_of_two_to_forty_allowed_characters_are_accepted(reviewers, name):
    assert reviewers.set_password(name, PASSWORD) is True
    assert reviewers.authenticate(name, PASSWORD) is True
