"""collector/review/users.py keeps its promises: names and passwords are checked before anything is
written, the file holds only scrypt hashes and is the owner's alone, it is rewritten under a lock that is
released afterwards, and a session generation ends every session of an account at once.

The tests that hash no password come first: a mutation run stops at the first failing test."""

from __future__ import annotations

import fcntl
import os
import re
import stat

import pytest

from collector.review import users
from collector.review.users import (UserError, authenticate, end_sessions, read_users, session_generation,
                                    session_is_current, set_password)

PASSWORD = "correct horse battery"


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

def test_no_file_means_no_account(data_dir):
    assert read_users(data_dir) == {}
    assert authenticate(data_dir, "alice", PASSWORD) is False
    assert session_generation(data_dir, "alice") is None


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


def test_a_wrong_password_or_an_unknown_name_is_refused(data_dir):
    set_password(data_dir, "alice", PASSWORD)
    assert authenticate(data_dir, "alice", PASSWORD + "!") is False
    assert authenticate(data_dir, "bob", PASSWORD) is False


# --- names and passwords (refusals first: they cost no password hashing) --------------------

@pytest.mark.parametrize("name", ["a", "a" * 41, "-ab", ".ab", "Alice", "jean dupont", "élodie", "", "alice\n"])
def test_other_names_are_refused_in_french_and_nothing_is_written(data_dir, name):
    with pytest.raises(UserError, match="Nom de compte invalide : 2 à 40 caractères"):
        set_password(data_dir, name, PASSWORD)
    assert not os.path.exists(users_file(data_dir))


def test_a_password_of_twelve_characters_is_enough_and_eleven_is_not(data_dir):
    with pytest.raises(UserError, match="^Mot de passe trop court : 12 caractères au moins.$"):
        set_password(data_dir, "alice", "x" * 11)
    assert not os.path.exists(users_file(data_dir))
    assert set_password(data_dir, "alice", "x" * 12) is True


# --- what the file holds ---------------------------------------------------------------------

def test_the_file_holds_a_scrypt_hash_a_paris_creation_time_and_a_generation(data_dir):
    set_password(data_dir, "alice", PASSWORD)
    (name, account), = read_users(data_dir).items()
    assert name == "alice"
    assert account["password_hash"].startswith("scrypt:") and PASSWORD not in account["password_hash"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", str(account["created_at"]))
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", account["session"])  # 128 random bits
    with open(users_file(data_dir), encoding="utf-8") as handle:
        assert PASSWORD not in handle.read()


def test_the_accounts_are_the_owners_alone(data_dir):
    set_password(data_dir, "alice", PASSWORD)
    assert stat.S_IMODE(os.stat(users_file(data_dir)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(data_dir, "accounts")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(data_dir, "accounts", "users.lock")).st_mode) == 0o600


def test_a_password_change_keeps_the_account_its_creation_time_and_the_others(data_dir):
    assert set_password(data_dir, "alice", PASSWORD) is True
    set_password(data_dir, "bob", PASSWORD)
    before = read_users(data_dir)["alice"]
    assert set_password(data_dir, "alice", "un tout autre mot de passe") is False
    after = read_users(data_dir)
    assert after["alice"]["created_at"] == before["created_at"]
    assert after["alice"]["session"] != before["session"]
    assert authenticate(data_dir, "alice", "un tout autre mot de passe") is True
    assert authenticate(data_dir, "alice", PASSWORD) is False
    assert authenticate(data_dir, "bob", PASSWORD) is True


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

def test_ending_the_sessions_draws_a_new_generation_and_only_that_one_is_current(data_dir):
    set_password(data_dir, "alice", PASSWORD)
    old = session_generation(data_dir, "alice")
    new = end_sessions(data_dir, "alice")
    assert new and new != old
    assert session_generation(data_dir, "alice") == new
    accounts = read_users(data_dir)
    assert session_is_current(accounts, "alice", new) is True
    assert session_is_current(accounts, "alice", old) is False


def test_ending_the_sessions_of_an_unknown_account_creates_nothing(data_dir):
    set_password(data_dir, "alice", PASSWORD)
    before = read_users(data_dir)
    assert end_sessions(data_dir, "bob") is None
    assert read_users(data_dir) == before


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
def test_names_of_two_to_forty_allowed_characters_are_accepted(data_dir, name):
    assert set_password(data_dir, name, PASSWORD) is True
    assert authenticate(data_dir, name, PASSWORD) is True
