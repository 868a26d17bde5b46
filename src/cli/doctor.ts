/** `tripline doctor`: checks what the engine needs on this host, each finding with a fix. Exit 1 when a required check fails. */
import { checkHost, type Check } from '../probes/host-checks.ts';

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const unknown = argv.filter((a) => a !== '--json');
  if (unknown.length) {
    process.stderr.write(`tripline doctor: unknown option ${unknown[0]} (usage: tripline doctor [--json])\n`);
    return 2;
  }
  const checks = checkHost();
  if (json) process.stdout.write(JSON.stringify(checks, null, 2) + '\n');
  else process.stdout.write(render(checks));
  return checks.some((c) => c.required && !c.ok) ? 1 : 0;
}

function render(checks: readonly Check[]): string {
  const lines = checks.map((c) => {
    const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn';
    return `${mark}  ${c.name.padEnd(14)} ${c.detail}${!c.ok && c.fix ? `\n      fix: ${c.fix}` : ''}`;
  });
  const failed = checks.filter((c) => c.required && !c.ok).length;
  return lines.join('\n') + `\n\n${failed ? `${failed} required check(s) failed` : 'all required checks passed'}\n`;
}
