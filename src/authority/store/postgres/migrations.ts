import type { Migration } from '../migration.ts';

/**
 * The PostgreSQL schema: the same versions and names as the SQLite list (`../migrations.ts`),
 * so both stores speak of one schema history. Append-only like it: never edit a shipped one.
 *
 * Times, counts and indexes are BIGINT (read back as numbers, see `../postgres.ts`); lists and
 * objects are JSONB, except audit and drill documents, which are JSON so they read back with
 * their keys in the order they were written. Token hashes are BYTEA.
 */
export const postgresMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'licenses, keys, tokens, audit, change index, telemetry',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
      -- the index starts at 1: a blocking query with index 0 answers at once, so an empty
      -- store must not report 0 or its watchers would spin (the first change is index 2)
      INSERT INTO meta (key, value) VALUES ('change_index', 1);

      CREATE TABLE service_index (
        service TEXT PRIMARY KEY,
        change_index BIGINT NOT NULL
      );

      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk JSONB NOT NULL,
        private_pem TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT,
        last_exp BIGINT NOT NULL DEFAULT 0
      );

      CREATE TABLE licenses (
        lid TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        port_name TEXT NOT NULL,
        port_number INTEGER NOT NULL,
        protocol TEXT NOT NULL,
        allow JSONB NOT NULL,
        env TEXT,
        renew TEXT NOT NULL,
        ttl_ms BIGINT NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        max_until BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        jti TEXT NOT NULL,
        kid TEXT NOT NULL,
        token TEXT NOT NULL,
        iat BIGINT NOT NULL,
        exp BIGINT NOT NULL,
        renewals INTEGER NOT NULL DEFAULT 0,
        revoked_at BIGINT,
        expired_at BIGINT,
        last_access_at BIGINT,
        create_index BIGINT NOT NULL,
        modify_index BIGINT NOT NULL
      );
      CREATE INDEX licenses_by_service ON licenses (service, state);
      CREATE INDEX licenses_by_state_exp ON licenses (state, exp);

      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT,
        role TEXT NOT NULL,
        service TEXT,
        hash BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at BIGINT
      );

      CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        before JSON,
        after JSON
      );
      CREATE INDEX audit_by_at ON audit (at);
      CREATE INDEX audit_by_target ON audit (target);

      CREATE TABLE telemetry_batches (
        service TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (service, batch_id)
      );

      CREATE TABLE access_last (
        service TEXT NOT NULL,
        port TEXT NOT NULL,
        identity TEXT NOT NULL,
        origin TEXT NOT NULL,
        last_access_at BIGINT NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (service, port, identity, origin)
      );
    `,
  },
  {
    version: 2,
    name: 'port register: ports and their held numbers',
    sql: `
      CREATE TABLE ports (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        service TEXT NOT NULL,
        name TEXT NOT NULL,
        env TEXT NOT NULL,
        protocol TEXT NOT NULL,
        kind TEXT NOT NULL,
        number INTEGER,
        owner TEXT NOT NULL,
        dependencies JSONB NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        approved_at BIGINT,
        approved_by TEXT,
        rejected_at BIGINT,
        rejected_by TEXT,
        released_at BIGINT,
        released_by TEXT,
        reason TEXT,
        transition_to INTEGER,
        transition_ends_at BIGINT,
        previous_numbers JSONB NOT NULL,
        pending_license JSONB
      );
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
        port_id BIGINT NOT NULL REFERENCES ports (id),
        PRIMARY KEY (env, protocol, number)
      );
      CREATE INDEX port_numbers_by_port ON port_numbers (port_id);
    `,
  },
  {
    version: 3,
    name: 'access totals per caller and per port, inventory snapshots',
    sql: `
      -- per (service, port, identity, origin address): totals and the latest decision;
      -- identity '' stands for none (it is part of the key)
      ALTER TABLE access_last ADD COLUMN bytes_in BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE access_last ADD COLUMN bytes_out BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE access_last ADD COLUMN first_access_at BIGINT;
      ALTER TABLE access_last ADD COLUMN last_decision TEXT NOT NULL DEFAULT 'allow';
      ALTER TABLE access_last ADD COLUMN last_reason TEXT;
      UPDATE access_last SET first_access_at = last_access_at;
      CREATE INDEX access_last_by_time ON access_last (last_access_at);

      -- per (service, port name): what the register's cleanup reads; kept when callers are pruned
      CREATE TABLE access_port (
        service TEXT NOT NULL,
        port TEXT NOT NULL,
        count BIGINT NOT NULL,
        bytes_in BIGINT NOT NULL,
        bytes_out BIGINT NOT NULL,
        first_access_at BIGINT NOT NULL,
        last_access_at BIGINT NOT NULL,
        last_decision TEXT NOT NULL,
        last_reason TEXT,
        last_allowed_at BIGINT,
        PRIMARY KEY (service, port)
      );
      INSERT INTO access_port (service, port, count, bytes_in, bytes_out, first_access_at, last_access_at, last_decision, last_reason, last_allowed_at)
        SELECT service, port, sum(count), 0, 0, min(last_access_at), max(last_access_at), 'allow', NULL, max(last_access_at)
        FROM access_last GROUP BY service, port;

      -- the latest listener snapshot each service's sidecar reported
      CREATE TABLE inventory_reports (
        service TEXT PRIMARY KEY,
        reported_at BIGINT NOT NULL,
        sent_at BIGINT NOT NULL,
        listeners JSONB NOT NULL,
        sidecar_ports JSONB NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'drills: failure rehearsals and what they changed',
    sql: `
      -- changes, baseline and observed: see store/drill-repo.ts
      CREATE TABLE drills (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        service TEXT NOT NULL,
        port TEXT,
        starts_at BIGINT NOT NULL,
        ends_at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        state TEXT NOT NULL,
        changes JSON NOT NULL,
        baseline JSON NOT NULL,
        observed JSON,
        restored_at BIGINT,
        restored_by TEXT
      );
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
      ALTER TABLE audit ADD COLUMN prev_hash TEXT, ADD COLUMN hash TEXT;
      CREATE INDEX audit_unsealed ON audit (id) WHERE hash IS NULL;
    `,
  },
];
