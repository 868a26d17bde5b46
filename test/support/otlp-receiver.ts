/**
 * A local OTLP/HTTP logs receiver for tests: it decodes each ExportLogsServiceRequest (JSON encoding, as the
 * OTLP/HTTP exporter sends it) into flat records, and answers with the status `respond` picks (200 by default), or
 * holds the request until `release()` when `hold` is set.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/**
 * The uid owning the client end of a loopback IPv4 connection, from /proc/net/tcp (the line whose local port is the
 * client's port and whose remote port is ours): which user sent the request. undefined when not found.
 */
function peerUid(clientPort: number, serverPort: number): number | undefined {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 7 && f[1].endsWith(`:${hex(clientPort)}`) && f[2].endsWith(`:${hex(serverPort)}`))
      return Number(f[7]);
  }
  return undefined;
}

/** An OTLP AnyValue, decoded. */
type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

/** One decoded log record with its resource's attributes. */
export interface ReceivedRecord {
  readonly resource: Record<string, Value>;
  readonly scope: string;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly eventName?: string;
  readonly body: Value;
  readonly timeUnixNano: string;
  readonly attributes: Record<string, Value>;
}

/** Decodes an OTLP JSON AnyValue ({stringValue}, {intValue}, {boolValue}, {doubleValue}, {arrayValue}, {kvlistValue}). */
function decodeValue(v: Record<string, any> | undefined): Value {
  if (!v) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(decodeValue);
  if ('kvlistValue' in v) return decodeAttributes(v.kvlistValue.values);
  return null;
}

function decodeAttributes(list: { key: string; value: Record<string, any> }[] | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of list ?? []) out[kv.key] = decodeValue(kv.value);
  return out;
}

/** The receiver; `start()` it, `stop()` it in finally. */
export class OtlpReceiver {
  readonly records: ReceivedRecord[] = [];
  readonly requests: { path: string; headers: IncomingHttpHeaders; status: number; uid?: number }[] = [];
  /** The status of the n-th request (0-based); 200 unless set. */
  respond: (n: number) => number = () => 200;
  hold = false;
  readonly #held: (() => void)[] = [];
  #server?: Server;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const uid = peerUid(req.socket.remotePort ?? 0, req.socket.localPort ?? 0);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const n = this.requests.length;
        const status = this.respond(n);
        this.requests.push({ path: req.url ?? '', headers: req.headers, status, uid });
        const answer = (): void => {
          if (status === 200) this.#decode(Buffer.concat(chunks).toString('utf8'), String(req.headers['content-type']));
          res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '{"code":1}');
        };
        if (this.hold) this.#held.push(answer);
        else answer();
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    const addr = this.#server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}/v1/logs`;
    return this;
  }

  /** Answers the held requests. */
  release(): void {
    this.hold = false;
    for (const a of this.#held.splice(0)) a();
  }

  #decode(text: string, contentType: string): void {
    if (!contentType.startsWith('application/json')) throw new Error(`unexpected content type ${contentType}`);
    const body = JSON.parse(text) as { resourceLogs: any[] };
    for (const rl of body.resourceLogs ?? []) {
      const resource = decodeAttributes(rl.resource?.attributes);
      for (const sl of rl.scopeLogs ?? []) {
        for (const lr of sl.logRecords ?? []) {
          this.records.push({
            resource,
            scope: sl.scope?.name ?? '',
            severityNumber: lr.severityNumber ?? 0,
            severityText: lr.severityText ?? '',
            eventName: lr.eventName,
            body: decodeValue(lr.body),
            timeUnixNano: String(lr.timeUnixNano ?? ''),
            attributes: decodeAttributes(lr.attributes),
          });
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.release();
    this.#server?.closeAllConnections();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }
}
