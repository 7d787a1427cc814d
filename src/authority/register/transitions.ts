import { formatDuration } from '../../shared/duration.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Actor } from '../audit/log.ts';
import type { Touch } from '../changes/run-change.ts';
import type { LicenseService } from '../licenses/service.ts';
import type { PortRow } from '../store/ports.ts';
import type { StoreTx } from '../store/store.ts';
import { activeOn, issueForPort, licensesOf, revokeOn, specFrom } from './port-licenses.ts';
import { assertTransition } from '../../register/port-record.ts';
import type { RegisterPolicy } from '../../register/policy.ts';
import { keyOf, requireNumber } from './uses.ts';

/** What a register step needs besides the transaction. */
export interface StepParts {
  licenses: LicenseService;
  policy: RegisterPolicy;
}

/** A step's result: the port after it, and what the audit entry adds to the port's view. */
export interface Step {
  after: PortRow;
  audit: Record<string, unknown>;
}

/** Why a transition ended: `completed` by an admin, or its window ended (the sweeper). */
export type CompletionReason = 'completed' | 'window_ended';

/**
 * Starts moving an active port to `to` (a ramp): the port holds both numbers for `windowMs`,
 * and the new number gets a license that copies the callers of the old number's licenses,
 * so a sidecar listening on both admits the same callers on either (a port with no license in
 * force gets none). The new number must pass every constraint, as a request for it would.
 */
export async function startTransition(parts: StepParts, tx: StoreTx, touch: Touch, actor: Actor, before: PortRow, now: number, to: number, windowMs: number): Promise<Step> {
  if (before.kind !== 'static' || before.number === null) {
    throw new PortwardenError('conflict', `${before.service}/${before.name} is ephemeral: the register holds no number to move`);
  }
  assertTransition(before.state, 'transitioning');
  if (to === before.number) throw new PortwardenError('bad_request', `to: ${before.service}/${before.name} is already at ${to}`);
  const range = await requireNumber(tx, parts.policy, keyOf(before), to, now);
  const spec = specFrom(activeOn(await licensesOf(tx, before), [before.number], now));
  const after: PortRow = { ...before, state: 'transitioning', transition: { to, windowEndsAt: now + windowMs } };
  const issued = spec ? await issueForPort(tx, touch, parts.licenses, actor, after, to, spec) : undefined;
  return { after, audit: { window: formatDuration(windowMs), range, issued: issued ? [issued.lid] : [] } };
}

/**
 * Ends a transition on the new number: the old number is released into `previous_numbers`
 * (it cools down like any released number) and its licenses are revoked.
 */
export async function completeTransition(parts: StepParts, tx: StoreTx, touch: Touch, actor: Actor, before: PortRow, now: number, reason: CompletionReason): Promise<Step> {
  const transition = mustBeTransitioning(before);
  const old = before.number ?? transition.to;
  const revoked = await revokeOn(tx, touch, parts.licenses, actor, before, [old], now, `transition to ${transition.to} ${reason === 'window_ended' ? 'window ended' : 'completed'}`);
  const after: PortRow = {
    ...before,
    state: 'active',
    number: transition.to,
    transition: null,
    previousNumbers: [...before.previousNumbers, { number: old, releasedAt: now }],
  };
  return { after, audit: { reason, released: old, revoked } };
}

/**
 * Puts a transitioning port back on its old number: the new number is released (it cools
 * down too: callers may already have tried it) and its licenses are revoked.
 */
export async function cancelTransition(parts: StepParts, tx: StoreTx, touch: Touch, actor: Actor, before: PortRow, now: number): Promise<Step> {
  const transition = mustBeTransitioning(before);
  const revoked = await revokeOn(tx, touch, parts.licenses, actor, before, [transition.to], now, `transition to ${transition.to} cancelled`);
  const after: PortRow = {
    ...before,
    state: 'active',
    transition: null,
    previousNumbers: [...before.previousNumbers, { number: transition.to, releasedAt: now }],
  };
  return { after, audit: { released: transition.to, revoked } };
}

function mustBeTransitioning(row: PortRow): NonNullable<PortRow['transition']> {
  if (row.state !== 'transitioning' || row.transition === null) {
    throw new PortwardenError('conflict', `${row.service}/${row.name} in ${row.env} is ${row.state}, not transitioning`);
  }
  return row.transition;
}
