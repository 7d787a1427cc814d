import { z } from 'zod';

/**
 * Every key path a configuration schema accepts, arrays written `ports[]` and the options of
 * a discriminated union merged: `ports[].identity.ca`. Used to keep the README's
 * configuration reference in step with the schemas.
 */
export function schemaKeys(schema: z.ZodType, prefix = ''): string[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => {
      const path = prefix ? `${prefix}.${key}` : key;
      const below = schemaKeys(child, path);
      return below.length > 0 ? below : [path];
    });
  }
  if (inner instanceof z.ZodArray) {
    const element = schemaKeys(inner.element as z.ZodType, `${prefix}[]`);
    return element.length > 0 ? element : [];
  }
  if (inner instanceof z.ZodDiscriminatedUnion || inner instanceof z.ZodUnion) {
    return [...new Set((inner.options as z.ZodType[]).flatMap((option) => schemaKeys(option, prefix)))];
  }
  return [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
}
