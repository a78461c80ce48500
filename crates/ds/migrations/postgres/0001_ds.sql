-- The DS store in PostgreSQL (crates/ds/src/store/postgres.rs), in the
-- schema `ds`: what crates/ds/src/store/sqlite.rs keeps, with the same
-- meaning. Applied once by crosslock-pg's migrator; never edit it after it
-- shipped, add 0002_... instead.
--
-- Text keys compare byte-wise (COLLATE "C"), as in SQLite, whatever the
-- database's locale. Times are Unix seconds; eras and epochs are bigint.

-- Conversations known here: hosted (hub IS NULL) or followed at `hub`.
CREATE TABLE conversations (
    group_id bytea PRIMARY KEY,
    hub text COLLATE "C",
    era bigint NOT NULL,
    epoch bigint NOT NULL,
    state bytea NOT NULL,
    group_info bytea NOT NULL,
    ratchet_tree bytea,
    -- JSON, as in SQLite: [{"device": {...}, "home": ...}, ...].
    members text NOT NULL,
    ended boolean NOT NULL,
    created_at bigint NOT NULL
);

-- Idempotency: a message id is accepted once per conversation.
CREATE TABLE accepted (
    group_id bytea NOT NULL,
    message_id text COLLATE "C" NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (group_id, message_id)
);
CREATE INDEX accepted_by_time ON accepted (at);

-- DS-AUTH-1: pinned authenticators and the devices that opened epochs.
CREATE TABLE epoch_authenticators (
    group_id bytea NOT NULL,
    era bigint NOT NULL,
    epoch bigint NOT NULL,
    authenticator bytea NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (group_id, era, epoch)
);
CREATE INDEX epoch_authenticators_by_time ON epoch_authenticators (at);
CREATE TABLE epoch_owners (
    group_id bytea NOT NULL,
    era bigint NOT NULL,
    epoch bigint NOT NULL,
    device text COLLATE "C" NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (group_id, era, epoch)
);
CREATE INDEX epoch_owners_by_time ON epoch_owners (at);

-- DS-FED-5: how each conversation hosted here was created.
CREATE TABLE creations (
    group_id bytea PRIMARY KEY,
    era bigint NOT NULL,
    group_info bytea NOT NULL,
    ratchet_tree bytea
);

-- Accepted commits, one per (group, era, epoch ended): the key is the
-- database's own guard of "exactly one commit per epoch" (DS-STORE-1).
CREATE TABLE commits (
    group_id bytea NOT NULL,
    era bigint NOT NULL,
    epoch bigint NOT NULL,
    message_id text COLLATE "C" NOT NULL,
    envelope bytea NOT NULL,
    external boolean NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (group_id, era, epoch)
);
CREATE INDEX commits_by_time ON commits (at);

-- Inbox positions come from one sequence shared by every device (never
-- reused), drawn while the device's advisory lock is held, so one
-- device's positions commit in increasing order (DS-STORE-1).
CREATE TABLE inbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device text COLLATE "C" NOT NULL,
    message_id text COLLATE "C" NOT NULL,
    envelope bytea NOT NULL,
    ratchet_tree bytea,
    at bigint NOT NULL,
    UNIQUE (device, message_id)
);
CREATE INDEX inbox_by_device ON inbox (device, seq);
CREATE INDEX inbox_by_time ON inbox (at);

-- Deliveries queued for peer providers.
CREATE TABLE outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    peer text COLLATE "C" NOT NULL,
    group_id bytea NOT NULL,
    number text COLLATE "C" NOT NULL,
    device text COLLATE "C" NOT NULL,
    message_id text COLLATE "C" NOT NULL,
    envelope bytea NOT NULL,
    ratchet_tree bytea,
    at bigint NOT NULL
);
CREATE INDEX outbox_by_peer ON outbox (peer, seq);

CREATE TABLE push_tokens (
    device text COLLATE "C" PRIMARY KEY,
    token text NOT NULL
);
