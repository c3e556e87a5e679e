/**
 * Whether `text` holds a C0 control character (NUL included) or DEL: refused in paths and URLs,
 * where a newline or a NUL would change what a later command or a log line reads. Char codes, not a
 * regular expression of control characters (which linters rightly flag as usually a mistake).
 */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
