"""« Lien de dossier perdu »: the same answer for every address, the links only to the address itself.

On both stores (the data folder, PostgreSQL): the requests wait in the store, the mailer handles
them from it, and the limits count in the store's shared limiter."""

from __future__ import annotations

import email
import os
import re
import stat
import time
from datetime import datetime, timedelta, timezone

import pytest

from collector import appstate
from collector.mail import lifecycle
from collector.link_requests import MAX_AGE, REQUESTS_DIR, handle_requests, references_of
from collector.porteur.lost_link import MAX_WAITING
from tests.conftest import STORE_KINDS

from .conftest import SECRET, link, outbox, waiting_message

ON_THE_DATA_FOLDER = pytest.mark.parametrize("store_kind", ["folder"])


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param

PAGE = "/candidater/dossier-perdu/"


def ask(client, address: str, **headers):
    """A request as a script sends it: without the page's token (it counts for its client only)."""
    return client.post(PAGE, data={"contact_email": address}, headers=headers)


def page_fields(client, **environ) -> dict[str, str]:
    """The hidden fields of the page as `client` loads it: its signed token and the empty honeypot."""
    html = client.get(PAGE, environ_base=environ).text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    assert set(fields) == {"jeton", "id_envoi"} and 'name="site_web"' in html
    return {**fields, "site_web": ""}


def ask_from_the_page(client, address: str, remote: str, fields: dict[str, str] | None = None):
    """A request sent from the page, loaded first by the same client (what a person does)."""
    fields = fields if fields is not None else page_fields(client, REMOTE_ADDR=remote)
    return client.post(PAGE, data={"contact_email": address, **fields}, environ_base={"REMOTE_ADDR": remote})


def answer_text(html: str) -> str:
    return re.search(r'<main.*?</main>', html, re.S).group(0)


def without_address(html: str) -> str:
    """The answer's text, but for the address it shows."""
    return re.sub(r'(<strong class="adresse-saisie">)[^<]*', r"\1", answer_text(html))


def test_a_known_and_an_unknown_address_get_the_same_answer(client, records):
    known = ask(client, records[0]["answers"]["contact_email"].upper())
    unknown = ask(client, "personne@example.org")
    assert known.status_code == unknown.status_code == 200
    assert without_address(known.text) == without_address(unknown.text)
    assert "Si cette adresse est celle d&#39;un dossier" in known.text


def test_the_confirmation_shows_the_address_typed_and_promises_only_what_is_true(client, records):
    page = ask(client, "o'brien+ami@example.org")
    shown = answer_text(page.text)
    assert '<strong class="adresse-saisie">o&#39;brien+ami@example.org</strong>' in shown
    assert "vient d&#39;y être envoyé" not in shown, "the mail is only queued, and not sent past the daily limit"
    assert "nous y envoyons dans les minutes qui viennent" in shown
    assert "au plus 3 de ces e-mails en 24 heures" in shown
    assert ("et au plus 5 e-mails de ce site (envois de dossiers, corrections, demandes de lien) : au-delà, plus "
            "rien ne lui parvient avant le lendemain") in shown, "the mailer drops a link past the address's cap"


def handle_waiting(app, where, lookup=None, now=None) -> int:
    """What the mailer does with the waiting requests of `where` (a store or a data folder's path)."""
    with app.app_context():
        return handle_requests(where, app.config["FACTS"], lifecycle.settings(), lookup, now)


def request_files(data_dir):
    folder = os.path.join(data_dir, REQUESTS_DIR)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def requests_waiting(kept):
    """The ids of the requests waiting in the store `kept`."""
    return kept.link_requests.waiting()


def link_mails(where):
    return [name for name in outbox(where) if ".lien-" in name]


def test_the_page_does_the_same_work_for_a_known_and_an_unknown_address(client, records, kept):
    ask(client, records[0]["answers"]["contact_email"])
    [known] = requests_waiting(kept)
    ask(client, "personne@example.org")
    [unknown] = [name for name in requests_waiting(kept) if name != known]
    assert outbox(kept) == [], "no dossier is looked up and no mail composed in the request"
    for name in (known, unknown):
        assert re.fullmatch(r"[0-9a-f]{32}", name), "no personal data in the name"


