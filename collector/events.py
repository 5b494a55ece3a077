"""Signals that let one part of the collector react to another without importing it.

`record_stored` is sent once a submission's record is durably on disk, with
`record=` (the record mapping) and `path=` (its file). The mail module listens to it.
"""

from blinker import Namespace

_signals = Namespace()

record_stored = _signals.signal("record-stored")
