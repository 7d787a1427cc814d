import autocannon from 'autocannon';

export interface HttpResult {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** Keep-alive HTTP load with autocannon: requests/s and latency percentiles. */
export async function httpKeepAlive(port: number, durationSec: number, connections = 32): Promise<HttpResult> {
  const result = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: durationSec, pipelining: 1 });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`HTTP load saw ${result.errors} errors and ${result.non2xx} non-2xx answers`);
  return { reqPerSec: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
}
