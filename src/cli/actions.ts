/**
 * `tripline actions`: the action queues from the command line.
 *   list                 queue back end, and per action type: waiting, delayed, active, completed, failed
 *   failed               the failed set: id, action, event, rule, attempts, when, why
 *   retry ID             replays a failed job (attempts reset)
 *   fire RULE [--label k=v]... [--dry-run] [--rules PATH]... [--timeout 60s] [--work]
 *                        a synthetic incident (marked test) through the rule's actions, on the same queue and
 *                        job-id path as a real one, then waits for the jobs to settle. On Redis the running
 *                        engine delivers them (this shell's environment may lack its secrets, so this process
 *                        runs no workers unless --work); with the in-process queue this process delivers them.
 * Every subcommand takes --config FILE (REDIS_URL etc. apply as for the engine).
 */
import { INSTALL_DIR } from '../paths.ts';
import { dirname, isAbsolute, resolve } from 'node:path';
import { loadConfig, parseDuration, type Config } from '../config.ts';
import { TriplineError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { Rule } from '../rules/types.ts';
import { openQueue } from '../actions/open-queue.ts';
import type { ActionQueue } from '../actions/queue.ts';
import { dispatch } from '../actions/dispatcher.ts';
import { ACTIONS, actionFor } from '../actions/registry.ts';
import { syntheticIncident } from '../actions/synthetic-incident.ts';
import { ruleActionsHash } from '../rules/actions-hash.ts';
import { parseFlags } from './args.ts';

const USAGE =
  'tripline actions list | failed | retry ID | fire RULE [--label k=v]... [--dry-run] [--rules PATH]... [--timeout 60s] [--work]   (all: --config FILE)';
/** Where the engine looks for rules when the config names relative paths and no config file is given. */

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ')).join('\n') + '\n';
}

async function withQueue<T>(config: Readonly<Config>, fn: (q: ActionQueue) => Promise<T>): Promise<T> {
  const q = await openQueue({
    config,
    log: createLogger(config.log.level === 'info' ? 'warn' : config.log.level),
    persistState: true,
  });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

async function list(config: Readonly<Config>): Promise<number> {
  return withQueue(config, async (q) => {
    process.stdout.write(
      `queue: ${q.kind}${q.durable ? '' : ' (in-process, not durable: this process sees only its own jobs)'}\n`,
    );
    const rows = [['QUEUE', 'ACTION', 'WAITING', 'DELAYED', 'ACTIVE', 'COMPLETED', 'FAILED']];
    for (const c of await q.counts())
      rows.push([
        c.name,
        c.type,
        String(c.waiting),
        String(c.delayed),
        String(c.active),
        String(c.completed),
        String(c.failed),
      ]);
    process.stdout.write(table(rows));
    return 0;
  });
}

async function failed(config: Readonly<Config>): Promise<number> {
  return withQueue(config, async (q) => {
    const jobs = await q.failed();
    if (jobs.length === 0) {
      process.stdout.write('no failed jobs\n');
      return 0;
    }
    const rows = [['ID', 'ACTION', 'EVENT', 'RULE', 'ATTEMPTS', 'FAILED AT', 'REASON']];
    for (const j of jobs)
      rows.push([
        j.id,
        j.type,
        j.event,
        j.rule + (j.test ? ' (test)' : ''),
        String(j.attempts),
        j.failedAt ? new Date(j.failedAt).toISOString() : '-',
        j.reason.split('\n')[0],
      ]);
    process.stdout.write(table(rows));
    return 0;
  });
}

async function retry(config: Readonly<Config>, id: string): Promise<number> {
  return withQueue(config, async (q) => {
    await q.retry(id);
    process.stdout.write(
      `${id}: back in the queue; ${q.durable ? 'a running engine delivers it' : 'nothing runs it after this process exits (in-process queue)'}\n`,
    );
    return 0;
  });
}

function parseLabels(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)=(.*)$/s.exec(v);
    if (!m)
      throw new TriplineError('CLI_ERR_USAGE', `--label ${JSON.stringify(v)}: expected key=value`, {
        hint: 'e.g. --label pod=web-1 --label namespace=shop',
      });
    out[m[1]] = m[2];
  }
  return out;
}

async function loadRule(
  config: Readonly<Config>,
  configFile: string | undefined,
  rulePaths: string[],
  name: string,
): Promise<Rule> {
  const base = configFile ? dirname(resolve(configFile)) : INSTALL_DIR;
  const paths = rulePaths.length ? rulePaths : config.rules.map((p) => (isAbsolute(p) ? p : resolve(base, p)));
  // Imported here so list/failed/retry work even where the rule loader cannot (and to keep startup light).
  const { loadRuleSet } = await import('../rules/load.ts');
  const { ruleSet } = loadRuleSet(paths, { actions: ACTIONS });
  const rule = ruleSet.rules.find((r) => r.name === name);
  if (!rule)
    throw new TriplineError('CLI_ERR_USAGE', `no rule named ${JSON.stringify(name)} in ${paths.join(', ')}`, {
      hint: `rules: ${ruleSet.rules.map((r) => r.name).join(', ') || '(none)'}`,
    });
  if (rule.actions.length === 0)
    throw new TriplineError('CLI_ERR_USAGE', `rule ${name} has no actions`, {
      hint: `add an actions: list to ${rule.source.file}:${rule.source.line}`,
    });
  return rule;
}

