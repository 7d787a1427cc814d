import type { Front, UpstreamPorts } from '../fronts.ts';

/** The portwarden sidecar fronts (source identity with a license, and mTLS). */
export async function sidecarFronts(_upstreams: UpstreamPorts, _workDir: string): Promise<Front[]> {
  return [];
}
