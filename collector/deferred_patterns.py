"""marshmallow and PyYAML, imported with their costliest patterns compiled when first used instead of at import.

`marshmallow.validate.Email` compiles two patterns in its class body; the domain one repeats
the range U+00A1–U+FFFF five times under IGNORECASE, and `re` folds the case of each of those
code points: ~320 million instructions, 16 % of a reviewer's `flask --app collector list` at
10,000 records, in every process that imports marshmallow, although only the call's facts use
marshmallow's e-mail check (`fields.Email` on the contacts' addresses: the form's e-mail
question uses email-validator). The service, which checks the facts when it starts, still
compiles them then; `list` and `show`, which never read the facts, never do. marshmallow 4.4
is the newest release and still compiles them at import.

`yaml.reader.Reader.NON_PRINTABLE`, a class of every code point but the printable ones, costs
~50 million instructions (three quarters of PyYAML's import, 4 % of that `list`); only
PyYAML's pure-Python reader uses it, which the collector runs only to word a refused
document's error (yamlio.py reads with libyaml's parser). PyYAML 6.0 compiles it at import.

So the collector imports both first (collector/__init__.py imports this module before
anything else), with `re.compile` standing, for those modules' own module-level calls only
(`DEFERRED_MODULES`), for a pattern that compiles itself on its first use. Nothing else
changes: the same pattern, the same flags, the same matches; every other module's
`re.compile` is the real one (PyYAML's resolvers, used on every scalar, included), and the
real one is back once the imports are done. A module imported before the collector (by
another library) is left as it is.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

DEFERRED_MODULES = ("marshmallow.validate", "yaml.reader")


class PatternOnFirstUse:
    """Stands for `re.compile(pattern, flags)`: compiles it at the first attribute asked (`.match`…)."""

    __slots__ = ("_arguments", "_compiled")

    def __init__(self, pattern: Any, flags: int = 0) -> None:
        self._arguments = (pattern, flags)
        self._compiled: re.Pattern | None = None

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # Python's own probes (ABCMeta asks every class attribute `__isabstractmethod__`)
            raise AttributeError(name)
        if self._compiled is None:
            self._compiled = _real_compile(*self._arguments)  # twice at worst, from two threads: the same pattern
        return getattr(self._compiled, name)


_real_compile = re.compile


def _compile_later_for_deferred_modules(pattern: Any, flags: int = 0) -> Any:
    if sys._getframe(1).f_globals.get("__name__") in DEFERRED_MODULES:
        return PatternOnFirstUse(pattern, flags)
    return _real_compile(pattern, flags)


def import_deferring_patterns() -> None:
    """Import each of DEFERRED_MODULES not imported yet, their module-level patterns compiled on first use."""
    missing = [name for name in DEFERRED_MODULES if name not in sys.modules]
    if not missing:
        return
    re.compile = _compile_later_for_deferred_modules
    try:
        for name in missing:
            importlib.import_module(name)
    finally:
        re.compile = _real_compile


import_deferring_patterns()
