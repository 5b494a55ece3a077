"""The collector's Flask class, whose URL rules are compiled when first needed.

Werkzeug compiles a rule as soon as it is added (`Map.add` binds it: a regular expression
and a URL builder generated as Python code), so every process that builds the app paid for
the 26 rules of every page (about 2 % of a reviewer's `flask --app collector list`, which
matches no URL and builds none). Here the rules are registered exactly as before (same blueprints,
same `init_app` calls, one app factory) but kept waiting until the map is first used:
matching a request, building a URL (`url_for`), listing the rules (`flask routes`). All
three go through `Map.update`, which compiles the waiting rules first. The service compiles
them when it starts (`create_app` calls `update`), so a bad rule still stops it there.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import Map, RuleFactory


class DeferredRuleMap(Map):
    """A werkzeug `Map` that compiles the rules added to it at its first use."""

    def __init__(self, *args, **kwargs) -> None:
        self._waiting: list[RuleFactory] = []
        super().__init__(*args, **kwargs)

    def add(self, rulefactory: RuleFactory) -> None:
        with self._remap_lock:
            self._waiting.append(rulefactory)
            self._remap = True

    @property
    def waiting(self) -> int:
        """How many rules (or factories) are not compiled yet."""
        return len(self._waiting)

    def update(self) -> None:
        """Compile the waiting rules, then let werkzeug sort them (before every match and build)."""
        if self._waiting:
            with self._remap_lock:
                # Emptied only once all are compiled: another thread that sees it empty finds them all.
                for factory in self._waiting:
                    super().add(factory)
                self._waiting = []
        super().update()


class CollectorFlask(Flask):
    """Flask with a `DeferredRuleMap` (nothing else differs)."""

    url_map_class = DeferredRuleMap
