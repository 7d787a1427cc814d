import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from './errors.ts';

/** Why a connection was refused before a request reached the router. */
export type ClientErrorReason = 'request_timeout' | 'malformed';

/**
 * Answers an HTTP-level failure on a connection (the headers or body too slow for
 * `headers_timeout`/`request_timeout`, headers too large, bytes that are not HTTP) the way
 * every API error is answered: a status and `{ "error": { "code", "message" } }`, then the
 * connection is closed. Node's own answer to these has no body. Returns the reason to count.
 */
export function answerClientError(err: NodeJS.ErrnoException, stream: Duplex): ClientErrorReason {
  // the server's 'clientError' hands over the net (or TLS) socket as a Duplex
  const socket = stream as Socket;
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  // a reset or a half-written answer: nothing to tell the client
  if (socket.writable && socket.bytesWritten === 0 && err.code !== 'ECONNRESET') {
    const [status, reason, code, message]: [number, string, ErrorCode, string] = timeout
      ? [408, 'Request Timeout', 'request_timeout', 'the request did not arrive in time']
      : tooLarge
        ? [431, 'Request Header Fields Too Large', 'bad_request', 'the request headers are too large']
        : [400, 'Bad Request', 'bad_request', 'the request is not valid HTTP'];
    const body = `${JSON.stringify({ error: { code, message } })}\n`;
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  // as Node does: what was written is flushed before the socket goes
  socket.destroy();
  return timeout ? 'request_timeout' : 'malformed';
}
