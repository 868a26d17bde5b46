/**
 * The OTLP export of incidents (config `otlp:`): each lifecycle step (src/export/otlp-records.ts) becomes an OTLP log
 * record, batched by the SDK's BatchLogRecordProcessor and sent by the OTLP/HTTP (JSON) exporter, which retries 429,
 * 502, 503, 504 and network errors with backoff within `otlp.timeout`. It runs on the network side (it talks to the
 * network) and never blocks or fails an incident: a record that cannot be queued (queue full) or sent (retries spent,
 * or a 4xx) is dropped and counted in `tripline_otlp_records_dropped_total{reason}`.
 */
import { readFileSync } from 'node:fs';
import type { LogRecord, Logger as OtelLogger } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type LogRecordProcessor,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { Counter, type Registry } from 'prom-client';
import { parseDuration } from '../duration.ts';
import { TriplineError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { OtlpConfig } from './config/otlp.ts';
import { assertCredentialTransport } from '../actions/token-transport.ts';

type ExportCallback = Parameters<LogRecordExporter['export']>[1];
/** ExportResultCode.SUCCESS of @opentelemetry/core. */
const EXPORT_SUCCESS = 0;
/** The longest attribute value sent (the records bound theirs already; this is the SDK's own limit). */
const MAX_ATTRIBUTE_LENGTH = 4096;
const MAX_HEADERS = 32;

/** Reads `Name: value` lines (blank lines and `#` comments skipped); throws CONFIG_ERR_INVALID naming the line. */
export function readHeadersFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TriplineError('CONFIG_ERR_INVALID', `otlp.headers_file: cannot read ${file}: ${(err as Error).message}`, {
      hint: 'give a readable file of `Name: value` lines, or remove otlp.headers_file',
    });
  }
  const headers: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // The value is never put in the message: it is a secret.
    const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}):[ \t]*([\x20-\x7e]{0,8192})$/.exec(line);
    if (!m)
      throw new TriplineError(
        'CONFIG_ERR_INVALID',
        `otlp.headers_file: ${file}:${i + 1}: not a \`Name: value\` header`,
        {
          hint: 'one header per line, e.g. `Authorization: Bearer …` (printable ASCII)',
        },
      );
    headers[m[1]] = m[2];
    if (Object.keys(headers).length > MAX_HEADERS)
      throw new TriplineError('CONFIG_ERR_INVALID', `otlp.headers_file: ${file}: more than ${MAX_HEADERS} headers`, {
        hint: 'send only the headers the collector needs',
      });
  }
  return headers;
}

/** What the export counts: records sent and records dropped, by reason. */
interface ExportCounters {
  exported(n: number): void;
  dropped(reason: 'queue_full' | 'export_failed' | 'shutdown', n: number): void;
}

/** What the counting exporter reports of each batch, after the SDK exporter retried what it could. */
interface BatchOutcome {
  sent(n: number): void;
  failed(err: unknown, n: number): void;
}

/** Reports each batch's outcome to `outcome`, then hands the result on. */
class CountingExporter implements LogRecordExporter {
  readonly #inner: LogRecordExporter;
  readonly #outcome: BatchOutcome;

  constructor(inner: LogRecordExporter, outcome: BatchOutcome) {
    this.#inner = inner;
    this.#outcome = outcome;
  }

  export(logs: ReadableLogRecord[], done: ExportCallback): void {
    this.#inner.export(logs, (result) => {
      if (result.code === EXPORT_SUCCESS) this.#outcome.sent(logs.length);
      else this.#outcome.failed(result.error, logs.length);
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }
}

/**
 * Bounds the records held (queued or being sent) at `max`: past it a record is dropped here and counted, so the
 * batch processor (whose queue is as large) never drops one silently.
 */
class BoundedProcessor implements LogRecordProcessor {
  held = 0;
  readonly #inner: LogRecordProcessor;
  readonly #max: number;
  readonly #counts: ExportCounters;

  constructor(inner: LogRecordProcessor, max: number, counts: ExportCounters) {
    this.#inner = inner;
    this.#max = max;
    this.#counts = counts;
  }

