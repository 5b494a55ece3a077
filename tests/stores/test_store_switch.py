"""The --store switch's lists name tests that exist, each with a reason (a renamed test would
otherwise leave the list silently and run on PostgreSQL, or stay listed for nothing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.servers import REPO_ROOT
from tests.support.store_switch import FOLDER_ONLY, folder_only_reason

LISTED = sorted(FOLDER_ONLY)


@pytest.mark.parametrize("prefix", LISTED)
def test_each_test_kept_on_the_data_folder_exists_and_says_why(prefix):
    path, _, name = prefix.partition("::")
    with open(os.path.join(REPO_ROOT, path), encoding="utf-8") as handle:
        source = handle.read()
    assert not name or re.search(rf"^def {re.escape(name)}\(", source, re.MULTILINE), f"{prefix}: no such test"
    assert folder_only_reason(prefix + "[postgres]").strip()


def test_a_test_not_listed_has_no_reason_to_stay_on_the_data_folder():
    assert folder_only_reason("tests/porteur/test_answers.py::test_anything[postgres]") is None


def test_a_module_shared_server_is_started_once_per_store_and_its_postgresql_tests_are_switched():
    module = "tests/proof/test_hostile_logs.py"  # a gunicorn shared by the module's tests
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--store=postgres", "-m",
                             "switched_to_postgresql", module], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300)
    items = [line for line in listed.stdout.splitlines() if line.startswith(module)]
    assert f"{module}::test_an_invalid_request_is_logged_without_the_client_address[postgres]" in items, listed.stdout
    assert f"{module}::test_a_decoded_line_feed_or_escape_in_the_path_is_escaped_in_the_access_log[postgres]" in items
