/** What a pull request's description reports about the run that produced it. */
export interface PullRequestContent {
  taskId: string;
  runId: string;
  title: string;
  description?: string;
  plan?: { summary?: string; steps?: Array<{ title: string; detail?: string; files?: string[] }> } | null;
  tests?: { passed: number | null; failed: number | null; output?: string } | null;
  review?: {
    verdict: string;
    summary: string;
    score?: number | null;
    issues?: Array<{ severity: string; file?: string | null; line?: number | null; message: string }>;
  } | null;
  council?: { verdict: string; judges: Array<{ judge: string; verdict: string; summary: string }> } | null;
}

/** GitHub refuses bodies over 65 536 characters; leave room for the note that says so. */
const MAX_BODY = 60_000;
const MAX_TEST_OUTPUT = 4_000;

const fence = (text: string) => `\`\`\`\n${text.replaceAll('```', '``\u200b`')}\n\`\`\``;
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The pull request title: the task title on one line, as GitHub shows it. */
export function pullRequestTitle(content: Pick<PullRequestContent, 'title'>): string {
  return oneLine(content.title).slice(0, 256) || 'Quorum changes';
}

/** Markdown body: the task, the plan, the test results and the review / council verdicts. */
export function renderPullRequestBody(content: PullRequestContent): string {
  const parts: string[] = [];
  if (content.description?.trim()) parts.push(`## Task\n\n${content.description.trim()}`);

  const steps = content.plan?.steps ?? [];
  if (content.plan && (content.plan.summary || steps.length > 0)) {
    const lines = steps.map((step, i) => {
      const files = step.files?.length ? ` (${step.files.map((f) => `\`${f}\``).join(', ')})` : '';
      return `${i + 1}. **${oneLine(step.title)}**${files}${step.detail ? `: ${oneLine(step.detail)}` : ''}`;
    });
    parts.push(['## Plan', content.plan.summary?.trim() ?? '', lines.join('\n')].filter(Boolean).join('\n\n'));
  }

  if (content.tests) {
    const { passed, failed, output } = content.tests;
    const status =
      passed === null || failed === null ? '⚠️' : failed === 0 && passed > 0 ? '✅' : failed > 0 ? '❌' : '⚠️';
    const counts =
      passed === null || failed === null ? 'counts unknown (see the output)' : `${passed} passed, ${failed} failed`;
    const head = `## Tests\n\n${status} ${counts}`;
    const tail = output?.trim()
      ? `\n\n<details><summary>Output</summary>\n\n${fence(output.trim().slice(-MAX_TEST_OUTPUT))}\n\n</details>`
      : '';
    parts.push(head + tail);
  }

  if (content.review) {
    const r = content.review;
    const score = typeof r.score === 'number' ? ` (score ${r.score}/10)` : '';
    const issues = (r.issues ?? []).map((issue) => {
      const where = issue.file ? ` \`${issue.file}${issue.line ? `:${issue.line}` : ''}\`` : '';
      return `- **${issue.severity}**${where}: ${oneLine(issue.message)}`;
    });
    parts.push([`## Review: ${r.verdict}${score}`, r.summary.trim(), issues.join('\n')].filter(Boolean).join('\n\n'));
  }

  if (content.council) {
    const judges = content.council.judges.map((j) => `- **${j.judge}**: ${j.verdict}: ${oneLine(j.summary)}`);
    parts.push([`## Council: ${content.council.verdict}`, judges.join('\n')].filter(Boolean).join('\n\n'));
  }

  parts.push(`---\nOpened by Quorum for task \`${content.taskId}\` (run \`${content.runId}\`).`);
  const body = parts.join('\n\n');
  return body.length <= MAX_BODY ? body : `${body.slice(0, MAX_BODY)}\n\n… (truncated)`;
}
