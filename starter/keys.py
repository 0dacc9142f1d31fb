"""`reviewdesk key rotate`: a new API key for a business, a moderator or a team member (an agent;
the owner's is the business's), shown once.

The old key stops working at once, on the API and for signing in, and so do the page sessions
signed in with it: each session carries a fingerprint of the key it began with
(`starter/web/auth.py`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from settings import get_settings
from starter.loop import run_main
from store import Store, accounts, members, open_store
from store.accounts import hash_secret
from store.records import now

app = typer.Typer(help="The API keys businesses and moderators sign in with.", no_args_is_help=True)


async def rotate(db: Store, account_id: str) -> str | None:
    """The account's new key (its hash replaces the old one's), or None without such account.
    An agent's member id rotates the agent's key (not a removed agent's: they have none); the
    owner's member id, the business's key, which the owner signs in with."""
    async with db.tx() as conn:
        member = await members.get_member(conn, account_id)
        if member is not None and member.is_owner:
            account_id = member.business_id
        elif member is not None:
            key = accounts.new_api_key("agt")
            return key if await members.set_agent_key(conn, member.id, hash_secret(key)) else None
        if await accounts.get_business(conn, account_id) is not None:
            key = accounts.new_api_key("biz")
            await accounts.set_business_key(conn, account_id, hash_secret(key))
        elif await accounts.get_moderator(conn, account_id) is not None:
            key = accounts.new_api_key("mod")
            await accounts.set_moderator_key(conn, account_id, hash_secret(key))
        else:
            return None
    return key


async def make_platform_key(db: Store, demo_file: Path, platform_id: str, name: str) -> str:
    """The platform's new key: the platform is made with it the first time, and any key it had
    before stops working (DESIGN rule 14: the platform posts every review with it). The demo
    file, if it holds the platform's key, gets the new one."""
    key = accounts.new_api_key("pf")
    async with db.tx() as conn:
        await accounts.add_platform(
            conn, id=platform_id, name=name, api_key_hash=None, created_at=now()
        )
        await accounts.set_platform_key(conn, platform_id, hash_secret(key))
    _keep_demo_key(demo_file, platform_id, key)
    return key


def _keep_demo_key(demo_file: Path, account_id: str, key: str) -> bool:
    """A demo account's key is kept in the demo file, which seeding applies again: the new key
    must replace the old one there, or the next `up` would bring the old one back."""
    if not demo_file.exists():
        return False
    demo = json.loads(demo_file.read_text())
    if account_id not in demo.get("api_keys", {}):
        return False
    demo["api_keys"][account_id] = key
    demo_file.write_text(json.dumps(demo, indent=2) + "\n")
    return True


@app.command("rotate")
def rotate_command(
    account_id: Annotated[
        str, typer.Argument(help="A business's, a moderator's or a team member's id.")
    ],
) -> None:
    """Print a new API key for ACCOUNT_ID once; the old key and its sessions stop working."""
    settings = get_settings()

    async def go() -> str | None:
        async with open_store(settings) as db:
            return await rotate(db, account_id)

    key = run_main(go())
    if key is None:
        typer.echo(
            f"refused: account_not_found: there is no business, moderator or team member"
            f" {account_id}",
            err=True,
        )
        raise typer.Exit(2)
    typer.echo(f"New API key for {account_id} (shown only now; keep it safe):\n{key}")
    if _keep_demo_key(settings.demo_file, account_id, key):
        typer.echo(f"The demo credentials in {settings.demo_file} have the new key too.")
