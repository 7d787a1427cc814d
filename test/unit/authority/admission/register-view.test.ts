import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RegisterView } from '../../../../src/authority/admission/register-view.ts';
import { ManualClock } from '../../../../src/shared/clock.ts';
import { createLogger } from '../../../../src/shared/logger.ts';
import type { PortRecord } from '../../../../src/register/port-record.ts';

/** A view over a register whose reads the test answers by hand. */
function harness(waitBudgetMs = 50) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const reads: { resolve(ports: PortRecord[]): void; reject(err: Error): void }[] = [];
  const refreshes = new Counter({ name: 'refreshes', help: 'h', labelNames: ['result'] as const, registers: [new Registry()] });
  const view = new RegisterView({
    read: () => new Promise<PortRecord[]>((resolve, reject) => reads.push({ resolve, reject })),
    clock,
    maxStalenessMs: 10_000,
    waitBudgetMs,
    logger: createLogger({ level: 'silent' }),
    refreshes,
  });
  const count = async (result: string) => (await refreshes.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  const port = (id: string) => ({ id, service: 'payments', env: 'prod', state: 'active', number: 20_000 + Number(id), previous_numbers: [] }) as unknown as PortRecord;
  return { clock, reads, view, count, port };
}

describe('the register view of the admission webhook', () => {
  it('shares one read among reviews that arrive together, and reads again after a change or max_staleness', async () => {
    const { clock, reads, view, count, port } = harness();
    const first = [view.current(), view.current(), view.current()];
    expect(reads).toHaveLength(1);
    reads[0]?.resolve([port('1')]);
    for (const answer of await Promise.all(first)) expect(answer.reading.ports).toEqual([port('1')]);
    expect(view.fresh).toBe(true);
    await view.current();
    expect(reads).toHaveLength(1);

    view.invalidate();
    expect(view.fresh).toBe(false);
    const second = view.current();
    reads[1]?.resolve([port('2')]);
    expect((await second).reading.ports).toEqual([port('2')]);

    clock.advance(10_000);
    const third = view.current();
    expect(reads).toHaveLength(3);
    reads[2]?.resolve([port('3')]);
    expect((await third).reading.ports).toEqual([port('3')]);
    expect(await count('ok')).toBe(3);
  });

  it('stays stale when a change is announced while a read is under way', async () => {
    const { reads, view, port } = harness();
    const first = view.current();
    view.invalidate(); // committed after the read began: it may be missing from it
    reads[0]?.resolve([port('1')]);
    await first;
    expect(view.fresh).toBe(false);
  });

  it('falls back to the previous reading, with a note, when a new one fails or takes longer than the budget', async () => {
    const { clock, reads, view, count, port } = harness(50);
    const first = view.current();
    reads[0]?.resolve([port('1')]);
    await first;

    clock.advance(12_000);
    const failing = view.current();
    reads[1]?.reject(new Error('the store is closed'));
    expect(await failing).toMatchObject({ reading: { ports: [port('1')], readAt: Date.UTC(2026, 0, 1) }, staleNote: 'judged against the register as read 12s ago (reading it again failed: the store is closed)' });
    expect(await count('failed')).toBe(1);

    const slow = await view.current(); // the read is never answered within 50ms
    expect(slow.staleNote).toBe('judged against the register as read 12s ago (reading it again is taking long)');
    reads[2]?.resolve([port('2')]);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await view.current()).reading.ports).toEqual([port('2')]);
  });

  it('fails with unavailable while it has never read the register', async () => {
    const { reads, view } = harness();
    const first = view.current();
    reads[0]?.reject(new Error('connection refused'));
    await expect(first).rejects.toMatchObject({ code: 'unavailable', message: 'the register cannot be read for admission reviews: connection refused' });
  });
});
