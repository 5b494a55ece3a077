"""Fixtures of the proofs: a small disk that can be filled."""

from __future__ import annotations

import pytest

from tests.proof.support import mount_tmpfs, unmount


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs to use as COLLECTOR_DATA_DIR; unmounted after the test."""
    path = str(tmp_path / "disk")
    try:
        mount_tmpfs(path, "4m")
    except PermissionError as error:
        pytest.skip(f"no small file system to fill: {error}")
    yield path
    unmount(path)
