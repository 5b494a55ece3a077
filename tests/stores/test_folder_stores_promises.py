"""The data folder's classes of the outbox, accounts and histories (folder_outbox.py,
folder_reviewers.py, folder_histories.py) keep the promises the file code behind them made,
including those that their store tests, shared with PostgreSQL, cannot reach."""

from __future__ import annotations

import os

from collector.stores.folder_reviewers import FolderReviewers


def write_users_file(data_dir: str, text: str) -> None:
    os.makedirs(os.path.join(data_dir, "accounts"), exist_ok=True)
    with open(os.path.join(data_dir, "accounts", "users.yaml"), "w", encoding="utf-8") as handle:
        handle.write(text)


def test_an_unreadable_accounts_file_makes_no_session_current_and_raises_nothing(data_dir):
    write_users_file(data_dir, "users: {alice: {session: abc}\n")  # the closing brace is missing
    assert FolderReviewers(data_dir).session_is_current("alice", "abc") is False
