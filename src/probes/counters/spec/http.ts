/** http family (src/probes/counters/http.ts): server-side HTTP/1.x and h2c request latency and HTTP/2 frames per cgroup. */
import { z } from 'zod';
import { CGROUP_LABELS as cg, type FamilySpec } from './types.ts';

/** The http family's descriptor. */
export const http = {
  name: 'http',
  bpf: true,
  signals: {
    http_request_duration_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: [...cg, 'method', 'status_class', 'protocol'],
      help: 'Server-side HTTP request latency (request read to response status line written, or HTTP/2 request HEADERS to END_STREAM), per cgroup of the server, method (GET, POST, PUT, DELETE, OTHER), status class (1xx-5xx, unknown; a gRPC error in grpc-status is 4xx or 5xx as google.rpc.Code maps it to HTTP) and protocol (http1, h2).',
      // Sub-millisecond handlers to requests that time out after tens of seconds.
      range: [64e-6, 34.4],
    },
    http_client_request_duration_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: [...cg, 'method', 'status_class', 'protocol'],
      help: 'Client-side HTTP request latency (HTTP/1 request line written to status line read, or HTTP/2 request HEADERS written to END_STREAM read, h2c with prior knowledge), per cgroup of the client, method, status class and protocol; only with counters.http_client.',
      range: [64e-6, 34.4],
    },
    http_requests: {
      kind: 'counter',
      unit: 'count',
      labels: cg,
      help: 'Server-side HTTP requests answered, per cgroup of the server (every method, status and protocol of http_request_duration_seconds): the denominator of error ratios.',
    },
    http_server_errors: {
      kind: 'counter',
      unit: 'count',
      labels: cg,
      help: 'Server-side HTTP requests answered with a 5xx status, per cgroup of the server: the numerator of error ratios.',
    },
    http2_frames: {
      kind: 'counter',
      unit: 'count',
      labels: [...cg, 'type'],
      help: 'HTTP/2 (h2c) frames read and written by servers, per cgroup and frame type (DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, other).',
    },
  },
  defaultProbes: ['http', 'profile', 'offcpu'],
  config: {
    /** Server connections the http family follows at once (its kernel hash of sockets that carried HTTP); a connection beyond it is not measured and counts as a drop. @defaultValue 65536 */
    http_max_connections: z.number().int().min(1).max(1_048_576).default(65536),
    /** Also time the HTTP/1 and h2c requests clients on this host make (http_client_request_duration_seconds); costs a 16-byte read on writes to sockets not yet seen carrying HTTP. @defaultValue false */
    http_client: z.boolean().default(false),
    /** Shared OpenSSL libraries whose SSL_read/SSL_write the http family hooks (uprobes, every process using them) to see HTTPS requests; missing paths are skipped. Off by default: each hooked call costs a uprobe on every process of the host using that library. Servers linking OpenSSL statically are not seen (`tripline probes` lists them). The usual paths are in COMMON_LIBSSL. @defaultValue [] */
    http_libssl: z.array(z.string().startsWith('/')).max(32).default([]),
  },
  doc: {
    hooks:
      '`raw_syscalls:sys_exit` of `read`, `readv`, `recvfrom`, `recvmsg`, `write`, `writev`, `sendto`, `sendmsg` and `close` on sockets (request and status lines, HTTP/2 frame headers); uprobes on `SSL_read`/`SSL_write` of each shared libssl of `counters.http_libssl` (HTTPS)',
    signals:
      '`http_request_duration_seconds` (`method`, `status_class`, `protocol`), its counts `http_requests` and `http_server_errors` (5xx), `http2_frames` (`type`); with `counters.http_client`, `http_client_request_duration_seconds`',
  },
} as const satisfies FamilySpec;

/** Where Debian/Ubuntu, Fedora and others install the shared libssl 3: what `counters.http_libssl` usually lists. */
export const COMMON_LIBSSL = [
  '/usr/lib/x86_64-linux-gnu/libssl.so.3',
  '/usr/lib/aarch64-linux-gnu/libssl.so.3',
  '/usr/lib64/libssl.so.3',
  '/usr/lib/libssl.so.3',
] as const;
