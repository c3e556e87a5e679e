import { isConflict, retryConflicts } from './retry-conflicts.js';

const deadlock = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });

describe('retryConflicts', () => {
  it('runs the transaction again after a deadlock or serialization failure', async () => {
    let calls = 0;
    const result = await retryConflicts(async () => {
      calls++;
      if (calls === 1) throw deadlock();
      // As TypeORM wraps it (QueryFailedError): the driver's code under driverError.
      if (calls === 2) throw Object.assign(new Error('could not serialize access'), { driverError: { code: '40001' } });
      return 'done';
    });
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('gives up after the last attempt with the error as it came', async () => {
    let calls = 0;
    await expect(
      retryConflicts(async () => {
        calls++;
        throw deadlock();
      }, 3),
    ).rejects.toMatchObject({ code: '40P01' });
    expect(calls).toBe(3);
  });

  it('never repeats anything else', async () => {
    let calls = 0;
    await expect(
      retryConflicts(async () => {
        calls++;
        throw Object.assign(new Error('unique violation'), { code: '23505' });
      }),
    ).rejects.toThrow('unique violation');
    expect(calls).toBe(1);
    expect(isConflict(null)).toBe(false);
  });
});
