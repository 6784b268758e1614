"""Public face of the register.

Entries are made only by the report workflow's ``publish`` (``publish_from_report``) or by the
legacy import. Look-ups, rights of the person and retention live in their own modules
(``lookup.py``, ``rights.py``, ``retention.py``) and are re-exported from here.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from beistand.register import rights
from beistand.register.models import RegisterAddress, RegisterEntry, RegisterPerson


def _find_person(p) -> RegisterPerson | None:
    """The same person already registered: same name, first names and date of birth."""
    candidates = RegisterPerson.objects.filter(
        last_name__iexact=p.last_name, first_names__iexact=p.first_names,
        date_of_birth=p.date_of_birth).exclude(status=RegisterPerson.Status.DELETED)
    return candidates.first()


def refresh_person(person: RegisterPerson) -> None:
    """Recompute cached level, last incident, review/deletion dates and search keys."""
    from beistand.register import matching

    entries = list(person.entries.all())
    if entries:
        person.hazard_level = max(e.hazard_level for e in entries)
        person.last_incident_on = max(e.incident_date for e in entries)
        person.review_on = person.last_incident_on + timedelta(
            days=365 * settings.REGISTER_REVIEW_YEARS)
        person.delete_on = person.last_incident_on + timedelta(
            days=365 * settings.REGISTER_DELETE_YEARS)
    person.save()
    matching.rebuild_keys(person)


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
        person = _find_person(p)
        if person is None:
            person = RegisterPerson.objects.create(
                last_name=p.last_name, first_names=p.first_names, birth_name=p.birth_name,
                aliases=p.aliases, date_of_birth=p.date_of_birth)
            # Art. 14 GDPR: a newly registered person must be informed (one-month deadline).
            rights.open_notification(person, user)
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
        refresh_person(person)
        entries.append(entry)
    return entries
