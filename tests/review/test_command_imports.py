"""A reviewer's command as a new process loads what it uses, not what the service uses.

`flask --app collector list` is what a reviewer waits for, Python's start-up included
(issue 12: 0.5 s at 10,000 records). Most of a new process's time is imports and the
checks the service makes when it starts, so the promise is pinned here at the import
level, in a real `flask` process: `list` and `show` never import gunicorn, phonenumbers,
Babel, python-stdnum, the export writers (openpyxl, odfpy), the process pool of a rebuild
or the PostgreSQL driver, never check the call's facts (marshmallow's URL pattern, the
costliest of those checks, is never built) and start no other process (inotify-simple
looked for the C library with `ldconfig -p`). The service still checks the facts when it
starts, and a command that needs them loads them when it first does.

Nor does a command compile marshmallow's e-mail patterns (~320 million instructions, 16 % of
`list`), which only the facts' e-mail check uses, nor PyYAML's pattern of the non-printable
characters (~50 million, 4 %), which only its pure-Python reader uses: they are compiled when
first used.

Nor does a command compile the app's URL rules (werkzeug compiles each rule when it is
added: 26 per process): they are registered as for the service and compiled when first
used, so `flask routes` lists the service's rules and `url_for` builds the same links.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from collector.formdef import load_form
from collector.records import write_record
from tests.review.factory import make_record

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NEVER_IMPORTED_BY_A_REVIEW_COMMAND = (
    "gunicorn", "phonenumbers", "babel", "stdnum", "openpyxl", "odf", "icalendar", "markdown", "psycopg",
    "multiprocessing", "concurrent.futures",
)

# Runs `flask --app collector ARGS…` in this very process and, at exit, prints which of the
# modules above it imported, whether marshmallow built its URL pattern (facts checked), how many
# processes it started and how many URL rules werkzeug compiled.
PROBE = """
import atexit, json, re, subprocess, sys
from werkzeug.routing import Rule
watched = json.loads(sys.argv[1])
forks, rules = [], []
start = subprocess.Popen.__init__
def counted(self, *args, **kwargs):
    forks.append(1)
    start(self, *args, **kwargs)
subprocess.Popen.__init__ = counted
compile_rule = Rule.compile
def compiled(self):
    rules.append(self.rule)
    compile_rule(self)
Rule.compile = compiled
def report():
    url = sys.modules.get("marshmallow.validate")
    built = bool(url and url.URL._regex._memoized)
    email = [url.Email.USER_REGEX, url.Email.DOMAIN_REGEX] if url else []
    reader = sys.modules.get("yaml.reader")
    non_printable = reader.Reader.NON_PRINTABLE if reader else None
    print("PROBE " + json.dumps({"imported": sorted(m for m in watched if m in sys.modules),
                                 "url_pattern_built": built, "processes_started": len(forks),
                                 "rules_compiled": len(rules),
                                 "email_patterns_compiled": sum(isinstance(p, re.Pattern) or p.compiled for p in email),
                                 "yaml_pattern_compiled": isinstance(non_printable, re.Pattern) or bool(
                                     non_printable and non_printable.compiled)}),
          file=sys.stderr)
