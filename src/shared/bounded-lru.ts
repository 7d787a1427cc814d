export interface BoundedLruOptions<K, V> {
  /** The most entries held; setting one more evicts the least recently used. */
  max: number;
  /** Told of every entry evicted to make room (not of `delete` or `clear`). */
  onEvict?: (value: V, key: K) => void;
}

/**
 * A least-recently-used map with a bound: a `Map` kept in use order (the first key is the
 * least recently used). `get` and `set` refresh an entry; `peek` and `has` do not. The caches
 * here need nothing more (no TTL, no sizes), and this keeps a library off the sidecar's start.
 */
export class BoundedLru<K, V> {
  readonly #map = new Map<K, V>();
  readonly #max: number;
  readonly #onEvict: ((value: V, key: K) => void) | undefined;

  constructor({ max, onEvict }: BoundedLruOptions<K, V>) {
    if (!(Number.isInteger(max) && max > 0)) throw new RangeError(`max must be a positive integer, got ${max}`);
    this.#max = max;
    this.#onEvict = onEvict;
  }

  /** The value of `key`, made the most recently used. */
  get(key: K): V | undefined {
    const map = this.#map;
    const value = map.get(key);
    if (value === undefined) return undefined;
    map.delete(key);
    map.set(key, value);
    return value;
  }

  /** The value of `key`, its place unchanged. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Sets `key` as the most recently used, evicting the least recently used when full. */
  set(key: K, value: V): this {
    const map = this.#map;
    if (map.has(key)) map.delete(key);
    else if (map.size >= this.#max) {
      const oldest = map.keys().next().value as K;
      const evicted = map.get(oldest) as V;
      map.delete(oldest);
      this.#onEvict?.(evicted, oldest);
    }
    map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }

  /** Keys, least recently used first. */
  keys(): MapIterator<K> {
    return this.#map.keys();
  }

  /** Values, least recently used first. */
  values(): MapIterator<V> {
    return this.#map.values();
  }
}
