"""The data folder's reviewer accounts and login throttle: review/users.py (`accounts/users.yaml`,
rewritten durably under a lock) and review/throttle.py (`state/login-throttle.sqlite3`, shared by
every worker of this server). This class only delegates to them."""

from __future__ import annotations

from typing import Any

from ..review import throttle, users


class FolderReviewers:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir

    def account(self, name: str) -> dict[str, Any] | None:
        account = users.read_users(self.data_dir).get(name)
        return account if isinstance(account, dict) else None

    def accounts(self) -> dict[str, dict[str, Any]]:
        return users.read_users(self.data_dir)

    def set_password(self, name: str, password: str) -> bool:
        return users.set_password(self.data_dir, name, password)

    def remove(self, name: str) -> bool:
        return users.remove_user(self.data_dir, name)

    def end_sessions(self, name: str) -> str | None:
        return users.end_sessions(self.data_dir, name)

    def session_generation(self, name: str) -> str | None:
        return users.session_generation(self.data_dir, name)

    def session_is_current(self, name: str, generation: Any) -> bool:
        try:
            accounts = users.read_users(self.data_dir)
        except users.UserError:  # an unreadable file lets no one in
            return False
        return users.session_is_current(accounts, name, generation)

    def authenticate(self, name: str, password: str) -> bool:
        return users.authenticate(self.data_dir, name, password)

    def locked_for(self, secret: str, name: str, address: str, now: float | None = None) -> int:
        return throttle.locked_for(self.data_dir, secret, name, address, now)

    def record_failure(self, secret: str, name: str, address: str, now: float | None = None) -> int:
        return throttle.record_failure(self.data_dir, secret, name, address, now)

    def record_success(self, secret: str, name: str, address: str) -> None:
        throttle.record_success(self.data_dir, secret, name, address)