@ON_THE_DATA_FOLDER
def test_a_request_file_is_named_at_random_and_readable_by_the_collector_alone(client, records, data_dir):
    ask(client, records[0]["answers"]["contact_email"])
    ask(client, "personne@example.org")
    for name in request_files(data_dir):
        assert re.fullmatch(r"[0-9a-f]{32}\.json", name), "no personal data in the name"
        mode = stat.S_IMODE(os.stat(os.path.join(data_dir, REQUESTS_DIR, name)).st_mode)
        assert mode & 0o007 == 0 and mode & 0o600 == 0o600, oct(mode)


def test_the_links_go_by_mail_to_the_address_only_when_it_has_a_dossier(app, client, records, kept):
    address = records[1]["answers"]["contact_email"]
    ask(client, "personne@example.org")
    assert handle_waiting(app, kept) == 0 and link_mails(kept) == []
    assert requests_waiting(kept) == [], "a handled request is removed"
    ask(client, address)
    assert handle_waiting(app, kept) == 1 and requests_waiting(kept) == []
    [name] = link_mails(kept)
    message = email.message_from_bytes(waiting_message(kept, name).split(b"\r\n", 1)[1])
    assert message["To"] == address
    body = message.get_payload(decode=True).decode()
    assert "http://127.0.0.1:8000" + link("AMI-2021-0002") in body
    assert "n'y répondez pas" in body


def test_a_malformed_address_is_refused_in_french_with_the_value_kept(client, records, kept):
    page = ask(client, "pas-une-adresse")
    assert page.status_code == 422
    assert page.text.count("Saisissez une adresse e-mail valide") == 2  # summary and field
    assert 'value="pas-une-adresse"' in page.text and 'aria-invalid="true"' in page.text
    assert outbox(kept) == [] and requests_waiting(kept) == []


@pytest.mark.parametrize(("typed", "code", "shown"), [("contact\x07@example.org", "U+0007", "contact@example.org"),
                                                       ("contact\x1b[2J@example.org", "U+001B", "contact[2J@example.org"),
                                                       ("contact@exa\u200bmple.org", "U+200B", "contact@example.org")])
def test_a_control_character_is_named_and_never_shown_back(client, records, kept, typed, code, shown):
    page = ask(client, typed)
    assert page.status_code == 422
    assert page.text.count(f"L&#39;adresse contient un caractère de contrôle ou invisible ({code})") == 2
    assert f'value="{shown}"' in page.text and typed not in page.text
    assert chr(int(code[2:], 16)) not in page.text, "the character itself never comes back"
    assert requests_waiting(kept) == []


def test_requests_are_limited_to_twenty_an_hour_per_client(client, records):
    replies = [ask(client, f"personne{n}@example.org").status_code for n in range(21)]
    assert replies == [200] * 20 + [429]
    assert "Trop de demandes" in ask(client, "x@example.org").text


def test_mistyped_addresses_do_not_count_against_the_client_limit(client, records, data_dir):
    """A workshop behind one address: its typing mistakes cost no storage and use up no request."""
    mistakes = [ask(client, typed).status_code for typed in ["pas-une-adresse", "", "a@b"] * 10]
    assert mistakes == [422] * 30
    replies = [ask(client, f"personne{n}@example.org").status_code for n in range(21)]
    assert replies == [200] * 20 + [429]


def test_one_address_gets_at_most_three_mails_a_day(app, records, kept):
    address = records[0]["answers"]["contact_email"]
    for number, typed in enumerate([address, address.upper(), address, address, address]):
        reply = app.test_client().post(PAGE, data={"contact_email": typed},
                                       environ_base={"REMOTE_ADDR": f"10.0.0.{number}"})
        assert reply.status_code == 200
    handle_waiting(app, kept)
    assert len(link_mails(kept)) == 3


