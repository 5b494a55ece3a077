"""What reviewers reach for: search, sort, pages of 50, previous/next, the detail page's order,
contact links, flags in words, and the dashboard with its charts and tables."""

from __future__ import annotations

import html as htmllib
import re
import xml.etree.ElementTree as ElementTree

import pytest

from tests.review.factory import write_records

SVG = "{http://www.w3.org/2000/svg}"


def text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def listed(html: str) -> list[str]:
    """References of the list's rows, in order."""
    return re.findall(r'<th scope="row"><a href="/instruction/(AMI-[0-9-]+)[?"]', html)


@pytest.fixture
def sixty(data_dir, form):
    return write_records(data_dir, 60, form)


def test_pages_of_fifty_say_which_rows_they_show(logged_in, sixty):
    first = text(logged_in.get("/instruction/"))
    assert "Candidatures 1–50 sur 60" in first
    assert listed(first) == [r["reference"] for r in sixty[:50]]
    second = text(logged_in.get("/instruction/?page=2"))
    assert "Candidatures 51–60 sur 60" in second and listed(second) == [r["reference"] for r in sixty[50:]]
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_thousands_are_written_the_french_way(logged_in, data_dir, form):
    from collector.review.listing import page_of

    assert page_of("3", 1234).range_text == "101–150 sur 1\u202f234"


def test_search_by_reference_structure_or_email(logged_in, sixty):
    assert listed(text(logged_in.get("/instruction/?q=AMI-2021-0042"))) == ["AMI-2021-0042"]
    assert listed(text(logged_in.get("/instruction/?q=%22Structure+num%C3%A9ro+17%22"))) == ["AMI-2021-0017"]
    assert listed(text(logged_in.get("/instruction/?q=CONTACT23%40exemple.fr"))) == ["AMI-2021-0023"]
    page = text(logged_in.get("/instruction/?q=introuvable"))
    assert "Aucune candidature ne correspond à cette recherche ou à ces filtres." in page


def test_sort_newest_first_and_by_structure(logged_in, sixty):
    newest = listed(text(logged_in.get("/instruction/?tri=date-recente")))
    assert newest[:2] == ["AMI-2021-0060", "AMI-2021-0059"]
    by_name = listed(text(logged_in.get("/instruction/?tri=structure")))
    assert by_name[:3] == ["AMI-2021-0001", "AMI-2021-0010", "AMI-2021-0011"]  # « Structure numéro 1, 10, 11… »
    assert '<option value="structure" selected>' in text(logged_in.get("/instruction/?tri=structure"))


def test_an_unknown_sort_or_page_falls_back_without_error(logged_in, sixty):
    for query in ("tri=%3Cscript%3E", "page=abc", "page=-4", "page=99999", "q=" + "x" * 5000):
        assert logged_in.get(f"/instruction/?{query}").status_code == 200


def test_previous_and_next_walk_the_current_list(logged_in, sixty):
    page = text(logged_in.get("/instruction/?tri=date-recente"))
    assert 'href="/instruction/AMI-2021-0060?tri=date-recente"' in page
    detail = text(logged_in.get("/instruction/AMI-2021-0059?tri=date-recente"))
    assert 'href="/instruction/AMI-2021-0060?tri=date-recente" rel="prev"' in detail
    assert 'href="/instruction/AMI-2021-0058?tri=date-recente" rel="next"' in detail
    assert "Dossier 2 sur 60" in detail
    last = logged_in.get("/instruction/AMI-2021-0008?tri=date-recente").get_data(as_text=True)
    assert 'href="/instruction/?tri=date-recente&amp;page=2">Retour à la liste' in last  # the page it is on


def test_a_decision_keeps_the_reviewer_in_the_same_list(logged_in, sixty):
    from tests.review.conftest import csrf_of

    page = logged_in.get("/instruction/AMI-2021-0010?q=Structure")
    response = logged_in.post("/instruction/AMI-2021-0010/statut?q=Structure", data={
        "csrf_token": csrf_of(page.text), "statut": "en_instruction", "statut_actuel": "recu"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/instruction/AMI-2021-0010?q=Structure#confirmation")


def test_the_detail_page_gives_answers_then_history_then_decisions(logged_in, sixty, form):
    page = text(logged_in.get("/instruction/AMI-2021-0005"))
    order = [page.index(f"<h2>{title}</h2>") for title in ("Réponses", "Historique", "Décision", "Ajouter une note")]
    assert order == sorted(order)
    answers = sixty[4]["answers"]
    assert f'<a href="mailto:{answers["contact_email"]}">{answers["contact_email"]}</a>' in page
    assert re.search(r'<a href="tel:\+33\d{9}">' + re.escape(answers["contact_telephone"]) + "</a>", page)


def test_flags_are_worded_the_same_in_the_list_the_detail_and_the_commands(logged_in, put_records, runner, sixty):
    put_records(1, start=70, contact_email=sixty[2]["answers"]["contact_email"])
    visible = lambda html: re.sub(r"<[^>]+>", " ", html)  # noqa: E731 - words a reader sees, not attributes
    listing = visible(text(logged_in.get("/instruction/?q=AMI-2021-0070")))
    detail = visible(text(logged_in.get("/instruction/AMI-2021-0070")))
    command = runner.invoke(args=["list"]).stdout
    for output in (listing, detail, command):
        assert "e-mail en double" in output and "doublon_email" not in output and "doublon email" not in output
    filtered = listed(text(logged_in.get("/instruction/?signalement=doublon_email")))
    assert filtered == ["AMI-2021-0003", "AMI-2021-0070"]


def test_the_dashboard_shows_each_chart_with_its_table(logged_in, sixty, form):
    page = text(logged_in.get("/instruction/tableau-de-bord"))
    for name in ("arrivees", "departements", "thematiques", "types", "statuts"):
        assert f'src="/instruction/tableau-de-bord/{name}.svg"' in page
    assert "<script" not in page
    calvados = sum(r["derived"]["departement"]["code"] == "14" for r in sixty)
    assert f'<tr><th scope="row">Calvados (14)</th><td>{calvados}</td></tr>' in page
    assert f'<tr><th scope="row">reçu</th><td>{len(sixty)}</td></tr>' in page
    # arrivals, cumulative, from the opening (29/03) to today (AMI_NOW: 15/04/2021)
    assert '<tr><th scope="row">29/03/2021</th>' in page
    received_by_15 = sum(r["received_at"][:10] <= "2021-04-15" for r in sixty)
    assert f'<tr><th scope="row">15/04/2021</th><td>{received_by_15}</td></tr>' in page
    assert "16/04/2021" not in page.split("Candidatures par département")[0]


@pytest.mark.parametrize("name", ["arrivees", "departements", "thematiques", "types", "statuts"])
def test_each_chart_is_an_svg_image_without_script(logged_in, sixty, name):
    response = logged_in.get(f"/instruction/tableau-de-bord/{name}.svg")
    assert response.status_code == 200
    assert response.content_type.startswith("image/svg+xml")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script" not in policy
    root = ElementTree.fromstring(response.get_data())
    assert root.tag == f"{SVG}svg"
    assert not list(root.iter(f"{SVG}script"))
    assert b"http://" not in response.get_data().replace(b"http://www.w3.org/", b"")


def test_an_unknown_chart_is_a_french_404(logged_in, sixty):
    assert logged_in.get("/instruction/tableau-de-bord/inconnu.svg").status_code == 404
