"""Public face of the register: publication from a report (the only way entries are made now).

Issue "Register of dangerous persons" extends this with look-ups, merges, retention and rights.
"""

from django.utils import timezone

from beistand.register.models import RegisterEntry, RegisterPerson


def _find_person(p) -> RegisterPerson | None:
    """The same person already registered: same name, first names and date of birth."""
    candidates = RegisterPerson.objects.filter(
        last_name__iexact=p.last_name, first_names__iexact=p.first_names,
        date_of_birth=p.date_of_birth).exclude(status=RegisterPerson.Status.DELETED)
    return candidates.first()


def publish_from_report(user, report) -> list[RegisterEntry]:
    """Create the register entries of a report (inside the caller's transaction).

    Only the perpetrator's identity, the hazard level, offence categories and the incident date
    are copied; nothing about the reporter, victims, witnesses or the narrative.
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
                aliases=p.aliases, date_of_birth=p.date_of_birth, street=p.street,
                house_number=p.house_number, postal_code=p.postal_code, city=p.city)
        if RegisterEntry.objects.filter(person=person, report=report).exists():
            continue
        entry = RegisterEntry.objects.create(person=person, report=report,
                                             hazard_level=report.hazard_level,
                                             incident_date=incident_date, published_by=user)
        entry.offences.set(offences)
        entries.append(entry)
    return entries
