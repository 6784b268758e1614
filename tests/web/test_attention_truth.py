"""Issue 23, item 1: the start page's "Was Ihre Aufmerksamkeit braucht" is computed from the
same data as the cards — never "Zurzeit liegt nichts vor" above a card that shows work waiting."""

import pytest

from beistand.core import cards as core_cards
from beistand.core.cards import Card, Viewer
from beistand.reports import services as reports
from beistand.web import services as web
from tests.reports.conftest import cast, report_input  # noqa: F401 (fixture)
from tests.web.test_start_page import page_of, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True
    return settings


def assert_truthful(page):
    """Every card that calls for action has at least one attention item of its tone or
    stronger; "nothing to do" only when no card calls for action."""
    calling = [c for c in page.cards if c.tone in ("warning", "danger")]
    if calling:
        assert page.attention, [(c.key, c.status) for c in calling]
    for c in calling:
        wanted = core_cards.URGENCY[c.tone]
        assert any(core_cards.URGENCY[a.tone] <= wanted for a in page.attention), c.key


def test_a_waiting_report_is_on_the_supervisors_attention_list(client, cast, demo):  # noqa: F811
    before = web.start_page_for(cast["chefin"])
    assert_truthful(before)
    reports.create_report(cast["melder"], report_input(), submit=True)
    page = web.start_page_for(cast["chefin"])
    queue = next(c for c in page.cards if c.key == "queue")
    assert queue.status == "1 offen"
    texts = [a.text for a in page.attention]
    assert any(t.startswith("1 Meldung wartet auf Sie – nächste Frist ") for t in texts), texts
    assert_truthful(page)
    html = text_of(page_of(client, cast["chefin"]))
    assert "Zurzeit liegt nichts vor" not in html
    assert "1 Meldung wartet auf Sie" in html


def test_every_role_of_the_cast_gets_a_truthful_start_page(cast):  # noqa: F811
    reports.create_report(cast["melder"], report_input(), submit=True)
    for key, user in cast.items():
        if key == "org":
            continue
        assert_truthful(web.start_page_for(user))


def test_a_card_calling_for_action_without_its_own_item_gets_one_from_the_card(db):
    """The rule lives in ``compose``: a provider that forgets to add an attention item cannot
    make the page say the opposite of its card."""
    saved = dict(core_cards._providers)
    try:
        core_cards._providers.clear()

        @core_cards.card(1)
        def forgetful(viewer):
            return Card(key="x", title="Auffälligkeiten", tone="warning", status="2 offen",
                        links=core_cards.links(("Ansehen", "/x/")))

        @core_cards.card(2)
        def calm(viewer):
            return Card(key="y", title="Alles gut", tone="success", status="nichts offen")

        from django.utils import timezone
        viewer = Viewer(user=None, roles=frozenset(), employee=None, now=timezone.now())
        core_cards.compose(viewer)
        assert [(a.tone, a.text, a.link.url) for a in viewer.attention] == [
            ("warning", "Auffälligkeiten: 2 offen", "/x/")]
    finally:
        core_cards._providers.clear()
        core_cards._providers.update(saved)
