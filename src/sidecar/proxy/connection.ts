import type { Socket } from 'node:net';
import type { HostPort } from '../../shared/address.ts';
import type { ListenerConfig } from '../../shared/config/sidecar-schema.ts';
import type { CloseReason } from './access-record.ts';
import type { Origin } from '../identity/identity.ts';
import { keepAliveInitialDelay, type UpstreamConnector } from './upstream.ts';
import { readIntoBuffer } from './read-into-buffer.ts';

/** What a connection needs from the port that accepted it. */
export interface ConnectionOwner {
  readonly port: ListenerConfig;
  readonly connector: UpstreamConnector;
  readonly upstreamTarget: HostPort;
  /** Called once, after both sockets have closed. */
  connectionClosed(conn: Connection): void;
}

const kConnection = Symbol('portwarden.connection');

/**
 * A socket of a connection, tagged with it. The event handlers below are shared module-level
 * functions that find their connection through the tag, so a connection costs no closures.
 */
type Side = Socket & { [kConnection]?: Connection };

/**
 * Read buffers. Node allocates a fresh 64 KiB buffer for every read of a socket; at bulk rates
 * those allocations count as external memory and make V8 run a full mark-compact every few
 * dozen milliseconds, which in the sidecar's heap (several times a bare proxy's) cost a third
 * of the CPU of a transfer. A plain upstream instead reads into one buffer that its connection
 * holds for life (`onread`), and so does a plain caller once it moves bulk
 * (`readCallerIntoBuffer`); a finished connection leaves its buffers here for the next one (a
 * bounded few; the rest go to the GC).
 */
const readBufferSize = 64 * 1024;
const spareReadBuffers: Buffer[] = [];
const maxSpareReadBuffers = 64;
const emptyChunk = Buffer.alloc(0);
/** A caller read this large (Node reads up to 64 KiB at a time) marks a bulk transfer: see `readCallerIntoBuffer`. */
const bulkReadSize = 16 * 1024;

/**
 * One admitted connection: the caller's stream and the upstream socket, forwarded both ways
 * with backpressure (a side is paused while the other's write buffer is full), half-close
 * forwarded each way, and an abortive close (RST) on one side passed on to the other.
 *
 * Timeouts: `connect` while the upstream connects, `idle` while no byte moves either way, and
 * `half_close` as a deadline once one side has ended, so a half-open connection cannot linger
 * (as ghostunnel's close timeout). The connection only stamps the times (`openedAt`,
 * `lastActive`, `halfClosedAt`, on the monotonic clock); its port checks them all in one pass
 * (`PortListener`), so a connection costs no timer of its own and a byte moved costs no timer
 * refresh.
 */
export class Connection {
  readonly id: number;
  readonly owner: ConnectionOwner;
  readonly client: Side;
  upstream: Side | undefined;
  readonly identity: string | undefined;
  readonly origin: Origin;
  /** The license that admitted the connection, and its `exp` then (renewals keep the `lid`). */
  readonly lid: string;
  readonly expMs: number;
  /** Injected-clock time of admission. */
  readonly startedAt: number;
  bytesIn = 0;
  bytesOut = 0;
  /** Bytes already added to the byte counters; the rest is added on the next flush. */
  countedIn = 0;
  countedOut = 0;
  connected = false;
  /** Monotonic times (performance.now()) for the port's timeout pass; `halfClosedAt` is -1 until a side ends. */
  readonly openedAt = performance.now();
  lastActive = this.openedAt;
  halfClosedAt = -1;
  /** Set once TCP keep-alive is on for both sides (see `armKeepAlive`). */
  keepAliveArmed = false;
  /** Set by the side that ended first in an orderly close. */
  endedFirst: 'client' | 'upstream' | undefined;
  /** Set when the connection was cut (error, timeout, revocation, shutdown). */
  cutReason: CloseReason | undefined;
  /** The upstream's error code when it could not be reached (ECONNREFUSED, ETIMEDOUT, ...). */
  upstreamErrorCode: string | undefined;
  #preamble: Buffer | undefined;
  /** The upstream's read buffer, when it reads into one (plain upstream, plain caller). */
  #readBuffer: Buffer | undefined;
  /** The caller's read buffer once it reads into one (see `readIntoBuffer`); null once that was refused. */
  #clientBuffer: Buffer | null | undefined;
  #resumeClient: (() => void) | undefined;
  #resumeUpstream: (() => void) | undefined;
  #clientEnded = false;
  #upstreamEnded = false;
  #clientClosed = false;
  #upstreamClosed = false;
  #finished = false;

