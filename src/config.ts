/**
 * Engine configuration (`tripline.yaml`, keys in snake_case like the rules): validated once at start with zod, environment overrides applied,
 * then frozen. Every option has its default here and nowhere else, except a counter family's own `counters:` keys,
 * which its descriptor declares (src/probes/counters/spec/<name>.ts).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { parseDocument, LineCounter } from 'yaml';
import { TriplineError } from './errors.ts';
import { durationSchema as duration, parseDuration } from './duration.ts';
import { FAMILY_CONFIG, FAMILY_NAMES } from './probes/counters/spec/index.ts';
import { otlpConfigSchema } from './export/config/otlp.ts';
import { AlertmanagerConfigSchema } from './alertmanager/schema/config.ts';
import { CaptureRequestsPolicySchema } from './capture/schema/requests.ts';
import { SLACK_INTERACTIVE_FIELDS } from './actions/slack/settings/interactive.ts';

export { parseDuration };

/** A DNS-like name: labels of letters, digits, `-` and `_` (no leading/trailing `-`), joined by dots; 253 chars max. */
const HOST_RE =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;
const hostSchema = z.string().regex(HOST_RE, {
  message:
    'must be a DNS-like name (letters, digits, "-", "_", dot-separated labels of 1-63, 253 characters at most); set `host:` or NODE_NAME',
});

/** A refinement: a duration (already checked by its regex, else false) within [minMs, maxMs]. */
function within(minMs: number, maxMs: number): (d: string) => boolean {
  return (d) => {
    const ms = /^\d+(\.\d+)?(ms|s|m|h|d)$/.test(d) ? parseDuration(d) : NaN;
    return ms >= minMs && ms <= maxMs;
  };
}

