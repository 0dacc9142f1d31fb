"""The store's schema on PostgreSQL, versioned like SQLite's (``store.schema``).

PostgreSQL came when SQLite's schema was at version 6: its first migration builds that whole
schema at once and counts as versions 1 to 6. From version 7 on, a change is appended to both
lists under the same number. Times stay ISO 8601 text in UTC, as on SQLite, so that the SQL and
the ordering are the same on both.
"""

from store.schema import MIGRATIONS as SQLITE_MIGRATIONS
from store.schema import V7_PROCESSES, V8_STANDING, V9_DESK, V10_REPLIES

# (the schema version it brings the database to, its statements)
MIGRATIONS: list[tuple[int, str]] = [
    (
        6,
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
    CREATE TABLE contact_requests (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL,
        business_id TEXT NOT NULL,
        message TEXT NOT NULL,
        requested TEXT NOT NULL,
        idempotency_key TEXT,
        created_at TEXT NOT NULL,
        refusal TEXT,
        purged_at TEXT,
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
    CREATE INDEX contacts_by_end ON contacts (closed_at) WHERE status = 'closed';
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id),
        answer TEXT NOT NULL CHECK (answer IN ('reply', 'decline')),
        order_reference TEXT,
        contact_details TEXT,
        message TEXT,
        submitted_at TEXT NOT NULL,
        idempotency_key TEXT,
        purged_at TEXT
    );
    CREATE UNIQUE INDEX answers_by_idempotency_key ON answers (contact_id, idempotency_key);
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
        submitted_at TEXT NOT NULL,
        idempotency_key TEXT
    );
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
    CREATE TABLE events (
        seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        subject_id TEXT NOT NULL,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_by_subject ON events (subject_id, at, seq);
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
        sent_at TEXT,
        link_purpose TEXT,
        link_at INTEGER,
        purged_at TEXT
    );
    CREATE INDEX outbox_by_subject ON outbox (subject_id, created_at);
    CREATE INDEX outbox_by_recipient ON outbox (channel, recipient_id, created_at);
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
    """,
    ),
    (
        7,
        # Issue 17, as SQLite's migration 7: reports of every reason (no longer one per review,
        # not always after a contact), flags, reviewers' edits, notices, statements, appeals.
        """
    ALTER TABLE reports ALTER COLUMN contact_id DROP NOT NULL;
    ALTER TABLE reports ALTER COLUMN grounds DROP NOT NULL;
    ALTER TABLE reports DROP CONSTRAINT reports_review_id_key;
    ALTER TABLE reports ADD COLUMN reason TEXT NOT NULL DEFAULT 'not_genuine';
    ALTER TABLE reports ADD COLUMN sub_reason TEXT;
    ALTER TABLE reports ADD COLUMN source TEXT NOT NULL DEFAULT 'contact';
    ALTER TABLE reports ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
    ALTER TABLE reports ADD COLUMN flag_id TEXT;

    """
        + V7_PROCESSES,
    ),
    (8, V8_STANDING),
    (9, V9_DESK),
    (10, V10_REPLIES),
]

# Both databases reach the same version with the same code: a migration added to one only
# would leave the other behind.
assert MIGRATIONS[-1][0] == len(SQLITE_MIGRATIONS), "add the migration to both schemas"
