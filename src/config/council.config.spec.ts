import { ConfigError } from './config.error.js';
import { councilConfig } from './council.config.js';

const KEYS = [
  'USE_COUNCIL_REVIEW',
  'COUNCIL_JUDGES',
  'COUNCIL_VETO_JUDGES',
  'COUNCIL_VETO_VERDICT',
  'COUNCIL_TIE_VERDICT',
  'COUNCIL_REQUIRE_PASSING_TESTS',
  'COUNCIL_MIN_JUDGES',
  'COUNCIL_STUCK_DETECTION',
  'COUNCIL_JUDGE_MAX_TOKENS',
  'COUNCIL_MAX_COST_USD',
];

function withEnv<T>(env: Record<string, string>, run: () => T): T {
  const saved = { ...process.env };
  for (const key of KEYS) delete process.env[key];
  Object.assign(process.env, { QUORUM_SKIP_DOTENV: 'true' }, env);
  try {
    return run();
  } finally {
    process.env = saved;
  }
}

describe('council config', () => {
  it('defaults: off, three judges, security veto → REVISE, ties → REVISE, passing tests, no cap', () => {
    expect(withEnv({}, () => councilConfig())).toEqual({
      enabledByDefault: false,
      judges: ['security', 'performance', 'maintainability'],
      aggregation: {
        vetoJudges: ['security'],
        vetoVerdict: 'REVISE',
        tieVerdict: 'REVISE',
        requirePassingTests: true,
        minJudges: 1,
      },
      stuckDetection: true,
      judgeMaxTokens: 4096,
      maxCostUsd: undefined,
    });
  });

  it('reads every option', () => {
    const config = withEnv(
      {
        USE_COUNCIL_REVIEW: 'true',
        COUNCIL_JUDGES: ' Security, accessibility ,security',
        COUNCIL_VETO_JUDGES: 'none',
        COUNCIL_VETO_VERDICT: 'REJECT',
        COUNCIL_TIE_VERDICT: 'REJECT',
        COUNCIL_REQUIRE_PASSING_TESTS: 'false',
        COUNCIL_MIN_JUDGES: '2',
        COUNCIL_STUCK_DETECTION: 'false',
        COUNCIL_JUDGE_MAX_TOKENS: '1024',
        COUNCIL_MAX_COST_USD: '0.5',
      },
      () => councilConfig(),
    );
    expect(config).toMatchObject({
      enabledByDefault: true,
      judges: ['security', 'accessibility'],
      aggregation: {
        vetoJudges: [],
        vetoVerdict: 'REJECT',
        tieVerdict: 'REJECT',
        requirePassingTests: false,
        minJudges: 2,
      },
      stuckDetection: false,
      judgeMaxTokens: 1024,
      maxCostUsd: '0.5',
    });
  });

  it.each([
    ['COUNCIL_JUDGES', 'security,judge.one'],
    ['COUNCIL_JUDGES', 'none'],
    ['COUNCIL_VETO_VERDICT', 'APPROVE'],
    ['COUNCIL_MIN_JUDGES', '0'],
    ['COUNCIL_MAX_COST_USD', '-1'],
  ])('refuses %s=%s naming the variable', (key, value) => {
    expect(() => withEnv({ [key]: value }, () => councilConfig())).toThrow(ConfigError);
    expect(() => withEnv({ [key]: value }, () => councilConfig())).toThrow(key);
  });
});
