import { parseDuration, webhooksConfig } from './webhooks.config.js';

function withEnv<T>(env: Record<string, string>, read: () => T): T {
  const previous = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    return read();
  } finally {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

describe('webhooks config', () => {
  it.each([
    ['0', 0],
    ['250', 250],
    ['250ms', 250],
    ['5s', 5_000],
    ['30m', 1_800_000],
    ['10h', 36_000_000],
    ['1d', 86_400_000],
  ])('parses the duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5 minutes', '-1s', '1.5h', 'h'])('rejects the duration %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('defaults to Svix’s schedule, a 10 s timeout, 24 h disabling and 24 h secret grace, private URLs refused', () => {
    const config = withEnv({ QUORUM_SKIP_DOTENV: 'true' }, () => webhooksConfig());
    expect(config).toMatchObject({
      allowPrivateUrls: false,
      timeoutMs: 10_000,
      retryScheduleMs: [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
      disableAfterMs: 86_400_000,
      secretGraceMs: 86_400_000,
    });
  });

  it('names the variable of a bad value', () => {
    expect(() => withEnv({ WEBHOOK_RETRY_SCHEDULE: '0,soon' }, () => webhooksConfig())).toThrow(
      'WEBHOOK_RETRY_SCHEDULE',
    );
    expect(() => withEnv({ WEBHOOK_TIMEOUT: 'forever' }, () => webhooksConfig())).toThrow('WEBHOOK_TIMEOUT');
    expect(() => withEnv({ WEBHOOK_ALLOW_PRIVATE_URLS: 'maybe' }, () => webhooksConfig())).toThrow(
      'WEBHOOK_ALLOW_PRIVATE_URLS',
    );
  });
});
