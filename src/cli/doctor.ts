/** `tripline doctor`: checks what the engine needs on this host, each finding with a fix. Exit 1 when a required check fails. */
import { accessSync, constants } from 'node:fs';
import { checkHost, type Check } from '../probes/host-checks.ts';
import { loadConfig } from '../config.ts';
import { lookupUser } from '../split/spawn.ts';

/** What the privilege split needs: the network side's user and setpriv. */
function splitChecks(): Check[] {
  let user = 'tripline';
  try {
    user = loadConfig(undefined).network.user;
  } catch {
    /* the default user: `tripline run --config` reports a bad config itself */
  }
  const ids = lookupUser(user);
  let setpriv = true;
  try {
    accessSync('/usr/bin/setpriv', constants.X_OK);
  } catch {
    setpriv = false;
  }
  return [
    {
      name: 'network user',
      ok: ids !== undefined && ids.uid !== 0,
      required: true,
      detail: ids ? `${user} (uid ${ids.uid}): the network side runs as it, without capabilities` : `no user ${user}`,
      fix: `run scripts/setup.sh, or: useradd --system --no-create-home --shell /usr/sbin/nologin ${user}`,
    },
    {
      name: 'setpriv',
      ok: setpriv,
      required: true,
      detail: setpriv ? '/usr/bin/setpriv (starts the network side with no capabilities)' : 'not found',
      fix: 'apt-get install -y util-linux',
    },
  ];
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const unknown = argv.filter((a) => a !== '--json');
  if (unknown.length) {
    process.stderr.write(`tripline doctor: unknown option ${unknown[0]} (usage: tripline doctor [--json])\n`);
    return 2;
  }
  const checks = [...checkHost(), ...splitChecks()];
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
