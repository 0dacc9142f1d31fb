"""Sending email over SMTP (aiosmtplib), and choosing between SMTP and files from settings."""

from __future__ import annotations

from email.message import Message

import aiosmtplib

from delivery.failures import DeliveryError
from delivery.mail import FileMailer, Mailer
from settings import Settings


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("SmtpMailer needs smtp_host")
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.timeout = settings.smtp_timeout.total_seconds()

    async def send(self, key: str, email: Message) -> None:
        """Returns once the server accepted the message for every recipient; raises otherwise."""
        try:
            await aiosmtplib.send(
                email,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password.get_secret_value() if self.password else None,
                use_tls=self.security == "tls",
                # False, not None: with "none" aiosmtplib would otherwise upgrade on its own.
                start_tls=self.security == "starttls",
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPRecipientRefused) as err:
            refusals = (
                err.recipients if isinstance(err, aiosmtplib.SMTPRecipientsRefused) else [err]
            )
            codes = sorted({r.code for r in refusals})
            raise DeliveryError(
                f"SMTP recipient refused ({', '.join(map(str, codes))})",
                "SMTP recipient refused: "
                + "; ".join(f"{r.code} {r.message} <{r.recipient}>" for r in refusals),
                permanent=all(_bad_address(r) for r in refusals),
            ) from None
        except aiosmtplib.SMTPResponseException as err:
            raise DeliveryError(
                f"SMTP {err.code}", f"{type(err).__name__}: {err.code} {err.message}"
            ) from None
        except (aiosmtplib.SMTPException, OSError) as err:
            raise DeliveryError(type(err).__name__, f"{type(err).__name__}: {err}") from None


def _bad_address(refusal: aiosmtplib.SMTPRecipientRefused) -> bool:
    """The address itself is wrong (enhanced status 5.1.x: no such mailbox, bad domain), so no
    retry can help. Other 5xx refusals, such as 5.7.1 "relaying denied", are often a setting
    the operator is about to fix, so those keep retrying."""
    return refusal.code >= 500 and refusal.message.lstrip().startswith("5.1.")


def mailer_for(settings: Settings) -> Mailer:
    """SMTP when a server is configured, otherwise .eml files in the data folder."""
    if settings.smtp_host:
        return SmtpMailer(settings)
    return FileMailer(settings.mail_dir)
