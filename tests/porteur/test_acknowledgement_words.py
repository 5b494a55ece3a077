"""The acknowledgement says one thing about exchanges: not by replying to it, but from the dossier page
(or, without a dossier link, through the contacts), the reference being what to quote to the contacts."""

from __future__ import annotations

from collector.mail.delivery import NO_REPLY, WHERE_TO_ANSWER, WRITE_TO_CONTACTS, MailSettings, compose_acknowledgement
from tests.review.factory import make_record

SETTINGS = {"host": "127.0.0.1", "port": 25, "mail_from": "AMI Usages numériques <ami@normandie.example>",
            "public_url": "https://ami.example"}


def body_of(app, **extra) -> str:
    record = make_record(app.config["FORM"], 1)
    message = compose_acknowledgement(record, app.config["FACTS"], app.config["FORM"], MailSettings(**SETTINGS, **extra))
    return message.get_payload(decode=True).decode("utf-8")


def test_the_acknowledgement_never_asks_for_exchanges_it_forbids_by_reply(app):
    for body in (body_of(app, dossier_secret="ack-secret"), body_of(app)):
        assert "vous sera demandée pour tout échange" not in body
        assert "citez-la si vous téléphonez ou écrivez aux contacts de l'AMI (en bas de ce message)" in body
        assert body.index("Une question ? Vos contacts :") > body.index("citez-la")
    assert WHERE_TO_ANSWER in body_of(app, dossier_secret="ack-secret")  # the dossier page, linked above
    assert f"{NO_REPLY} {WRITE_TO_CONTACTS}" in body_of(app)
