// What every page is drawn from, loaded together on every change: the register, the stale
// list, the licenses (with those at risk), the numbers in use and who the actors are.

/** @typedef {import('./api-types.js').Snapshot} Snapshot */

/**
 * Loads the snapshot; the policy is read once per sign-in (it changes only with a restart).
 * @param {import('./api.js').Api} api
 * @param {import('./api-types.js').Policy} policy
 * @returns {Promise<Snapshot>}
 */
export async function loadSnapshot(api, policy) {
  const [ports, stale, licenses, numbers, actors] = await Promise.all([
    api.get('/v1/ports').then((/** @type {{ ports: import('./api-types.js').PortRecord[] }} */ a) => a.ports),
    api.get('/v1/ports?stale=1').then((/** @type {{ ports: import('./api-types.js').PortRecord[] }} */ a) => new Set(a.ports.map((p) => p.id))),
    /** @type {Promise<import('./api-types.js').LicenseList>} */ (api.get('/v1/licenses?state=all')),
    api.get('/v1/ports/numbers').then((/** @type {{ numbers: import('./api-types.js').NumberEntry[] }} */ a) => a.numbers),
    api.get('/v1/tokens').then((/** @type {{ tokens: { id: string, name: string | null }[] }} */ a) => new Map(a.tokens.filter((t) => t.name !== null).map((t) => [t.id, /** @type {string} */ (t.name)]))),
  ]);
  return { ports, stale, licenses, numbers, actors, policy };
}

/**
 * Some states change with time alone, with nothing to announce: a license enters its renew
 * window (and may be at risk from then) or expires, a cool-down or a transition window ends.
 * The milliseconds until the next of those moments, or null when there is none.
 * @param {Snapshot} snapshot
 * @param {number} now
 */
export function untilNextBoundary(snapshot, now) {
  const { licenses } = snapshot;
  const times = [...Object.values(licenses.renew_at), ...licenses.licenses.filter((l) => l.state === 'active').map((l) => l.expires_at), ...snapshot.numbers.map((n) => n.until)]
    .filter((iso) => iso !== null)
    .map((iso) => Date.parse(iso))
    .filter((at) => at > now);
  return times.length === 0 ? null : Math.min(...times) - now;
}