export const ConfigSchema = z
  .object({
    /** Address of the HTTP server (/metrics, /healthz, /readyz, /api). @defaultValue 127.0.0.1:9464 */
    listen: z.string().default('127.0.0.1:9464'),
    /** Folders or files holding rule YAML. @defaultValue ["rules"] (relative to the config file or cwd) */
    rules: z.array(z.string()).default(['rules']),
    /** Where state, bundles and sinks live. @defaultValue /var/lib/tripline */
    data_dir: z.string().default('/var/lib/tripline'),
    /**
     * This engine's host identity: on node-level incidents and their keys, the rule state's Redis key, bundles and
     * Slack. Engines sharing a Redis need distinct names. Unset (or null): env NODE_NAME (the Kubernetes node, set
     * by the DaemonSet), else the host name. @defaultValue $NODE_NAME, else os.hostname()
     */
    host: hostSchema,
    sampler: z
      .object({
        /** @defaultValue 1s */
        tick: duration.default('1s'),
        /** Rolling per-cgroup history kept for bundles' before/after comparison. @defaultValue 5m */
        history: duration.default('5m'),
      })
      .strict()
      .default({ tick: '1s', history: '5m' }),
    counters: z
      .object({
        /** Counter families to run (the keys of the counter registry). @defaultValue all */
        enabled: z.array(z.enum(FAMILY_NAMES)).default([...FAMILY_NAMES]),
        /** Cgroup paths (relative to the cgroup mount) whose syscalls get per-cgroup histograms; a path that does not exist yet is watched once it appears (re-resolved every 5 s). */
        watch_cgroups: z.array(z.string()).default([]),
        /** Max cgroups the kernel maps track (older entries are not evicted: new cgroups past this are counted as dropped). @defaultValue 10240 */
        max_cgroups: z.number().int().min(16).max(1_000_000).default(10240),
        // Each family's own keys (runq_threshold, watch_pids, pg_binaries …): src/probes/counters/spec/<name>.ts.
        ...FAMILY_CONFIG,
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        /** Per-cgroup series exported per signal; the rest is folded into cgroup="other". Sized by bench/scrape.ts: 1,000 cgroups at 100 scrape in ~8 ms (p99 13 ms). @defaultValue 100 */
        top_cgroups: z.number().int().min(1).max(5000).default(100),
        /** Prefix of every exported metric. @defaultValue tripline_ */
        prefix: z
          .string()
          .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
          .default('tripline_'),
      })
      .strict()
      .prefault({}),
    capture: z
      .object({
        /** Captures running at once, all incidents together. @defaultValue 2 */
        max_concurrent: z.number().int().min(1).max(64).default(2),
        /** Default time box of a capture. @defaultValue 10s */
        duration: duration.default('10s'),
        /** Total CPU the running probes may use, in percent of one core; a capture past it is cut. @defaultValue 10 */
        max_cpu_percent: z.number().min(0.1).max(400).default(10),
        /** The bpftrace binary the `bpftrace` deep probe runs (rules cannot name one). @defaultValue /usr/bin/bpftrace */
        bpftrace_binary: z.string().startsWith('/').default('/usr/bin/bpftrace'),
        /**
         * Let rules run their own bpftrace programs (`capture.bpftrace`, `capture.options.bpftrace.program`). They run
         * as root with the probe side's capabilities, so a rule author could do anything: off unless you trust every
         * rule author as root. @defaultValue false
         */
        allow_bpftrace_programs: z.boolean().default(false),
        /**
         * A trip puts its offender cgroups (the incident's cgroup, or a host-wide trip's top contributors) on the
         * in-kernel syscall watch list, so they get per-cgroup syscall histograms: `until_resolved` removes them when
         * the incident resolves, `forever` keeps them (bounded: 256 offenders, the oldest leave first), `off` never
         * adds any. @defaultValue until_resolved
         */
        watch_offenders: z.enum(['until_resolved', 'forever', 'off']).default('until_resolved'),
        requests: CaptureRequestsPolicySchema,
      })
      .strict()
      .prefault({}),
    bundles: z
      .object({
        /** @defaultValue <data_dir>/bundles */
        dir: z.string().optional(),
        max_age: duration.default('7d'),
        max_count: z.number().int().min(1).default(200),
        max_bytes: z.number().int().min(1_000_000).default(2_000_000_000),
        /** node-cron expression of the retention sweep. @defaultValue every 10 minutes */
        retention_schedule: z.string().default('*/10 * * * *'),
        /** Redact string arguments and SQL literals. @defaultValue true */
        redact: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        /** redis://host:port/db; unset = in-process queue (not durable) and file-based rule state. Env REDIS_URL. */
        url: z.string().optional(),
        /** Prefix of every key tripline writes. @defaultValue tripline */
        prefix: z.string().default('tripline'),
        /** CA (PEM) of a TLS Redis (`rediss://` URL). */
        tls_ca_file: z.string().startsWith('/').optional(),
        /** File holding the Redis password (keeps it out of the URL, the environment and logs). Env REDIS_PASSWORD_FILE. */
        password_file: z.string().startsWith('/').optional(),
      })
      .strict()
      .prefault({}),
    slack: z
      .object({
        /** Env SLACK_BOT_TOKEN, or token_file. Never logged. */
        token_file: z.string().optional(),
        /** Default channel. Env SLACK_CHANNEL. */
        channel: z.string().optional(),
        /** Env SLACK_API_URL. @defaultValue https://slack.com/api/ */
        api_url: z.string().default('https://slack.com/api/'),
        group_wait: duration.default('30s'),
        group_interval: duration.default('5m'),
        repeat_interval: duration.default('4h'),
        /** Without a token, messages go to this folder as JSON. @defaultValue <data_dir>/slack-outbox (`tripline run`: <data_dir>/network/slack-outbox, the network side's folder) */
        file_sink: z.string().optional(),
        ...SLACK_INTERACTIVE_FIELDS,
      })
      .strict()
      .prefault({}),
    kubernetes: z
      .object({
        /** Path of a kubeconfig (env KUBECONFIG); unset = in-cluster service account when present. */
        kubeconfig: z.string().optional(),
        /** Override of the API server URL (tests, proxies). */
        api_url: z.string().optional(),
        /**
         * This node's name (env NODE_NAME, which the DaemonSet injects from `spec.nodeName`). With it and credentials,
         * the network side keeps a cache of this node's pods (list + watch `spec.nodeName=<node>`) to name cgroups
         * and find the workload to scale; unset = no pod cache.
         */
        node_name: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'a node name (DNS subdomain)')
          .optional(),
      })
      .strict()
      .prefault({}),
    network: z
      .object({
        /**
         * The unprivileged user the network side runs as (no capabilities: its CapEff, CapPrm and CapBnd are empty).
         * `scripts/setup.sh`, the package and the container image create it. @defaultValue tripline
         */
        user: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]{0,31}$/)
          .default('tripline'),
        /**
         * Unset: `tripline run` starts the network side itself, as `user`, joined by a socket pair. Set (a path): it
         * listens on this Unix socket for a network side started apart (the tripline-network pod, running
         * `tripline network --channel PATH`), e.g. /run/tripline/channel.sock in a host directory both pods mount.
         * The probe side makes the socket's directory root's, 2750, group `user`'s (refusing an unsafe one).
         */
        channel: z.string().startsWith('/').optional(),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        /**
         * Where /api is served: "host:port" or "unix:/path.sock"; unset = on `listen`, beside /metrics. In a
         * DaemonSet set it to loopback or a Unix socket so the pod IP serves only /metrics and the health checks.
         */
        listen: z.string().optional(),
        /** Bearer token of /api, created 0600 with a random token at first start when missing. @defaultValue <data_dir>/api-token */
        token_file: z.string().optional(),
        /** Host names (besides IP literals and localhost) requests to /api may address, e.g. the node's name. */
        allowed_hosts: z.array(z.string().max(253)).max(64).default([]),
      })
      .strict()
      .prefault({}),
    actions: z
      .object({
        attempts: z.number().int().min(1).max(100).default(8),
        /** First retry delay; doubles each attempt, with jitter. @defaultValue 1s */
        backoff: duration.default('1s'),
        /** Idempotency window of a job id (BullMQ deduplication TTL). @defaultValue 24h */
        dedup_window: duration.default('24h'),
        /**
         * How long a worker's lock on a running job lasts (renewed while it runs); a killed engine's jobs are
         * redelivered to any engine's workers this long after its death, and workers look for them as often (Redis
         * only). @defaultValue 30s
         */
        lock_duration: duration.refine(within(1000, 3_600_000), 'between 1s and 1h').default('30s'),
      })
      .strict()
      .prefault({}),
    alertmanager: AlertmanagerConfigSchema,
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    otlp: otlpConfigSchema.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