def test_requests_are_limited_per_ipv6_slash_64_not_per_address(app, records):
    replies = [app.test_client().post(PAGE, data={"contact_email": f"personne{n}@example.org"},
                                      environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{n + 1:x}"}).status_code
               for n in range(21)]
    other_network = app.test_client().post(PAGE, data={"contact_email": "x@example.org"},
                                           environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"})
    assert replies == [200] * 20 + [429] and other_network.status_code == 200


@pytest.mark.parametrize("addresses", [
    [f"2001:db8:1:{number:x}::1" for number in range(102)],  # 102 /64s of one IPv6 /48
    [f"10.0.0.{number}" for number in range(1, 103)],  # 102 addresses of one IPv4 /24
])
def test_a_network_may_send_a_hundred_requests_an_hour_five_clients_worth(app, records, data_dir, addresses):
    replies = [ask_from_the_page(app.test_client(), f"personne{n}@example.org", address).status_code
               for n, address in enumerate(addresses[:101])]
    assert replies == [200] * 100 + [429]
    assert len(requests_waiting(appstate.store(app))) == 100, "nothing stored past the network's limit"
    elsewhere = addresses[101].replace("db8:1:", "db8:2:").replace("10.0.0.", "10.0.1.")
    assert ask_from_the_page(app.test_client(), "x@example.org", elsewhere).status_code == 200


def test_robots_without_the_page_token_never_lock_their_network_out(app, records, kept):
    """Five robots of one /24 post valid addresses without ever loading the page: each is limited
    on its own, and a porteur of the same /24 who loads the page still gets the links."""
    robot = app.test_client()
    for address in [f"192.0.2.{number}" for number in range(2, 7)]:
        replies = [robot.post(PAGE, data={"contact_email": f"robot{n}@{address}.example.org"},
                              environ_base={"REMOTE_ADDR": address}) for n in range(21)]
        assert [reply.status_code for reply in replies] == [200] * 20 + [429], "each robot has its own count"
    refused = answer_text(replies[-1].text)
    assert "Trop de demandes depuis votre connexion." in refused
    assert "depuis la page « Lien de dossier perdu » du site" in refused
    porteur = ask_from_the_page(app.test_client(), records[0]["answers"]["contact_email"], "192.0.2.9")
    assert porteur.status_code == 200 and "Si cette adresse est celle d&#39;un dossier" in porteur.text
    assert len(requests_waiting(kept)) == 101


def test_a_forged_or_expired_token_counts_for_its_client_only_and_is_still_served(app, records, kept, monkeypatch):
    """A person whose page is older than the token's life (or a token tampered with) is never
    taken for a robot: served within the client's own limit, never stopped by the network's."""
    fields = page_fields(app.test_client())
    app.config["TOKEN_MAX_AGE"] = 0  # every token has expired by the time it comes back
    app.extensions["ami_lost_link_tokens"].max_age = 0
    for number in range(100):  # a whole network's share, from the page
        assert ask_from_the_page(app.test_client(), f"p{number}@example.org", f"10.0.0.{number % 5 + 1}",
                                 fields).status_code == 200
    assert ask_from_the_page(app.test_client(), "x@example.org", "10.0.0.9", fields).status_code == 200
    forged = {**fields, "jeton": fields["jeton"][:-2] + "xx"}
    assert ask_from_the_page(app.test_client(), "y@example.org", "10.0.0.10", forged).status_code == 200
    assert len(requests_waiting(kept)) == 102


def test_the_same_page_sent_twice_is_served_twice(app, records, kept):
    """A person who reloads the answer (the same post, the same token again) is served again."""
    client = app.test_client()
    fields = page_fields(client, REMOTE_ADDR="10.0.0.1")
    address = records[0]["answers"]["contact_email"]
    assert [ask_from_the_page(client, address, "10.0.0.1", fields).status_code for _ in range(2)] == [200, 200]
    assert len(requests_waiting(kept)) == 2


def test_one_pages_token_replayed_from_every_client_of_a_network_never_locks_it_out(app, records, kept):
    """A robot loads the page once and sends its token again with many addresses from five
    clients of its /24: the token counts for the network once, the replays for their client
    only, so a porteur of the same /24 who loads the page still gets the links."""
    fields = page_fields(app.test_client(), REMOTE_ADDR="10.0.0.1")
    for client_number in range(1, 6):
        client = f"10.0.0.{client_number}"
        replies = [ask_from_the_page(app.test_client(), f"robot{client_number}-{n}@example.org", client,
                                     fields).status_code for n in range(21)]
        assert replies == [200] * 20 + [429], "each client keeps its own count"
    porteur = ask_from_the_page(app.test_client(), records[0]["answers"]["contact_email"], "10.0.0.9")
    assert porteur.status_code == 200 and "Si cette adresse est celle d&#39;un dossier" in porteur.text
    assert len(requests_waiting(kept)) == 101


def test_tokens_loaded_from_another_network_count_for_their_client_only(app, records, kept):
    """A hundred pages loaded elsewhere, each token sent once from a client of one /24, leave
    that /24's share whole: a token counts for the network it was loaded from."""
    loaded_elsewhere = [page_fields(app.test_client(), REMOTE_ADDR="192.0.2.1") for _ in range(100)]
    for number, fields in enumerate(loaded_elsewhere):
        assert ask_from_the_page(app.test_client(), f"robot{number}@example.org", f"10.0.0.{number % 5 + 1}",
                                 fields).status_code == 200
    porteur = ask_from_the_page(app.test_client(), records[0]["answers"]["contact_email"], "10.0.0.9")
    assert porteur.status_code == 200
    assert len(requests_waiting(kept)) == 101


def test_a_filled_honeypot_gets_the_same_answer_stores_nothing_and_counts_for_its_client_only(app, records, kept):
    fields = {**page_fields(app.test_client()), "site_web": "http://spam.example"}
    known = records[0]["answers"]["contact_email"]
    for number in range(20):
        reply = ask_from_the_page(app.test_client(), known, f"10.0.0.{number % 5 + 1}", fields)
        assert reply.status_code == 200 and "Si cette adresse est celle d&#39;un dossier" in reply.text
    assert requests_waiting(kept) == [], "nothing stored"
    assert ask_from_the_page(app.test_client(), known, "10.0.0.9").status_code == 200
    assert len(requests_waiting(kept)) == 1


def fill_waiting_requests(data_dir, count):
    """`count` requests waiting for a mailer, as the page leaves them (without their fsyncs: faster)."""
    folder = os.path.join(data_dir, REQUESTS_DIR)
    os.makedirs(folder, exist_ok=True)
    for number in range(count):
        with open(os.path.join(folder, f"{number:032x}.json"), "w", encoding="utf-8") as handle:
            handle.write('{"address": "quelquun%d@example.org", "at": "2021-04-15T08:00:00+00:00"}' % number)


@ON_THE_DATA_FOLDER  # the request files
def test_past_a_thousand_waiting_requests_the_page_asks_to_come_back_and_stores_nothing(app, client, records,
                                                                                        data_dir):
    """Many addresses together (each within its limits) fill neither the disk nor the mailer's round."""
    fill_waiting_requests(data_dir, MAX_WAITING)
    address = records[0]["answers"]["contact_email"]
    refused = ask(client, address)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "300"
    shown = answer_text(refused.text)
    assert "Votre demande n&#39;a pas pu être enregistrée pour le moment : aucun e-mail ne partira." in shown
    assert "Réessayez dans" in shown and "quelques minutes" in shown and "contacts de l&#39;AMI" in shown
    assert len(request_files(data_dir)) == MAX_WAITING, "nothing stored"
    for number in range(3):  # the mailer took three up
        os.unlink(os.path.join(data_dir, REQUESTS_DIR, f"{number:032x}.json"))
    assert [ask(client, address).status_code for _ in range(3)] == [200] * 3
    assert len(request_files(data_dir)) == MAX_WAITING, "the refusal used none of the address's three a day"


@ON_THE_DATA_FOLDER  # the request files
def test_a_requests_folder_that_cannot_be_read_gives_the_french_503_never_a_500(client, records, data_dir):
    with open(os.path.join(data_dir, REQUESTS_DIR), "w", encoding="utf-8") as handle:
        handle.write("a file where the folder should be")
    reply = ask(client, records[0]["answers"]["contact_email"])
    assert reply.status_code == 503 and "aucun e-mail ne partira" in reply.text


@ON_THE_DATA_FOLDER
def test_the_mailer_finds_the_same_dossiers_with_the_review_index_as_without(app, client, records, data_dir):
    from collector import appstate
    from collector.review.indexing import app_index
    from .test_corrections import corrected, send_correction

    address = records[2]["answers"]["contact_email"]
    send_correction(client, corrected(records[0], contact_email=address.upper()))  # a second dossier, by correction
    send_correction(client, corrected(records[1], contact_email="ailleurs@example.org"), "AMI-2021-0002")  # one leaves it
    app_index(app).rebuild()
    lookup = appstate.email_lookup(app)  # what the mailer command is given
    with app.app_context():
        assert lookup(address) == ["AMI-2021-0001", "AMI-2021-0003"]
        assert lookup("personne@example.org") == []
        for typed in (address, records[1]["answers"]["contact_email"], "ailleurs@example.org"):
            assert references_of(data_dir, typed, lookup) == references_of(data_dir, typed)
    os.unlink(app_index(app).path)
    with app.app_context():
        assert lookup(address) is None, "no index: every record is read"


def test_a_request_stored_while_no_mailer_runs_is_handled_when_one_starts(app, client, records, data_dir, kept,
                                                                         store_env, tmp_path):
    from tests.review.mailer_process import mailer
    from tests.review.smtp import smtp_server
    from tests.review.test_mail_end_to_end import collector_env

    address = records[0]["answers"]["contact_email"]
    ask(client, address)
    with smtp_server() as inbox:
        env = {**collector_env(data_dir, inbox.port, retry="60"), "COLLECTOR_SECRET_KEY": SECRET, **store_env}
        with mailer(env, str(tmp_path)):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not [item for item in inbox.messages
                                                       if item.message["Subject"].startswith("Lien de votre dossier")]:
                time.sleep(0.1)
    [sent] = [item for item in inbox.messages if item.message["Subject"].startswith("Lien de votre dossier")]
    assert sent.recipients == [address] and requests_waiting(kept) == []


def test_a_post_from_another_site_is_refused_naming_the_page_and_leading_back_to_it(client, records, kept):
    reply = ask(client, records[0]["answers"]["contact_email"], Origin="https://ailleurs.example")
    assert reply.status_code == 403
    assert outbox(kept) == [] and requests_waiting(kept) == []
    shown = answer_text(reply.text)
    assert "ouvrez la page « Lien de dossier perdu » du site" in shown
    assert f'<a href="{PAGE}">Revenir à la page « Lien de dossier perdu »</a>' in shown
    assert "Revenir au formulaire" not in shown


@ON_THE_DATA_FOLDER
def test_odd_files_among_the_requests_never_block_or_stop_the_mailer(app, client, records, data_dir):
    folder = os.path.join(data_dir, REQUESTS_DIR)
    os.makedirs(folder)
    os.mkfifo(os.path.join(folder, "a" * 32 + ".json"))  # opening it for reading would wait for a writer
    os.mkdir(os.path.join(folder, "b" * 32 + ".json"))
    with open(os.path.join(folder, "c" * 32 + ".json"), "w", encoding="utf-8") as handle:
        handle.write("{not json")
    ask(client, records[0]["answers"]["contact_email"])
    assert handle_waiting(app, data_dir) == 1
    assert request_files(data_dir) == ["b" * 32 + ".json"], "only what cannot be removed is left, for a person"


def test_a_request_no_mailer_handled_within_a_week_is_removed_unhandled(app, client, records, kept):
    address = records[1]["answers"]["contact_email"]
    ask(client, address)
    later = datetime.now(timezone.utc) + MAX_AGE + timedelta(minutes=1)
    assert handle_waiting(app, kept, now=later) == 0
    assert requests_waiting(kept) == [] and link_mails(kept) == [], "removed, nothing mailed"
    ask(client, address)
    assert handle_waiting(app, kept, now=later - timedelta(minutes=2)) == 1, "within the week, mailed"


@ON_THE_DATA_FOLDER
def test_purge_removes_the_requests_older_than_a_week_and_keeps_the_others(app, client, records, data_dir):
    ask(client, records[1]["answers"]["contact_email"])
    [recent] = request_files(data_dir)
    old = "f" * 32 + ".json"
    made = (datetime.now(timezone.utc) - MAX_AGE - timedelta(minutes=1)).isoformat(timespec="seconds")
    with open(os.path.join(data_dir, REQUESTS_DIR, old), "w", encoding="utf-8") as handle:
        handle.write(f'{{"address": "ancien@example.org", "at": "{made}"}}')
    purged = app.test_cli_runner().invoke(args=["purge", "--today", "2021-06-01"])
    assert purged.exit_code == 0, purged.output
    assert "1 demande(s) de lien de dossier non traitée(s) depuis plus de 7 jours supprimée(s)." in purged.stdout
    assert request_files(data_dir) == [recent]
    simulated = app.test_cli_runner().invoke(args=["purge", "--dry-run", "--today", "2021-06-01"])
    assert "demande(s) de lien" not in simulated.stdout and request_files(data_dir) == [recent]


def test_the_page_is_offered_by_the_quiet_thanks_page_and_by_a_broken_dossier_link(client, records):
    assert f'<a href="{PAGE}">Recevez-le à nouveau par e-mail</a>' in client.get("/candidater/merci/").text
    for broken_link in (link("AMI-2021-0001")[:-2], link("AMI-2021-0001", "corriger")[:-2]):
        broken = client.get(broken_link)
        assert broken.status_code == 404 and f'<a href="{PAGE}">' in broken.text
    offered = client.get(PAGE)  # F9: on PostgreSQL the page offered was refused (503)
    assert offered.status_code == 200 and 'name="contact_email"' in offered.text
