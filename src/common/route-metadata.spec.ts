import { jest } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { RouteMetadataCache } from './route-metadata.js';

const context = (handler: () => void, type: new () => unknown) =>
  ({ getHandler: () => handler, getClass: () => type }) as unknown as ExecutionContext;

describe('RouteMetadataCache', () => {
  it('reads once per handler and class', () => {
    class A {
      run() {}
    }
    class B extends A {}
    const read = jest.fn((targets: unknown[]) => (targets[1] === A ? 'a' : 'b'));
    const cache = new RouteMetadataCache(read);
    expect(cache.get(context(A.prototype.run, A))).toBe('a');
    expect(cache.get(context(A.prototype.run, A))).toBe('a');
    // The same inherited handler under another class is read for that class.
    expect(cache.get(context(A.prototype.run, B))).toBe('b');
    expect(cache.get(context(A.prototype.run, B))).toBe('b');
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('remembers falsy answers too', () => {
    class C {
      run() {}
    }
    const read = jest.fn(() => undefined);
    const cache = new RouteMetadataCache(read);
    cache.get(context(C.prototype.run, C));
    cache.get(context(C.prototype.run, C));
    expect(read).toHaveBeenCalledTimes(1);
  });
});
