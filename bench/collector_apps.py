"""App factories for bench/collector.py: the collector as deployed, and its intake alone.

`intake_only()` is the real collector with the `record_stored` listeners disconnected
(no mail queued), to tell the intake's own cost from the mail module's.
"""

from collector import create_app
from collector.events import record_stored


def intake_only():
    app = create_app()
    for receiver in list(record_stored.receivers.values()):
        record_stored.disconnect(receiver)
    return app
