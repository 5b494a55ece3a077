"""The reviewers' dashboard (/instruction/tableau-de-bord): charts and their tables.

Each chart is an SVG image at /instruction/tableau-de-bord/<name>.svg, drawn on the server
(review/charts.py), followed by the same figures as a table. The SVG's own
Content-Security-Policy allows only its inline style sheet: nothing in it can run.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort

from ..phase import current_now
from . import _render, bp
from .. import appstate
from .charts import dashboard_charts, svg
from .indexing import app_index

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _charts() -> list:
    now, _preview = current_now(appstate.facts())
    return dashboard_charts(app_index().count_by(), appstate.form(), appstate.facts(), now.date())


@bp.route("/tableau-de-bord")
def dashboard() -> Any:
    charts = _charts()
    return _render("review/dashboard.html", charts=charts, total=app_index().total())


@bp.route("/tableau-de-bord/<name>.svg")
def dashboard_chart(name: str) -> Any:
    chart = next((chart for chart in _charts() if chart.name == name), None)
    if chart is None:
        abort(404)
    return Response(svg(chart), content_type="image/svg+xml; charset=utf-8",
                    headers={"Content-Security-Policy": SVG_POLICY})
