"""With no SMTP server, every email is an .eml file in the data folder, and its link works."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from delivery.mail import message_id
from domain.enums import Answer, ContactStatus
from domain.refusals import Refusal, Refused
from starter.inputs import ContactRequestBody, ReplyBody
from tests.conftest import Harness

# What a business might type: markup and a link of its own must reach the reviewer as text.
ASK = ContactRequestBody(
    message="<b>Sorry</b> we can't find you. Details: http://elsewhere.example/form?a=1&b=2"
)


def _open(path: Path) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


async def test_emails_are_eml_files_whose_reply_link_answers_the_request(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    assert h.settings.smtp_host is None
    contact_id = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact.id
    [request] = await h.all_delivered()

    path = h.settings.mail_dir / f"{contact_id}_contact.requested_reviewer.eml"
    email = _open(path)
    assert email["To"] == w.reviewer_email
    assert email["From"] == h.settings.mail_from
    assert email["Message-ID"] == message_id(request.key)
    text = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert text is not None and html is not None
    links = re.findall(r"https?://\S+/reply/[A-Za-z0-9_\-]+", text.get_content())
    assert len(links) == 1
    link = links[0]
    assert link.startswith(f"{h.settings.public_base_url}/reply/")
    # The HTML part links only the platform's own link; what the business typed stays text.
    assert re.findall(r'href="([^"]+)"', html.get_content()) == [link]
    assert "&lt;b&gt;Sorry&lt;/b&gt;" in html.get_content()
    assert "http://elsewhere.example/form?a=1&amp;b=2" in html.get_content()

    # The reviewer follows the link: reading it shows the request and does not use it up.
    token = link.rsplit("/", 1)[1]
    for _ in range(2):
        page = await h.service.reply_request(token)
        assert page.contact.id == contact_id
        assert page.business_name == f"Shop {w.business}"
    replied = await h.service.answer(token, Answer.REPLY, ReplyBody(message="Bought on 3 May."))
    assert replied.status is ContactStatus.REPLIED
    with pytest.raises(Refused) as refused:
        await h.service.answer(token, Answer.REPLY, ReplyBody(message="Again"))
    assert refused.value.reason is Refusal.ALREADY_ANSWERED

    # The business's email is a file too, with what the reviewer shared and not their address.
    delivered = await h.all_delivered()
    assert sorted(p.name for p in h.settings.mail_dir.glob("*.eml")) == sorted(
        m.key.replace(":", "_") + ".eml" for m in delivered
    )
    told = _open(h.settings.mail_dir / f"{contact_id}_contact.replied_business.eml")
    assert told["To"] == w.business_email
    body = told.get_body(("plain",))
    assert body is not None and "Bought on 3 May." in body.get_content()
    assert w.reviewer_email not in told.as_string()
