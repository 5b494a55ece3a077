"""The domain the site's build also reads stands on its own: no web framework, no role of the collector.

Pelican's configuration reads the call's facts, the answer letters, the phase and the template
filters; the collector's roles (porteur pages, review pages, mail, stores) build on the same
modules. Each is imported here in a new interpreter, as the site's build does, and must load
neither Flask nor any role package: of the stores, only their interfaces (the protocols a dossier
or a history is written through), never an implementation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOMAIN = ("facts", "formdef", "records", "phase", "letters", "template_filters", "readable", "departements",
          "duplicates", "dossier", "statuses", "meetings", "answers", "next_steps", "sequence", "fact_dates",
          "kept_briefly")
FORBIDDEN_PACKAGES = ("flask", "werkzeug", "jinja2", "click", "gunicorn", "psycopg", "psycopg_pool")
ROLES = ("collector.app", "collector.porteur", "collector.review", "collector.mail")
STORE_INTERFACES = {"collector.stores", *(f"collector.stores.{name}" for name in (
    "base", "dossier_posts", "histories", "link_requests", "one_wait", "outbox", "retention", "review_source",
    "reviewers"))}

PROBE = """
import json, sys
import collector.{module}
print(json.dumps(sorted(sys.modules)))
"""


def modules_loaded_by(module: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("module", DOMAIN)
def test_a_domain_module_loads_no_web_framework_and_no_role_of_the_collector(module):
    loaded = modules_loaded_by(module)
    frameworks = sorted(name for name in loaded if name.split(".")[0] in FORBIDDEN_PACKAGES)
    roles = sorted(name for name in loaded if any(name == role or name.startswith(role + ".") for role in ROLES))
    stores = sorted(name for name in loaded if name.startswith("collector.stores") and name not in STORE_INTERFACES)
    assert not frameworks, f"collector.{module} charge {frameworks}"
    assert not roles, f"collector.{module} charge {roles}"
    assert not stores, f"collector.{module} charge {stores}"


def test_the_site_configuration_loads_no_web_framework():
    """pelicanconf.py, as `make build` imports it."""
    result = subprocess.run([sys.executable, "-c", "import json, sys; import pelicanconf; "
                             "print(json.dumps(sorted(sys.modules)))"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout))
    assert not sorted(name for name in loaded if name.split(".")[0] in ("flask", "werkzeug", "gunicorn", "psycopg"))
    assert not sorted(name for name in loaded if any(name.startswith(role) for role in ROLES))
    assert not sorted(name for name in loaded if name.startswith("collector.stores") and name not in STORE_INTERFACES)
