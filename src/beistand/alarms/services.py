"""Public face of the silent alarm: trigger, dispatch by plan, escalate, respond, talk, end.

Other apps and the alarm's own entry points (API, fast path, inbound SMS, WebSocket, views,
commands) call these names; the work is done in modules by concern:

- ``trigger``: raising an alarm (person or device), flood protection, idempotent retries;
- ``dispatch``: first delivery, the tiers of the plan, escalation deadlines, SMS/Push/e-mail;
- ``actions``: respond, message, position, all-clear, cancel;
- ``receipts``: clients' receipts and the deliveries they mark;
- ``queries``: reading one alarm, the open ones, the log, the templates;
- ``participants``: who is on an alarm; ``lifecycle``: states and allowed moves (one table).

Every function owns its transaction. An alarm and the events for its receivers are stored in
one transaction; only then does the caller learn "Alarm wurde ausgelöst", and only then are the
events pushed (see store.py, fanout.py and runtime.py). Escalation deadlines are stored on the
alarm, so a restarted server resumes them where they were.
"""

from beistand.alarms.actions import (
    cancel,
    end_test_alarm,
    post_message,
    resolve,
    respond,
    update_position,
)
from beistand.alarms.device_location import VisitPlace
from beistand.alarms.device_location import register as register_visit_place
from beistand.alarms.dispatch import advance, due_alarm_ids, next_deadline
from beistand.alarms.inbox_reset import find_inbox, reset_inbox
from beistand.alarms.locations import check_position
from beistand.alarms.participants import participant
from beistand.alarms.queries import active_for, alarm_log, can_see_all, get_alarm, templates
from beistand.alarms.receipts import record_receipts
from beistand.alarms.store import renew_epochs as renew_inbox_epochs
from beistand.alarms.trigger import (
    MAX_COUNTDOWN,
    Triggered,
    default_countdown,
    get_template,
    trigger,
    trigger_by_device,
)

__all__ = [
    "MAX_COUNTDOWN",
    "Triggered",
    "VisitPlace",
    "active_for",
    "advance",
    "alarm_log",
    "can_see_all",
    "cancel",
    "check_position",
    "default_countdown",
    "due_alarm_ids",
    "end_test_alarm",
    "find_inbox",
    "get_alarm",
    "get_template",
    "next_deadline",
    "participant",
    "post_message",
    "record_receipts",
    "register_visit_place",
    "renew_inbox_epochs",
    "reset_inbox",
    "resolve",
    "respond",
    "templates",
    "trigger",
    "trigger_by_device",
    "update_position",
]
