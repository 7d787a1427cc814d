import type { Clock } from '../shared/clock.ts';
import type { AuthorityConfig } from '../shared/config/authority-schema.ts';
import type { Logger } from '../shared/logger.ts';
import type { LicenseService } from './licenses/service.ts';
import type { AuthorityMetrics } from './metrics.ts';
import type { Store } from './store/store.ts';
import type { TokenService } from './tokens/service.ts';
import type { WatchHub } from './changes/watch-hub.ts';
import type { StoreReadiness } from './ops/store-readiness.ts';
import type { WatchSlots } from './limits/watch-slots.ts';

/** What route factories get: the authority's parts, made once in `authority.ts`. */
export interface AuthorityContext {
  config: AuthorityConfig;
  clock: Clock;
  logger: Logger;
  store: Store;
  hub: WatchHub;
  metrics: AuthorityMetrics;
  licenses: LicenseService;
  tokens: TokenService;
  /** Whether the store takes writes now (`/readyz`, `portwarden_authority_store_up`). */
  storeReadiness: StoreReadiness;
  /** Places for blocking queries (`limits.max_watches`, `limits.max_watches_per_token`). */
  watchSlots: WatchSlots;
  /** False until started and again from the moment shutdown begins (`/readyz`). */
  readonly ready: boolean;
}
