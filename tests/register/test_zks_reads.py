"""Issue 16, finding 5: the ZKS's reads of the register are audited in the same transaction —
the person page (identity, addresses, incidents, rights requests), the name search, browsing
persons by id, and the overview of due reviews."""

from datetime import timedelta

import pytest
from django.utils import timezone

from beistand.audit.models import AuditEvent
from beistand.core.errors import AccessDenied
from beistand.register import services as register
from beistand.register.models import RegisterPerson
from tests.register.test_views import MANAGE, login, make_person, users  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _reads(action, user):
    return list(AuditEvent.objects.filter(action=action, actor_id=user.pk).order_by("seq"))


def test_person_page_is_an_audited_read(client, users):  # noqa: F811
    person = make_person()
    login(client, users["zks"])
    assert client.get(f"{MANAGE}personen/{person.pk}/").status_code == 200
    (event,) = _reads("register.registerperson.read", users["zks"])
    assert event.object_id == str(person.pk)
    assert event.after["fields"] == ["identity", "addresses", "entries", "measures",
                                     "rights_requests"]
    assert event.after["addresses"] == list(person.addresses.values_list("pk", flat=True))
    assert event.after["entries"] == list(person.entries.values_list("pk", flat=True))
    # Ids and kinds of data only: the name is not copied into the trail.
    assert "Meier" not in str(event.after) + event.object_repr


def test_browsing_persons_by_id_leaves_a_trace_per_person(client, users):  # noqa: F811
    persons = [make_person(last_name=f"Person{i}") for i in range(3)]
    login(client, users["zks"])
    for p in persons:
        client.get(f"{MANAGE}personen/{p.pk}/")
    assert client.get(f"{MANAGE}personen/999999/").status_code == 404
    seen = [e.object_id for e in _reads("register.registerperson.read", users["zks"])]
    assert seen == [str(p.pk) for p in persons]


def test_name_search_is_audited_with_the_ids_shown(client, users):  # noqa: F811
    hit = make_person(last_name="Krawczyk")
    make_person(last_name="Nowak")
    login(client, users["zks"])
    page = client.get(MANAGE, {"name": "krawczyk"})
    assert page.status_code == 200 and "Krawczyk" in page.content.decode()
    (event,) = _reads("register.registerperson.search", users["zks"])
    assert event.after == {"shown": [hit.pk], "terms": 1}
    assert "krawczyk" not in str(event.after).lower()


def test_overview_of_due_reviews_is_audited(client, users):  # noqa: F811
    due = make_person(last_name="Faellig")
    RegisterPerson.objects.filter(pk=due.pk).update(
        review_on=timezone.localdate() - timedelta(days=1))
    login(client, users["zks"])
    assert client.get(MANAGE).status_code == 200
    (event,) = _reads("register.registerperson.review_list", users["zks"])
    assert event.after == {"shown": [due.pk]}


@pytest.mark.parametrize("call", [
    lambda u, p: register.read_person(u, p.pk),
    lambda u, p: register.search_persons(u, "Meier"),
    lambda u, p: register.read_review_list(u),
])
def test_only_the_zks_reads_and_nothing_is_recorded_for_others(users, call):  # noqa: F811
    person = make_person()
    before = AuditEvent.objects.count()
    for who in ("querier", "dpo", "reporter", "statistics"):
        with pytest.raises(AccessDenied):
            call(users[who], person)
    assert AuditEvent.objects.count() == before