async function fire(
  config: Readonly<Config>,
  configFile: string | undefined,
  name: string,
  o: { label: string[]; dryRun: boolean; rules: string[]; timeoutMs: number; work: boolean },
): Promise<number> {
  const rule = await loadRule(config, configFile, o.rules, name);
  for (const spec of rule.actions) actionFor(spec.type).check?.(spec as never, config, process.env);
  const runId = new Date().toISOString().replace(/[-:.]/g, '').slice(0, 18);
  const { incident, bundle } = syntheticIncident(rule, parseLabels(o.label), runId, config.host);
  const q = await openQueue({ config, log: createLogger(config.log.level), persistState: true });
  try {
    const settled = new Map<string, string>();
    q.onSettled((s) =>
      settled.set(s.id, s.state === 'completed' ? `${s.status}: ${s.summary}` : `failed: ${s.reason}`),
    );
    if (!q.durable || o.work) await q.start();
    // The rule version, so an engine's workers sharing this Redis rebuild the actions from their own rules.
    const results = await dispatch(q, { ...rule, hash: ruleActionsHash(rule) }, incident, { bundle, dryRun: o.dryRun });
    process.stdout.write(`test incident ${incident.key}${o.dryRun ? ' (dry run)' : ''} → ${q.kind} queue\n`);
    let bad = 0;
    const until = Date.now() + o.timeoutMs;
    for (const [i, r] of results.entries()) {
      const type = rule.actions[i].type;
      let text = settled.get(r.id);
      while (!text && Date.now() < until) {
        const st = await q.status(r.id);
        if (st.state === 'completed') text = `delivered: ${st.text ?? ''}`;
        else if (st.state === 'failed') text = `failed: ${st.text ?? ''}`;
        else {
          await new Promise((res) => setTimeout(res, 100));
          text = settled.get(r.id);
        }
      }
      if (!text) {
        const st = await q.status(r.id);
        text = `${st.state} after ${o.timeoutMs / 1000} s${q.durable && !o.work && st.state === 'waiting' ? ': no engine took it; is `tripline run` up on this Redis and prefix? (or pass --work)' : ''}`;
      }
      if (!text.startsWith('delivered') && !text.startsWith('dry-run') && !text.startsWith('skipped')) bad++;
      process.stdout.write(
        `  ${type.padEnd(8)} ${r.id}  ${r.duplicate ? 'duplicate, ' : ''}${r.spilled ? 'held (Redis down), ' : ''}${text}\n`,
      );
    }
    // In-process queue: follow-ups (scale → Slack thread) are queued here too; give them the rest of the time.
    if (!q.durable) {
      const memory = q as unknown as { whenIdle?: () => Promise<void> };
      await Promise.race([
        memory.whenIdle?.(),
        new Promise((res) => setTimeout(res, Math.max(0, until - Date.now())).unref()),
      ]);
    }
    return bad ? 1 : 0;
  } finally {
    await q.close();
  }
}

/** Runs `tripline actions ...`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      config: { type: 'string' },
      label: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean' },
      rules: { type: 'string', multiple: true },
      timeout: { type: 'string' },
      work: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
    true,
  );
  if (values.help) {
    process.stdout.write(`usage: ${USAGE}\n`);
    return 0;
  }
  const [sub, arg, ...extra] = positionals;
  const usage = (msg: string): number => {
    process.stderr.write(`tripline actions: ${msg}\nusage: ${USAGE}\n`);
    return 2;
  };
  if (extra.length) return usage(`unexpected ${JSON.stringify(extra[0])}`);
  const config = loadConfig(values.config);
  switch (sub) {
    case 'list':
      return arg ? usage('list takes no argument') : list(config);
    case 'failed':
      return arg ? usage('failed takes no argument') : failed(config);
    case 'retry':
      return arg ? retry(config, arg) : usage('retry needs a job ID (see `tripline actions failed`)');
    case 'fire':
      if (!arg) return usage('fire needs a RULE name');
      return fire(config, values.config, arg, {
        label: values.label ?? [],
        dryRun: values['dry-run'] === true,
        rules: values.rules ?? [],
        timeoutMs: parseDuration(values.timeout ?? '60s'),
        work: values.work === true,
      });
    default:
      return usage(sub ? `unknown subcommand ${JSON.stringify(sub)}` : 'missing subcommand');
  }
}
