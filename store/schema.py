"""The store's schema as an ordered list of migrations; ``PRAGMA user_version`` says how many ran.

Append a migration to change the schema; never edit one that has shipped, since existing
database files have already run it.
"""

# Migration 7's tables for flags, notices, statements and appeals, the same on both stores
# (store/schema_postgres.py appends them to its own changes of `reports`).
V7_PROCESSES = """
    ALTER TABLE reviews ADD COLUMN edited_at TEXT;
    ALTER TABLE reviews ADD COLUMN withdrawn_at TEXT;
    ALTER TABLE decisions ADD COLUMN legal_ground TEXT;
    -- A business's flag (DESIGN rule 8). At most one open per review and reason.
    CREATE TABLE flags (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL REFERENCES reviews(id),
        business_id TEXT NOT NULL REFERENCES businesses(id),
        reason TEXT NOT NULL,
        sub_reason TEXT,
        explanation TEXT NOT NULL,
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        reviewer_deadline TEXT,
        business_deadline TEXT,
        reviewer_action TEXT,
        reviewer_acted_at TEXT,
        token_hash TEXT UNIQUE,
        report_id TEXT,
        ended_at TEXT,
        idempotency_key TEXT,
        purged_at TEXT,
        UNIQUE (business_id, idempotency_key)
    );
    CREATE INDEX flags_by_business ON flags (business_id, opened_at);
    CREATE INDEX flags_by_review ON flags (review_id, reason);
    CREATE UNIQUE INDEX flags_open_per_reason ON flags (review_id, reason)
        WHERE status IN ('awaiting_reviewer', 'awaiting_business');
    -- What the reviewer submitted through a flag's link; the flag's workflow applies one.
    CREATE TABLE review_edits (
        id TEXT PRIMARY KEY,
        flag_id TEXT NOT NULL REFERENCES flags(id),
        review_id TEXT NOT NULL REFERENCES reviews(id),
        action TEXT NOT NULL,
        title TEXT,
        text TEXT,
        submitted_at TEXT NOT NULL,
        purged_at TEXT
    );
    CREATE INDEX review_edits_by_flag ON review_edits (flag_id);
    -- A notice from anyone (DESIGN rule 9); it joins the review's open report for its reason.
    CREATE TABLE notices (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL REFERENCES reviews(id),
        sub_reason TEXT NOT NULL,
        explanation TEXT NOT NULL,
        name TEXT NOT NULL,
        email TEXT NOT NULL,
        good_faith INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        report_id TEXT,
        token_hash TEXT UNIQUE,
        idempotency_key TEXT UNIQUE,
        purged_at TEXT
    );
    CREATE INDEX notices_by_report ON notices (report_id);
    CREATE INDEX notices_by_review ON notices (review_id, received_at);
    -- A statement of reasons (DESIGN rule 10): its id is the DSA `puid`; `body` is the record
    -- in the Transparency Database's shape, which holds no personal data.
    CREATE TABLE statements (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL REFERENCES reviews(id),
        report_id TEXT NOT NULL REFERENCES reports(id),
        decision_id TEXT,
        appeal_id TEXT,
        restriction TEXT NOT NULL,
        created_at TEXT NOT NULL,
        appeal_until TEXT,
        token_hash TEXT UNIQUE,
        body TEXT NOT NULL
    );
    CREATE INDEX statements_by_time ON statements (created_at, id);
    CREATE INDEX statements_by_report ON statements (report_id);
    -- One appeal per decision (DESIGN rule 11), decided by another moderator.
    CREATE TABLE appeals (
        id TEXT PRIMARY KEY,
        decision_id TEXT NOT NULL UNIQUE REFERENCES decisions(id),
        report_id TEXT NOT NULL REFERENCES reports(id),
        review_id TEXT NOT NULL REFERENCES reviews(id),
        appellant TEXT NOT NULL,
        appellant_id TEXT NOT NULL,
        statement TEXT NOT NULL,
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        sla_deadline TEXT NOT NULL,
        escalated_at TEXT,
        decided_at TEXT,
        moderator_id TEXT REFERENCES moderators(id),
        decision TEXT,
        note TEXT,
        idempotency_key TEXT,
        -- The moderator's Idempotency-Key for the decision: a retry resends the first update.
        decision_key TEXT,
        purged_at TEXT
    );
    CREATE INDEX appeals_by_status ON appeals (status, opened_at);
    CREATE INDEX appeals_by_report ON appeals (report_id);
    CREATE INDEX reports_by_review ON reports (review_id);
    CREATE UNIQUE INDEX reports_after_contact ON reports (review_id) WHERE source = 'contact';
    CREATE UNIQUE INDEX reports_pending_per_reason ON reports (review_id, reason)
        WHERE status = 'pending' AND source <> 'contact';
    CREATE INDEX reports_queue ON reports (status, priority, opened_at);
    """

