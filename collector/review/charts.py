"""Charts of the submissions, drawn on the server as SVG with pygal (no JavaScript needed).

Each chart is a `Chart`: a title, a description for the `alt` text, and its figures as
(label, value) pairs, which the dashboard also shows as a table (the accessible version).
`svg()` draws it. pygal writes a small configuration script into its SVG for its
optional tooltips; it is removed: the SVG is shown as an image, where nothing runs anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

BRAND = "#1F4E79"
STYLE_OPTIONS = dict(
    background="#ffffff", plot_background="#ffffff", foreground="#1b1b1b", foreground_strong="#1b1b1b",
    foreground_subtle="#5a5a5a", colors=(BRAND,), font_family="system-ui, -apple-system, 'Segoe UI', Roboto, "
    "'DejaVu Sans', Arial, sans-serif", title_font_size=18, label_font_size=13, major_label_font_size=13,
    value_font_size=13, value_label_font_size=13, tooltip_font_size=13, opacity="1", opacity_hover="1",
    value_colors=("#ffffff",),
)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)


@dataclass(frozen=True)
class Chart:
    name: str           # in the URL: /instruction/tableau-de-bord/<name>.svg
    title: str          # the figure's caption and the table's caption
    column: str         # the table's first column header
    rows: tuple[tuple[str, int], ...]
    kind: str = "bars"  # "bars" (horizontal) or "line" (cumulative arrivals)
    value_column: str = "Candidatures"

    @property
    def description(self) -> str:
        """The alt text: what the chart shows, and where its figures are."""
        if not self.rows:
            return f"{self.title} : aucune candidature."
        if self.kind == "line":
            last_label, last = self.rows[-1]
            return (f"{self.title} : courbe du nombre cumulé de candidatures, {last} au {last_label}. "
                    "Les chiffres de chaque jour sont dans le tableau qui suit.")
        top_label, top = max(self.rows, key=lambda row: row[1])
        return (f"{self.title} : barres horizontales, la plus longue pour « {top_label} » ({top}). "
                "Les chiffres sont dans le tableau qui suit.")


def bars(name: str, title: str, column: str, counts: Mapping[str, int], label=str, order: Iterable[str] | None = None) -> Chart:
    """A bar chart of counts, largest first (or in `order`), with labels in French."""
    keys = [key for key in order if counts.get(key)] if order is not None else sorted(
        counts, key=lambda key: (-counts[key], label(key)))
    return Chart(name, title, column, tuple((label(key), int(counts[key])) for key in keys))


def cumulative_arrivals(name: str, title: str, per_day: Mapping[str, int], opens: date, closes: date,
                        today: date) -> Chart:
    """Submissions received up to each day, from the opening to the deadline (or to today, if earlier)."""
    last = min(closes, max(today, opens))
    total, rows = 0, []
    before = sum(count for day, count in per_day.items() if day < opens.isoformat())
    total += before
    day = opens
    while day <= last:
        total += per_day.get(day.isoformat(), 0)
        rows.append((f"{day:%d/%m/%Y}", total))
        day += timedelta(days=1)
    return Chart(name, title, "Jour", tuple(rows), kind="line", value_column="Candidatures reçues depuis l'ouverture")


def svg(chart: Chart) -> str:
    """The chart as a standalone SVG document (no script, no external resource)."""
    import pygal  # here, not at the top: it takes a third of a second, which every process start would pay
    from pygal.style import Style

    options = dict(style=Style(**STYLE_OPTIONS), js=[], disable_xml_declaration=True, show_legend=False, print_values=False,
                   width=760, explicit_size=True, margin=16, truncate_label=-1, show_y_guides=True)
    if chart.kind == "line":
        drawing = pygal.Line(height=360, x_label_rotation=0, show_minor_x_labels=False, fill=True, dots_size=2,
                             x_labels_major_every=max(1, len(chart.rows) // 6), **options)
    else:
        drawing = pygal.HorizontalBar(height=max(160, 60 + 34 * len(chart.rows)), print_values=True,
                                      **{k: v for k, v in options.items() if k != "print_values"})
    drawing.title = chart.title
    # pygal draws horizontal bars from the bottom up: reversed, the first row is on top.
    rows = chart.rows if chart.kind == "line" else tuple(reversed(chart.rows))
    drawing.x_labels = [label for label, _value in rows]
    drawing.add(chart.value_column, [value for _label, value in rows])
    text = drawing.render(is_unicode=True)
    return _COMMENT.sub("", _SCRIPT.sub("", text))


def dashboard_charts(counts: Mapping[str, Mapping[str, int]], form, facts: Mapping, today: date) -> list[Chart]:
    """The dashboard's charts, from `RecordIndex.count_by()`: arrivals, département, thématique, type, status."""
    from ..departements import NAMES
    from ..statuses import STATUSES, status_label

    def choice(field: str):
        return lambda code: "inconnu" if code == "inconnu" else form.choice_label(field, code)

    calendar = facts["calendar"]
    return [
        cumulative_arrivals("arrivees", "Candidatures reçues, cumulées jour après jour jusqu'à la date limite",
                            counts["jour"], calendar["opens_at"].date(), calendar["closes_at"].date(), today),
        bars("departements", "Candidatures par département", "Département", counts["departement"],
             lambda code: f"{NAMES[code]} ({code})" if code in NAMES else "non déterminé"),
        bars("thematiques", "Candidatures par thématique (une candidature peut en citer plusieurs)", "Thématique",
             counts["thematique"], choice("thematiques")),
        bars("types", "Candidatures par type de structure", "Type de structure", counts["type_structure"],
             choice("type_structure")),
        bars("statuts", "Candidatures par statut", "Statut", counts["statut"], status_label, order=list(STATUSES)),
    ]