  constructor(
    owner: ConnectionOwner,
    id: number,
    client: Socket,
    identity: string | undefined,
    origin: Origin,
    lid: string,
    expMs: number,
    startedAt: number,
  ) {
    this.owner = owner;
    this.id = id;
    this.client = client;
    this.identity = identity;
    this.origin = origin;
    this.lid = lid;
    this.expMs = expMs;
    this.startedAt = startedAt;
  }

  /** Exactly one side has ended: the `half_close` deadline runs from `halfClosedAt`. */
  get halfOpen(): boolean {
    return this.#clientEnded !== this.#upstreamEnded;
  }

  /** Why the connection ended, once it has. */
  get closeReason(): CloseReason {
    return this.cutReason ?? this.endedFirst ?? 'client';
  }

  /** Starts the upstream connect; bytes flow once it is up. `preamble` is written upstream first. */
  open(preamble: Buffer | undefined): void {
    const { connector, upstreamTarget } = this.owner;
    const client = this.client;
    client[kConnection] = this;
    client.on('error', onSideError);
    client.on('close', onSideClose);
    // a caller that ends before sending a byte ends its stream at once: heard now, forwarded in `ready`
    client.on('end', onClientEnd);
    this.#preamble = preamble;
    // a TLS caller's socket encrypts on write and may keep the cleartext queued: it gets Node's own buffers
    if (connector.readsIntoBuffer && !(client as Socket & { encrypted?: boolean }).encrypted) {
      this.#readBuffer = spareReadBuffers.pop() ?? Buffer.allocUnsafe(readBufferSize);
    }
    const readBuffer = this.#readBuffer;
    const upstream: Side = connector.connect(upstreamTarget, readBuffer ? { buffer: readBuffer, callback: onUpstreamRead } : undefined);
    this.upstream = upstream;
    upstream[kConnection] = this;
    upstream.on(connector.readyEvent, onUpstreamReady);
    upstream.on('error', onSideError);
    upstream.on('close', onSideClose);
  }

  /** Cuts both sides at once (RST where possible): nothing more is delivered. */
  destroy(reason: CloseReason): void {
    this.cutReason ??= reason;
    abort(this.client);
    if (this.upstream) abort(this.upstream);
  }

  /**
   * Turns TCP keep-alive on for both sides, so peers that vanish without a FIN are found. The
   * port's sweep calls it on connections that outlived one pass (≤ 1 s): the first probe comes
   * only after `keepAliveInitialDelay` of silence anyway, so arming it late changes nothing
   * for the connections that can need it, while the short-lived majority never pays its four
   * setsockopt calls per socket (8 of the 33 system calls a short connection cost).
   */
  armKeepAlive(): void {
    this.keepAliveArmed = true;
    this.client.setKeepAlive(true, keepAliveInitialDelay);
    this.upstream?.setKeepAlive(true, keepAliveInitialDelay);
  }

