"""Public face of the register: views, the API and other apps call these names, never the
modules behind them.

Entries are made only by the report workflow's ``publish`` (``publishing``, connected to the
reports app's signal at start-up) or by the legacy import. The work itself lives in modules by
concern, re-exported here:

* ``lookup`` — purpose-bound look-ups by person or address, and the detail of a hit;
* ``access_log`` — the DPO's side of the look-up log (search, CSV, keep for an audit, misuse);
* ``zks`` — the ZKS's care of the register (merge, restrict, measures, reviews, case outcomes);
* ``rights`` and ``rights_workflow`` — the person's rights (Art. 14–18, 21 GDPR) and letters;
* ``retention`` — purge of a person and the daily retention run;
* ``persons`` and ``publishing`` — a person's derived data, and entries from a report.
"""

from beistand.register.access_log import export_csv as export_access_log_csv
from beistand.register.access_log import keep_for_audit, misuse_signals
from beistand.register.access_log import search as search_access_log
from beistand.register.lookup import lookup_address, lookup_detail, lookup_person
from beistand.register.persons import rebuild_all_search_keys, refresh_person
from beistand.register.publishing import publish_from_report
from beistand.register.retention import purge_person, run_retention
from beistand.register.rights import (
    DECIDING_ROLES,
    access_report,
    access_report_pdf,
    due_rights_requests,
    letter_pdf,
    open_notification,
    remind_deferred,
)
from beistand.register.rights import create_request as create_rights_request
from beistand.register.rights import decide as decide_rights_request
from beistand.register.rights import defer as defer_rights_request
from beistand.register.rights import get_request as get_rights_request
from beistand.register.rights import list_requests as list_rights_requests
from beistand.register.rights_workflow import due_date as rights_request_due_date
from beistand.register.rights_workflow import facts as rights_request_facts
from beistand.register.rights_workflow import is_due as rights_request_is_due
from beistand.register.rights_workflow import letter_exists
from beistand.register.rights_workflow import states as rights_request_states
from beistand.register.zks import (
    decide_review,
    lift_restriction,
    mark_distinct,
    merge_duplicate,
    merge_persons,
    read_person,
    read_review_list,
    record_case_outcome,
    restrict_person,
    review_due,
    search_persons,
    set_measures,
)

__all__ = [
    "DECIDING_ROLES",
    "access_report",
    "access_report_pdf",
    "create_rights_request",
    "decide_review",
    "decide_rights_request",
    "defer_rights_request",
    "due_rights_requests",
    "export_access_log_csv",
    "get_rights_request",
    "keep_for_audit",
    "letter_exists",
    "letter_pdf",
    "lift_restriction",
    "list_rights_requests",
    "lookup_address",
    "lookup_detail",
    "lookup_person",
    "mark_distinct",
    "merge_duplicate",
    "merge_persons",
    "misuse_signals",
    "open_notification",
    "publish_from_report",
    "purge_person",
    "read_person",
    "read_review_list",
    "rebuild_all_search_keys",
    "record_case_outcome",
    "refresh_person",
    "remind_deferred",
    "restrict_person",
    "review_due",
    "rights_request_due_date",
    "rights_request_facts",
    "rights_request_is_due",
    "rights_request_states",
    "run_retention",
    "search_access_log",
    "search_persons",
    "set_measures",
]
