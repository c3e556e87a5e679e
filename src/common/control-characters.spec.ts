import { hasControlCharacters } from './control-characters.js';

describe('hasControlCharacters', () => {
  it('finds NUL, every C0 control and DEL, anywhere in the text', () => {
    for (let code = 0; code < 0x20; code++) expect(hasControlCharacters(`a${String.fromCharCode(code)}b`)).toBe(true);
    expect(hasControlCharacters('\u007f')).toBe(true);
    expect(hasControlCharacters('src/a.ts\0')).toBe(true);
  });

  it('leaves printable text alone, spaces and non-ASCII included', () => {
    expect(hasControlCharacters('')).toBe(false);
    expect(hasControlCharacters('src/my file.ts')).toBe(false);
    expect(hasControlCharacters('docs/été/naïve.md ~!@#$%^&*()')).toBe(false);
    expect(hasControlCharacters('\u0080\u00a0')).toBe(false);
  });
});
