"""Who is calling: API keys for the JSON API, a signed session cookie for the pages.

Keys are stored hashed; a session cookie holds only the account id, its role, a CSRF token and
a fingerprint of the key it signed in with, signed with the app's secret, HttpOnly and SameSite.
A changed key (`reviewdesk key rotate`) ends the sessions begun with the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

from domain.enums import StandingSubject
from domain.ladder import LADDER
from domain.refusals import Refusal, Refused
from starter.service import Reviewdesk
from starter.web import ratelimit
from starter.web.errors import ApiError
from store import accounts, members, standing
from store.accounts import hash_secret
from store.records import Business, Member, Moderator, Platform, StandingStep

SESSION_COOKIE = "rd_session"
SESSION_MAX_AGE = 12 * 3600
Role = Literal["business", "moderator"]

bearer = HTTPBearer(
    auto_error=False, description="Your business, agent, moderator or platform API key."
)


async def service_of(request: Request) -> Reviewdesk:
    # Async though it awaits nothing: FastAPI runs a plain function dependency on a worker
    # thread, and that hop there and back was an eighth of the web app's CPU under load.
    service: Reviewdesk = request.app.state.service
    return service


ServiceDep = Annotated[Reviewdesk, Depends(service_of)]


@dataclass(frozen=True)
class Caller:
    """Who holds a key: a business (through its owner's key or an agent's), a moderator or the
    platform; ``member`` is the owner or agent for a business, else None."""

    account: Business | Moderator | Platform
    member: Member | None = None

    @property
    def holder(self) -> str:
        """Whose requests a rate limit counts together: one key, one count."""
        if self.member is not None:
            return f"member:{self.member.id}"
        role = "moderator" if isinstance(self.account, Moderator) else "platform"
        return f"{role}:{self.account.id}"


async def account_for_key(service: Reviewdesk, key: str) -> Caller | None:
    async with service.db.read() as conn:
        business = await accounts.business_for_key(conn, key)
        if business is not None:
            return Caller(business, await members.owner_of(conn, business.id))
        agent = await members.agent_for_key_hash(conn, hash_secret(key))
        if agent is not None:
            business = await accounts.get_business(conn, agent.business_id)
            return Caller(business, agent) if business is not None else None
        moderator = await accounts.moderator_for_key(conn, key)
        if moderator is not None:
            return Caller(moderator)
        platform = await accounts.platform_for_key(conn, key)
        return Caller(platform) if platform is not None else None


def _unauthorized() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "Sign in with your API key: Authorization: Bearer <key>.",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _account(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Business | Moderator | Platform:
    if credentials is None or not credentials.credentials:
        raise _unauthorized()
    caller = await account_for_key(await service_of(request), credentials.credentials)
    if caller is None:
        raise _unauthorized()
    # Counted once the key is known to be good: an unknown key is a 401 and counts against no one.
    await ratelimit.count_key(request, caller.holder, platform=isinstance(caller.account, Platform))
    request.state.member = caller.member
    return caller.account


async def current_business(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Business:
    account = await _account(request, credentials)
    if not isinstance(account, Business):
        raise ApiError(403, "forbidden", "This needs a business API key.")
    return account


async def current_moderator(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Moderator:
    account = await _account(request, credentials)
    if not isinstance(account, Moderator):
        raise ApiError(403, "forbidden", "This needs a moderator API key.")
    return account


async def current_platform(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Platform:
    account = await _account(request, credentials)
    if not isinstance(account, Platform):
        raise ApiError(403, "forbidden", "This needs the platform's API key.")
    return account


BusinessDep = Annotated[Business, Depends(current_business)]
ModeratorDep = Annotated[Moderator, Depends(current_moderator)]
PlatformDep = Annotated[Platform, Depends(current_platform)]


async def current_member(request: Request, business: BusinessDep) -> Member:
    """The owner or agent whose key made this request (DESIGN rule 17)."""
    member: Member | None = getattr(request.state, "member", None)
    if member is None or member.business_id != business.id:
        raise _unauthorized()
    return member


MemberDep = Annotated[Member, Depends(current_member)]


async def current_owner(member: MemberDep) -> Member:
    if not member.is_owner:
        raise Refused(Refusal.OWNER_ONLY)
    return member


OwnerDep = Annotated[Member, Depends(current_owner)]


# --- pages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    role: Role
    account_id: str
    name: str
    csrf: str
    key_print: str
    """Of the key the session began with; the cookie is signed, not sealed, so never the key's
    own hash."""
    member_id: str = ""
    """A business's owner or agent who signed in (DESIGN rule 17); a cookie from before the
    desk has none, and is its business's owner."""


def _signer(request: Request) -> URLSafeTimedSerializer:
    signer: URLSafeTimedSerializer = request.app.state.signer
    return signer


def key_print(key_hash: str) -> str:
    return hashlib.sha256(f"rd-session:{key_hash}".encode()).hexdigest()[:32]


def _cookie_session(request: Request) -> Session | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = _signer(request).loads(raw, max_age=SESSION_MAX_AGE)
        return Session(**data)
    except (BadSignature, TypeError):
        return None


async def check_session(request: Request) -> None:
    """Dependency of every page: the session counts only while the account's key is still the
    one it signed in with, so a changed key signs out everywhere at the next request."""
    session = _cookie_session(request)
    banner: list[StandingStep] = []
    if session is not None:
        async with (await service_of(request)).db.read() as conn:
            if session.role == "business" and not _owner(session):
                key_hash = await members.key_hash_of_agent(conn, session.member_id)
            else:
                key_hash = await accounts.key_hash_of(conn, session.role, session.account_id)
            if session.role == "business":
                # The standing banner on every business page (DESIGN rule 12), every step of
                # its ladder in force, rides on this read: one more indexed query, no second
                # connection, whatever the page.
                business = StandingSubject.BUSINESS
                banner = await standing.in_force(
                    conn, business, session.account_id, LADDER[business]
                )
        if key_hash is None or not hmac.compare_digest(session.key_print, key_print(key_hash)):
            session, banner = None, []
    request.state.session = session
    request.state.standing_banner = banner


def _owner(session: Session) -> bool:
    return session.member_id in ("", members.owner_id(session.account_id))


def member_id_of(session: Session) -> str:
    """The signed-in owner's or agent's member id."""
    return session.member_id or members.owner_id(session.account_id)


def standing_banner(request: Request) -> list[StandingStep]:
    """The signed-in business's steps in force that its pages announce, newest first."""
    steps: list[StandingStep] = getattr(request.state, "standing_banner", [])
    return steps


def session_of(request: Request) -> Session | None:
    """The session ``check_session`` let through: none on a route it does not guard."""
    session: Session | None = getattr(request.state, "session", None)
    return session


def start_session(request: Request, response: Response, caller: Caller, api_key: str) -> None:
    account = caller.account
    role: Role = "business" if isinstance(account, Business) else "moderator"
    member = caller.member
    session = Session(
        role,
        account.id,
        # An agent's pages greet them by name, and say for which business.
        account.name if member is None or member.is_owner else f"{member.name}, {account.name}",
        secrets.token_urlsafe(24),
        key_print(hash_secret(api_key)),
        member.id if member is not None else "",
    )
    response.set_cookie(
        SESSION_COOKIE,
        _signer(request).dumps(session.__dict__),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.app.state.secure_cookies,
        path="/",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def csrf_ok(session: Session, submitted: str | None) -> bool:
    return submitted is not None and hmac.compare_digest(session.csrf, submitted)