  /** Starts forwarding once the upstream is reachable. */
  ready(): void {
    const client = this.client;
    const upstream = this.upstream as Side;
    this.connected = true;
    this.lastActive = performance.now();
    if (client.destroyed) return; // the close handler cuts the upstream
    if (this.#preamble) upstream.write(this.#preamble);
    this.#preamble = undefined;
    if (this.#clientEnded) upstream.end();
    client.on('data', onClientData);
    client.on('drain', onClientDrain);
    if (!this.#readBuffer) upstream.on('data', onUpstreamData);
    upstream.on('end', onUpstreamEnd);
    upstream.on('drain', onUpstreamDrain);
    // a resolver that read a header may have paused the caller's stream explicitly
    client.resume();
  }

  sideEnded(side: Side): void {
    if (side === this.client) {
      this.#clientEnded = true;
      this.endedFirst ??= 'client';
      // before the upstream is ready the preamble has yet to go first: `ready` ends it
      if (this.connected) this.upstream?.end();
    } else {
      this.#upstreamEnded = true;
      this.endedFirst ??= 'upstream';
      this.client.end();
    }
    if (this.halfClosedAt < 0) this.halfClosedAt = performance.now();
  }

  sideFailed(side: Side, err: NodeJS.ErrnoException): void {
    if (side === this.upstream && !this.connected) {
      this.upstreamErrorCode ??= err.code ?? 'error';
      this.cutReason ??= 'upstream_error';
      this.client.destroy();
      return;
    }
    this.cutReason ??= side === this.client ? 'client_reset' : 'upstream_reset';
    // an abortive close on one side is passed on as one, so the peer sees an error, not a clean EOF
    const other = side === this.client ? this.upstream : this.client;
    if (other) abort(other);
  }

  sideClosed(side: Side): void {
    if (side === this.client) this.#clientClosed = true;
    else this.#upstreamClosed = true;
    const other = side === this.client ? this.upstream : this.client;
    // a side that went away without finishing both directions leaves nothing to deliver to
    if (other && !other.destroyed && !(side.readableEnded && side.writableFinished)) other.destroy();
    if (this.#clientClosed && (this.upstream === undefined || this.#upstreamClosed)) this.#finish();
  }

  /** The upstream did not become ready within `timeouts.connect`. */
  connectTimedOut(): void {
    this.upstreamErrorCode ??= 'ETIMEDOUT';
    this.cutReason ??= 'upstream_error';
    this.upstream?.destroy();
    this.client.destroy();
  }

  /** No byte moved for `timeouts.idle`: nothing is in flight, so an orderly close is enough. */
  idleTimedOut(): void {
    this.cutReason ??= 'idle_timeout';
    this.client.destroy();
    this.upstream?.destroy();
  }

  /**
   * The caller's socket took only part of a chunk from the read buffer and queued the rest
   * from it: no read may land in the buffer until that is out. An empty write queued behind
   * it calls back once it is; the upstream stays paused until then.
   */
  waitForPartialWrite(): void {
    this.#resumeUpstream ??= () => {
      if (!this.client.writableNeedDrain) this.upstream?.resume();
    };
    this.client.write(emptyChunk, this.#resumeUpstream);
  }

  /** `waitForPartialWrite` the other way: the upstream holds part of the caller's buffer. */
  waitForPartialUpstreamWrite(): void {
    this.#resumeClient ??= () => {
      if (!this.upstream?.writableNeedDrain) this.client.resume();
    };
    this.upstream?.write(emptyChunk, this.#resumeClient);
  }

  /**
   * A caller read of `bulkReadSize` or more means a bulk sender: from now on it reads into a
   * buffer of this connection, as a plain upstream does, instead of a new allocation per read.
   * Short and chatty connections never get here, so they pay nothing for it. Only for a plain
   * caller (a TLS socket cannot read into a caller's buffer) and a plain upstream, and only with
   * nothing left in the caller's stream buffer, whose bytes would otherwise overtake.
   */
  readCallerIntoBuffer(): void {
    const client = this.client;
    if (this.#clientBuffer !== undefined) return;
    if (!this.owner.connector.readsIntoBuffer || (client as Socket & { encrypted?: boolean }).encrypted || client.readableLength > 0) {
      this.#clientBuffer = null;
      return;
    }
    const buffer = spareReadBuffers.pop() ?? Buffer.allocUnsafe(readBufferSize);
    if (readIntoBuffer(client, { buffer, callback: onClientRead })) {
      this.#clientBuffer = buffer;
    } else {
      spareReadBuffers.push(buffer);
      this.#clientBuffer = null;
    }
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    // both sockets are closed: nothing reads into the buffer or writes from it any more
    if (this.#readBuffer && spareReadBuffers.length < maxSpareReadBuffers) spareReadBuffers.push(this.#readBuffer);
    if (this.#clientBuffer && spareReadBuffers.length < maxSpareReadBuffers) spareReadBuffers.push(this.#clientBuffer);
    this.#readBuffer = undefined;
    this.#clientBuffer = undefined;
    this.owner.connectionClosed(this);
  }
}

function abort(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(); // not a TCP handle (e.g. TLS): a plain close
  }
}

function onClientData(this: Side, chunk: Buffer): void {
  const conn = this[kConnection] as Connection;
  conn.bytesIn += chunk.length;
  conn.lastActive = performance.now();
  if (!(conn.upstream as Side).write(chunk)) this.pause();
  else if (chunk.length >= bulkReadSize) conn.readCallerIntoBuffer();
}

function onUpstreamData(this: Side, chunk: Buffer): void {
  const conn = this[kConnection] as Connection;
  conn.bytesOut += chunk.length;
  conn.lastActive = performance.now();
  if (!conn.client.write(chunk)) this.pause();
}

/** Upstream bytes read into the connection's buffer (see `spareReadBuffers`); returning false pauses the upstream. */
function onUpstreamRead(this: Side, nread: number, buffer: Uint8Array): boolean {
  const conn = this[kConnection] as Connection;
  const client = conn.client;
  conn.bytesOut += nread;
  conn.lastActive = performance.now();
  if (client.writableLength > 0) {
    // the caller's queue is not empty: the chunk waits in it, so it gets a copy of its own
    client.write(Buffer.copyBytesFrom(buffer, 0, nread));
    return !client.writableNeedDrain;
  }
  client.write((buffer as Buffer).subarray(0, nread));
  // the kernel took it all: the buffer is free for the next read
  if (client.writableLength === 0) return true;
  if (!client.writableNeedDrain) conn.waitForPartialWrite();
  // else the caller's drain resumes the upstream, once the queue (our bytes included) is out
  return false;
}

/** Caller bytes read into the connection's buffer (see `readIntoBuffer`); returning false pauses the caller. */
function onClientRead(this: Side, nread: number, buffer: Uint8Array): boolean {
  const conn = this[kConnection] as Connection;
  conn.bytesIn += nread;
  conn.lastActive = performance.now();
  const upstream = conn.upstream as Side;
  if (upstream.writableLength > 0) {
    upstream.write(Buffer.copyBytesFrom(buffer, 0, nread));
    return !upstream.writableNeedDrain;
  }
  upstream.write((buffer as Buffer).subarray(0, nread));
  if (upstream.writableLength === 0) return true;
  if (!upstream.writableNeedDrain) conn.waitForPartialUpstreamWrite();
  return false;
}

function onClientDrain(this: Side): void {
  (this[kConnection] as Connection).upstream?.resume();
}

function onUpstreamDrain(this: Side): void {
  (this[kConnection] as Connection).client.resume();
}

function onUpstreamReady(this: Side): void {
  (this[kConnection] as Connection).ready();
}

function onClientEnd(this: Side): void {
  (this[kConnection] as Connection).sideEnded(this);
}

function onUpstreamEnd(this: Side): void {
  (this[kConnection] as Connection).sideEnded(this);
}

function onSideError(this: Side, err: NodeJS.ErrnoException): void {
  (this[kConnection] as Connection).sideFailed(this, err);
}

function onSideClose(this: Side): void {
  (this[kConnection] as Connection).sideClosed(this);
}


