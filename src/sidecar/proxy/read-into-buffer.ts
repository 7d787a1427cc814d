import { Socket, type OnReadOpts } from 'node:net';

/**
 * Where a `Socket` keeps its `onread` buffer and callback. Node sets them only in the
 * constructor, from the `onread` option, which a server's `connection` socket never gets; they
 * are module-private symbols of `node:net`, found once here by their values on a probe socket.
 */
interface ReadIntoSlots {
  buffer: symbol;
  callback: symbol;
}

interface AcceptedHandle {
  useUserBuffer?(buffer: Uint8Array): void;
}

let slots: ReadIntoSlots | null | undefined;

function findSlots(): ReadIntoSlots | null {
  const buffer = Buffer.alloc(1);
  const callback = (): boolean => true;
  const probe = new Socket({ onread: { buffer, callback } });
  const record = probe as unknown as Record<symbol, unknown>;
  const symbols = Object.getOwnPropertySymbols(probe);
  const bufferSlot = symbols.find((symbol) => record[symbol] === buffer);
  const callbackSlot = symbols.find((symbol) => record[symbol] === callback);
  probe.destroy();
  return bufferSlot && callbackSlot ? { buffer: bufferSlot, callback: callbackSlot } : null;
}

/**
 * Makes an accepted caller's socket read into `onread.buffer` and hand each read to
 * `onread.callback`, as a socket made with `onread` does, instead of a new 64 KiB allocation
 * per read (at upload rates those external allocations drive V8 into a full collection every
 * few dozen milliseconds). Node takes `onread` only in the constructor, which a server's
 * `connection` socket never sees. Call it with nothing in the socket's stream buffer (from a
 * `data` handler, say) and nothing wrapping the socket: from the next read on, no `data` is
 * emitted. Returns false, changing nothing, where this Node keeps `onread` elsewhere; the
 * socket then reads as before.
 *
 * The socket stays the one the server counts against `maxConnections`, with its peer address
 * cached: only where its reads land changes. (Moving its handle onto a `new Socket({ handle,
 * onread })` does the same, but builds a second socket per connection.)
 */
export function readIntoBuffer(socket: Socket, onread: OnReadOpts): boolean {
  slots ??= findSlots();
  const handle = (socket as unknown as { _handle?: AcceptedHandle | null })._handle;
  if (slots === null || typeof handle?.useUserBuffer !== 'function' || socket.readableLength > 0) return false;
  const record = socket as unknown as Record<symbol, unknown>;
  record[slots.buffer] = onread.buffer;
  record[slots.callback] = onread.callback;
  handle.useUserBuffer(onread.buffer as Uint8Array);
  return true;
}
