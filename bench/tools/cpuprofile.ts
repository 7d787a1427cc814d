/**
 * Summarises a `--cpu-prof` profile: self time by function (with its file and line) and the
 * share of idle, GC and program time. Usage: cpuprofile.ts FILE.cpuprofile [TOP]
 * (run with Node 24: node_modules/.bin/node bench/tools/cpuprofile.ts ...).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, top = '40'] = process.argv.slice(2);
if (!file) throw new Error('usage: cpuprofile.ts FILE [TOP]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const self = new Map<string, number>();
const total = new Map<string, number>();
let all = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  all += dt;
  const node = byId.get(id) as ProfileNode;
  const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
  self.set(key(node), (self.get(key(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur) as ProfileNode);
    if (seen.has(k)) continue;
    seen.add(k);
    total.set(k, (total.get(k) ?? 0) + dt);
  }
});
const busy = all - (self.get('(idle) :0') ?? 0);
const pct = (v: number) => `${((v / busy) * 100).toFixed(1)}%`;
process.stdout.write(`total ${(all / 1e6).toFixed(2)}s, busy ${(busy / 1e6).toFixed(2)}s (percentages of busy)\n\nself:\n`);
for (const [name, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) process.stdout.write(`${pct(v).padStart(6)}  ${name}\n`);
process.stdout.write('\ninclusive:\n');
for (const [name, v] of [...total].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) process.stdout.write(`${pct(v).padStart(6)}  ${name}\n`);
