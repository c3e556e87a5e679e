/**
 * A `git format-patch`-style mailbox for a result that has no commit of its own (tasks without a
 * repository): `git am` applies it to an empty repository or one holding the task's input files.
 */
export function formatPatch(input: { title: string; body?: string; diff: string; date: Date }): string {
  const subject = input.title.replace(/\s+/g, ' ').trim().slice(0, 72) || 'Quorum changes';
  return [
    'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
    'From: Quorum <quorum@localhost>',
    `Date: ${input.date.toUTCString().replace('GMT', '+0000')}`,
    `Subject: [PATCH] ${subject}`,
    '',
    ...(input.body?.trim() ? [input.body.trim(), ''] : []),
    '---',
    input.diff.endsWith('\n') ? input.diff : `${input.diff}\n`,
    '-- ',
    'quorum',
    '',
  ].join('\n');
}