V8_STANDING = """
    -- 8 (issue 18): the misuse guard's ladder (DESIGN rule 12). Each step a record: a business's
    -- warning, restriction or consumer warning, a notifier's warning or suspension. A notifier
    -- is named by a keyed hash of their address (`notifier_key`), never the address itself.
    CREATE TABLE standing_steps (
        id TEXT PRIMARY KEY,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        finding TEXT NOT NULL,
        figures TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        ended_at TEXT,
        end_reason TEXT,
        lifted_by TEXT REFERENCES moderators(id),
        lift_note TEXT,
        -- The moderator's Idempotency-Key for the lift: a retry answers as the first did.
        lift_key TEXT
    );
    CREATE INDEX standing_steps_by_subject ON standing_steps (subject_kind, subject_id, taken_at);
    CREATE INDEX standing_steps_by_time ON standing_steps (taken_at);
    CREATE INDEX standing_steps_in_force ON standing_steps (ended_at, taken_at);
    ALTER TABLE notices ADD COLUMN notifier_key TEXT;
    CREATE INDEX notices_by_notifier ON notices (notifier_key, received_at);
    CREATE INDEX contacts_by_review_end ON contacts (review_id, closed_at);
    CREATE INDEX flags_by_business_reason ON flags (review_id, reason, business_id);
    -- The transparency figures (rule 13) count a period of millions of rows: each count reads
    -- one range of one of these, never the table (each holds what its count groups by).
    CREATE INDEX flags_by_time ON flags (opened_at, reason);
    CREATE INDEX notices_by_time ON notices (received_at, sub_reason);
    CREATE INDEX reports_by_opening ON reports (opened_at, source);
    CREATE INDEX reports_by_decision ON reports (decided_at, status, source, opened_at);
    CREATE INDEX appeals_by_opening ON appeals (opened_at);
    CREATE INDEX appeals_by_decision ON appeals (decided_at, status, opened_at);
    CREATE INDEX statements_by_restriction ON statements (restriction, created_at);
    CREATE INDEX standing_steps_by_end ON standing_steps (ended_at, end_reason, subject_kind);
    """

