import { z } from 'zod';

/** One configuration key as the schema defines it: its path (`ports[].timeouts.idle`), default, and whether it is required. */
export interface SchemaKey {
  path: string;
  /** The default as written in a file (`30s`, `4096`, `false`), or undefined when there is none. */
  default: unknown;
  required: boolean;
}

/**
 * Every leaf key of a configuration schema, arrays as `[]` and every option of a
 * discriminated union (`ports[].identity.trusted_proxies`), with its default as a file spells it.
 */
export function schemaKeys(schema: z.ZodType, prefix = '', inherited?: unknown): SchemaKey[] {
  const unwrapped = unwrap(schema);
  const { inner, optional } = unwrapped;
  // a section's own default (`identity` defaults to `{ mode: source }`) is its keys' default
  const fallback = unwrapped.fallback ?? inherited;
  const section = isRecord(fallback) ? fallback : undefined;
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => schemaKeys(child, prefix ? `${prefix}.${key}` : key, section?.[key]));
  }
  if (inner instanceof z.ZodDiscriminatedUnion) {
    const keys = new Map<string, SchemaKey>();
    for (const option of inner.options as z.ZodType[]) for (const key of schemaKeys(option, prefix, section)) if (!keys.has(key.path)) keys.set(key.path, key);
    return [...keys.values()];
  }
  if (inner instanceof z.ZodArray) {
    const element = unwrap(inner.element as z.ZodType).inner;
    if (element instanceof z.ZodObject || element instanceof z.ZodDiscriminatedUnion) {
      return [{ path: prefix, default: fallback, required: !optional && fallback === undefined }, ...schemaKeys(element, `${prefix}[]`)];
    }
  }
  return [{ path: prefix, default: fallback, required: !optional && fallback === undefined }];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unwrap(schema: z.ZodType): { inner: z.ZodType; fallback: unknown; optional: boolean } {
  let current: z.ZodType = schema;
  let fallback: unknown;
  let optional = false;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
      const value = (current._zod.def as { defaultValue: unknown }).defaultValue;
      // a prefault of `{}` only means "the section may be left out"; its keys carry the defaults
      const emptySection = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
      if (fallback === undefined && !emptySection) fallback = value;
      optional = true;
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodOptional) {
      optional = true;
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return { inner: current, fallback, optional };
    }
  }
}
