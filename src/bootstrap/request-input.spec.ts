import { jest } from '@jest/globals';
import type { Request, Response } from 'express';
import { type Middleware, series } from './request-input.js';

const req = {} as Request;
const res = {} as Response;

describe('series', () => {
  it('runs the steps in order, then calls next once without an error', () => {
    const ran: string[] = [];
    const step =
      (name: string): Middleware =>
      (_req, _res, next) => {
        ran.push(name);
        next();
      };
    const next = jest.fn<(error?: unknown) => void>();
    series(step('a'), step('b'), step('c'))(req, res, next);
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(next).toHaveBeenCalledTimes(1);
    expect(next).toHaveBeenCalledWith(undefined);
  });

  it('skips the remaining steps after an error passed on or thrown', () => {
    const failure = new Error('refused');
    const later = jest.fn<Middleware>();
    for (const failing of [
      ((_req, _res, next) => next(failure)) as Middleware,
      (() => {
        throw failure;
      }) as Middleware,
    ]) {
      const next = jest.fn<(error?: unknown) => void>();
      series(failing, later)(req, res, next);
      expect(next).toHaveBeenCalledTimes(1);
      expect(next).toHaveBeenCalledWith(failure);
    }
    expect(later).not.toHaveBeenCalled();
  });

  it('waits for a step that calls next later (a body being read)', async () => {
    const next = jest.fn<(error?: unknown) => void>();
    const later = jest.fn<Middleware>((_req, _res, done) => done());
    series((_req, _res, done) => void setImmediate(done), later)(req, res, next);
    expect(later).not.toHaveBeenCalled();
    await new Promise((resolve) => setImmediate(resolve));
    expect(later).toHaveBeenCalledTimes(1);
    expect(next).toHaveBeenCalledWith(undefined);
  });
});
