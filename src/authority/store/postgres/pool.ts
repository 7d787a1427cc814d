import { Pool, type PoolConfig } from 'pg';
import type { Logger } from '../../../shared/logger.ts';

/**
 * The store's connection pool, safe against a server that ends connections at any moment.
 *
 * The pool listens for 'error' only on idle connections, and the store listens on a connection
 * only once it has it. In between, a connection handed out in the same read as a server's FATAL
 * (ReadyForQuery and "terminating connection due to administrator command" in one packet, as a
 * server shutting down sends them) would raise an 'error' nobody hears, and that ends the
 * process. So every connection gets a listener of its own for its whole life: pg has already
 * marked it broken, the query that follows fails with the store's `unavailable`, and the pool
 * drops it on release, so the listener has nothing left to do.
 */
export function openPool(config: PoolConfig, logger: Logger | undefined, target: string): Pool {
  const pool = new Pool(config);
  pool.on('connect', (client) => client.on('error', () => undefined));
  // an idle connection that breaks is dropped by the pool and reported here
  pool.on('error', (err) => logger?.warn({ err, storage: target }, 'a pooled PostgreSQL connection failed; it is replaced on next use'));
  return pool;
}