V9_DESK = """
    -- 9 (issue 19): the response desk (DESIGN rules 14-17, 20). A business's team: its owner
    -- (who signs in with the business's key, so `api_key_hash` stays NULL here) and its agents,
    -- each with a key of their own. `handle` is what an @mention in a note names.
    CREATE TABLE members (
        id TEXT PRIMARY KEY,
        business_id TEXT NOT NULL REFERENCES businesses(id),
        name TEXT NOT NULL,
        handle TEXT NOT NULL,
        email TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('owner', 'agent')),
        api_key_hash TEXT UNIQUE,
        created_at TEXT NOT NULL,
        idempotency_key TEXT,
        -- An agent the owner removed: their key is gone (NULL), and they leave the team, the
        -- assign list and the mentions; the row stays for the names in history and notes.
        removed_at TEXT,
        UNIQUE (business_id, idempotency_key)
    );
    -- A removed agent's handle is free for someone new.
    CREATE UNIQUE INDEX members_by_handle ON members (business_id, handle)
        WHERE removed_at IS NULL;
    INSERT INTO members (id, business_id, name, handle, email, role, created_at)
        SELECT 'mb_owner_' || id, id, name, 'owner', email, 'owner', created_at FROM businesses;
    -- The platform that posts every new review (rule 14), with its own key.
    CREATE TABLE platforms (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        api_key_hash TEXT UNIQUE,
        created_at TEXT NOT NULL
    );
    -- The platform's own id of a review: posting it again finds this one. An anonymous review
    -- shows "Anonymous reviewer" wherever its author's name would be.
    ALTER TABLE reviews ADD COLUMN external_id TEXT;
    ALTER TABLE reviews ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 0;
    CREATE UNIQUE INDEX reviews_by_external_id ON reviews (external_id);
    -- A ticket per review (rule 15). `negative` is the tag, kept beside the tags for the views'
    -- indexes; `target_at` and `remind_at` are fixed when it opens (a policy change applies to
    -- new tickets), and the ticket's workflow keeps their timers.
    CREATE TABLE tickets (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL UNIQUE REFERENCES reviews(id),
        business_id TEXT NOT NULL REFERENCES businesses(id),
        subject TEXT NOT NULL,
        requester TEXT NOT NULL,
        rating INTEGER NOT NULL,
        status TEXT NOT NULL,
        priority TEXT NOT NULL,
        negative INTEGER NOT NULL,
        assignee_id TEXT REFERENCES members(id),
        policy_name TEXT NOT NULL,
        target_at TEXT NOT NULL,
        remind_at TEXT NOT NULL,
        reminded_at TEXT,
        breached_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        -- Set by its workflow's first step: a ticket without it after a while had its start
        -- lost (Temporal down when the review came in, and no retry): reconcile starts it.
        started_at TEXT
    );
    CREATE INDEX tickets_not_started ON tickets (created_at) WHERE started_at IS NULL;
    -- One index per inbox view, newest first within a business. The "not solved" views are
    -- partial indexes: a business's history of solved tickets grows for ever, and the inbox
    -- must not walk it. Their queries name the same literal condition (store/tickets.py).
    CREATE INDEX tickets_all ON tickets (business_id, created_at, id);
    CREATE INDEX tickets_by_status ON tickets (business_id, status, created_at, id);
    CREATE INDEX tickets_assigned_open ON tickets (business_id, assignee_id, created_at, id)
        WHERE status <> 'solved';
    CREATE INDEX tickets_negative_open ON tickets (business_id, created_at, id)
        WHERE negative = 1 AND status <> 'solved';
    CREATE TABLE ticket_tags (
        ticket_id TEXT NOT NULL REFERENCES tickets(id),
        tag TEXT NOT NULL,
        added_at TEXT NOT NULL,
        -- The order tags were added in: those of one moment keep the order they were given.
        position INTEGER NOT NULL,
        PRIMARY KEY (ticket_id, tag)
    );
    -- Every change of a ticket, for its history: who (a member, or NULL for Reviewdesk
    -- itself), what (`kind`), and ids or words only in `detail`, never what someone wrote.
    CREATE TABLE ticket_events (
        id TEXT PRIMARY KEY,
        ticket_id TEXT NOT NULL REFERENCES tickets(id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor_id TEXT REFERENCES members(id),
        detail TEXT,
        -- The Idempotency-Key of the assignment that recorded it: a retry answers as the first
        -- try did, even after someone else has reassigned the ticket since.
        idempotency_key TEXT,
        UNIQUE (ticket_id, actor_id, idempotency_key)
    );
    CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, at);
    -- Internal notes: never public (rule 17).
    CREATE TABLE ticket_notes (
        id TEXT PRIMARY KEY,
        ticket_id TEXT NOT NULL REFERENCES tickets(id),
        author_id TEXT NOT NULL REFERENCES members(id),
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        idempotency_key TEXT,
        -- A key names one note of one ticket: the same key on another ticket is another note.
        UNIQUE (ticket_id, author_id, idempotency_key)
    );
    CREATE INDEX ticket_notes_by_ticket ON ticket_notes (ticket_id, created_at);
    -- A business's response policies (rule 20), in order: the first that matches wins.
    CREATE TABLE response_policies (
        id TEXT PRIMARY KEY,
        business_id TEXT NOT NULL REFERENCES businesses(id),
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        ratings TEXT NOT NULL,
        target_minutes INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        removed_at TEXT,
        -- A policy added again with the same Idempotency-Key is the first one.
        idempotency_key TEXT,
        UNIQUE (business_id, idempotency_key)
    );
    CREATE INDEX response_policies_by_business ON response_policies (business_id, position);
    """

