"""`reviewdesk`: run the service and drive contacts and reports from a terminal.

Refusals print their reason and exit with status 2; bad input exits with status 2 too. When
Temporal or the store cannot be reached in time, the command says so and exits with status 3:
run it again (what it asked may still happen meanwhile, and is never done twice).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel, RootModel, ValidationError

from domain.enums import Answer, Decision, Grounds, RequestedItem, ReviewSource, WebhookEvent
from domain.refusals import Refused
from settings import Settings, get_settings
from starter import keys, tracing
from starter.client import connect
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody, WebhookBody
from starter.loop import run_main
from starter.service import ContactView, ReportView, Reviewdesk
from starter.unavailable import EXIT_STATUS, UNAVAILABLE_ERRORS, deadline, describe, is_outage
from starter.webhooks import WebhookDelivery, seal_clear_secrets
from store import open_store
from store.webhooks import WebhookEndpoint

app = typer.Typer(
    help="Reviewdesk: the Find Reviewer process and its reports.", no_args_is_help=True
)
T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
BusinessOption = Annotated[str, typer.Option("--business", help="The business acting.")]


def _run(coro: Awaitable[T]) -> T:
    return run_main(coro)  # type: ignore[arg-type]


@asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[Reviewdesk]:
    async with deadline(settings.temporal_call_timeout):
        client = await connect(settings)
    async with open_store(settings) as db:
        yield Reviewdesk(client, db, settings)


def _drive(action: Callable[[Reviewdesk], Awaitable[BaseModel]], as_json: bool) -> None:
    async def go() -> BaseModel:
        async with _service(get_settings()) as service:
            return await action(service)

    try:
        result = _run(go())
    except Refused as refusal:
        typer.echo(f"refused: {refusal.reason.value}: {refusal.message}", err=True)
        raise typer.Exit(2) from None
    except ValidationError as err:
        typer.echo(f"invalid input: {_first_error(err)}", err=True)
        raise typer.Exit(2) from None
    except UNAVAILABLE_ERRORS as err:
        if not is_outage(err):
            raise
        typer.echo(
            f"unavailable ({describe(err)}): Temporal or the store did not answer in time; "
            "try again shortly.",
            err=True,
        )
        raise typer.Exit(EXIT_STATUS) from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        _print(result)


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def _print(result: BaseModel) -> None:
    if isinstance(result, ContactView):
        c = result.contact
        typer.echo(f"contact {c.id}  review {c.review_id}  status {c.status.value}")
        typer.echo(f"  reply by {c.deadline:%Y-%m-%d %H:%M:%S} UTC")
        if c.report_deadline:
            typer.echo(f"  report possible until {c.report_deadline:%Y-%m-%d %H:%M:%S} UTC")
        if result.answer and result.answer.answer is Answer.REPLY:
            a = result.answer
            typer.echo(
                f"  reply: order reference={a.order_reference!r} "
                f"contact details={a.contact_details!r} message={a.message!r}"
            )
        if c.report_id:
            typer.echo(f"  report {c.report_id}")
        if c.purged_at:
            typer.echo(f"  what people wrote was removed {c.purged_at:%Y-%m-%d} (retention period)")
    elif isinstance(result, ReportView):
        r = result.report
        typer.echo(
            f"report {r.id}  review {r.review_id} ({result.review.visibility.value})  "
            f"reason {r.reason.value}"
            + (f"  grounds {r.grounds.value}" if r.grounds else "")
            + f"  status {r.status.value}"
            + ("  ESCALATED" if r.escalated_at else "")
        )
        if result.decision:
            typer.echo(f"  decision: {result.decision.decision.value} {result.decision.note!r}")
    else:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo("  history:")
    for event in result.history:
        typer.echo(f"    {event.at:%Y-%m-%d %H:%M:%S}  {event.type}")
    for note in result.notifications:
        typer.echo(f"    notification {note.event_type} to {note.recipient}: {note.status}")


# --- running the service -----------------------------------------------------------------------


@app.command()
def up(
    seed: Annotated[bool, typer.Option(help="Seed the demo data.")] = True,
) -> None:
    """Start the embedded Temporal dev server and the worker, with demo data; Ctrl-C stops all."""
    from starter.devserver import DevServer
    from starter.health import worker_http
    from starter.logs import configure_logging
    from starter.retention import purging
    from starter.seed import seed_demo, start_tickets
    from starter.temporal_runtime import install
    from starter.web.app import create_app
    from starter.web.serve import serve
    from worker import build_worker, drift_checks, running

    settings = get_settings()
    # Warnings only: this terminal shows where things are, not every request.
    configure_logging(settings, level=logging.WARNING)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sdk = install(metrics_on=bool(settings.worker_http_port))
        server = DevServer(settings)
        typer.echo(f"Starting Temporal dev server on {settings.temporal_address} ...")
        await server.start()
        try:
            client = await connect(settings)
            async with open_store(settings) as db:
                await seal_clear_secrets(db, settings)
                service = Reviewdesk(client, db, settings)
                if seed:
                    # The tickets' workflows start now; their timers run once the worker polls.
                    seeded = await seed_demo(db, settings.demo_file)
                    await start_tickets(service.intake, seeded.tickets)
                web_stop = asyncio.Event()
                web = asyncio.create_task(serve(create_app(settings, service), settings, web_stop))
                async with (
                    running(build_worker(client, db, settings), settings.worker_shutdown_timeout),
                    drift_checks(client, db, settings),
                    purging(db, settings),
                    worker_http(settings, db, client, sdk) as worker_url,
                ):
                    await _wait_listening(settings, web)
                    base = settings.public_base_url
                    typer.echo(
                        "Reviewdesk is up.\n"
                        f"  public page:        {base}/businesses/biz_harbour_bakery\n"
                        f"  business dashboard: {base}/dashboard  (sign in at {base}/login)\n"
                        f"  moderation queue:   {base}/moderation\n"
                        f"  API and its docs:   {base}/api/v1/docs\n"
                        + _ui_line(settings)
                        + _health_lines(settings, worker_url)
                        + f"  store:              {settings.store_label}\n"
                        f"  emails (.eml):      {settings.mail_dir}\n"
                        f"  demo credentials:   {settings.demo_file}\n"
                        + _demo_keys(settings)
                        + "Press Ctrl-C to stop."
                    )
                    await stop.wait()
                    typer.echo("Stopping ...")
                    web_stop.set()
                    await web
        finally:
            await server.stop()
        typer.echo("Stopped.")

    # The web app and the worker share this process, and so its service name.
    with tracing.traced(settings, "reviewdesk"):
        _run(go())


async def _wait_listening(settings: Settings, web: asyncio.Task[None]) -> None:
    """Until the web app accepts connections, or fails to start (say, its port is taken)."""
    for _ in range(200):
        if web.done():
            web.result()
        try:
            _, writer = await asyncio.open_connection(settings.web_host, settings.web_port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the web app did not start listening")


def _ui_line(settings: Settings) -> str:
    if not settings.temporal_ui_port:
        return ""
    return f"  Temporal Web UI:    http://localhost:{settings.temporal_ui_port}\n"


def _health_lines(settings: Settings, worker_url: str | None) -> str:
    """Where Prometheus and probes reach the web app and the worker (not through a proxy)."""
    web = f"http://{settings.web_host}:{settings.web_port}"
    lines = f"  web app metrics:    {web}/metrics  (health: /healthz, /readyz)\n"
    if worker_url:
        lines += f"  worker metrics:     {worker_url}/metrics  (health: /healthz, /readyz)\n"
    return lines


def _demo_keys(settings: Settings) -> str:
    if not settings.demo_file.exists():
        return ""
    keys = json.loads(settings.demo_file.read_text()).get("api_keys", {})
    return "".join(f"  sign-in key {who}: {key}\n" for who, key in keys.items())


@app.command()
def web() -> None:
    """Run the web app alone, against the configured Temporal and store (workers run elsewhere)."""
    import uvicorn

    from starter.logs import configure_logging
    from starter.temporal_runtime import install
    from starter.web.app import create_app

    settings = get_settings()
    configure_logging(settings)
    install(metrics_on=False)  # the SDK's own log lines through ours
    with tracing.traced(settings, "reviewdesk-web"):
        uvicorn.run(
            create_app(settings),
            host=settings.web_host,
            port=settings.web_port,
            access_log=False,
            log_config=None,
        )


@app.command("worker")
def worker_command() -> None:
    """Run a worker against the configured Temporal (add more processes to scale out)."""
    from worker import main as worker_main

    worker_main()


@app.command("seed")
def seed_command(
    demo: Annotated[bool, typer.Option("--demo", help="Demo businesses, reviewers and reviews.")],
) -> None:
    """Create the store and, with --demo, the demo data and its credentials file."""
    from starter.intake import Intake
    from starter.seed import seed_demo, start_tickets

    settings = get_settings()

    async def go() -> bool:
        async with open_store(settings) as db:
            if not demo:
                return True
            seeded = await seed_demo(db, settings.demo_file)
            # The demo tickets' workflows hold their response targets: started if Temporal is
            # up, else by the next `up` or `seed --demo` (each start finds a running one).
            try:
                async with deadline(settings.temporal_call_timeout):
                    client = await connect(settings)
                await start_tickets(Intake(client, db, settings), seeded.tickets)
            except UNAVAILABLE_ERRORS:
                return False
            return True

    started = _run(go())
    if not demo:
        typer.echo(f"Store ready: {settings.store_label}")
        return
    typer.echo(f"Demo data seeded; credentials and ids written to {settings.demo_file}")
    if not started:
        typer.echo(
            f"Temporal did not answer at {settings.temporal_address}: the demo tickets' "
            "response targets start with `reviewdesk up`, or `seed --demo` again once it runs."
        )


@app.command("purge")
def purge_command(as_json: JsonOption = False) -> None:
    """Remove what people wrote in cases ended `retention` ago or longer (workers do it hourly)."""
    from starter.retention import purge_due
    from store.records import now

    settings = get_settings()
    at = now()

    async def go() -> dict[str, int]:
        async with open_store(settings) as db:
            done = await purge_due(db, settings, at)
            # The counts; the keys of the emails were for their files only.
            return {
                "requests": done.requests,
                "answers": done.answers,
                "messages": done.messages,
                "flags": done.flags,
                "notices": done.notices,
                "appeals": done.appeals,
            }

    purged = _run(go())
    if as_json:
        typer.echo(json.dumps(purged))
        return
    typer.echo(
        f"Purged cases that ended before {at - settings.retention:%Y-%m-%d %H:%M} UTC: "
        f"{purged['requests']} business message(s), {purged['answers']} answer(s), "
        f"{purged['flags']} flag explanation(s) with the reviewers' edits, "
        f"{purged['notices']} notice(s), {purged['appeals']} appeal statement(s), "
        f"{purged['messages']} sent email(s) and webhook event(s)."
    )


@app.command("reconcile")
def reconcile_command(
    apply: Annotated[
        bool, typer.Option("--apply", help="Repair each one (re-drive or close) and say how.")
    ] = False,
) -> None:
    """List contacts and reports whose workflow was terminated or lost; --apply repairs each."""
    from temporalio.service import RPCError

    from starter.reconcile import reconcile

    settings = get_settings()

    async def go() -> list[str]:
        async with _service(settings) as service:
            return await reconcile(service.db, service.client, settings, apply=apply)

    try:
        lines = _run(go())
    except (RPCError, *UNAVAILABLE_ERRORS) as err:
        what = f"temporal: {err.status.name}" if isinstance(err, RPCError) else describe(err)
        typer.echo(f"unavailable ({what}): try again shortly.", err=True)
        raise typer.Exit(EXIT_STATUS) from None
    for line in lines:
        typer.echo(line)


app.add_typer(keys.app, name="key")


# --- driving the process -----------------------------------------------------------------------


@app.command()
def contact(
    review_id: str,
    business: BusinessOption,
    message: Annotated[str, typer.Option(help="What the business would like to say.")],
    request: Annotated[
        list[RequestedItem] | None, typer.Option(help="What the business asks for (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Ask to contact the author of a review."""

    async def action(service: Reviewdesk) -> BaseModel:
        body = ContactRequestBody(message=message, requested=request or [])
        return await service.request_contact(business, review_id, body)

    _drive(action, as_json)


