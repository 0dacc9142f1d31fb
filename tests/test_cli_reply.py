"""`reviewdesk reply` takes the link from the email, whatever its token begins with."""

from __future__ import annotations

import pytest

from domain.enums import ContactStatus, RequestedItem
from starter.inputs import ContactRequestBody
from tests.conftest import Harness
from tests.terminal import run_cli


async def test_the_reviewer_replies_with_the_emailed_link(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, w = live, live.world
    body = ContactRequestBody(
        message="Could you help us?", requested=[RequestedItem.EXPERIENCE_DETAILS]
    )
    contact = (await h.service.request_contact(w.business, w.review["organic"], body)).contact
    link = f"{h.settings.public_base_url}/reply/{await h.reply_token(contact.id)}"

    replied = await run_cli(h, monkeypatch, "reply", link, "--message", "Bought a cake")

    assert replied.exit_code == 0, replied.output
    shown = await h.service.contact_view(contact.id)
    assert shown.contact.status is ContactStatus.REPLIED
    assert shown.answer is not None and shown.answer.message == "Bought a cake"


async def test_a_link_whose_token_begins_with_a_dash_reaches_the_service(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One token in 64 begins with "-": passed bare, the shell line read it as an option.
    link = f"{live.settings.public_base_url}/reply/-PxbZ0gT1u8nq"

    answered = await run_cli(live, monkeypatch, "reply", link, "--message", "Hello")

    assert answered.exit_code == 2
    assert "No such option" not in answered.output
    assert "refused: link_not_found" in answered.output
