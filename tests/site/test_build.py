"""The build itself: the phase it shows, its warnings, the .ics, and how it refuses bad data."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from collector.facts import load_facts, unconfirmed_facts
from collector.formdef import load_form
from collector.mail.delivery import MailSettings, compose_acknowledgement
from collector.records import build_record
from tests.support.payloads import valid_answers

from .htmltext import Page
from .sitebuild import REPO_ROOT, build_site

PARIS = ZoneInfo("Europe/Paris")


def copy_content(tmp_path, edit) -> tuple[str, str]:
    """A copy of content/ whose ami.yaml went through `edit(text) -> text`; returns (content, facts path)."""
    content = str(tmp_path / "content")
    shutil.copytree(os.path.join(REPO_ROOT, "content"), content)
    facts = os.path.join(content, "data", "ami.yaml")
    with open(facts, encoding="utf-8") as handle:
        text = handle.read()
    edited = edit(text)
    assert edited != text, "the edit changed nothing"
    with open(facts, "w", encoding="utf-8") as handle:
        handle.write(edited)
    return content, facts


def test_the_build_warns_once_for_each_fact_still_to_confirm(site):
    pending = unconfirmed_facts(load_facts())
    assert pending, "the data file lists facts to confirm"
    for name in pending:
        assert site.log.count(f"Fait à confirmer par la Région : {name} ") == 1, name


def test_the_ics_parses_and_holds_every_date(site):
    with open(os.path.join(site.output, "calendrier", "ami-usages-numeriques-2021.ics"), "rb") as handle:
        calendar = icalendar.Calendar.from_ical(handle.read())
    events = {str(e["uid"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    assert set(events) == {"ami-2021-lancement", "ami-2021-date-limite", "ami-2021-analyse", "ami-2021-retour"}
    assert events["ami-2021-lancement"].decoded("dtstart") == date(2021, 3, 29)
    deadline = events["ami-2021-date-limite"].decoded("dtstart")
    assert deadline == datetime(2021, 5, 28, 23, 59, 59, tzinfo=PARIS)
    assert deadline.utcoffset().total_seconds() == 7200
    assert (events["ami-2021-analyse"].decoded("dtstart"), events["ami-2021-analyse"].decoded("dtend")) == (date(2021, 6, 1), date(2021, 7, 1))
    assert events["ami-2021-retour"].decoded("dtstart") == date(2021, 7, 1)
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert "COMMENT" not in calendar.walk("VTIMEZONE")[0], "icalendar's English comment reaches the calendar"
    assert calendar["version"] == "2.0"


def test_two_builds_give_the_same_ics(site, tmp_path):
    again = build_site(str(tmp_path / "again"))
    assert again.returncode == 0, again.log
    name = os.path.join("calendrier", "ami-usages-numeriques-2021.ics")
    with open(os.path.join(site.output, name), "rb") as one, open(os.path.join(again.output, name), "rb") as two:
        assert one.read() == two.read()


@pytest.mark.parametrize(("ami_now", "sentence", "banner"), [
    ("2021-03-01T12:00:00", "L'appel n'est pas encore ouvert : il ouvrira le lundi 29 mars 2021", True),
    ("2021-05-28T20:00:00", "L'appel est ouvert : c'est le dernier jour pour répondre, jusqu'au vendredi 28 mai 2021 à 23 h 59", True),
    ("2021-05-29T00:00:00", "L'appel est clos depuis le vendredi 28 mai 2021 à 23 h 59", True),
    ("", "L'appel est clos depuis le vendredi 28 mai 2021 à 23 h 59", False),  # the real clock: long after 2021
])
def test_the_phase_before_during_and_after_the_call(tmp_path, ami_now, sentence, banner):
    build = build_site(str(tmp_path / "out"), ami_now=ami_now)
    assert build.returncode == 0, build.log
    home = Page(build.read("index.html"))
    assert sentence in home.text
    assert ("Aperçu" in home.text) is banner
    assert ('class=banner-preview' in build.read("contacts/index.html")) is banner
    # « Candidater » is highlighted only while the call is open
    assert ('class=nav-cta' in build.read("contacts/index.html")) is sentence.startswith("L'appel est ouvert")


@pytest.mark.parametrize(("ami_now", "state", "current_step"), [
    ("2021-06-15T10:00:00", "Les réponses reçues sont en cours d'analyse", "analyse"),
    ("2021-07-05T10:00:00", "Les réponses reçues sont en cours d'analyse", "retour"),
    ("2021-07-15T10:00:00", "La Région a répondu aux porteurs : chacun retrouve sa réponse sur sa page de dossier", None),
])
def test_after_the_deadline_the_site_follows_the_calendar_and_leads_porteurs_to_their_dossier(
        tmp_path, ami_now, state, current_step):
    build = build_site(str(tmp_path / "out"), ami_now=ami_now)
    assert build.returncode == 0, build.log
    home = Page(build.read("index.html"))
    assert state in home.text
    assert "en cours d'analyse" not in home.text or current_step is not None
    form = Page(build.read("candidater/index.html"))
    for page in (home, form):
        assert "Vous avez déjà répondu ? Retrouvez le lien de votre dossier" in page.text
        assert page.link_to("/candidater/dossier-perdu/")
    how = Page(build.read("modalites-de-reponse/index.html")).text
    assert "L'appel est clos depuis le vendredi 28 mai 2021 à 23 h 59" in how
    assert how.index("L'appel est clos") < how.index("formulaire de réponse à l'AMI")
    timeline = build.read("calendrier/index.html").split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    if current_step is None:
        assert "aria-current" not in timeline and "étape en cours" not in timeline
    else:
        assert timeline.count('aria-current="step"') == 1
        assert f'aria-current="step" id="etape-{current_step}"' in timeline


def test_a_fact_edited_in_the_data_file_changes_every_page_and_the_ics(tmp_path):
    def later_deadline(text: str) -> str:
        return (text.replace("closes_at: 2021-05-28T23:59:59", "closes_at: 2021-06-04T18:00:00")
                    .replace("phone: 02 14 47 62 22", "phone: 02 31 00 00 01"))

    content, facts = copy_content(tmp_path, later_deadline)
    build = build_site(str(tmp_path / "out"), content=content, facts_path=facts)
    assert build.returncode == 0, build.log
    assert "jusqu'au vendredi 4 juin 2021 à 18 h 00" in Page(build.read("index.html")).text
    assert ("Date limite des réponses vendredi 4 juin 2021 à 18 h 00 (heure de Paris)"
            in Page(build.read("calendrier/index.html")).text)
    assert 'datetime="2021-06-04T18:00:00+02:00"' in build.read("calendrier/index.html")
    form_page = Page(build.read("candidater/index.html")).text
    assert "Date limite : vendredi 4 juin 2021 à 18 h 00" in form_page
    assert ("Votre référence s'affiche dès l'envoi ; la page qui la donne dit si un accusé de réception part aussi par e-mail."
            in form_page), "an acknowledgement is not always mailed (porteur/mail_caps.py)"
    assert '<a href="tel:+33231000001">02 31 00 00 01</a>' in build.read("contacts/index.html")
    ics = build.read("calendrier/ami-usages-numeriques-2021.ics")
    assert "DTSTART;TZID=Europe/Paris:20210604T180000" in ics
    assert "vendredi 4 juin 2021 à 18 h 00" in ics.replace("\r\n ", "")
    for relative in [*build.pages(), "calendrier/ami-usages-numeriques-2021.ics"]:
        assert "28 mai" not in build.read(relative), relative  # the old deadline is nowhere
    # the collector reads the same file: the acknowledgement's « Et maintenant ? » follows too
    mail = compose_acknowledgement(build_record("AMI-2021-0001", datetime(2021, 4, 15, 10, tzinfo=PARIS), 1,
                                                valid_answers(load_form())),
                                   load_facts(facts), load_form(), MailSettings()).get_payload(decode=True).decode()
    assert "- Date limite des réponses : vendredi 4 juin 2021 à 18 h 00 (heure de Paris)" in mail
    assert "28 mai" not in mail


def test_the_deadline_in_the_ics_has_a_reminder_three_days_before(site):
    with open(os.path.join(site.output, "calendrier", "ami-usages-numeriques-2021.ics"), "rb") as handle:
        calendar = icalendar.Calendar.from_ical(handle.read())
    [deadline] = [e for e in calendar.walk("VEVENT") if str(e["uid"]).startswith("ami-2021-date-limite@")]
    [alarm] = deadline.walk("VALARM")
    assert alarm["action"] == "DISPLAY" and alarm.decoded("trigger") == -timedelta(days=3)
    assert "vendredi 28 mai 2021 à 23 h 59" in str(alarm["description"])
    others = [e for e in calendar.walk("VEVENT") if e is not deadline]
    assert all(not e.walk("VALARM") for e in others)


def test_a_news_article_dated_in_the_future_is_not_published(tmp_path):
    content, facts = copy_content(tmp_path, lambda text: text + "\n")
    with open(os.path.join(content, "news", "2099-01-01-plus-tard.md"), "w", encoding="utf-8") as handle:
        handle.write("Title: Une annonce à venir\nSlug: annonce-a-venir\nDate: 2099-01-01 10:00\n"
                     "Summary: Pas encore.\n\nPas avant sa date.\n")
    build = build_site(str(tmp_path / "out"), content=content, facts_path=facts)
    assert build.returncode == 0, build.log
    assert not os.path.exists(os.path.join(build.output, "actualites", "annonce-a-venir"))
    for relative in ("index.html", "actualites/index.html", "actualites/atom.xml", "sitemap.xml"):
        assert "annonce-a-venir" not in build.read(relative) and "Une annonce à venir" not in build.read(relative)


@pytest.mark.parametrize("settings", ["pelicanconf.py", "publishconf.py"])
def test_atom_ids_are_valid_tag_uris_and_the_same_in_every_build(tmp_path, settings, request):
    if settings == "pelicanconf.py":  # the same input as the session's build: no need to build it again
        build = request.getfixturevalue("site")
    else:
        build = build_site(str(tmp_path / "out"), settings=settings)
    assert build.returncode == 0, build.log
    feed = ET.fromstring(build.read("actualites/atom.xml"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.findtext("a:id", namespaces=ns) == "tag:ami-usages-numeriques.normandie.fr,2021:/actualites/"
    ids = [entry.findtext("a:id", namespaces=ns) for entry in feed.findall("a:entry", ns)]
    assert ids == ["tag:ami-usages-numeriques.normandie.fr,2021-03-29:/actualites/lancement-de-l-ami/"]
    links = [link.get("href") for link in feed.iter("{http://www.w3.org/2005/Atom}link")]
    assert all(href.startswith("https://ami-usages-numeriques.normandie.fr/") for href in links), links


@pytest.mark.parametrize(("edit", "expected"), [
    pytest.param(lambda t: t.replace("  opens_at: 2021-03-29T00:00:00\n", ""),
                 "calendar.opens_at : champ obligatoire manquant", id="missing-date"),
    pytest.param(lambda t: t.replace("      start: 2021-06-01\n", "      start: 2021-06-31\n"),
                 "calendar.steps[analyse].start : « 2021-06-31 » : le 31 juin 2021 n'existe pas", id="impossible-date"),
    pytest.param(lambda t: t.replace("display: début juillet 2021", "display: vendredi 1er juillet 2021"),
                 "calendar.steps[retour].display : « vendredi 1er juillet 2021 » : le 1er juillet 2021 est un jeudi",
                 id="wrong-weekday"),
    pytest.param(lambda t: t.replace("      moment: closes_at\n", "      moment: closes_at\n      start: 2021-05-27\n"),
                 "calendar.steps[date-limite].start : 2021-05-27 ne correspond pas à calendar.closes_at",
                 id="deadline-step-disagrees"),
    pytest.param(lambda t: t.replace("  closes_at: 2021-05-28T23:59:59", "  closes_at: 2021-05-28T25:00:00"),
                 "calendar.closes_at : « 2021-05-28T25:00:00 » : l'heure 25:00:00 n'existe pas", id="impossible-hour"),
    pytest.param(lambda t: t.replace("  edition: 2021\n", "  edition: 2021\n  colour: blue\n"),
                 "call.colour : clé inconnue", id="unknown-key"),
    pytest.param(lambda t: t.replace("  edition: 2021\n", "  edition: [2021\n"),
                 "(ligne 13, colonne 15) : YAML invalide : liste entre crochets non fermée", id="broken-yaml"),
])
def test_bad_data_stops_the_build_with_a_french_message_naming_file_and_field(tmp_path, edit, expected):
    content, facts = copy_content(tmp_path, edit)
    build = build_site(str(tmp_path / "out"), content=content, facts_path=facts)
    assert build.returncode != 0
    assert f"Erreur dans les données de l'AMI : {facts}" in build.log
    assert expected in build.log
    assert "Traceback" not in build.log
    assert not os.path.exists(os.path.join(build.output, "index.html"))


def test_an_unreadable_ami_now_stops_the_build_in_french(tmp_path):
    build = build_site(str(tmp_path / "out"), ami_now="15 avril")
    assert build.returncode != 0
    assert "AMI_NOW='15 avril' n'est pas une date-heure ISO 8601" in build.log
    assert "Traceback" not in build.log


def test_the_production_build_uses_absolute_urls(tmp_path):
    build = build_site(str(tmp_path / "out"), ami_now="", settings="publishconf.py")
    assert build.returncode == 0, build.log
    home = build.read("index.html")
    assert 'href="https://ami-usages-numeriques.normandie.fr/theme/css/site.css"' in home
    assert 'class=banner-preview' not in home
