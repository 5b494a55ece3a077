"""Another commit's files, for a bench that compares before and after a change in one run."""

from __future__ import annotations

import os
import subprocess

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def export_tree(ref: str, folder: str) -> str:
    """The files of commit `ref` (`git archive`), in `folder`; run them with PYTHONPATH=folder."""
    os.makedirs(folder)
    archive = subprocess.run(["git", "archive", ref], cwd=REPO_ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder
