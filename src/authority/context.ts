import type { Clock } from '../shared/clock.ts';
import type { AuthorityConfig } from '../shared/config/authority-schema.ts';
import type { Logger } from '../shared/logger.ts';
import type { LicenseService } from './licenses/service.ts';
import type { AuthorityMetrics } from './metrics.ts';
import type { Store } from './store/store.ts';
import type { TokenService } from './tokens/service.ts';
import type { WatchHub } from './changes/watch-hub.ts';

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
  /** False until started and again from the moment shutdown begins (`/readyz`). */
  readonly ready: boolean;
}
