/** Control plane: revoke -> applied by N watching sync loops. */
export async function controlPlaneLatency(_smoke: boolean, _workDir: string): Promise<string[]> {
  return [];
}
