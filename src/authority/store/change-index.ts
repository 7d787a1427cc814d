/** The change index blocking queries wait on: the repository, implemented by sqlite/ and postgres/. */
/** The global change index: monotonic, persisted, and per service the index of its last change. */
export interface IndexRepo {
  current(): Promise<number>;
  /** Index of the last change of `service`'s licenses; 0 when it never changed. */
  ofService(service: string): Promise<number>;
  /** Takes the next index and records it as `service`'s last change. */
  bump(service: string): Promise<number>;
}
