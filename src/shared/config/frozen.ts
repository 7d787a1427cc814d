/** A value no part of which can be changed: what a loaded configuration is. */
export type Frozen<T> = T extends (...args: never[]) => unknown ? T : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

/**
 * Freezes `value` and everything it holds. A configuration is read by many parts at once (the
 * listeners, the sync, the reload planner): frozen, none of them can change what the others
 * see, and a reload replaces the whole object instead of editing it.
 */
export function deepFreeze<T>(value: T): Frozen<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value as Frozen<T>;
}
