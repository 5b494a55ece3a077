"""PyYAML's syntax errors, said in French with a hint at the usual cause.

PyYAML reports a `problem` in English (`mapping values are not allowed here`); the facts
and the form definition are edited by people who read French, so each known problem is
translated, and any other one is given in French words with PyYAML's own text beside it.
"""

from __future__ import annotations

import re

_PROBLEMS: list[tuple[re.Pattern[str], str]] = [(re.compile(pattern), french) for pattern, french in [
    (r"^mapping values are not allowed (here|in this context)",
     "deux-points inattendu : une valeur qui contient « : » s'écrit entre guillemets"),
    (r"^could not find expected ':'", "deux-points manquant après une clé"),
    (r"^did not find expected key", "clé attendue à cet endroit : vérifiez l'indentation (espaces) de la ligne"),
    (r"^did not find expected '-' indicator", "élément de liste attendu (« - ») : vérifiez l'indentation"),
    (r"^(did not find )?expected ',' or '\]'", "liste entre crochets non fermée : il manque « ] » ou une virgule"),
    (r"^(did not find )?expected ',' or '\}'", "accolades non fermées : il manque « } » ou une virgule"),
    (r"^did not find expected node content", "valeur attendue à cet endroit"),
    (r"^expected <block end>, but found", "indentation incohérente : alignez la ligne sur celles de même niveau"),
    (r"^found character .*that cannot start any token",
     "caractère interdit à cet endroit (une tabulation ? indentez avec des espaces ; sinon, mettez la valeur entre guillemets)"),
    (r"^found unexpected end of stream", "fin du fichier inattendue : un guillemet n'est pas refermé"),
    (r"^found unknown escape character", "séquence « \\ » inconnue entre guillemets doubles : doublez la barre oblique ou utilisez des guillemets simples"),
    (r"^found undefined alias", "alias (*nom) qui ne renvoie à aucune ancre (&nom)"),
    (r"^found duplicate anchor", "ancre (&nom) définie deux fois"),
    (r"^found unexpected ':'", "deux-points inattendu : mettez la valeur entre guillemets"),
    (r"^expected a comment or a line break", "texte inattendu après une valeur : mettez toute la valeur entre guillemets"),
    (r"^found a tab character", "tabulation interdite : indentez avec des espaces"),
]]


def french_problem(problem: str | None) -> str:
    """The French for one PyYAML problem (its English text kept when it is not a known one)."""
    text = (problem or "").strip()
    for pattern, french in _PROBLEMS:
        if pattern.search(text):
            return french
    return f"syntaxe YAML incorrecte ({text})" if text else "syntaxe YAML incorrecte"
