"""How a transport says a send did not go through, without leaking what it was sending."""

from __future__ import annotations


class DeliveryError(Exception):
    """A send that failed.

    ``public`` goes into Temporal's history, so it names a status code or an error class and
    never an address or a server's reply text (an SMTP server's "550 <a@b>: no such user" quotes
    the reviewer's address). ``detail`` is kept in the store for the operator.
    ``permanent`` failures (a recipient the server refuses for good) are not retried.
    """

    def __init__(self, public: str, detail: str, *, permanent: bool = False) -> None:
        super().__init__(public)
        self.public = public
        self.detail = detail
        self.permanent = permanent

    @classmethod
    def of(cls, err: BaseException) -> DeliveryError:
        if isinstance(err, DeliveryError):
            return err
        return cls(type(err).__name__, f"{type(err).__name__}: {err}")
