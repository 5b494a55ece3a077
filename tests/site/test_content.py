"""Every fact of the call's text is on its page, in French, rendered from one source."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import pytest

from .htmltext import Page

SEED_CONTACTS = [
    # (name as in the call's text, phone as written, international href, e-mail)
    ("Anne Houlette", "02 14 47 62 22", "tel:+33214476222", "anne.houlette@normandie.fr"),
    ("Laure Brainville", "02 14 47 62 70", "tel:+33214476270", "laure.brainville@normandie.fr"),
    ("Claire-Marie Cavaco", "02 31 06 79 07", "tel:+33231067907", "claire-marie.cavaco@normandie.fr"),
]


def page(site, relative: str) -> Page:
    return Page(site.read(relative))


@pytest.mark.parametrize(("relative", "expected"), [
    ("strategie-numerique-normande/index.html", [
        "Espaces Publics Numériques (EPN)", "Tiers-lieux Normandie", "Réseau des Espaces Ressources pour le Numérique",
        "très Haut Débit", "coworking", "FabLab"]),
    ("pourquoi-cet-ami/index.html", [
        "13 millions de Français", "(16 %)", "17,6 % d'après la variable âge", "20,5 % d'après la variable niveau d'études",
        "enquête Capacity", "GIS Marsouin, mars 2017", "World Internet Project", "crise sanitaire"]),
    ("a-qui-s-adresse-l-ami/index.html", [
        "à l'exception des personnes physiques", "collectivités", "associations", "entreprises",
        "Espace public numérique", "Tiers-lieux numérique", "Inclusion numérique", "FabLabs", "Espace de coworking",
        "Télétravail", "Innovation numérique", "Animation numérique", "démarche partenariale", "ancrage territorial"]),
    ("pourquoi-repondre/index.html", [
        "non sélective et non obligatoire", "accompagnement en ingénierie", "« au fil de l'eau »",
        "dans le cadre d'un appel à projets", "fonds européens FEDER", "aide à la communication", "valorisation"]),
    ("modalites-de-reponse/index.html", ["formulaire de réponse", "Une rencontre pourra être proposée"]),
    ("calendrier/index.html", [
        "Lancement de la consultation lundi 29 mars 2021", "Date limite des réponses vendredi 28 mai 2021 à 23 h 59",
        "Analyse des retours et échanges juin 2021", "Retour aux répondants début juillet 2021"]),
    ("contacts/index.html", ["Direction de l'Aménagement Numérique"]),
    ("mentions-legales/index.html", ["Éditeur du site", "Région Normandie", "Directeur de la publication", "Hébergeur"]),
    ("donnees-personnelles/index.html", [
        "Responsable du traitement", "Finalité", "mission d'intérêt public", "article 6, paragraphe 1, point e, du RGPD",
        "Destinataires", "36 mois", "droit d'accès, de rectification, d'effacement", "Délégué à la protection des données",
        "dpo@normandie.fr", "CNIL", "ne repose donc pas sur votre consentement",
        "la case à cocher du formulaire atteste seulement que vous avez pris connaissance de la présente notice",
        "vos réponses sont gardées dans ce navigateur seulement", "7 jours après votre dernière saisie",
        "« Effacer le brouillon »", "Sur un ordinateur partagé",
        "n'enregistrez pas non plus le lien de votre dossier dans les favoris"]),
    ("accessibilite/index.html", [
        "Ce site est non conforme avec le référentiel général d'amélioration de l'accessibilité (RGAA 4.1) : "
        "aucun audit de conformité n'a encore été réalisé", "Plan d'amélioration", "RGAA 4.1",
        "Contenus non accessibles", "Voies de recours", "Défenseur des droits"]),
    ("candidater/index.html", [
        "J'ai pris connaissance de la notice relative aux données personnelles. (obligatoire)",
        "au titre de sa mission d'intérêt public (RGPD, article 6, paragraphe 1, point e)",
        "elle ne vaut pas consentement"]),
])
def test_each_page_states_the_calls_facts(site, relative, expected):
    text = page(site, relative).text
    missing = [fact for fact in expected if fact not in text]
    assert not missing, f"{relative} lacks {missing}"


def test_the_privacy_notice_says_what_the_purge_and_the_form_do(site):
    """The retention counts from each dossier's receipt (as `purge` does: tests/stores/test_purge.py),
    the draft is said to go only when a script can remove it, and the form names the privacy page's recipients."""
    notice = page(site, "donnees-personnelles/index.html").text
    form = page(site, "candidater/index.html").text
    assert "36 mois (à confirmer par la Région) à compter de la réception de votre réponse" in notice
    assert "après la clôture de l'AMI, puis" not in notice
    assert "il est alors effacé la prochaine fois que le formulaire est ouvert dans ce navigateur" in notice
    assert "à la clôture de l'appel, ou quand" not in notice, "no script runs at the closing to erase a draft"
    assert "conservées 36 mois après leur réception" in form
    recipients = "services de la Région qui instruisent les aides"
    assert recipients in notice and recipients in form


