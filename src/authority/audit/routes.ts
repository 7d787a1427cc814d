import { z } from 'zod';
import { isDuration, parseDuration } from '../../shared/duration.ts';
import { auditView } from './log.ts';
import { observeChain } from './start-check.ts';
import { verifyAuditChain } from './verify.ts';
import type { AuthorityContext } from '../context.ts';
import type { Route } from '../http/router.ts';
import { indexText } from '../http/schemas.ts';

/** `since` is an ISO 8601 time or a duration back from now (`1h`). */
function sinceSchema(now: () => number) {
  return z.string().transform((text, issue) => {
    if (isDuration(text)) return now() - parseDuration(text);
    const at = Date.parse(text);
    if (!Number.isNaN(at) && /^\d{4}-\d{2}-\d{2}/.test(text)) return at;
    issue.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or a duration such as 1h' });
    return z.NEVER;
  });
}

/** `ID:HASH`, a row id and the hash recorded for it. */
const anchorText = z.string().transform((text, issue) => {
  const match = /^([1-9]\d{0,15}):([0-9a-f]{64})$/.exec(text);
  if (!match) {
    issue.addIssue({ code: 'custom', message: 'must be ID:HASH, a row id and its 64 hex digit hash (as audit verify prints the head)' });
    return z.NEVER;
  }
  return { id: Number(match[1]), hash: match[2] ?? '' };
});

/**
 * `GET /v1/audit?since=&actor=&target=&action=&limit=`: every change, oldest first.
 * `GET /v1/audit/verify?anchor=ID:HASH`: walks the hash chain, naming the first row that does
 * not match. Admin only.
 */
export function auditRoutes(ctx: AuthorityContext): Route[] {
  const query = z.strictObject({
    since: sinceSchema(() => ctx.clock.now()).optional(),
    actor: z.string().min(1).optional(),
    target: z.string().min(1).optional(),
    action: z.string().min(1).optional(),
    limit: indexText.pipe(z.number().min(1).max(10_000)).optional(),
  });
  return [
    {
      method: 'GET',
      path: '/v1/audit',
      access: 'admin',
      async handler(req) {
        const { limit, ...filter } = req.queryAs(query);
        const entries = await ctx.store.read((tx) => tx.audit.query({ ...filter, limit: limit ?? 1000 }));
        return { body: { entries: entries.map(auditView) } };
      },
    },
    {
      method: 'GET',
      path: '/v1/audit/verify',
      access: 'admin',
      async handler(req) {
        const { anchor } = req.queryAs(z.strictObject({ anchor: anchorText.optional() }));
        const report = await verifyAuditChain(ctx.store, { anchor });
        observeChain(report, ctx.metrics.auditChainIntact, ctx.logger);
        return { body: report };
      },
    },
  ];
}