# A token may begin with "-", which a shell command line reads as an option; the whole link
# never does, so the link is what the walk-through passes (a bare token still works, after "--").
_LINK_HELP = "The reply link from the email (or its token)."


def _token_of(link: str) -> str:
    """The token at the end of a reply link, or the argument itself when it is a bare token."""
    _, marker, tail = link.partition("/reply/")
    return tail.split("?", 1)[0].split("#", 1)[0].rstrip("/") if marker else link


@app.command()
def reply(
    link: Annotated[str, typer.Argument(help=_LINK_HELP)],
    order_reference: Annotated[str | None, typer.Option()] = None,
    contact_details: Annotated[str | None, typer.Option()] = None,
    message: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOption = False,
) -> None:
    """Reply as the reviewer, sharing what they choose: at least one option (or decline)."""

    async def action(service: Reviewdesk) -> BaseModel:
        body = ReplyBody(
            order_reference=order_reference, contact_details=contact_details, message=message
        )
        return await service.answer(_token_of(link), Answer.REPLY, body)

    _drive(action, as_json)


@app.command()
def decline(
    link: Annotated[str, typer.Argument(help=_LINK_HELP)],
    as_json: JsonOption = False,
) -> None:
    """Decline as the reviewer."""

    async def action(service: Reviewdesk) -> BaseModel:
        return await service.answer(_token_of(link), Answer.DECLINE)

    _drive(action, as_json)