V10_REPLIES = """
    -- 10 (issue 20): the public reply, macros and spam (DESIGN rules 18, 19, 21). A business's
    -- reply templates; a removed one stays for nothing but is never offered again.
    CREATE TABLE macros (
        id TEXT PRIMARY KEY,
        business_id TEXT NOT NULL REFERENCES businesses(id),
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        created_by TEXT REFERENCES members(id),
        created_at TEXT NOT NULL,
        removed_at TEXT,
        idempotency_key TEXT,
        -- A key is its member's: a colleague's same key is another request.
        UNIQUE (business_id, created_by, idempotency_key)
    );
    CREATE INDEX macros_by_business ON macros (business_id, created_at);
    -- A reply as a team member sent it, before it is published. Its text stays here: the
    -- ticket's workflow is told the draft's id only, so the text never enters a history.
    CREATE TABLE reply_drafts (
        id TEXT PRIMARY KEY,
        ticket_id TEXT NOT NULL REFERENCES tickets(id),
        author_id TEXT NOT NULL REFERENCES members(id),
        text TEXT NOT NULL,
        solve INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        idempotency_key TEXT,
        UNIQUE (ticket_id, author_id, idempotency_key)
    );
    -- The public reply (rule 19): one per review, made unique here whatever else fails, and
    -- never updated (no route writes this table but the ticket workflow's publish step).
    CREATE TABLE replies (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL UNIQUE REFERENCES reviews(id),
        ticket_id TEXT NOT NULL UNIQUE REFERENCES tickets(id),
        business_id TEXT NOT NULL REFERENCES businesses(id),
        draft_id TEXT NOT NULL UNIQUE REFERENCES reply_drafts(id),
        author_id TEXT NOT NULL REFERENCES members(id),
        text TEXT NOT NULL,
        published_at TEXT NOT NULL
    );
    CREATE INDEX replies_by_business ON replies (business_id, published_at);
    -- When the ticket got its public reply, when it was solved, and when it was marked spam or
    -- irrelevant (after which no reply is possible, rule 21).
    ALTER TABLE tickets ADD COLUMN replied_at TEXT;
    ALTER TABLE tickets ADD COLUMN solved_at TEXT;
    ALTER TABLE tickets ADD COLUMN spam_at TEXT;
    -- A business's spam marks by when they were made, for its insights (rule 21): few rows.
    CREATE INDEX tickets_marked_spam ON tickets (business_id, spam_at) WHERE spam_at IS NOT NULL;
    """

