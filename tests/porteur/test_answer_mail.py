"""The answer letter as a porteur's mail reader shows it: no Markdown markup, an HTML reading too."""

from __future__ import annotations

import dataclasses
import email
from email.policy import default

import pytest

from collector.letter_text import plain_text
from collector.mail import lifecycle
from collector.porteur.links import dossier_path
from collector.statuses import change_status
from tests.conftest import STORE_KINDS
from tests.review.factory import make_record

from .conftest import SECRET, link, outbox, review_post, waiting_message

JULY = "2021-07-02T10:00:00"
TYPED_NAME = "Asso *Test* <b>& co</b> [lien](https://exemple.fr) ## titre"


@pytest.fixture
def answered(kept, reviewer, form, monkeypatch):
    """AMI-2021-0004, whose organisation's name looks like markup, answered « orienté FEDER »; its queued mail, parsed."""
    monkeypatch.setenv("AMI_NOW", JULY)
    assert kept.write_record(make_record(form, 4, raison_sociale=TYPED_NAME))
    change_status(kept, "AMI-2021-0004", "en_instruction", by="alice")
    change_status(kept, "AMI-2021-0004", "oriente_feder", by="alice", motivation="Éligible **au** FEDER.\nSuite <i>ici</i>.")
    sent = review_post(reviewer, "AMI-2021-0004", "reponse", motivation="Éligible **au** FEDER.\nSuite <i>ici</i>.")
    assert sent.status_code == 303
    [name] = [name for name in outbox(kept) if name.startswith("AMI-2021-0004.reponse-")]
    return email.message_from_bytes(waiting_message(kept, name), policy=default)


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_the_answer_mail_is_plain_text_without_markup_and_html_alike(answered):
    assert answered.get_content_type() == "multipart/alternative"
    plain_part, html_part = answered.iter_parts()
    assert (plain_part.get_content_type(), html_part.get_content_type()) == ("text/plain", "text/html")
    plain, html = (part.get_content().replace("\r\n", "\n") for part in (plain_part, html_part))
    # What the porteur reads in a text-only reader: headings as lines, emphasis gone, typed text as typed.
    assert "**" not in plain.replace("**au**", "") and "\n## " not in plain and not plain.startswith("#")
    assert "\nPourquoi cette réponse\n" in plain and "\nLa suite\n" in plain
    assert f"la manifestation d'intérêt de la structure « {TYPED_NAME} » pour le projet" in plain
    assert "fonds européens (FEDER), dont" in plain
    assert "Éligible **au** FEDER.\nSuite <i>ici</i>." in plain
    assert "\n- " in plain and link("AMI-2021-0004") in plain
    # The same letter in HTML: rendered markup, typed text escaped, nothing fetched from the network.
    assert "<strong>fonds européens (FEDER)</strong>" in html and "<h2>Pourquoi cette réponse</h2>" in html
    assert "Asso *Test* &lt;b&gt;&amp; co&lt;/b&gt; [lien](https://exemple.fr) ## titre" in html
    assert "Éligible **au** FEDER.<br" in html and "Suite &lt;i&gt;ici&lt;/i&gt;." in html
    assert "<li>" in html and link("AMI-2021-0004") + '">' in html
    assert not any(marker in html.lower() for marker in ("<img", "<link", "<script", "style", "src=", "@import"))


def test_a_letters_html_reads_as_plain_lines_links_and_list_items():
    html = ("<h2>Pourquoi</h2>\n<p>Voir <a href=\"https://exemple.fr/aide\">l'aide</a> et "
            "<a href=\"https://exemple.fr\">https://exemple.fr</a>, <em>vite</em> &amp; bien.<br>\nFin.</p>\n"
            "<ul>\n<li>un</li>\n<li>\n<p>deux</p>\n</li>\n</ul>\n<ol>\n<li>premier</li>\n<li>second</li>\n</ol>\n")
    assert plain_text(html) == ("Pourquoi\n\nVoir l'aide (https://exemple.fr/aide) et https://exemple.fr, vite & bien.\n"
                                "Fin.\n\n- un\n- deux\n\n1. premier\n2. second\n")


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_an_answer_mail_waiting_when_the_link_is_revoked_goes_with_the_new_link_in_both_parts(app, kept, answered):
    from tests.review.smtp import smtp_server

    assert app.test_cli_runner().invoke(args=["revoke-link", "AMI-2021-0004", "--by", "alice"]).exit_code == 0
    with smtp_server() as inbox, app.app_context():
        report = kept.outbox.deliver(dataclasses.replace(lifecycle.settings(), host="127.0.0.1", port=inbox.port))
        arrived = {str(item.message["Subject"]): item.message for item in inbox.wait_for(len(report.sent))}
    [letter] = [message for subject, message in arrived.items() if "FEDER" in subject]
    new, old = dossier_path(SECRET, "AMI-2021-0004", "", 1), link("AMI-2021-0004")
    for part in (letter.get_body(("plain",)), letter.get_body(("html",))):
        text = part.get_content()
        assert new in text and old not in text


def test_a_motivation_reads_as_the_reviewer_wrote_it_numbers_rules_and_underlines_included(form):
    """Markdown would renumber « 2021. » and « 3. » from 1, drop a « --- » line and make a line underlined with
    « === » a heading: the official letter would state what the reviewer did not write."""
    from collector.facts import load_facts
    from collector.letters import Letter, fill

    letter = Letter("accompagnement_propose", "lettre.md", "Réponse", "Bonjour,\n\n## Pourquoi\n\n{motivation}\n\nCordialement")
    motivation = ("2021. Le comité a examiné votre dossier.\n\n3. Le budget dépasse le plafond.\n\n---\n\n"
                  "Conclusion\n==========\n\n- un point")
    filled = fill(letter, make_record(form, 1), motivation, load_facts())
    text = plain_text(filled.html)
    for line in ("2021. Le comité a examiné votre dossier.", "3. Le budget dépasse le plafond.", "---",
                 "Conclusion", "==========", "- un point"):
        assert line in text, line
    assert "<ol" not in filled.html and "<hr" not in filled.html and "<h1" not in filled.html


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_an_answer_mail_to_a_replaced_contact_keeps_no_link_at_all_in_either_part(app, kept, answered):
    """The HTML part's anchor went with its link: its `href` once held the replacement words."""
    from collector.mail.current_links import WITHDRAWN
    from tests.review.smtp import smtp_server

    revoked = app.test_cli_runner().invoke(args=["revoke-link", "AMI-2021-0004", "--by", "alice",
                                                 "--contact", "vraie.contact@example.org"])
    assert revoked.exit_code == 0, revoked.output
    with smtp_server() as inbox, app.app_context():
        report = kept.outbox.deliver(dataclasses.replace(lifecycle.settings(), host="127.0.0.1", port=inbox.port))
        arrived = {str(item.message["Subject"]): item.message for item in inbox.wait_for(len(report.sent))}
    [letter] = [message for subject, message in arrived.items() if "FEDER" in subject]
    plain, html = (letter.get_body((kind,)).get_content() for kind in ("plain", "html"))
    for text in (plain, html):
        assert "/candidater/recu/" not in text and "cle=" not in text and WITHDRAWN in text
    assert "<a " not in html and "href" not in html
    assert f"<p>Cette réponse est aussi sur votre page de dossier : {WITHDRAWN}</p>" in html
