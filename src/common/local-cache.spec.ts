import { INVALIDATE_ALL, LocalCache } from './local-cache.js';

describe('LocalCache', () => {
  const live = (ttlMs = 60_000) => {
    const cache = new LocalCache<string | null>('test', ttlMs, 3);
    cache.goLive();
    return cache;
  };

  it('keeps nothing until its subscription is confirmed, and drops everything when the connection goes', () => {
    const cache = new LocalCache<string | null>('c', 60_000, 10);
    cache.set('u1', null, cache.token());
    expect(cache.get('u1')).toBeUndefined();
    cache.goLive();
    cache.set('u1', null, cache.token());
    expect(cache.get('u1')).toBeNull();
    cache.goDark();
    expect(cache.get('u1')).toBeUndefined();
    cache.set('u1', '5.00000000', cache.token());
    expect(cache.get('u1')).toBeUndefined();
  });

  it('refuses a value read before a drop, or before the subscription was (re)confirmed', () => {
    const cache = live();
    const before = cache.token();
    cache.drop('someone-else');
    cache.set('u1', null, before);
    expect(cache.get('u1')).toBeUndefined();

    const whileDark = cache.token();
    cache.goDark();
    cache.goLive();
    cache.set('u1', null, whileDark);
    expect(cache.get('u1')).toBeUndefined();
  });

  it('expires entries after ttlMs, caches nothing with ttlMs 0, and bounds its size', async () => {
    const cache = live(30);
    cache.set('u1', '1.00000000', cache.token());
    expect(cache.get('u1')).toBe('1.00000000');
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(cache.get('u1')).toBeUndefined();

    const off = live(0);
    off.set('u1', null, off.token());
    expect(off.get('u1')).toBeUndefined();

    const small = live();
    for (const key of ['a', 'b', 'c', 'd']) small.set(key, null, small.token());
    // The least recently used entry goes first.
    expect(['a', 'b', 'c', 'd'].filter((key) => small.get(key) !== undefined)).toEqual(['b', 'c', 'd']);
  });

  it('drop removes one key; * removes everything', () => {
    const cache = live();
    cache.set('u1', null, cache.token());
    cache.set('u2', null, cache.token());
    cache.drop('u1');
    expect(cache.get('u1')).toBeUndefined();
    expect(cache.get('u2')).toBeNull();
    cache.drop(INVALIDATE_ALL);
    expect(cache.get('u2')).toBeUndefined();
  });
});