MIGRATIONS: list[str] = [
    # 1: the Find Reviewer process.
    """
    CREATE TABLE businesses (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL,
        api_key_hash TEXT UNIQUE,
        webhook_url TEXT,
        webhook_secret TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE moderators (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        api_key_hash TEXT UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE reviewers (
        id TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        email TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE reviews (
        id TEXT PRIMARY KEY,
        business_id TEXT NOT NULL REFERENCES businesses(id),
        reviewer_id TEXT NOT NULL REFERENCES reviewers(id),
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        source TEXT NOT NULL
            CHECK (source IN ('organic', 'external_invitation', 'platform_invitation')),
        visibility TEXT NOT NULL DEFAULT 'visible'
            CHECK (visibility IN ('visible', 'hidden', 'removed')),
        created_at TEXT NOT NULL
    );
    CREATE INDEX reviews_by_business ON reviews (business_id, created_at);
    CREATE TABLE review_labels (
        review_id TEXT NOT NULL REFERENCES reviews(id),
        label TEXT NOT NULL,
        since TEXT NOT NULL,
        PRIMARY KEY (review_id, label)
    );
    -- Every request, accepted or refused; an accepted one becomes the contact of the same id.
    CREATE TABLE contact_requests (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL,
        business_id TEXT NOT NULL,
        message TEXT NOT NULL,
        requested TEXT NOT NULL,
        idempotency_key TEXT,
        created_at TEXT NOT NULL,
        refusal TEXT,
        UNIQUE (business_id, idempotency_key)
    );
    CREATE TABLE contacts (
        id TEXT PRIMARY KEY REFERENCES contact_requests(id),
        review_id TEXT NOT NULL REFERENCES reviews(id),
        business_id TEXT NOT NULL REFERENCES businesses(id),
        reviewer_id TEXT NOT NULL REFERENCES reviewers(id),
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        deadline TEXT NOT NULL,
        window_closed_at TEXT,
        report_deadline TEXT,
        answer_id TEXT,
        token_hash TEXT UNIQUE,
        token_used_at TEXT,
        closed_at TEXT,
        report_id TEXT
    );
    CREATE INDEX contacts_by_business ON contacts (business_id, opened_at);
    CREATE INDEX contacts_by_review ON contacts (review_id);
    -- What a reviewer submitted; only the one the workflow accepted is linked from its contact.
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id),
        answer TEXT NOT NULL CHECK (answer IN ('reply', 'decline')),
        order_reference TEXT,
        contact_details TEXT,
        message TEXT,
        submitted_at TEXT NOT NULL
    );
    CREATE TABLE reports (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL UNIQUE REFERENCES reviews(id),
        contact_id TEXT NOT NULL REFERENCES contacts(id),
        business_id TEXT NOT NULL REFERENCES businesses(id),
        grounds TEXT NOT NULL,
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        sla_deadline TEXT NOT NULL,
        escalated_at TEXT,
        decided_at TEXT,
        decision_id TEXT
    );
    CREATE INDEX reports_by_status ON reports (status, opened_at);
    CREATE TABLE decisions (
        id TEXT PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id),
        moderator_id TEXT NOT NULL REFERENCES moderators(id),
        decision TEXT NOT NULL CHECK (decision IN ('uphold', 'reject')),
        note TEXT NOT NULL,
        submitted_at TEXT NOT NULL
    );
    -- The ordered history of every contact and report; `key` makes each entry written once.
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        subject_id TEXT NOT NULL,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_by_subject ON events (subject_id, at, seq);
    -- Every notification, recorded once under its key before anything is sent.
    CREATE TABLE outbox (
        key TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        recipient_kind TEXT NOT NULL,
        recipient_id TEXT NOT NULL,
        to_address TEXT NOT NULL,
        subject TEXT NOT NULL,
        body_text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        sent_at TEXT
    );
    CREATE INDEX outbox_by_subject ON outbox (subject_id, created_at);
    """,
    # 2: webhooks. Outbox rows of channel 'webhook' hold the exact JSON body in body_text and
    # the endpoint in to_address; a business reads its own delivery log through this index.
    """
    CREATE INDEX outbox_by_recipient ON outbox (channel, recipient_id, created_at);
    """,
    # 3 (issue 15, idempotent retries): a caller's Idempotency-Key finds the draft its first try
    # left (an answer, a decision) or the report or close it asked for; that object's id names
    # the workflow update, so a retry sends the same update and gets the first one's outcome.
    """
    ALTER TABLE answers ADD COLUMN idempotency_key TEXT;
    CREATE UNIQUE INDEX answers_by_idempotency_key ON answers (contact_id, idempotency_key);
    ALTER TABLE decisions ADD COLUMN idempotency_key TEXT;
    CREATE UNIQUE INDEX decisions_by_idempotency_key
        ON decisions (report_id, moderator_id, idempotency_key);
    CREATE TABLE contact_actions (
        id TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id),
        action TEXT NOT NULL CHECK (action IN ('report', 'close')),
        idempotency_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (contact_id, action, idempotency_key)
    );
    """,
    # 4 (issue 15, webhook endpoints per Standard Webhooks): several per business, each with
    # its event types (a JSON list; empty: all) and its secret sealed with a key outside the
    # store (a rotated one keeps signing beside the new one until previous_secret_until); the
    # Idempotency-Keys of its registration and of its last rotation. A business's single
    # webhook moves here, taking every event; its secret, moved in clear, is sealed when a
    # worker next starts (starter.webhooks.seal_clear_secrets).
    """
    CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        business_id TEXT NOT NULL REFERENCES businesses(id),
        url TEXT NOT NULL,
        event_types TEXT NOT NULL DEFAULT '[]',
        secret TEXT NOT NULL,
        previous_secret TEXT,
        previous_secret_until TEXT,
        created_at TEXT NOT NULL,
        removed_at TEXT,
        idempotency_key TEXT,
        rotation_key TEXT,
        UNIQUE (business_id, idempotency_key)
    );
    CREATE INDEX webhook_endpoints_by_business ON webhook_endpoints (business_id, created_at);
    INSERT INTO webhook_endpoints (id, business_id, url, event_types, secret, created_at)
        SELECT 'we_' || lower(hex(randomblob(10))), id, webhook_url, '[]', webhook_secret,
            strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000+00:00'
        FROM businesses WHERE webhook_url IS NOT NULL AND webhook_secret IS NOT NULL;
    UPDATE businesses SET webhook_url = NULL, webhook_secret = NULL;
    """,
    # Issue 15, one-time links and retention: an email's link is put in only when it is sent
    # (outbox.link_purpose, at link_at of the body); what people wrote is purged `retention`
    # after its case ended (purged_at). A reviewer's request email already sent or given up on
    # loses its link: the last "/reply/<43 characters>" line, replaced by the mark a page shows,
    # or, if the body is not as the platform wrote it, the whole body. One still pending keeps
    # its link (its token was random, and the store has only its hash): it is sent as it is, and
    # the worker's hourly purge removes the link once it is sent (store/retention.py).
    """
    ALTER TABLE outbox ADD COLUMN link_purpose TEXT;
    ALTER TABLE outbox ADD COLUMN link_at INTEGER;
    ALTER TABLE outbox ADD COLUMN purged_at TEXT;
    ALTER TABLE contact_requests ADD COLUMN purged_at TEXT;
    ALTER TABLE answers ADD COLUMN purged_at TEXT;
    -- Partial: an index led by status made SQLite scan every open contact for the dashboard's
    -- "open contacts of these reviews" instead of using contacts_by_review (3x slower).
    CREATE INDEX contacts_by_end ON contacts (closed_at) WHERE status = 'closed';
    UPDATE outbox SET body_text = (
        WITH RECURSIVE
        found(at, rest) AS (
            SELECT 0, body_text
            UNION ALL
            SELECT at + instr(rest, '/reply/'), substr(rest, instr(rest, '/reply/') + 1)
            FROM found WHERE instr(rest, '/reply/') > 0
        ),
        link(at) AS (SELECT max(at) FROM found),
        line(at, rest) AS (
            SELECT 0, substr(body_text, 1, (SELECT at FROM link))
            UNION ALL
            SELECT at + instr(rest, char(10)), substr(rest, instr(rest, char(10)) + 1)
            FROM line WHERE instr(rest, char(10)) > 0
        )
        SELECT CASE
            WHEN link.at > 0 AND substr(body_text, link.at + 50, 1) IN (char(10), '')
            THEN substr(body_text, 1, (SELECT max(at) FROM line)) || '[link sent by email]'
                || substr(body_text, link.at + 50)
            ELSE '[This email held a one-time link. Its text was removed.]'
        END
        FROM link
    )
    WHERE channel = 'email' AND event_type = 'contact.requested' AND status <> 'pending';
    """,
    # Issue 15, what a business sees of a failed webhook attempt: webhook rows from before kept
    # the receiver's answer ("HTTP 500: <its text>") or the connection error's text
    # ("ConnectError: [Errno 111] ..."), which map the worker's network. Each keeps only its
    # status code, or the word the sender now records ("timed out" for a timeout, else
    # "connection failed"), in "gave up after N attempts; last: ..." too. (No semicolon inside
    # the SQL: migrations are split on them, hence char(59).)
    """
    UPDATE outbox SET last_error = (
        WITH
        mark(at) AS (
            SELECT CASE WHEN last_error LIKE 'gave up after %'
                THEN instr(last_error, char(59) || ' last: ') ELSE 0 END
        ),
        parts(kept, said) AS (
            SELECT substr(last_error, 1, CASE WHEN at > 0 THEN at + 7 ELSE 0 END),
                CASE WHEN at > 0 THEN substr(last_error, at + 8) ELSE last_error END
            FROM mark
        )
        SELECT kept || CASE
            WHEN said GLOB 'gave up after [0-9]* attempts' THEN said
            WHEN said GLOB 'HTTP [0-9][0-9][0-9]*' THEN substr(said, 1, 8)
            WHEN said IN ('timed out', 'connection failed', 'address not allowed',
                'redirect not followed', 'secret unreadable', 'endpoint removed',
                'no webhook registered') THEN said
            WHEN said = 'the business has no webhook now' THEN 'no webhook registered'
            WHEN substr(said, 1, instr(said || ':', ':') - 1) GLOB '*Timeout*' THEN 'timed out'
            ELSE 'connection failed'
        END
        FROM parts
    )
    WHERE channel = 'webhook' AND last_error IS NOT NULL;
    """,
    """
    -- 7 (issue 17): every reason a review is reported for, by a business's flag or anyone's
    -- notice. A review may now be reported more than once (one report per reason at a time;
    -- after a contact, once for ever), and a report from a flag or a notice has no contact, so
    -- `reports` is rebuilt: its rows kept aside, the table dropped and made anew, the rows put
    -- back. `decisions` refers to it: its check waits for the commit (each report put back
    -- settles the decisions that refer to it); a rename would have moved their reference.
    PRAGMA defer_foreign_keys = ON;
    CREATE TABLE reports_v6 AS SELECT * FROM reports;
    DROP TABLE reports;
    CREATE TABLE reports (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL REFERENCES reviews(id),
        contact_id TEXT REFERENCES contacts(id),
        business_id TEXT NOT NULL REFERENCES businesses(id),
        grounds TEXT,
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        sla_deadline TEXT NOT NULL,
        escalated_at TEXT,
        decided_at TEXT,
        decision_id TEXT,
        reason TEXT NOT NULL DEFAULT 'not_genuine',
        sub_reason TEXT,
        source TEXT NOT NULL DEFAULT 'contact',
        priority TEXT NOT NULL DEFAULT 'normal',
        flag_id TEXT
    );
    INSERT INTO reports (id, review_id, contact_id, business_id, grounds, status, opened_at,
            sla_deadline, escalated_at, decided_at, decision_id)
        SELECT id, review_id, contact_id, business_id, grounds, status, opened_at,
            sla_deadline, escalated_at, decided_at, decision_id
        FROM reports_v6;
    DROP TABLE reports_v6;
    CREATE INDEX reports_by_status ON reports (status, opened_at);

    """
    + V7_PROCESSES,
    V8_STANDING,
    V9_DESK,
    V10_REPLIES,
]
