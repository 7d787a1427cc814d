import type { Migration } from '../migration.ts';

/**
 * The SQLite schema as an append-only list. A store at version N applies every migration
 * above N, each in its own transaction, at open. Never edit a shipped migration: append one.
 * (A PostgreSQL store keeps its own list with the same version numbers.)
 *
 * Times are integer milliseconds since the epoch; JSON columns hold text.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'licenses, keys, tokens, audit, change index, telemetry',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
      -- the index starts at 1: a blocking query with index 0 answers at once, so an empty
      -- store must not report 0 or its watchers would spin (the first change is index 2)
      INSERT INTO meta (key, value) VALUES ('change_index', 1);

      CREATE TABLE service_index (
        service TEXT PRIMARY KEY,
        change_index INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        private_pem TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER,
        last_exp INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE licenses (
        lid TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        port_name TEXT NOT NULL,
        port_number INTEGER NOT NULL,
        protocol TEXT NOT NULL,
        allow TEXT NOT NULL,
        env TEXT,
        renew TEXT NOT NULL,
        ttl_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        max_until INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        jti TEXT NOT NULL,
        kid TEXT NOT NULL,
        token TEXT NOT NULL,
        iat INTEGER NOT NULL,
        exp INTEGER NOT NULL,
        renewals INTEGER NOT NULL DEFAULT 0,
        revoked_at INTEGER,
        expired_at INTEGER,
        last_access_at INTEGER,
        create_index INTEGER NOT NULL,
        modify_index INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX licenses_by_service ON licenses (service, state);
      CREATE INDEX licenses_by_state_exp ON licenses (state, exp);

      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT,
        role TEXT NOT NULL,
        service TEXT,
        hash BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at INTEGER
      ) STRICT;

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        before TEXT,
        after TEXT
      );
      CREATE INDEX audit_by_at ON audit (at);
      CREATE INDEX audit_by_target ON audit (target);

      CREATE TABLE telemetry_batches (
        service TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (service, batch_id)
      ) STRICT;

      CREATE TABLE access_last (
        service TEXT NOT NULL,
        port TEXT NOT NULL,
        identity TEXT NOT NULL,
        origin TEXT NOT NULL,
        last_access_at INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (service, port, identity, origin)
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'port register: ports and their held numbers',
    sql: `
      CREATE TABLE ports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        service TEXT NOT NULL,
        name TEXT NOT NULL,
        env TEXT NOT NULL,
        protocol TEXT NOT NULL,
        kind TEXT NOT NULL,
        number INTEGER,
        owner TEXT NOT NULL,
        dependencies TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        approved_at INTEGER,
        approved_by TEXT,
        rejected_at INTEGER,
        rejected_by TEXT,
        released_at INTEGER,
        released_by TEXT,
        reason TEXT,
        transition_to INTEGER,
        transition_ends_at INTEGER,
        previous_numbers TEXT NOT NULL,
        pending_license TEXT
      ) STRICT;
      -- one live record per port: asking again needs a release (or a rejection) first
      CREATE UNIQUE INDEX ports_live_key ON ports (service, name, env, protocol)
        WHERE state IN ('requested', 'active', 'transitioning');
      CREATE INDEX ports_by_service ON ports (service, name, env);
      CREATE INDEX ports_by_state ON ports (state);

      -- every number a live port holds (a transitioning port holds two); the primary key makes
      -- double assignment impossible whatever the code above it does
      CREATE TABLE port_numbers (
        env TEXT NOT NULL,
        protocol TEXT NOT NULL,
        number INTEGER NOT NULL,
        port_id INTEGER NOT NULL REFERENCES ports (id),
        PRIMARY KEY (env, protocol, number)
      ) STRICT;
      CREATE INDEX port_numbers_by_port ON port_numbers (port_id);
    `,
  },
  {
    version: 3,
    name: 'access totals per caller and per port, inventory snapshots',
    sql: `
      -- per (service, port, identity, origin address): totals and the latest decision;
      -- identity '' stands for none (it is part of the key)
      ALTER TABLE access_last ADD COLUMN bytes_in INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE access_last ADD COLUMN bytes_out INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE access_last ADD COLUMN first_access_at INTEGER;
      ALTER TABLE access_last ADD COLUMN last_decision TEXT NOT NULL DEFAULT 'allow';
      ALTER TABLE access_last ADD COLUMN last_reason TEXT;
      UPDATE access_last SET first_access_at = last_access_at;
      CREATE INDEX access_last_by_time ON access_last (last_access_at);

      -- per (service, port name): what the register's cleanup reads; kept when callers are pruned
      CREATE TABLE access_port (
        service TEXT NOT NULL,
        port TEXT NOT NULL,
        count INTEGER NOT NULL,
        bytes_in INTEGER NOT NULL,
        bytes_out INTEGER NOT NULL,
        first_access_at INTEGER NOT NULL,
        last_access_at INTEGER NOT NULL,
        last_decision TEXT NOT NULL,
        last_reason TEXT,
        last_allowed_at INTEGER,
        PRIMARY KEY (service, port)
      ) STRICT;
      INSERT INTO access_port (service, port, count, bytes_in, bytes_out, first_access_at, last_access_at, last_decision, last_reason, last_allowed_at)
        SELECT service, port, sum(count), 0, 0, min(last_access_at), max(last_access_at), 'allow', NULL, max(last_access_at)
        FROM access_last GROUP BY service, port;

      -- the latest listener snapshot each service's sidecar reported (JSON arrays)
      CREATE TABLE inventory_reports (
        service TEXT PRIMARY KEY,
        reported_at INTEGER NOT NULL,
        sent_at INTEGER NOT NULL,
        listeners TEXT NOT NULL,
        sidecar_ports TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'drills: failure rehearsals and what they changed',
    sql: `
      -- changes, baseline and observed are JSON (see store/drill-repo.ts)
      CREATE TABLE drills (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        service TEXT NOT NULL,
        port TEXT,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        state TEXT NOT NULL,
        changes TEXT NOT NULL,
        baseline TEXT NOT NULL,
        observed TEXT,
        restored_at INTEGER,
        restored_by TEXT
      ) STRICT;
      CREATE INDEX drills_by_state_end ON drills (state, ends_at);
      CREATE INDEX drills_by_service ON drills (service, state);
    `,
  },
  {
    version: 5,
    name: 'audit: hash chain',
    sql: `
      -- each row's hash covers its fields and the previous row's hash (see audit/chain-hash.ts);
      -- rows written before this migration are chained by the first append (or start) after it
      ALTER TABLE audit ADD COLUMN prev_hash TEXT;
      ALTER TABLE audit ADD COLUMN hash TEXT;
      CREATE INDEX audit_unsealed ON audit (id) WHERE hash IS NULL;
    `,
  },
];
