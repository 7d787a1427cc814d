import { z } from 'zod';

/**
 * The `admission.k8s.io/v1` AdmissionReview, as the Kubernetes API server sends it to a
 * validating webhook, and the answer it expects. Only what the webhook reads is validated;
 * the rest (`requestKind`, `options`, `userInfo`, ...) is let through, because the API server
 * adds fields over time.
 */

const groupVersionKind = z.looseObject({ group: z.string(), version: z.string(), kind: z.string().min(1) });

/** The operations a webhook can be asked about. */
export const operations = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;

export const admissionReviewSchema = z.looseObject({
  apiVersion: z.literal('admission.k8s.io/v1', { error: 'must be admission.k8s.io/v1 (set admissionReviewVersions: [v1] in the webhook configuration)' }),
  kind: z.literal('AdmissionReview', { error: 'must be AdmissionReview' }),
  request: z.looseObject({
    uid: z.string().min(1, 'must be the review\'s uid'),
    kind: groupVersionKind,
    resource: z.looseObject({ group: z.string(), version: z.string(), resource: z.string() }).optional(),
    subResource: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
    operation: z.enum(operations),
    // the object as it would be stored; null on DELETE and CONNECT
    object: z.record(z.string(), z.unknown()).nullable().optional(),
    oldObject: z.record(z.string(), z.unknown()).nullable().optional(),
    dryRun: z.boolean().optional(),
  }),
});

export type AdmissionReview = z.output<typeof admissionReviewSchema>;
export type AdmissionRequest = AdmissionReview['request'];

/** What the webhook decided about one request. */
export interface AdmissionAnswer {
  allowed: boolean;
  /** Why, when refused: shown to whoever applied the object (`kubectl` prints it). */
  message?: string | undefined;
  /** Notes shown beside an allowed (or refused) request; each at most `maxWarningLength`. */
  warnings: string[];
}

/** Kubernetes may truncate warnings beyond this many characters. */
export const maxWarningLength = 256;

/**
 * The AdmissionReview answering `uid`: `allowed`, and for a refusal a `status` with code 403
 * (the API server passes it on as the client's error), plus `warnings` when there are any.
 */
export function admissionResponse(uid: string, answer: AdmissionAnswer): Record<string, unknown> {
  const warnings = answer.warnings.map(clipWarning);
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: answer.allowed,
      ...(answer.allowed ? {} : { status: { code: 403, reason: 'Forbidden', message: answer.message ?? 'refused by portwarden' } }),
      ...(warnings.length > 0 ? { warnings } : {}),
    },
  };
}

/** A warning cut to `maxWarningLength` characters, with an ellipsis where it was cut. */
export function clipWarning(text: string): string {
  return text.length <= maxWarningLength ? text : `${text.slice(0, maxWarningLength - 1)}…`;
}
