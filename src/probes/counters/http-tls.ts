/**
 * The http family's TLS side: attaching its uprobes to each shared libssl, and finding the servers it cannot see
 * because they link OpenSSL statically (`tripline probes`). Servers are the processes holding a listening TCP socket.
 */
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import type { BpfObject } from '../libbpf.ts';
import { TriplineError } from '../../errors.ts';
import { existingBinaries } from './pg.ts';

/** Uprobes of the family: program, symbol, return probe. */
const HOOKS: readonly [string, string, boolean][] = [
  ['tlc_http_tls_r', 'SSL_read', false],
  ['tlc_http_tls_rr', 'SSL_read', true],
  ['tlc_http_tls_rx', 'SSL_read_ex', false],
  ['tlc_http_tls_rr', 'SSL_read_ex', true],
  ['tlc_http_tls_w', 'SSL_write', false],
  ['tlc_http_tls_wr', 'SSL_write', true],
  ['tlc_http_tls_wx', 'SSL_write_ex', false],
  ['tlc_http_tls_wr', 'SSL_write_ex', true],
  ['tlc_http_tls_f', 'SSL_free', false],
];

/** The uprobe programs (switched off before load when no libssl is configured here). */
export const TLS_PROGRAMS = [...new Set(HOOKS.map(([p]) => p))];

/**
 * Attaches the TLS uprobes to every library of `paths` that exists (each file once), for all processes. Returns the
 * libraries attached and, per library that could not be, why (the family keeps running without it).
 */
export function attachTls(obj: BpfObject, paths: readonly string[]): { libs: string[]; failed: string[] } {
  const libs: string[] = [];
  const failed: string[] = [];
  for (const lib of existingBinaries(paths)) {
    try {
      for (const [program, symbol, retprobe] of HOOKS)
        obj.attachUprobe(program, { binary: lib, symbol, retprobe, pid: -1 });
      libs.push(lib);
    } catch (err) {
      // A library without the symbols (not OpenSSL 1.1.1+): the probes already attached to it stay until close.
      failed.push(`${lib}: ${err instanceof TriplineError ? err.message : String(err)}`);
    }
  }
  return { libs, failed };
}

/** Socket inodes of listening TCP sockets (state 0A in /proc/net/tcp and tcp6). */
function listeningInodes(): Set<string> {
  const out = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && cols[9]) out.add(cols[9]);
    }
  }
  return out;
}

/** True when the file holds the symbol name `SSL_read` (read in 1 MiB chunks; a missing file holds nothing). */
export function fileHasSymbol(path: string, symbol = 'SSL_read'): boolean {
  const needle = Buffer.from(`\0${symbol}\0`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const buf = Buffer.alloc((1 << 20) + needle.length);
    let carry = 0;
    for (;;) {
      const n = readSync(fd, buf, carry, buf.length - carry, null);
      if (n <= 0) return false;
      if (buf.subarray(0, carry + n).includes(needle)) return true;
      buf.copy(buf, 0, carry + n - needle.length, carry + n);
      carry = needle.length;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Servers (processes with a listening TCP socket) whose executable carries OpenSSL's SSL_read while no libssl is
 * mapped: OpenSSL linked statically, so their HTTPS requests are not seen. `proc` is the procfs root (tests).
 */
export function staticTlsServers(proc = '/proc'): { pid: number; comm: string; exe: string }[] {
  const listening = listeningInodes();
  const out: { pid: number; comm: string; exe: string }[] = [];
  const verdict = new Map<string, boolean>();
  for (const name of readdirSync(proc)) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const fds = readdirSync(`${proc}/${pid}/fd`);
      const listens = fds.some((fd) => {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${proc}/${pid}/fd/${fd}`, { encoding: 'utf8' }));
        return m !== null && listening.has(m[1]);
      });
      if (!listens) continue;
      if (/\/libssl\.so/.test(readFileSync(`${proc}/${pid}/maps`, 'utf8'))) continue;
      const exe = readlinkSync(`${proc}/${pid}/exe`);
      let has = verdict.get(exe);
      if (has === undefined) verdict.set(exe, (has = fileHasSymbol(`${proc}/${pid}/exe`)));
      if (has) out.push({ pid, comm: readFileSync(`${proc}/${pid}/comm`, 'utf8').trim(), exe });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}