  onEmit(record: Parameters<LogRecordProcessor['onEmit']>[0]): void {
    if (this.held >= this.#max) {
      this.#counts.dropped('queue_full', 1);
      return;
    }
    this.held++;
    this.#inner.onEmit(record);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

/** The OTLP log export of one network side. */
export class OtlpIncidentExporter {
  readonly #provider: LoggerProvider;
  readonly #logger: OtelLogger;
  readonly #counts: ExportCounters;
  readonly #log: Logger;
  #failing = false;
  #stopped = false;

  constructor(o: {
    readonly config: OtlpConfig & { readonly endpoint: string };
    readonly host: string;
    readonly log: Logger;
    readonly registry?: Registry;
    readonly prefix: string;
  }) {
    const c = o.config;
    this.#log = o.log;
    const registers = o.registry ? [o.registry] : [];
    const exported = new Counter({
      name: `${o.prefix}otlp_records_exported_total`,
      help: 'Incident log records the OTLP collector accepted.',
      registers,
    });
    const dropped = new Counter({
      name: `${o.prefix}otlp_records_dropped_total`,
      help: 'Incident log records not delivered to the OTLP collector, by reason (queue_full, export_failed, shutdown).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['queue_full', 'export_failed', 'shutdown']) dropped.inc({ reason }, 0);
    this.#counts = { exported: (n) => exported.inc(n), dropped: (reason, n) => dropped.inc({ reason }, n) };
    const timeoutMs = parseDuration(c.timeout);
    if (c.headers_file) assertCredentialTransport(c.endpoint, 'otlp.endpoint (with headers_file)');
    const headers = c.headers_file ? readHeadersFile(c.headers_file) : {};
    let bounded: BoundedProcessor | undefined;
    const exporter = new CountingExporter(new OTLPLogExporter({ url: c.endpoint, headers, timeoutMillis: timeoutMs }), {
      sent: (n) => {
        bounded!.held = Math.max(0, bounded!.held - n);
        this.#counts.exported(n);
        if (!this.#failing) return;
        this.#failing = false;
        this.#log.info({ endpoint: c.endpoint }, 'OTLP export recovered');
      },
      failed: (err, n) => {
        bounded!.held = Math.max(0, bounded!.held - n);
        this.#counts.dropped('export_failed', n);
        // Logged once per run of failures (the next success logs the recovery), never with the headers.
        if (this.#failing) return;
        this.#failing = true;
        this.#log.warn(
          { endpoint: c.endpoint, records: n, err: String((err as Error)?.message ?? err).slice(0, 300) },
          'OTLP export failed: records dropped (tripline_otlp_records_dropped_total)',
        );
      },
    });
    const batch = new BatchLogRecordProcessor({
      exporter,
      maxQueueSize: c.max_queue,
      maxExportBatchSize: c.max_batch,
      scheduledDelayMillis: parseDuration(c.flush_interval),
      // The exporter's own timeout covers its retries; this one only catches a callback that never comes.
      exportTimeoutMillis: timeoutMs + 5000,
    });
    bounded = new BoundedProcessor(batch, c.max_queue, this.#counts);
    this.#provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'tripline', 'host.name': o.host }),
      logRecordLimits: { attributeValueLengthLimit: MAX_ATTRIBUTE_LENGTH, attributeCountLimit: 128 },
      processors: [bounded],
    });
    this.#logger = this.#provider.getLogger('tripline.incidents');
  }

  /** Queues one record (never throws, never waits). */
  emit(record: LogRecord): void {
    if (this.#stopped) return this.#counts.dropped('shutdown', 1);
    try {
      this.#logger.emit(record);
    } catch (err) {
      this.#log.warn({ err: (err as Error)?.message }, 'OTLP record not queued');
    }
  }

  /** Sends what is queued (within the export timeout) and stops; later records are dropped (reason shutdown). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#provider.shutdown().catch((err) => this.#log.warn({ err: (err as Error)?.message }, 'OTLP shutdown'));
  }
}
