import { PortwardenError, isPortwardenError } from '../../shared/errors.ts';
import { podSpecPaths } from '../../register/conflicts/kubernetes-ports.ts';
import type { AuthorityContext } from '../context.ts';
import type { Route } from '../http/router.ts';
import { portRecord } from '../register/port-view.ts';
import { registerOf } from '../register/service.ts';
import { RegisterView } from './register-view.ts';
import { admissionResponse, admissionReviewSchema } from './review.ts';
import { AdmissionWebhook } from './webhook.ts';

/**
 * An AdmissionReview carries the object and, on UPDATE, the old one; etcd stores objects of up
 * to 1.5 MiB, so the route takes more than the API's default body limit.
 */
export const admissionBodyLimit = 8 * 1024 * 1024;

/**
 * A review holding an older reading of the register waits this long for a new one: well inside
 * the API server's `timeoutSeconds` (3s in the shipped configuration), with the network's share.
 */
const viewWaitBudgetMs = 1_000;

/** Kinds counted by name; everything else is `other` (`unknown` when the review was malformed). */
const countedKinds = new Set([...Object.keys(podSpecPaths), 'Service']);

/**
 * `POST /v1/admission/validate`: the Kubernetes validating admission webhook. Public, as the
 * API server calls webhooks without a bearer token (with `tls.client_ca`, it must present a
 * client certificate); it tells the caller only what `portwarden check` does (who holds a
 * number). A malformed review is 400 `bad_request`, counted with result `error`.
 */
export function admissionRoutes(ctx: AuthorityContext): Route[] {
  const config = ctx.config.admission;
  const { metrics, logger: parent } = ctx;
  const logger = parent.child({ component: 'admission' });
  let webhook: AdmissionWebhook | undefined;
  if (config.enabled) {
    const register = registerOf(ctx);
    const view = new RegisterView({
      read: async () => (await ctx.store.read((tx) => tx.ports.list())).map((row) => portRecord(row)),
      clock: ctx.clock,
      maxStalenessMs: config.max_staleness,
      waitBudgetMs: viewWaitBudgetMs,
      logger,
      refreshes: metrics.admissionViewRefreshes,
    });
    register.onChange(() => view.invalidate());
    ctx.store.onRegisterChange(() => view.invalidate());
    webhook = new AdmissionWebhook({ config, policy: register.policy, view, now: () => ctx.clock.now() });
    if (!ctx.config.tls) logger.warn('admission.enabled without tls: the Kubernetes API server calls webhooks over HTTPS only');
  }
  return [
    {
      method: 'POST',
      path: '/v1/admission/validate',
      access: 'public',
      bodyLimit: admissionBodyLimit,
      async handler(req) {
        if (!webhook) throw new PortwardenError('not_found', 'the admission webhook is not enabled (admission.enabled: true)');
        const started = performance.now();
        let kind = 'unknown';
        try {
          const review = await req.body(admissionReviewSchema);
          const { request } = review;
          kind = countedKinds.has(request.kind.kind) ? request.kind.kind : 'other';
          const outcome = await webhook.review(request);
          metrics.admissionReviews.inc({ kind, result: outcome.result, rule: outcome.rule });
          if (outcome.result !== 'allowed') {
            const fields = { uid: request.uid, kind: request.kind.kind, namespace: request.namespace, name: request.name, operation: request.operation, mode: outcome.mode, rule: outcome.rule };
            logger.info({ ...fields, message: outcome.message, warnings: outcome.warnings }, outcome.allowed ? 'admission warned' : 'admission refused');
          }
          return { body: admissionResponse(request.uid, outcome) };
        } catch (err) {
          metrics.admissionReviews.inc({ kind, result: 'error', rule: '' });
          const code = isPortwardenError(err) ? err.code : 'internal';
          if (code !== 'internal') logger.warn({ code, reason: (err as Error).message }, 'admission review failed');
          throw err;
        } finally {
          metrics.admissionReviewDuration.observe((performance.now() - started) / 1000);
        }
      },
    },
  ];
}
