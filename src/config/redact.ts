/**
 * Credentials never reach a message: a URL's password becomes `***` wherever a URL is echoed
 * (configuration errors, start-up checks, logs), including URLs too malformed to parse.
 */
const CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^\s]*@/i;

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL `new URL` accepts (a bad port, a space…): hide everything between `user:` and the last `@`.
    return url.replace(CREDENTIALS, '$1***@');
  }
}

/** Variables whose value is a secret as a whole: a configuration error names them without their value. */
const SECRET_VARIABLE = /(SECRET|PASSWORD|TOKEN|_KEY)$/;

/** How a configuration error shows a variable's value: secrets hidden, URL passwords redacted. */
export function shownValue(variable: string, value: string | undefined): string {
  if (value === undefined) return 'null';
  if (SECRET_VARIABLE.test(variable)) return '(hidden)';
  return JSON.stringify(redactUrl(value));
}
