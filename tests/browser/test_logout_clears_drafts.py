"""Logging out deletes local report drafts (shared PCs), after asking (Chromium)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY = "beistand:report-draft:u1:neu"


def _store_draft(page, pending):
    page.evaluate("([key, pending]) => localStorage.setItem(key, JSON.stringify("
                  "{fields: [['description', 'Drohung']], pending: pending}))", [KEY, pending])


def _draft(page):
    return page.evaluate("(key) => localStorage.getItem(key)", KEY)


@pytest.mark.parametrize("pending", [False, True])
def test_confirmed_logout_removes_the_draft(open_page, people, pending):
    bp = open_page(user=people["melder"])
    bp.goto("/")
    _store_draft(bp.page, pending)
    messages = []

    def accept(dialog):
        messages.append(dialog.message)
        dialog.accept()

    bp.page.on("dialog", accept)
    bp.page.get_by_role("button", name="Abmelden").click()
    bp.page.wait_for_url("**/konto/anmelden/**")
    assert _draft(bp.page) is None
    assert ("wartet noch auf Versand" in messages[0]) is pending


def test_declined_logout_keeps_draft_and_session(open_page, people):
    bp = open_page(user=people["melder"])
    bp.goto("/")
    _store_draft(bp.page, True)
    asked = []
    bp.page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    bp.page.get_by_role("button", name="Abmelden").click()
    # The click returns when its event handlers have: the question was declined, the form was
    # not sent, and the draft is still there.
    assert len(asked) == 1
    assert _draft(bp.page) is not None
    bp.goto("/")
    assert "/konto/anmelden/" not in bp.page.url


def test_logout_without_drafts_asks_nothing(open_page, people):
    bp = open_page(user=people["melder"])
    bp.goto("/")
    asked = []
    bp.page.on("dialog", lambda dialog: (asked.append(dialog), dialog.accept()))
    bp.page.get_by_role("button", name="Abmelden").click()
    bp.page.wait_for_url("**/konto/anmelden/**")
    assert asked == []
