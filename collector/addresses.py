"""E-mail addresses as the collector accepts them: a bare addr-spec that no mail header can reinterpret.

A contact e-mail ends up in a `To:` header and in the SMTP envelope. Anything a header
parser would read as more than one plain address is refused here: an RFC 2047 encoded
word (`=?utf-8?q?…?=`, decoded by a parser into commas and other addresses), a display
name, angle brackets, quotes, commas, comments, spaces. What is left is then checked by
email-validator (syntax only, no DNS) and normalised (lower-case domain, NFC).

Two ways to compare addresses, for two jobs:
- `address_key` folds look-alike characters (NFKC) and case: it finds duplicates and
  narrows candidates (the review index), where matching too much is harmless;
- `mailbox` names the mailbox itself, for deciding who gets a mail or whether the contact
  changed: the local part exactly as written (RFC 5321 leaves its case to the receiving
  server) and the domain in lower-case IDNA 2008 form, so that `straße.de`
  (xn--strae-oqa.de) and `strasse.de`, two domains anyone may register, stay apart.
  `same_mailbox_whatever_ascii_case` also sets the local part's ASCII case aside, as the
  lost-link look-up does (`mailbox_ignoring_ascii_case`): the mail providers porteurs use
  (Gmail, Outlook, Orange, Free, Exchange…) deliver `Contact@` and `contact@` to one mailbox,
  so a reviewer restoring a contact who types another case changes nothing and tells no one.

A page that sends a typed address back (the lost-link page, the revocation form) never shows
a control or invisible character (Unicode category C: U+0007, U+001B, U+200B…) again:
`refuse_invisible` refuses the address naming the first one (`INVISIBLE`), and the page shows
`visible_part`, the value without them.

Flask-free: the mail module and the records' duplicate check use it too.
"""

from __future__ import annotations

import string
import unicodedata

# Characters that give an address a meaning beyond addr-spec in a header: lists, groups,
# display names, quoted strings, comments, domain literals, escapes.
HEADER_SPECIALS = frozenset('<>,;:"()[]\\')
ENCODED_WORD_MARKERS = ("=?", "?=")


class AddressError(ValueError):
    """An address refused; the message says in French how to write it."""


SHAPE = "Saisissez une adresse e-mail valide, de la forme nom@structure.fr."
INVISIBLE = ("L'adresse contient un caractère de contrôle ou invisible ({code}), souvent venu d'un copier-coller : "
             "retapez-la au clavier, de la forme nom@structure.fr.")
ONE_PLAIN = ("Saisissez une seule adresse e-mail, sans nom, espace, virgule, guillemet, chevron ni séquence "
             "« =? » : de la forme nom@structure.fr.")


def _check_plain(text: str) -> None:
    if any(char in HEADER_SPECIALS for char in text) or any(marker in text for marker in ENCODED_WORD_MARKERS):
        raise AddressError(ONE_PLAIN)  # what a header parser would read as a name, a list or encoded text
    if text.count("@") != 1 or any(unicodedata.category(char)[0] in "CZ" for char in text):
        raise AddressError(SHAPE)  # spaces, invisible characters, no or several @: a typing slip


def plain_address(text: str) -> str:
    """The normalised address if `text` is one bare addr-spec; AddressError otherwise."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(text, str) or not text:
        raise AddressError(SHAPE)
    _check_plain(text)
    try:
        normalized = validate_email(text, check_deliverability=False, allow_display_name=False,
                                    allow_quoted_local=False, allow_domain_literal=False).normalized
    except EmailNotValidError as error:
        raise AddressError(SHAPE) from error
    _check_plain(normalized)  # normalisation (NFC, IDNA) must not bring back what was refused
    return normalized


def address_key(text: object) -> str:
    """A form of an address for comparisons: look-alike characters (NFKC) and case folded."""
    folded = unicodedata.normalize("NFKC", str(text or "").strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


Mailbox = tuple[str, str]
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def mailbox(text: object) -> Mailbox:
    """(local part as written, domain in lower-case ASCII IDNA 2008 form): one mailbox, one value.

    The standard library's `idna` codec is IDNA 2003, which maps ß to ss: not used. A
    domain IDNA refuses (never one the form accepted) is compared lower-cased as it is."""
    local, _, domain = str(text or "").strip().rpartition("@")
    if domain.isascii():  # IDNA leaves an ASCII domain as it is, lower-cased (75 µs saved a comparison)
        return local, domain.lower()
    import idna  # here, not at the top: the mailer starts without it (about 6 ms)

    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        ascii_domain = domain.lower()
    return local, ascii_domain.lower()


def ascii_when_possible(address: str) -> str:
    """`address` with its domain's IDNA A-label when only the domain is not ASCII
    (contact@mairie-évreux.fr → contact@xn--mairie-vreux-heb.fr): the same mailbox (RFC 5890),
    which a relay without SMTPUTF8 takes. A non-ASCII local part needs SMTPUTF8 anyway: kept."""
    if address.isascii():
        return address
    local, domain = mailbox(address)
    return f"{local}@{domain}" if local.isascii() and domain.isascii() else address


def mailbox_ignoring_ascii_case(text: object) -> Mailbox:
    """`mailbox`, with the local part's ASCII letters lower-cased (and only those: never ſ → s
    nor the Kelvin sign → k, which casefold would do)."""
    local, domain = mailbox(text)
    return local.translate(_ASCII_LOWER), domain


def same_mailbox(first: object, second: object) -> bool:
    """Do both addresses name one mailbox? Only the domain's case (and IDNA spelling) may differ."""
    return mailbox(first) == mailbox(second)


def same_mailbox_whatever_ascii_case(first: object, second: object) -> bool:
    """`same_mailbox`, the local part's ASCII case aside: one mailbox at every provider in common use."""
    return mailbox_ignoring_ascii_case(first) == mailbox_ignoring_ascii_case(second)


def refuse_invisible(text: str) -> None:
    """AddressError (INVISIBLE, naming the character) when `text` holds a control or invisible character."""
    invisible = next((char for char in text if unicodedata.category(char)[0] == "C"), None)
    if invisible is not None:
        raise AddressError(INVISIBLE.format(code=f"U+{ord(invisible):04X}"))


def visible_part(text: str) -> str:
    """`text` without its control and invisible characters (category C): what a page shows back."""
    return "".join(char for char in text if unicodedata.category(char)[0] != "C")
