import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every authority metric, on the Registry passed in (one per process, one per test). Names are
 * public surface. Route labels are route patterns (`/v1/licenses/{lid}`), never raw paths.
 */
export function createAuthorityMetrics(registry: Registry = new Registry()) {
  const registers = [registry];
  return {
    registry,
    licenses: new Gauge({
      name: 'portwarden_authority_licenses',
      help: 'Licenses by state (active, revoked, expired).',
      labelNames: ['state'] as const,
      registers,
    }),
    licensesAtRisk: new Gauge({
      name: 'portwarden_authority_licenses_at_risk',
      help: 'Active licenses inside their renew window that the renewer will not renew (not in use, renew: never, max lifetime).',
      registers,
    }),
    renewals: new Counter({
      name: 'portwarden_authority_renewals_total',
      help: 'Renewer outcomes: renewed, failed, expired.',
      labelNames: ['result'] as const,
      registers,
    }),
    watchers: new Gauge({
      name: 'portwarden_authority_watchers',
      help: 'Blocking queries waiting for a change.',
      registers,
    }),
    changeIndex: new Gauge({
      name: 'portwarden_authority_change_index',
      help: 'The global change index.',
      registers,
    }),
    auditChainIntact: new Gauge({
      name: 'portwarden_authority_audit_chain_intact',
      help: "Whether the audit log's hash chain verified at start and at the last audit verify (1) or broke (0).",
      registers,
    }),
    storeUp: new Gauge({
      name: 'portwarden_authority_store_up',
      help: 'Whether the store took the last readiness probe (1) or not (0): PostgreSQL unreachable or read-only, the SQLite file gone or not writable.',
      registers,
    }),
    refusedRequests: new Counter({
      name: 'portwarden_authority_refused_requests_total',
      help: 'Requests and connections refused to protect the authority, by reason (rate_limited, too_many_watches, max_connections, request_timeout, malformed).',
      labelNames: ['reason'] as const,
      registers,
    }),
    requests: new Counter({
      name: 'portwarden_authority_http_requests_total',
      help: 'API requests by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    requestDuration: new Histogram({
      name: 'portwarden_authority_http_request_duration_seconds',
      help: 'API request duration by route pattern (blocking queries included).',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 30, 300],
      registers,
    }),
    admissionReviews: new Counter({
      name: 'portwarden_admission_reviews_total',
      help: 'Admission reviews by object kind, result (allowed, warned, refused, error) and the rule of the first finding.',
      labelNames: ['kind', 'result', 'rule'] as const,
      registers,
    }),
    admissionReviewDuration: new Histogram({
      name: 'portwarden_admission_review_duration_seconds',
      help: 'Time to answer an admission review, from the request to the answer.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 3],
      registers,
    }),
    admissionViewRefreshes: new Counter({
      name: 'portwarden_admission_view_refreshes_total',
      help: 'Reads of the register into the admission webhook\'s in-memory view: ok, failed.',
      labelNames: ['result'] as const,
      registers,
    }),
  };
}

export type AuthorityMetrics = ReturnType<typeof createAuthorityMetrics>;
