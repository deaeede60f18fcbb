-- praxisbote schema v1. Personal fields are BLOBs sealed with the patient's
-- data key (AES-256-GCM); phones are found through a keyed blind index.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS patients (
    id                INTEGER PRIMARY KEY,
    practice_id       TEXT NOT NULL,
    source            TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    data_key          BLOB,            -- wrapped per-patient key; NULL after erasure
    family_name       BLOB,
    given_name        BLOB,
    birth_date        BLOB,
    sex               TEXT NOT NULL DEFAULT '',
    preferred_channel TEXT NOT NULL DEFAULT 'whatsapp',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (practice_id, source, external_id)
);

CREATE TABLE IF NOT EXISTS patient_phones (
    patient_id  INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    blind_index TEXT NOT NULL,
    e164        BLOB NOT NULL,
    kind        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (patient_id, blind_index)
);
CREATE INDEX IF NOT EXISTS patient_phones_index ON patient_phones(blind_index);

CREATE TABLE IF NOT EXISTS appointments (
    id           INTEGER PRIMARY KEY,
    practice_id  TEXT NOT NULL,
    patient_id   INTEGER NOT NULL REFERENCES patients(id),
    external_id  TEXT NOT NULL,
    start_at     TEXT NOT NULL,   -- UTC, fixed-width, sortable
    duration_min INTEGER NOT NULL,
    practitioner TEXT NOT NULL DEFAULT '',
    kind         BLOB,            -- clinical detail: sealed, never in a message
    status       TEXT NOT NULL,
    source       TEXT NOT NULL DEFAULT '',  -- format:profile of the export that last listed it
    source_file  TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (practice_id, external_id)
);
CREATE INDEX IF NOT EXISTS appointments_patient ON appointments(patient_id, start_at);

CREATE TABLE IF NOT EXISTS consent_events (
    id           INTEGER PRIMARY KEY,
    practice_id  TEXT NOT NULL,
    patient_id   INTEGER REFERENCES patients(id),
    phone_index  TEXT NOT NULL DEFAULT '',
    channel      TEXT NOT NULL,
    purposes     TEXT NOT NULL,   -- JSON array
    action       TEXT NOT NULL,
    source       TEXT NOT NULL,
    evidence     TEXT NOT NULL DEFAULT '',
    text_version TEXT NOT NULL DEFAULT '',
    occurred_at  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    dedupe_key   TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS consent_patient ON consent_events(patient_id, channel);
CREATE INDEX IF NOT EXISTS consent_phone ON consent_events(phone_index, channel);

-- Append-only: the database refuses edits and deletes of consent history.
CREATE TRIGGER IF NOT EXISTS consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN SELECT RAISE(ABORT, 'consent_events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS consent_events_no_delete BEFORE DELETE ON consent_events
BEGIN SELECT RAISE(ABORT, 'consent_events is append-only'); END;

CREATE TABLE IF NOT EXISTS reminders (
    id             INTEGER PRIMARY KEY,
    practice_id    TEXT NOT NULL,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    rule_id        TEXT NOT NULL,
    due_at         TEXT NOT NULL,
    idem_key       TEXT NOT NULL UNIQUE,
    state          TEXT NOT NULL,  -- pending, queued, done, cancelled
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reminders_due ON reminders(state, due_at);

CREATE TABLE IF NOT EXISTS deliveries (
    id                  INTEGER PRIMARY KEY,
    practice_id         TEXT NOT NULL,
    reminder_id         INTEGER REFERENCES reminders(id),
    fallback_of         INTEGER UNIQUE REFERENCES deliveries(id), -- at most one fallback per delivery
    idem_key            TEXT UNIQUE,  -- messages that must exist once (a change notice per new start)
    appointment_id      INTEGER REFERENCES appointments(id),
    patient_id          INTEGER REFERENCES patients(id),
    channel             TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    template            TEXT NOT NULL DEFAULT '',
    to_index            TEXT NOT NULL DEFAULT '',
    to_sealed           BLOB,  -- the number, sealed, for messages to a number without a patient record
    state               TEXT NOT NULL,
    reason              TEXT NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    provider_code       TEXT NOT NULL DEFAULT '',
    provider_message_id TEXT UNIQUE,
    replay_count        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL DEFAULT '',  -- a retry waits for this time
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    sent_at             TEXT NOT NULL DEFAULT '',
    delivered_at        TEXT NOT NULL DEFAULT '',
    read_at             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries(state);
CREATE INDEX IF NOT EXISTS deliveries_retry ON deliveries(next_attempt_at) WHERE next_attempt_at <> '';
CREATE INDEX IF NOT EXISTS deliveries_to ON deliveries(to_index, sent_at);

CREATE TABLE IF NOT EXISTS delivery_events (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
    status      TEXT NOT NULL,
    at          TEXT NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    applied     INTEGER NOT NULL,
    dedupe_key  TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS inbound_messages (
    id             INTEGER PRIMARY KEY,
    practice_id    TEXT NOT NULL,
    channel        TEXT NOT NULL,
    provider_id    TEXT NOT NULL,
    from_index     TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    type           TEXT NOT NULL,
    body           BLOB,          -- sealed with its own data key
    body_key       BLOB,
    intent         TEXT NOT NULL DEFAULT '',
    patient_id     INTEGER REFERENCES patients(id),
    appointment_id INTEGER REFERENCES appointments(id),
    handled        TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    UNIQUE (channel, provider_id)
);

CREATE TABLE IF NOT EXISTS ingest_files (
    id           INTEGER PRIMARY KEY,
    practice_id  TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    format       TEXT NOT NULL DEFAULT '',
    profile      TEXT NOT NULL DEFAULT '',
    rows         INTEGER NOT NULL DEFAULT 0,
    imported     INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    problems     TEXT NOT NULL DEFAULT '[]',  -- JSON: line, field, reason (no personal values)
    status       TEXT NOT NULL,               -- imported, failed
    error        TEXT NOT NULL DEFAULT '',
    processed_at TEXT NOT NULL,
    UNIQUE (practice_id, sha256)
);

CREATE TABLE IF NOT EXISTS writebacks (
    id             INTEGER PRIMARY KEY,
    practice_id    TEXT NOT NULL,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    action         TEXT NOT NULL,
    inbound_id     INTEGER NOT NULL REFERENCES inbound_messages(id),
    file           TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    UNIQUE (appointment_id, action, inbound_id)
);
