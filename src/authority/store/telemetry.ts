/** Telemetry batch ids as stored (a batch sent twice counts once): the repository, implemented by sqlite/ and postgres/. */
export interface TelemetryRepo {
  /** Records a batch id; false when the service already sent it (the batch is then skipped). */
  claimBatch(service: string, batchId: string, at: number): Promise<boolean>;
  /** Forgets batch ids received before `before`; returns how many. */
  pruneBatches(before: number): Promise<number>;
}
