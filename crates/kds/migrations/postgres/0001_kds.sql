-- The KDS store in PostgreSQL (crates/kds/src/store/postgres.rs), in the
-- schema `kds`: what crates/kds/src/store/sqlite.rs keeps, with the same
-- meaning. Applied once by crosslock-pg's migrator; never edit it after it
-- shipped, add 0002_... instead.
--
-- Text keys compare byte-wise (COLLATE "C"), as in SQLite, whatever the
-- database's locale. Times are Unix seconds.

CREATE TABLE nonces (
    nonce bytea PRIMARY KEY,
    expires_at bigint NOT NULL
);
CREATE INDEX nonces_by_expiry ON nonces (expires_at);

CREATE TABLE devices (
    device_id text COLLATE "C" PRIMARY KEY,
    number text COLLATE "C" NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    assurance text NOT NULL,
    enrolled_at bigint NOT NULL,
    revoked_at bigint
);
CREATE INDEX devices_by_number ON devices (number);

CREATE TABLE credentials (
    serial text COLLATE "C" PRIMARY KEY,
    -- Issue order (SQLite's rowid).
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    device_id text COLLATE "C" NOT NULL REFERENCES devices (device_id),
    public_key bytea NOT NULL,
    -- u32-length-prefixed DER certificates, leaf first.
    chain bytea NOT NULL,
    not_after bigint NOT NULL,
    revoked_at bigint
);
CREATE INDEX credentials_by_device ON credentials (device_id, seq);
CREATE INDEX credentials_by_revocation ON credentials (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE key_packages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text COLLATE "C" NOT NULL REFERENCES devices (device_id),
    suite integer NOT NULL,
    last_resort boolean NOT NULL,
    not_after bigint NOT NULL,
    bytes bytea NOT NULL
);
CREATE INDEX key_packages_by_device ON key_packages (device_id, suite, last_resort, id);

-- SHA-256 of every single-use KeyPackage ever accepted, until it expires:
-- a KeyPackage uploaded again (a retry, a replay) is refused, so it can
-- never be handed out twice, even after it was claimed.
CREATE TABLE key_packages_seen (
    hash bytea PRIMARY KEY,
    not_after bigint NOT NULL
);
CREATE INDEX key_packages_seen_by_expiry ON key_packages_seen (not_after);

-- Numbers waiting for the next key-transparency epoch. A change takes a
-- new position from the sequence after it holds the row, so it is above
-- the position of any entry a publisher read before.
CREATE SEQUENCE kt_queue_seq;
CREATE TABLE kt_queue (
    number text COLLATE "C" PRIMARY KEY,
    seq bigint NOT NULL
);
CREATE INDEX kt_queue_by_seq ON kt_queue (seq);

-- How many devices each carrier proof enrolled (KDS-ENR-10), until the
-- proof expires.
CREATE TABLE proof_uses (
    digest bytea PRIMARY KEY,
    uses integer NOT NULL,
    not_after bigint NOT NULL
);
CREATE INDEX proof_uses_by_expiry ON proof_uses (not_after);

-- Numbers the transparency publisher left out (KDS-KT-1).
CREATE TABLE kt_skipped (
    number text COLLATE "C" PRIMARY KEY,
    seq bigint NOT NULL,
    reason text NOT NULL,
    skipped_at bigint NOT NULL
);

CREATE TABLE secrets (
    name text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

-- Token buckets of the rate limits.
CREATE TABLE rate (
    key bytea PRIMARY KEY,
    tokens double precision NOT NULL,
    updated_at bigint NOT NULL
);
