"""The store's schema as an ordered list of migrations; ``PRAGMA user_version`` says how many ran.

Append a migration to change the schema; never edit one that has shipped, since existing
database files have already run it.
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
]