atexit.register(report)
sys.argv = ["flask", "--app", "collector"] + sys.argv[2:]
from flask.cli import main
main()
"""


def run_command(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(NEVER_IMPORTED_BY_A_REVIEW_COMMAND), *args],
                            cwd=REPO_ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    line = next(line for line in result.stderr.splitlines() if line.startswith("PROBE "))
    return result, json.loads(line[len("PROBE "):])


@pytest.fixture
def two_records(data_dir):
    """AMI-2021-0001 in the Calvados (14), AMI-2021-0002 in the Seine-Maritime (76)."""
    form = load_form()
    write_record(data_dir, make_record(form, 1, code_postal="14000"))
    write_record(data_dir, make_record(form, 2, code_postal="76000"))


@pytest.mark.parametrize("args", [("list", "--departement", "14"), ("list",), ("show", "AMI-2021-0001")],
                         ids=["list --departement 14", "list", "show"])
def test_a_review_command_imports_neither_the_service_nor_the_checks_of_the_facts(review_env, two_records, args):
    result, probe = run_command(review_env, *args)
    assert result.returncode == 0, result.stderr
    assert "AMI-2021-0001" in result.stdout
    assert probe == {"imported": [], "url_pattern_built": False, "processes_started": 0, "rules_compiled": 0,
                     "email_patterns_compiled": 0, "yaml_pattern_compiled": False}


def test_the_list_of_a_new_process_is_the_list_of_the_service_app(review_env, two_records):
    """The light start changes nothing the reviewer reads."""
    from collector import create_app

    in_process = create_app().test_cli_runner().invoke(args=["list", "--departement", "14"])
    result, _probe = run_command(review_env, "list", "--departement", "14")
    assert result.returncode == 0 and in_process.exit_code == 0
    assert result.stdout == in_process.output
    assert "1 candidature(s) sur 2." in result.stdout


def test_the_routes_of_a_new_process_are_the_service_apps_compiled_when_listed(review_env):
    """`flask routes` uses the rules a command never compiled: it compiles them all, and lists what the service has."""
    from flask.cli import routes_command

    from collector import create_app

    service = create_app()
    in_process = service.test_cli_runner().invoke(routes_command)
    result, probe = run_command(review_env, "routes")
    assert result.returncode == 0 and in_process.exit_code == 0, result.stderr
    assert result.stdout == in_process.output
    assert probe["rules_compiled"] == len(list(service.url_map.iter_rules())) > 20
    assert "/instruction/<reference>" in result.stdout


def test_an_app_built_for_a_command_builds_the_services_links(review_env):
    """A command that builds a link with url_for gets the service's link: the rules are compiled then."""
    import click
    from flask import url_for

    from collector import create_app

    with click.Context(click.Command("list")):  # how `flask --app collector list` builds it
        for_a_command = create_app()
    service = create_app()
    assert for_a_command.url_map.waiting > 20 and service.url_map.waiting == 0
    links = []
    for app in (for_a_command, service):
        with app.test_request_context("/"):
            links.append([url_for("review.detail", reference="AMI-2021-0001", tri="date"),
                          url_for("intake.receipt", reference="AMI-2021-0001"), url_for("healthz")])
    assert links[0] == links[1] == ["/instruction/AMI-2021-0001?tri=date", "/candidater/recu/AMI-2021-0001", "/healthz"]
    assert for_a_command.url_map.waiting == 0


def test_a_rule_added_once_the_map_is_in_use_is_matched_and_built():
    """Rules given to the map, or added after its first use, are compiled at the next match or build."""
    from werkzeug.routing import Rule

    from collector.deferred_routes import DeferredRuleMap

    rules = DeferredRuleMap([Rule("/a", endpoint="a")])
    assert rules.waiting == 1
    assert rules.bind("127.0.0.1").match("/a") == ("a", {}) and rules.waiting == 0
    rules.add(Rule("/b/<int:n>", endpoint="b"))
    assert rules.bind("127.0.0.1").match("/b/3") == ("b", {"n": 3})
    assert rules.bind("127.0.0.1").build("b", {"n": 4}) == "/b/4"
    assert [rule.rule for rule in rules.iter_rules()] == ["/a", "/b/<int:n>"]


def broken_facts(tmp_path) -> str:
    """The call's facts with a word where a number of months belongs."""
    broken = tmp_path / "ami.yaml"
    with open(os.path.join(REPO_ROOT, "content", "data", "ami.yaml"), encoding="utf-8") as handle:
        broken.write_text(handle.read().replace("retention_months: 36", "retention_months: douze"), encoding="utf-8")
    return str(broken)


def test_a_command_that_needs_the_facts_checks_them_when_it_first_does(review_env, two_records, tmp_path):
    """`stats --graphiques` draws the arrivals up to the deadline: it reads the facts, checked as before."""
    result, probe = run_command(review_env, "stats", "--graphiques", str(tmp_path / "charts"))
    assert result.returncode == 0, result.stderr
    assert probe["url_pattern_built"] is True
    assert probe["email_patterns_compiled"] == 2  # the contacts' addresses checked by marshmallow's fields.Email
    assert os.listdir(tmp_path / "charts")

    env = {**review_env, "COLLECTOR_FACTS_PATH": broken_facts(tmp_path)}
    refused, _probe = run_command(env, "stats", "--graphiques", str(tmp_path / "other"))
    assert refused.returncode != 0
    assert "legal.retention_months : nombre entier attendu." in refused.stderr
    listed, _probe = run_command(env, "list")  # a list reads no fact: a typo in ami.yaml does not stop it
    assert listed.returncode == 0, listed.stderr
    assert "2 candidature(s) sur 2." in listed.stdout


