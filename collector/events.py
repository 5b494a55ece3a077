"""Signals that let one part of the collector react to another without importing it.

`record_stored` is sent once a submission's record is durably on disk, with
`record=` (the record mapping) and `path=` (its file). The mail module listens to it.
`history_written` is sent, with the data folder as sender, once a submission's review
history file was replaced, with `reference=` and `status=` (the current status).
The review index (review/indexing.py) listens to both.
"""

from blinker import Namespace

_signals = Namespace()

record_stored = _signals.signal("record-stored")
history_written = _signals.signal("history-written")