def test_the_legal_pages_name_the_one_cookie_and_the_lost_link_requests_as_the_code_keeps_them(site):
    """The collector sets a cookie after a post and keeps lost-link requests for a while: the notices say so,
    with the figures the code uses (collector/kept_briefly.py), and never claim « ni traceur » outright."""
    from collector import kept_briefly
    from collector.link_requests import MAX_AGE
    from collector.porteur.same_browser import COOKIE, MAX_AGE as COOKIE_SECONDS

    notice = " ".join(page(site, "donnees-personnelles/index.html").text.split())
    assert f"« {COOKIE} », gardé {COOKIE_SECONDS // 3600} heures" in notice
    assert f"et {MAX_AGE.days} jours au plus si l'envoi n'a pas pu se faire" in notice
    assert (COOKIE, MAX_AGE.days) == (kept_briefly.SAME_BROWSER_COOKIE, kept_briefly.LOST_LINK_REQUEST_DAYS)
    legal = " ".join(page(site, "mentions-legales/index.html").text.split())
    assert "ni traceur," not in legal and "Le seul témoin (cookie) déposé" in legal


def test_the_privacy_notice_lists_what_a_purge_or_an_erasure_removes(site):
    """What `purge` and `purge --reference` forget (tests/stores/test_purge_leaves_nothing.py)."""
    notice = " ".join(page(site, "donnees-personnelles/index.html").text.split())
    for part in ("vos réponses et leurs corrections", "notes des agents", "vos échanges avec la Région",
                 "les rencontres proposées", "tous les e-mails le concernant, en attente ou déjà envoyés",
                 "les demandes « Lien de dossier perdu » encore en attente pour son adresse de contact",
                 "Une demande d'effacement accordée supprime de même votre dossier"):
        assert part in notice, part


def test_the_legal_notices_give_the_hosts_telephone_and_the_statement_names_javascript(site):
    legal = page(site, "mentions-legales/index.html").text
    host = legal[legal.index("Hébergeur"):]
    assert "Téléphone : 02 31 06 98 98" in host
    statement = page(site, "accessibilite/index.html").text
    assert "Technologies utilisées : HTML5, CSS et JavaScript" in statement


def test_the_figures_page_has_three_numbered_objectives_and_the_footnote_source(site):
    html = site.read("pourquoi-cet-ami/index.html")
    objectives = html.split("Les trois objectifs de l'AMI</h2>", 1)[1].split("</ol>", 1)[0]
    assert objectives.count("<li>") == 3
    assert 'class="footnote"' in html  # the footnote is a real, linked note
    assert "Revenir à l'appel de note 1 dans le texte" in html and "Jump back" not in html


def test_contacts_have_tel_and_mailto_links(site):
    contacts = page(site, "contacts/index.html")
    for name, phone, href, email in SEED_CONTACTS:
        assert name in contacts.text
        assert f'<a href="{href}">{phone}</a>' in contacts.html
        assert f'<a href="mailto:{email}">{email}</a>' in contacts.html


def test_contacts_lead_a_porteur_who_lost_the_dossier_link_to_the_lost_link_page(site):
    contacts = page(site, "contacts/index.html")
    assert '<a href="/candidater/dossier-perdu/">Recevez-le à nouveau par e-mail</a>' in contacts.html
    assert "perdu le lien de votre dossier" in contacts.text


def test_the_home_page_says_what_when_and_how_in_three_sentences(site):
    home = page(site, "index.html")
    assert "appel à manifestation d'intérêt" in home.text
    assert "L'appel est ouvert : il reste 43 jours pour répondre, jusqu'au vendredi 28 mai 2021 à 23 h 59" in home.text
    assert home.link_to("/candidater/")
    assert 'class="button" href="/candidater/"' in home.html


def test_the_calendar_is_an_ordered_list_with_machine_readable_dates_and_the_ics(site):
    html = site.read("calendrier/index.html")
    timeline = html.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    assert timeline.count("<li") == 4
    for stamp in ('datetime="2021-03-29"', 'datetime="2021-05-28T23:59:59+02:00"', 'datetime="2021-06"', 'datetime="2021-07"'):
        assert stamp in timeline
    assert 'aria-current="step" id="etape-date-limite"' in timeline  # 15 April: answering, up to the deadline
    assert Page(html).link_to("/calendrier/ami-usages-numeriques-2021.ics")


@pytest.mark.parametrize(("relative", "fact"), [
    ("mentions-legales/index.html", "Le président du Conseil régional de Normandie"),
    ("mentions-legales/index.html", "Région Normandie, Direction des systèmes d'information"),
    ("donnees-personnelles/index.html", "36 mois"),
    ("donnees-personnelles/index.html", "Délégué à la protection des données de la Région Normandie"),
    ("accessibilite/index.html", "lundi 15 mars 2021"),
])
def test_unconfirmed_facts_are_visibly_marked(site, relative, fact):
    text = page(site, relative).text
    position = text.index(fact)
    assert "(à confirmer par la Région)" in text[position:position + len(fact) + 60]