/** Environment variables that override the file (names documented in README). */
function applyEnv(raw: Record<string, any>, env: NodeJS.ProcessEnv): Record<string, any> {
  const out = structuredClone(raw);
  const set = (section: string, key: string, value: string | undefined): void => {
    if (value === undefined || value === '') return;
    out[section] = { ...(out[section] ?? {}), [key]: value };
  };
  set('redis', 'url', env.REDIS_URL);
  set('redis', 'password_file', env.REDIS_PASSWORD_FILE);
  set('slack', 'channel', env.SLACK_CHANNEL);
  set('slack', 'api_url', env.SLACK_API_URL);
  set('slack', 'token_file', env.SLACK_BOT_TOKEN_FILE);
  set('kubernetes', 'kubeconfig', env.KUBECONFIG);
  set('kubernetes', 'node_name', env.NODE_NAME);
  if (env.TRIPLINE_LISTEN) out.listen = env.TRIPLINE_LISTEN;
  if (env.TRIPLINE_DATA_DIR) out.data_dir = env.TRIPLINE_DATA_DIR;
  // A default, not an override: a host named in the file wins over NODE_NAME.
  if (out.host === undefined || out.host === null) out.host = env.NODE_NAME || hostname();
  return out;
}

/** Validates a config object (already parsed), applies env overrides, freezes it. `file` is for messages. */
export function buildConfig(
  raw: unknown,
  env: NodeJS.ProcessEnv = process.env,
  file = '<config>',
  lines?: LineCounter,
  doc?: ReturnType<typeof parseDocument>,
): Readonly<Config> {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TriplineError('CONFIG_ERR_INVALID', `${file}:1:1: the config must be a mapping`, {
      hint: 'see tripline.example.yaml',
    });
  }
  const parsed = ConfigSchema.safeParse(applyEnv(raw as Record<string, any>, env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    let where = `${file}:1:1`;
    if (doc && lines) {
      const node = doc.getIn(issue.path as (string | number)[], true) as
        { range?: [number, number, number] } | undefined;
      const offset = node?.range?.[0];
      if (offset !== undefined) {
        const p = lines.linePos(offset);
        where = `${file}:${p.line}:${p.col}`;
      }
    }
    const key = issue.path.join('.') || '(top level)';
    throw new TriplineError('CONFIG_ERR_INVALID', `${where}: ${key}: ${issue.message}`, {
      hint: 'see tripline.example.yaml for every option and its default',
    });
  }
  return deepFreeze(parsed.data);
}

/** Reads, validates and freezes the config file; no file given = defaults (plus environment). */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  if (!file) return buildConfig({}, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TriplineError('CONFIG_ERR_INVALID', `cannot read config ${file}: ${(cause as Error).message}`, {
      hint: 'pass an existing file to --config',
      cause,
    });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const p = e.linePos?.[0];
    throw new TriplineError(
      'CONFIG_ERR_INVALID',
      `${file}:${p?.line ?? 1}:${p?.col ?? 1}: ${e.message.split('\n')[0]}`,
      { hint: 'fix the YAML syntax' },
    );
  }
  return buildConfig(doc.toJS({ maxAliasCount: 50 }), env, file, lines, doc);
}

/** The Slack bot token from SLACK_BOT_TOKEN or the token file; undefined when neither is set. Never log it. */
export function slackToken(config: Readonly<Config>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SLACK_BOT_TOKEN) return env.SLACK_BOT_TOKEN;
  if (config.slack.token_file) return readFileSync(config.slack.token_file, 'utf8').trim();
  return undefined;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
