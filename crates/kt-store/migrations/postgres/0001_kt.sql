-- The key-transparency directory (akd's storage), schema `kt`: the tables
-- of the SQLite store (crates/kt-store/src/schema.rs) with PostgreSQL types.
-- Never edit this file once shipped: add 0002_*.sql.

CREATE TABLE azks (
    id           bytea PRIMARY KEY,
    latest_epoch bigint NOT NULL CHECK (latest_epoch >= 0),
    num_nodes    bigint NOT NULL CHECK (num_nodes >= 0)
);

-- `node`: the latest and previous node in the compact codec (format 1,
-- crates/kt-store/src/codec.rs); the record's own label is the id.
CREATE TABLE tree_nodes (
    id   bytea PRIMARY KEY CHECK (length(id) = 37),
    node bytea NOT NULL
);

CREATE TABLE value_states (
    label          bytea NOT NULL,
    epoch          bigint NOT NULL CHECK (epoch >= 0),
    version        bigint NOT NULL CHECK (version >= 0),
    node_label_val bytea NOT NULL CHECK (length(node_label_val) = 32),
    node_label_len bigint NOT NULL CHECK (node_label_len BETWEEN 0 AND 4294967295),
    value          bytea NOT NULL,
    PRIMARY KEY (label, epoch)
);

CREATE INDEX value_states_by_version ON value_states (label, version, epoch);
