"""A mail with two readings of one text: text/plain for any reader, text/html for those that show it.

The answer letter is written in Markdown (letters.py): its plain part is the letter without
markup (letter_text.py), its HTML part the letter as the `markdown` library rendered it, with
what a porteur or a reviewer typed escaped. The HTML document stands alone: no stylesheet, no
image, nothing a reader would fetch from the network.
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from email.policy import SMTPUTF8
from html import escape

from .wire import wire_bytes


def html_document(subject: str, body_html: str, closing: list[str], link: str) -> str:
    """A whole HTML document: the letter's HTML as rendered, the link to the dossier page, then `closing`'s lines."""
    shown_link = escape(link)
    paragraphs = "".join(f"<p>{escape(line)}</p>\n" for line in closing if line)
    return (f'<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n<title>{escape(subject)}</title>\n'
            f"</head>\n<body>\n{body_html.strip()}\n"
            f'<p>Cette réponse est aussi sur votre page de dossier : <a href="{shown_link}">{shown_link}</a></p>\n'
            f"{paragraphs}</body>\n</html>\n")


def with_html(message: Message, html: str) -> Message:
    """`message` (one text/plain part) as multipart/alternative: its text, then `html`, both UTF-8 quoted-printable
    (readable in the raw file, lines kept short for SMTP)."""
    modern = message_from_bytes(wire_bytes(message), policy=SMTPUTF8)
    modern.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return modern
