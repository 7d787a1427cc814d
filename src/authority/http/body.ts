import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { formatKeyPath } from '../../shared/config/load.ts';
import { PortwardenError } from '../../shared/errors.ts';

/** Request bodies above this are refused with 413 `body_too_large`. */
export const defaultBodyLimit = 1024 * 1024;

/**
 * Reads a JSON request body of at most `limit` bytes. An oversized body is drained (up to a
 * hard cap, then the socket is cut) so the client reads the 413 instead of a reset.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(type)) {
    req.resume();
    throw new PortwardenError('unsupported_media_type', `the body must be application/json, not ${type}`);
  }
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = declared > limit;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (tooLarge) {
      if (size > limit * 16) {
        req.socket.destroy();
        break;
      }
      continue;
    }
    chunks.push(chunk);
  }
  if (tooLarge) throw new PortwardenError('body_too_large', `the request body exceeds ${limit} bytes`);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new PortwardenError('bad_request', `the body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Validates `value`; a failure is a 400 `bad_request` naming every offending key. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => formatKeyPath([...issue.path, k])).join(', ') : formatKeyPath(issue.path);
    const message = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
    return `${keys || where}: ${message}`;
  });
  throw new PortwardenError('bad_request', problems.join('; '));
}