def test_every_page_has_one_h1_french_lang_and_the_footer_links(site):
    for relative in site.pages():
        doc = Page(site.read(relative))
        assert len(doc.all("h1")) == 1, relative
        assert doc.all("html")[0].get("lang") == "fr", relative
        for href in ("/mentions-legales/", "/donnees-personnelles/", "/accessibilite/", "/plan-du-site/"):
            assert doc.link_to(href), f"{relative} has no footer link to {href}"
        assert "Accessibilité : non conforme" in doc.text, relative
        assert "partiellement conforme" not in doc.text and "j'accepte" not in doc.text.lower(), relative


def test_no_page_shows_a_missing_value_as_none(site):
    """A question without a hint, an unset fact: nothing reads « None » to the public."""
    for relative in site.pages():
        assert not re.search(r"\bNone", Page(site.read(relative)).text), relative


def test_navigation_marks_the_current_page(site):
    calendar = site.read("calendrier/index.html")
    assert '<a href=/calendrier/ aria-current=page>' in calendar
    assert calendar.count('aria-current=page') == 1  # one menu, shown folded on a phone


def test_only_the_home_page_marks_accueil_as_current(site):
    assert '<a href=/ aria-current=page>Accueil</a>' in site.read("index.html")
    for relative in site.pages():
        if relative != "index.html":
            assert '<a href=/ aria-current=page>' not in site.read(relative), relative


def test_the_preview_banner_names_the_previewed_date(site):
    for relative in site.pages():
        assert "Aperçu" in Page(site.read(relative)).text, relative
    assert "jeudi 15 avril 2021 à 10 h 00" in page(site, "index.html").text


def test_no_inline_style_or_script_and_no_javascript_outside_the_form(site):
    for relative in site.pages():
        doc = Page(site.read(relative))
        assert not doc.all("style"), relative
        assert not any("style" in attrs for _tag, attrs in doc.tags), relative
        scripts = doc.all("script")
        if relative == "candidater/index.html":
            assert all(s.get("src", "").endswith("/theme/js/form.js") for s in scripts), scripts
        else:
            assert not scripts, relative


def test_one_stylesheet_and_no_favicon_request(site):
    for relative in site.pages():
        links = Page(site.read(relative)).all("link")
        # the form page's stylesheet is site.css less the reading pages' rules (test_minify.py)
        stylesheet = "/theme/css/form.css" if relative == "candidater/index.html" else "/theme/css/site.css"
        assert [l["href"] for l in links if l.get("rel") == "stylesheet"] == [stylesheet], relative
        assert {"rel": "icon", "href": "data:,"} in links, relative


def test_news_has_the_launch_article_and_an_atom_feed(site):
    article = page(site, "actualites/lancement-de-l-ami/index.html")
    assert "Lancement de l'AMI « Usages numériques »" in article.text
    assert "lundi 29 mars 2021" in article.text
    assert page(site, "actualites/index.html").link_to("/actualites/lancement-de-l-ami/")
    feed = ET.fromstring(site.read("actualites/atom.xml"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [entry.findtext("a:title", namespaces=ns) for entry in feed.findall("a:entry", ns)]
    assert titles == ["Lancement de l'AMI « Usages numériques »"]


def test_only_the_news_feed_is_built(site):
    feeds = [os.path.join(d, f) for d, _s, files in os.walk(site.output) for f in files if f.endswith((".atom.xml", ".rss.xml", "atom.xml"))]
    assert [os.path.relpath(f, site.output) for f in feeds] == ["actualites/atom.xml"]


def test_sitemap_lists_every_page_but_the_404_and_robots_points_to_it(site):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = [loc.text for loc in ET.fromstring(site.read("sitemap.xml")).findall("s:url/s:loc", ns)]
    expected = ["https://ami-usages-numeriques.normandie.fr/" + p.removesuffix("index.html")
                for p in site.pages() if p != "404.html"]
    assert sorted(locations) == sorted(expected)
    robots = site.read("robots.txt")
    assert "Sitemap: https://ami-usages-numeriques.normandie.fr/sitemap.xml" in robots
    assert "Disallow: /instruction/" in robots


def test_the_404_page_uses_root_links_so_it_works_at_any_depth(site):
    doc = page(site, "404.html")
    assert "Page introuvable" in doc.text
    assert all(h.startswith(("/", "#", "data:", "http", "mailto:", "tel:")) for h in doc.hrefs())


def test_plan_du_site_links_every_page(site):
    plan = page(site, "plan-du-site/index.html")
    for relative in site.pages():
        if relative in {"404.html"}:
            continue
        assert plan.link_to("/" + relative.removesuffix("index.html")), relative


def test_the_data_files_are_not_published(site):
    published = [f for _d, _s, files in os.walk(site.output) for f in files]
    assert not [f for f in published if f.endswith((".yaml", ".yml", ".md"))]
