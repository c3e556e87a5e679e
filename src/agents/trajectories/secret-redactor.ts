import { SECRET_KEYS } from '#src/logging/logging.module.js';

export const REDACTED = '[REDACTED]';

/**
 * Shapes of credentials whatever their source: our own access tokens (JWTs) and API keys
 * (`qk_…`), webhook secrets, provider keys, repository tokens of the common forges, credentials in
 * URLs, bearer headers and private keys. Each pattern stops at characters JSON escapes, so it can
 * run over serialised JSON.
 */
const SECRET_PATTERNS: RegExp[] = [
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // JWT
  /\bqk_[A-Za-z0-9_-]{8,}/g, // Quorum API key
  /\bwhsec_[A-Za-z0-9+/=_-]{8,}/g, // webhook signing secret
  /\bsk-(?:ant-|proj-|or-)?[A-Za-z0-9_-]{16,}/g, // OpenAI, Anthropic, OpenRouter
  /\bAIza[0-9A-Za-z_-]{30,}/g, // Google
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, // Slack
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key id
  /\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{16,}/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];
/** `scheme://user:password@host`: the userinfo goes, the rest of the URL stays readable. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"'\\]+:[^\s/@"'\\]+@/gi;
/** Known values shorter than this would wreck ordinary text; they are rare and matched by shape anyway. */
const MIN_KNOWN_LENGTH = 8;

const SECRET_KEY_SET = new Set<string>(SECRET_KEYS.map((key) => key.toLowerCase()));

/**
 * Keeps secrets out of stored trajectories: the keys the log redaction knows (password, token,
 * apiKey, authorization…) lose their values, known secret values of this deployment (provider
 * keys, JWT and encryption secrets, OAuth client secrets) and the shapes above are replaced
 * wherever they appear in a text.
 */
export class SecretRedactor {
  private readonly known: string[];

  constructor(knownSecrets: Array<string | undefined | null>) {
    const values = new Set<string>();
    for (const value of knownSecrets) {
      if (!value || value.length < MIN_KNOWN_LENGTH) continue;
      values.add(value);
      // As it appears inside serialised JSON too.
      values.add(JSON.stringify(value).slice(1, -1));
    }
    // Longest first, so a secret containing another is replaced whole.
    this.known = [...values].sort((a, b) => b.length - a.length);
  }

  /** A copy of `value` (JSON data) with every secret replaced, by key and in every string. */
  redact(value: unknown, key = ''): unknown {
    if (typeof value === 'string') {
      if (key && value !== '' && SECRET_KEY_SET.has(key.toLowerCase())) return REDACTED;
      return this.text(value);
    }
    if (Array.isArray(value)) return value.map((item) => this.redact(item));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, this.redact(item, name)]));
    return value;
  }

  text(input: string): string {
    let out = input;
    for (const secret of this.known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, REDACTED);
    return out.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
  }
}
