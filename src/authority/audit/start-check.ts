import type { Gauge } from 'prom-client';
import type { Logger } from '../../shared/logger.ts';
import type { Store } from '../store/store.ts';
import { verifyAuditChain, verifyAuditHead, type ChainReport } from './verify.ts';

/** `audit.verify_on_start`. */
export type AuditStartCheck = 'head' | 'full' | 'off';

/**
 * At start: chains the rows an older portwarden left without a hash (the upgrade to the chain),
 * then verifies the chain's head (or the whole chain). A broken chain is logged as an error
 * and shown as `portwarden_authority_audit_chain_intact` 0, and the authority serves on:
 * refusing to start would stop renewals and let every license lapse, which would make
 * tampering with the audit log a way to take the fleet down.
 */
export async function checkAuditAtStart(store: Store, mode: AuditStartCheck, logger: Logger, gauge: Gauge): Promise<ChainReport | undefined> {
  const sealed = await store.transaction((tx) => tx.audit.sealPending());
  if (sealed > 0) logger.info({ rows: sealed }, 'audit rows written before the hash chain are chained now');
  if (mode === 'off') {
    // unknown, not broken: a 0 here would fire PortwardenAuditChainBroken; audit verify sets it
    gauge.set(Number.NaN);
    return undefined;
  }
  const report = mode === 'full' ? await verifyAuditChain(store) : await verifyAuditHead(store);
  observeChain(report, gauge, logger);
  return report;
}

/** Sets the gauge from a verification and logs a break. */
export function observeChain(report: ChainReport, gauge: Gauge, logger: Logger): void {
  gauge.set(report.intact ? 1 : 0);
  const bad = report.first_bad;
  if (bad) logger.error({ row: bad.id, problem: bad.problem, expected: bad.expected, found: bad.found }, `the audit log's hash chain is broken at row ${bad.id}: ${bad.message}; see portwarden audit verify`);
}
