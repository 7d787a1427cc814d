import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { onTestFinished } from 'vitest';
import { telemetryBatchSchema, type TelemetryBatch } from '../../src/sidecar/telemetry/batch.ts';

/**
 * How the sink answers: `ok` applies and answers 202; `lose_response` applies, then destroys
 * the socket so the sender never learns (the duplicate-delivery case); `unavailable` answers
 * 503 without applying; `reject` answers 400.
 */
export type SinkMode = 'ok' | 'lose_response' | 'unavailable' | 'reject';

/**
 * A stand-in for the authority's telemetry and inventory endpoints on 127.0.0.1. Applies each
 * `batch_id` once, as the authority must, and remembers every delivery. It can be stopped and
 * started again on the same port to play an outage.
 */
export class TelemetrySink {
  /** Batches applied, in the order they were first received. */
  readonly applied: TelemetryBatch[] = [];
  /** Every batch_id received, duplicates included. */
  readonly deliveries: string[] = [];
  readonly authorizations: string[] = [];
  /** Bodies POSTed to /v1/inventory. */
  readonly inventories: unknown[] = [];
  /** What /v1/inventory answers; 404 (an authority without the endpoint) when undefined. */
  inventoryAnswer: unknown = undefined;
  mode: SinkMode = 'ok';
  /** When set, any other bearer token is answered 401. */
  requiredToken: string | undefined;
  port = 0;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #ids = new Set<string>();

  /** Starts listening, on the previous port when there was one. */
  async start(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    this.port = address.port;
    this.#server = server;
  }

  /** Stops listening and cuts every open connection. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Access records applied, summed over every applied batch. */
  totalCount(): number {
    return this.applied.flatMap((batch) => batch.records).reduce((sum, record) => sum + record.count, 0);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    this.authorizations.push(req.headers.authorization ?? '');
    if (this.requiredToken !== undefined && req.headers.authorization !== `Bearer ${this.requiredToken}`) {
      return void res.writeHead(401).end('{"error":{"code":"unauthenticated","message":"unknown token"}}');
    }
    if (req.url === '/v1/inventory') {
      this.inventories.push(body);
      if (this.inventoryAnswer === undefined) return void res.writeHead(404).end('{"error":{"code":"not_found","message":"no route"}}');
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.inventoryAnswer));
    }
    if (this.mode === 'unavailable') return void res.writeHead(503).end('{"error":{"code":"unavailable","message":"starting"}}');
    if (this.mode === 'reject') return void res.writeHead(400).end('{"error":{"code":"bad_request","message":"no"}}');
    const batch = telemetryBatchSchema.parse(body);
    this.deliveries.push(batch.batch_id);
    if (!this.#ids.has(batch.batch_id)) {
      this.#ids.add(batch.batch_id);
      this.applied.push(batch);
    }
    if (this.mode === 'lose_response') return void req.socket.destroy();
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ batch_id: batch.batch_id }));
  }
}

/** A sink started for the current test and stopped when it finishes. */
export async function startTelemetrySink(): Promise<TelemetrySink> {
  const sink = new TelemetrySink();
  await sink.start();
  onTestFinished(() => sink.stop());
  return sink;
}