def test_marshmallows_email_check_still_refuses_a_bad_contact_address_in_the_facts(review_env, two_records, tmp_path):
    """The e-mail patterns compiled on first use are marshmallow's own: a domain without a dot is refused."""
    broken = tmp_path / "ami.yaml"
    with open(os.path.join(REPO_ROOT, "content", "data", "ami.yaml"), encoding="utf-8") as handle:
        broken.write_text(handle.read().replace("dpo@normandie.fr", "dpo@normandie"), encoding="utf-8")
    refused, probe = run_command({**review_env, "COLLECTOR_FACTS_PATH": str(broken)}, "stats", "--graphiques",
                                 str(tmp_path / "charts"))
    assert refused.returncode != 0
    assert "adresse e-mail invalide." in refused.stderr
    assert probe["email_patterns_compiled"] == 2


FIRST_USE = r"""
import re
import collector
import marshmallow, marshmallow.validate
from collector.deferred_patterns import PatternOnFirstUse

assert re.compile.__module__ == "re"  # every other module's re.compile is the real one
for name in ("USER_REGEX", "DOMAIN_REGEX"):
    later = getattr(marshmallow.validate.Email, name)
    assert isinstance(later, PatternOnFirstUse) and not later.compiled
    now = re.compile(*later._arguments)
    for text in ("normandie.fr", "dpo", "ex-ample.org", "-x.fr", "[192.168.0.1]", "été.fr", "a..b", '"a b"'):
        assert bool(later.match(text)) == bool(now.match(text)), (name, text)
    assert later.compiled and later.pattern == now.pattern and later.flags == now.flags
validator = marshmallow.validate.Email()
assert validator("dpo@normandie.fr") == "dpo@normandie.fr"
try:
    validator("dpo@normandie")
except marshmallow.ValidationError:
    print("OK")

import yaml, yaml.reader
later = yaml.reader.Reader.NON_PRINTABLE
assert isinstance(later, PatternOnFirstUse) and not later.compiled
assert isinstance(yaml.resolver.Resolver.yaml_implicit_resolvers["t"][0][1], re.Pattern)  # used on every scalar
now = re.compile(*later._arguments)
for text in ("texte", "été\n", "a\x07b", "\x85", "\ufffe", "\U0001F600", "\x1b[31m"):
    assert bool(later.search(text)) == bool(now.search(text)), text
assert later.compiled
try:
    yaml.load("clé: a\x07b", Loader=yaml.SafeLoader)  # the pure-Python reader still refuses it
except yaml.reader.ReaderError as error:
    assert "special characters are not allowed" in str(error)
    print("OK")
"""


def test_patterns_compiled_on_first_use_match_as_the_compiled_ones_and_re_compile_is_restored():
    """In a new interpreter that imports the collector first (as flask and gunicorn do)."""
    result = subprocess.run([sys.executable, "-c", FIRST_USE], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "OK\nOK\n"


def test_the_service_still_refuses_facts_it_cannot_read(review_env, tmp_path, monkeypatch):
    from collector import create_app
    from collector.facts import FactsError

    monkeypatch.setenv("COLLECTOR_FACTS_PATH", broken_facts(tmp_path))
    with pytest.raises(FactsError, match="retention_months"):
        create_app()


def test_gunicorn_still_finds_the_safe_logger_under_its_configured_name():
    """deploy/gunicorn.conf.py names `collector.safe_logging.GunicornLogger`: gunicorn imports it by that name."""
    from gunicorn.glogging import Logger
    from gunicorn.util import load_class

    assert issubclass(load_class("collector.safe_logging.GunicornLogger"), Logger)
