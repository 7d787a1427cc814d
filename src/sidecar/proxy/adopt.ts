import { Socket, type OnReadOpts } from 'node:net';

/**
 * The parts of an accepted socket that Node keeps private and adoption moves: the libuv handle
 * and the server that counts it against `maxConnections`.
 */
interface AcceptedInternals {
  _handle: object | null;
  _server: object | null;
  server: object | null;
}

/**
 * Moves a freshly accepted caller's socket onto a new `Socket` that reads into `onread`'s
 * buffer instead of a new allocation per read.
 *
 * Node honours `onread` only when it makes the socket's handle itself (`net.connect`, or
 * `new Socket({ handle | fd })`); a server's `connection` socket always reads into fresh
 * 64 KiB buffers, and at upload rates those external allocations drive V8 into a full
 * collection every few dozen milliseconds. The server must accept paused (`pauseOnConnect`),
 * so no byte was read yet, and nothing may have wrapped or read from the socket.
 *
 * The handle moves, not the file descriptor: a second handle on the same descriptor (the
 * `fd` option) would close it twice, and Node cannot duplicate one. The new socket takes the
 * server's place in the count, so `maxConnections` and `server.close()` see it as the
 * accepted one; the old object keeps nothing and is left to the GC.
 */
export function adoptAccepted(accepted: Socket, onread: OnReadOpts): Socket {
  const from = accepted as unknown as AcceptedInternals;
  const handle = from._handle;
  // the peer address was read (and cached) on the accepted socket: keep it without a second getpeername
  const remoteAddress = accepted.remoteAddress;
  const remotePort = accepted.remotePort;
  const adopted = new Socket({ handle, onread, allowHalfOpen: true, noDelay: true, readable: true, writable: true } as ConstructorParameters<typeof Socket>[0]);
  from._handle = null;
  const to = adopted as unknown as AcceptedInternals & { _peername?: unknown };
  to._server = from._server;
  to.server = from.server;
  from._server = null;
  from.server = null;
  if (remoteAddress !== undefined) to._peername = { address: remoteAddress, port: remotePort, family: accepted.remoteFamily };
  return adopted;
}
