"""The --store switch's lists name tests that exist, each with a reason (a renamed test would
otherwise leave the list silently and run on PostgreSQL, or stay listed for nothing)."""

from __future__ import annotations

import os
import re

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
