"""The lost-link mail of a contact address that has SEVERAL dossiers, on both stores: it speaks of
them all (subject, greeting, every sentence), lists each one by its reference with its own
link, and names them all in its headers; never the first dossier alone. Checked on the message
as a real SMTP server on loopback receives it: its headers and every text part (plain, and HTML if one is added)."""

from __future__ import annotations

import dataclasses
import html
import os
import re

import pytest

from collector.link_requests import handle_requests
from collector.mail import lifecycle
from collector.statuses import history_path
from tests.conftest import STORE_KINDS
from tests.review.factory import make_record
from tests.review.smtp import smtp_server

from .conftest import link

PUBLIC = "http://127.0.0.1:8000"
SHARED = "contact1@exemple.fr"  # AMI-2021-0001's contact, and AMI-2021-0004's


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def lost_link_mail(app, client, kept, address: str):
    """Ask for the links of `address` on the page, let the mailer handle it and send it to a real
    SMTP server; the one message that arrives."""
    assert client.post("/candidater/dossier-perdu/", data={"contact_email": address}).status_code == 200
    with app.app_context():
        assert handle_requests(kept, app.config["FACTS"], lifecycle.settings()) == 1
    with smtp_server() as inbox, app.app_context():
        report = kept.outbox.deliver(dataclasses.replace(lifecycle.settings(), host="127.0.0.1", port=inbox.port))
        assert not report.error and len(report.sent) == 1, report
        [arrived] = inbox.wait_for(1)
    return arrived


def text_of(message) -> str:
    """The plain text of the message."""
    [plain] = [part for part in message.walk() if part.get_content_type() == "text/plain"]
    return plain.get_content().replace("\r\n", "\n")


def every_part(message) -> list[str]:
    """Every text part of the message (the plain text, and an HTML one if it has one), unescaped."""
    parts = [html.unescape(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"]
    assert parts
    return parts


def test_a_mail_for_several_dossiers_speaks_of_all_of_them_each_with_its_own_link(app, client, records, kept):
    assert kept.write_record(make_record(app.config["FORM"], 4, contact_email=SHARED))
    arrived = lost_link_mail(app, client, kept, SHARED)
    message = arrived.message
    assert arrived.recipients == [SHARED]
    assert str(message["Subject"]) == "Liens de vos dossiers — AMI « Usages numériques »"
    assert message["X-AMI-Reference"] == "AMI-2021-0001, AMI-2021-0004"
    text = text_of(message)
    assert ("Vous avez demandé les liens de vos dossiers de réponse à l'appel à manifestation d'intérêt "
            "« Usages numériques ».") in text
    assert "Vos 2 dossiers, chacun avec son propre lien :" in text
    listed = re.findall(r"^- (AMI-2021-\d{4}) : (\S+)$", text, re.M)
    assert listed == [(reference, PUBLIC + link(reference)) for reference in ("AMI-2021-0001", "AMI-2021-0004")]
    for part in every_part(message):
        for reference in ("AMI-2021-0001", "AMI-2021-0004"):
            assert PUBLIC + link(reference) in part, "each dossier with its own link, in every part"
        for singular in ("votre dossier", "Votre dossier", "Ce lien", "votre page de dossier"):
            assert singular not in part, f"« {singular} » would speak of one dossier among two"
    assert "Ces liens sont personnels : chacun donne accès à son dossier sans mot de passe." in text
    assert "utilisez la page du dossier concerné (liens ci-dessus)" in text
    assert "Structure numéro" not in text, "no text a sender typed goes to an unconfirmed address"


def test_a_mail_for_one_dossier_keeps_its_singular_words(app, client, records, kept):
    arrived = lost_link_mail(app, client, kept, "contact2@exemple.fr")
    assert str(arrived.message["Subject"]) == "Lien de votre dossier — AMI « Usages numériques »"
    assert arrived.message["X-AMI-Reference"] == "AMI-2021-0002"
    text = text_of(arrived.message)
    assert "Vous avez demandé le lien de votre dossier de réponse" in text
    assert f"Votre dossier :\n- AMI-2021-0002 : {PUBLIC + link('AMI-2021-0002')}\n" in text
    assert "Ce lien est personnel" in text and "vos dossiers" not in text


def unreadable_history(kept, data_dir: str, reference: str) -> None:
    """A history of the wrong shape (a bad restore, a hand edit): its link generation cannot be read."""
    document = "reference: %s\nstatus: inconnu\nevents: []\n" % reference
    if kept.kind != "postgresql":
        os.makedirs(os.path.dirname(history_path(data_dir, reference)), exist_ok=True)
        with open(history_path(data_dir, reference), "w", encoding="utf-8") as handle:
            handle.write(document)
        return
    with kept._connection() as connection:
        connection.execute("INSERT INTO histories (reference, status, document, document_sha256) "
                           "VALUES (%s, 'inconnu', %s, 'sha256:x')", (reference, document))


def test_a_mail_for_several_dossiers_speaks_only_of_the_links_it_shows(app, client, records, kept, data_dir):
    assert kept.write_record(make_record(app.config["FORM"], 4, contact_email=SHARED))
    unreadable_history(kept, data_dir, "AMI-2021-0004")
    message = lost_link_mail(app, client, kept, SHARED).message
    assert str(message["Subject"]) == "Lien de vos dossiers — AMI « Usages numériques »"
    text = text_of(message)
    assert (f"Vos 2 dossiers, dont un avec son lien :\n- AMI-2021-0001 : {PUBLIC + link('AMI-2021-0001')}\n"
            "- AMI-2021-0004 : lien momentanément indisponible : écrivez aux contacts ci-dessous en citant cette "
            "référence.\n") in text
    assert ("Ce lien est personnel : il donne accès au dossier AMI-2021-0001 sans mot de passe. Ne le transmettez "
            "qu'aux personnes de votre structure qui suivent ce dossier.") in text
    assert ("Pour écrire à la Région, utilisez la page du dossier concerné (lien ci-dessus) ou, pour un dossier "
            "sans lien, les contacts ci-dessous en citant sa référence.") in text
    for part in every_part(message):
        for untrue in ("chacun avec son propre lien", "Ces liens", "liens ci-dessus"):
            assert untrue not in part, f"« {untrue} »: one link only is shown"


def test_a_mail_for_one_dossier_without_its_link_never_speaks_of_a_link_above(app, client, records, kept, data_dir):
    unreadable_history(kept, data_dir, "AMI-2021-0002")
    message = lost_link_mail(app, client, kept, "contact2@exemple.fr").message
    assert str(message["Subject"]) == "Votre dossier — AMI « Usages numériques »"
    text = text_of(message)
    assert ("Votre dossier :\n- AMI-2021-0002 : lien momentanément indisponible : écrivez aux contacts ci-dessous "
            "en citant cette référence.\n") in text
    assert ("Pour écrire à la Région, utilisez les contacts ci-dessous en donnant votre référence.") in text
    for part in every_part(message):
        for untrue in ("Ce lien est personnel", "lien ci-dessus", "Lien de votre dossier"):
            assert untrue not in part, f"« {untrue} »: no link is shown"
