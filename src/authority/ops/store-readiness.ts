import type { Gauge } from 'prom-client';
import { isPortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Store } from '../store/store.ts';

/** Whether the store took the last probe, and why not. */
export type StoreVerdict = { readonly ok: true } | { readonly ok: false; readonly problem: string };

export interface StoreReadinessOptions {
  store: Pick<Store, 'probe'>;
  logger: Logger;
  /** `portwarden_authority_store_up`: 1 while the last probe passed. */
  gauge: Gauge;
  /** A verdict is reused this long, so frequent probes and scrapes cost one store round trip (real time). */
  cacheMs?: number;
  /** A probe that takes longer than this counts as a failure (an unreachable server can hang a connect). */
  timeoutMs?: number;
}

/**
 * The store half of `/readyz`: probes the store at most once per `cacheMs`, one probe at a time
 * however many callers ask, and gives up on a probe after `timeoutMs`. A change of verdict is
 * logged once (warn when the store stops taking writes, info when it is back), and the gauge
 * follows every verdict, so an outage and the recovery after it show without a restart.
 */
export class StoreReadiness {
  readonly #o: StoreReadinessOptions;
  readonly #cacheMs: number;
  readonly #timeoutMs: number;
  #last: { verdict: StoreVerdict; at: number } | undefined;
  #inFlight: Promise<StoreVerdict> | undefined;

  constructor(options: StoreReadinessOptions) {
    this.#o = options;
    this.#cacheMs = options.cacheMs ?? 1_000;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
  }

  /** The current verdict: cached while fresh, else a new probe (shared with concurrent callers). */
  check(): Promise<StoreVerdict> {
    const last = this.#last;
    if (last && performance.now() - last.at < this.#cacheMs) return Promise.resolve(last.verdict);
    this.#inFlight ??= this.#probe().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  async #probe(): Promise<StoreVerdict> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs}ms`)), this.#timeoutMs);
    });
    let verdict: StoreVerdict;
    try {
      await Promise.race([this.#o.store.probe(), timeout]);
      verdict = { ok: true };
    } catch (err) {
      verdict = { ok: false, problem: isPortwardenError(err) ? err.message : `the store probe failed: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
    this.#record(verdict);
    return verdict;
  }

  #record(verdict: StoreVerdict): void {
    const before = this.#last?.verdict;
    this.#last = { verdict, at: performance.now() };
    this.#o.gauge.set(verdict.ok ? 1 : 0);
    if (!verdict.ok && (before === undefined || before.ok)) this.#o.logger.warn({ problem: verdict.problem }, 'the store does not take writes; not ready');
    else if (verdict.ok && before !== undefined && !before.ok) this.#o.logger.info('the store takes writes again; ready');
  }
}
