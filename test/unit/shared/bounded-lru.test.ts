import { describe, expect, it } from 'vitest';
import { BoundedLru } from '../../../src/shared/bounded-lru.ts';

describe('BoundedLru', () => {
  it('evicts the least recently set entry when full, and tells of it', () => {
    const evicted: [string, number][] = [];
    const lru = new BoundedLru<string, number>({ max: 2, onEvict: (value, key) => evicted.push([key, value]) });
    lru.set('a', 1).set('b', 2).set('c', 3);
    expect([...lru.keys()]).toEqual(['b', 'c']);
    expect(lru.has('a')).toBe(false);
    expect(evicted).toEqual([['a', 1]]);
    expect(lru.size).toBe(2);
  });

  it('get refreshes an entry, so the other one goes first', () => {
    const lru = new BoundedLru<string, number>({ max: 2 });
    lru.set('a', 1).set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect([...lru.keys()]).toEqual(['a', 'c']);
  });

  it('peek and has leave the order as it is', () => {
    const lru = new BoundedLru<string, number>({ max: 2 });
    lru.set('a', 1).set('b', 2);
    expect(lru.peek('a')).toBe(1);
    expect(lru.has('a')).toBe(true);
    lru.set('c', 3);
    expect([...lru.keys()]).toEqual(['b', 'c']);
  });

  it('setting a key it holds replaces the value, refreshes it and evicts nothing', () => {
    const evicted: string[] = [];
    const lru = new BoundedLru<string, number>({ max: 2, onEvict: (_value, key) => evicted.push(key) });
    lru.set('a', 1).set('b', 2).set('a', 10);
    expect([...lru.values()]).toEqual([2, 10]);
    expect(evicted).toEqual([]);
  });

  it('delete and clear are not evictions', () => {
    const evicted: string[] = [];
    const lru = new BoundedLru<string, number>({ max: 3, onEvict: (_value, key) => evicted.push(key) });
    lru.set('a', 1).set('b', 2).set('c', 3);
    expect(lru.delete('b')).toBe(true);
    expect(lru.delete('b')).toBe(false);
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.get('a')).toBeUndefined();
    expect(evicted).toEqual([]);
  });

  it('refuses a bound that holds nothing', () => {
    expect(() => new BoundedLru({ max: 0 })).toThrow(RangeError);
    expect(() => new BoundedLru({ max: 1.5 })).toThrow(RangeError);
  });
});
