import { detectStuck, filesHash, findingsHash } from './stuck.js';
import { planCouncilCost } from './cost-plan.js';

describe('stuck detection', () => {
  const files = [
    { path: 'b.ts', content: 'b' },
    { path: 'a.ts', content: 'a' },
  ];
  it('hashes files order-independently and content-sensitively', () => {
    expect(filesHash(files)).toBe(filesHash([...files].reverse()));
    expect(filesHash(files)).not.toBe(filesHash([{ path: 'a.ts', content: 'a2' }, files[0]]));
  });

  it('hashes findings ignoring order, case and punctuation', () => {
    const a = findingsHash([
      { severity: 'warning', file: 'a.ts', line: 1, message: 'Fix it!' },
      { severity: 'info', message: 'x' },
    ]);
    const b = findingsHash([
      { severity: 'info', message: 'X' },
      { severity: 'warning', file: './a.ts', line: 1, message: 'fix it' },
    ]);
    expect(a).toBe(b);
  });

  it('flags the same files or the same findings in two consecutive iterations', () => {
    const base = { iteration: 1, filesHash: 'f1', findingsHash: 'g1', hasFindings: true };
    expect(detectStuck(undefined, { ...base, iteration: 1 })).toBeUndefined();
    expect(detectStuck(base, { iteration: 2, filesHash: 'f1', findingsHash: 'g2', hasFindings: true })).toBe(
      'SAME_FILES',
    );
    expect(detectStuck(base, { iteration: 2, filesHash: 'f2', findingsHash: 'g1', hasFindings: true })).toBe(
      'SAME_FINDINGS',
    );
    expect(detectStuck(base, { iteration: 2, filesHash: 'f2', findingsHash: 'g2', hasFindings: true })).toBeUndefined();
    expect(
      detectStuck(
        { ...base, hasFindings: false },
        { iteration: 2, filesHash: 'f2', findingsHash: 'g1', hasFindings: false },
      ),
    ).toBeUndefined();
    expect(detectStuck(base, { iteration: 3, filesHash: 'f1', findingsHash: 'g1', hasFindings: true })).toBeUndefined();
  });
});

describe('council cost plan', () => {
  const seats = [
    { judge: 'security', worstCaseUsd: '0.004' },
    { judge: 'performance', worstCaseUsd: '0.004' },
    { judge: 'maintainability', worstCaseUsd: '0.004' },
  ];
  it('runs every judge without a cap', () => {
    expect(planCouncilCost(seats, undefined)).toMatchObject({ skipped: [], reservedUsd: '0.01200000' });
  });

  it('skips judges whose worst case would exceed the cap, and says why', () => {
    const plan = planCouncilCost(seats, '0.01', '0.001');
    expect(plan.run.map((s) => s.judge)).toEqual(['security', 'performance']);
    expect(plan.skipped).toEqual([
      expect.objectContaining({
        judge: 'maintainability',
        worstCaseUsd: '0.004',
        reason: expect.stringContaining('0.01000000'),
      }),
    ]);
    expect(plan.reservedUsd).toBe('0.00900000');
    expect(planCouncilCost(seats, '0', '0').run).toEqual([]);
  });
});
