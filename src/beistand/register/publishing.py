"""From a report to register entries: the workflow's ``publish`` step, seen from the register.

The reports app sits below the register and does not import it: its ``publish`` transition sends
``beistand.reports.signals.report_published`` inside its transaction, and the register, connected
at start-up (apps.py), creates the entries there. The case summary (Fallübersicht) asks for extra
sections the same way (``case_summary_sections``); the register adds its publications.
"""

from django.utils import timezone

from beistand.documents import layout as L
from beistand.documents import letterhead as lh
from beistand.register import rights
from beistand.register.models import RegisterAddress, RegisterEntry, RegisterPerson
from beistand.register.persons import find_person, refresh_person, similar_persons


def publish_from_report(user, report) -> list[RegisterEntry]:
    """Create the register entries of a report (inside the caller's transaction).

    Only the perpetrator's identity and address, the hazard level, offence categories and the
    incident date are copied; nothing about the reporter, victims, witnesses or the narrative.
    """
    entries = []
    perpetrators = report.perpetrators.filter(known=True).exclude(last_name="")
    incident_date = timezone.localtime(report.occurred_at).date()
    offences = list(report.offences.all())
    for p in perpetrators:
        person = find_person(p)
        if person is None:
            person = RegisterPerson.objects.create(
                last_name=p.last_name, first_names=p.first_names, birth_name=p.birth_name,
                aliases=p.aliases, date_of_birth=p.date_of_birth)
        if p.street and p.postal_code and not person.addresses.filter(
                street__iexact=p.street, house_number__iexact=p.house_number,
                postal_code=p.postal_code, valid_to__isnull=True).exists():
            RegisterAddress.objects.create(person=person, street=p.street,
                                           house_number=p.house_number,
                                           postal_code=p.postal_code, city=p.city,
                                           valid_from=incident_date)
        if RegisterEntry.objects.filter(person=person, report=report).exists():
            continue
        entry = RegisterEntry.objects.create(person=person, report=report,
                                             hazard_level=report.hazard_level,
                                             incident_date=incident_date, published_by=user)
        entry.offences.set(offences)
        # Art. 14 GDPR: the person is informed about every new entry (one-month deadline), not
        # only when first registered.
        rights.open_notification(person, user, entry=entry)
        refresh_person(person)
        entries.append(entry)
    return entries


def on_report_published(sender, *, user, report, **kwargs) -> list[RegisterEntry]:
    """Receiver of ``reports.signals.report_published`` (connected in apps.py)."""
    return publish_from_report(user, report)


def case_summary_section(sender, *, report, **kwargs) -> list:
    """Receiver of ``reports.signals.case_summary_sections``: the report's register entries."""
    entries = list(RegisterEntry.objects.filter(report=report)
                   .select_related("person", "published_by").order_by("pk"))
    if not entries:
        return []
    section = [
        *L.heading("Veröffentlichung im Register"),
        L.grid(["Person", "Stufe", "Tatdatum", "veröffentlicht am", "durch"],
               [[str(e.person), str(e.hazard_level), L.fmt_date(e.incident_date),
                 L.fmt_datetime(e.published_at), lh.user_name(e.published_by)]
                for e in entries], [45, 12, 22, 34, 40]),
    ]
    rows = [[str(e.person), f"Nr. {d['person_id']}", d["level"], d["explanation"]]
            for e in entries for d in possible_duplicates(e.person)]
    if rows:
        section += [
            *L.heading("Möglicherweise bereits registriert (bitte prüfen: dieselbe Person "
                       "zusammenführen oder als neue Person belassen)"),
            L.grid(["Person", "Eintragung", "Übereinstimmung", "Begründung"], rows,
                   [40, 22, 28, 63]),
        ]
    return section


def possible_duplicates(person: RegisterPerson) -> list[dict]:
    """Other registered persons the look-up's matcher weighs at "möglich" or above for this
    person (the ZKS decides: merge as the same person, or keep as a new one)."""
    return similar_persons(person, exclude=[person.pk])