@app.command()
def report(
    contact_id: str,
    business: BusinessOption,
    grounds: Annotated[Grounds, typer.Option(help="no_response or insufficient_information")],
    as_json: JsonOption = False,
) -> None:
    """Report the review of a contact whose reply window has closed."""

    async def action(service: Reviewdesk) -> BaseModel:
        return await service.report(business, contact_id, ReportBody(grounds=grounds))

    _drive(action, as_json)


@app.command()
def close(contact_id: str, business: BusinessOption, as_json: JsonOption = False) -> None:
    """Close a contact without a report."""

    async def action(service: Reviewdesk) -> BaseModel:
        return await service.close(business, contact_id)

    _drive(action, as_json)


@app.command()
def decide(
    report_id: str,
    decision: Decision,
    moderator: Annotated[str, typer.Option(help="The moderator deciding.")] = "mod_demo",
    note: Annotated[str, typer.Option(help="Why.")] = "",
    legal_ground: Annotated[
        str | None,
        typer.Option(help="With uphold on harmful or illegal content: the law it breaks."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Uphold (remove the review) or reject (reinstate it) a pending report."""

    async def action(service: Reviewdesk) -> BaseModel:
        body = DecisionBody(decision=decision, note=note, legal_ground=legal_ground)
        return await service.decide(moderator, report_id, body)

    _drive(action, as_json)


@app.command()
def show(object_id: str, as_json: JsonOption = False) -> None:
    """Show a contact (ct_...) or a report (rp_...) with its status and history."""

    async def action(service: Reviewdesk) -> BaseModel:
        if object_id.startswith("rp_"):
            return await service.report_view(object_id)
        return await service.contact_view(object_id)

    _drive(action, as_json)


reviews_app = typer.Typer(
    help="Reviews in by hand, as the platform posts them (DESIGN rule 14).", no_args_is_help=True
)
app.add_typer(reviews_app, name="review")


@reviews_app.command("add")
def review_add(
    business: BusinessOption,
    rating: Annotated[int, typer.Option(min=1, max=5, help="Stars, 1 to 5.")],
    text: Annotated[str, typer.Option(help="What the reviewer wrote.")],
    reviewer_id: Annotated[str, typer.Option(help="The platform's id of the reviewer.")],
    reviewer_email: Annotated[str, typer.Option(help="Where a contact reaches them.")],
    reviewer_name: Annotated[
        str | None, typer.Option(help="Their display name; leave out for an anonymous review.")
    ] = None,
    title: Annotated[str | None, typer.Option()] = None,
    source: Annotated[ReviewSource, typer.Option()] = ReviewSource.ORGANIC,
    external_id: Annotated[
        str | None,
        typer.Option(help="The platform's id of the review; run again with it, nothing doubles."),
    ] = None,
) -> None:
    """Add a review and open its ticket, through the same path as the platform's API; prints the
    review and its ticket. Without --external-id, each run adds a new review."""
    from starter.desk_inputs import ReviewerIn, ReviewIn
    from starter.web.api_reviews import PostedOut

    async def action(service: Reviewdesk) -> BaseModel:
        body = ReviewIn(
            external_id=external_id or f"cli-{secrets.token_hex(8)}",
            business_id=business,
            reviewer=ReviewerIn(id=reviewer_id, display_name=reviewer_name, email=reviewer_email),
            rating=rating,
            title=title,
            text=text,
            source=source,
        )
        return PostedOut.of(await service.intake.post(body))

    _drive(action, as_json=True)


platform_app = typer.Typer(
    help="The review platform, which posts every new review (DESIGN rule 14).",
    no_args_is_help=True,
)
app.add_typer(platform_app, name="platform")


@platform_app.command("key")
def platform_key(
    platform_id: Annotated[str, typer.Option("--id", help="The platform's id.")] = "platform",
    name: Annotated[str, typer.Option(help="Its name, the first time.")] = "The review platform",
) -> None:
    """Print a new API key for the platform once (made the first time); the old one stops."""
    settings = get_settings()

    async def go() -> str:
        async with open_store(settings) as db:
            return await keys.make_platform_key(db, settings.demo_file, platform_id, name)

    key = _run(go())
    typer.echo(f"New API key for the platform {platform_id} (shown only now; keep it safe):\n{key}")


webhooks_app = typer.Typer(
    help="A business's webhook endpoints (Standard Webhooks): add, list, remove, rotate, resend.",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhook")


@webhooks_app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(help="https:// endpoint, on a public address.")],
    business: BusinessOption,
    event: Annotated[
        list[WebhookEvent] | None,
        typer.Option(help="An event to send there; repeat for more. None: every event."),
    ] = None,
) -> None:
    """Send a business's events to URL too; prints the endpoint and its secret, once."""

    async def action(service: Reviewdesk) -> BaseModel:
        body = WebhookBody(url=url, event_types=event or [])
        return await service.webhooks.register(business, body)

    _drive(action, as_json=True)


@webhooks_app.command("list")
def webhook_list(business: BusinessOption) -> None:
    """A business's endpoints in use."""

    async def action(service: Reviewdesk) -> BaseModel:
        return RootModel[list[WebhookEndpoint]](await service.webhooks.endpoints(business))

    _drive(action, as_json=True)


@webhooks_app.command("remove")
def webhook_remove(endpoint_id: str, business: BusinessOption) -> None:
    """Send nothing more to an endpoint; its events not yet sent fail."""

    async def action(service: Reviewdesk) -> BaseModel:
        return await service.webhooks.remove(business, endpoint_id)

    _drive(action, as_json=True)


@webhooks_app.command("rotate")
def webhook_rotate(endpoint_id: str, business: BusinessOption) -> None:
    """A new secret for an endpoint, printed once; the old one signs beside it for a while."""

    async def action(service: Reviewdesk) -> BaseModel:
        return await service.webhooks.rotate(business, endpoint_id)

    _drive(action, as_json=True)


@webhooks_app.command("deliveries")
def webhook_deliveries(
    business: BusinessOption,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """A business's webhook events, newest first, with their status."""

    async def action(service: Reviewdesk) -> BaseModel:
        found = await service.webhooks.deliveries(business, limit=limit)
        return RootModel[list[WebhookDelivery]](found)

    _drive(action, as_json=True)


@webhooks_app.command("resend")
def webhook_resend(
    key: Annotated[str, typer.Argument(help="The delivery's key, from `webhook deliveries`.")],
    business: BusinessOption,
) -> None:
    """Send a failed event again, with the same webhook-id and body."""

    async def action(service: Reviewdesk) -> BaseModel:
        return await service.webhooks.resend(business, key)

    _drive(action, as_json=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
