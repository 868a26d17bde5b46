/**
 * Plain-words rendering of a traced call's first arguments: fd and sizes for I/O calls, the path of openat (redacted
 * unless the capture allows it), hex for the rest. Pure, table-tested.
 */

/** Argument names of the calls whose first arguments are worth naming; others print as arg0..arg2 in hex. */
const ARGS: Readonly<Record<string, readonly string[]>> = {
  read: ['fd', '', 'count'],
  write: ['fd', '', 'count'],
  pread64: ['fd', '', 'count'],
  pwrite64: ['fd', '', 'count'],
  readv: ['fd', '', 'iovcnt'],
  writev: ['fd', '', 'iovcnt'],
  fsync: ['fd'],
  fdatasync: ['fd'],
  close: ['fd'],
  recvfrom: ['fd', '', 'size'],
  sendto: ['fd', '', 'size'],
  recvmsg: ['fd'],
  sendmsg: ['fd'],
  accept: ['fd'],
  accept4: ['fd'],
  connect: ['fd'],
  poll: ['', 'nfds', 'timeout_ms'],
  epoll_wait: ['epfd', '', 'maxevents'],
  epoll_pwait: ['epfd', '', 'maxevents'],
  futex: ['uaddr', 'op', 'val'],
  nanosleep: [],
  clock_nanosleep: ['clock', 'flags'],
  openat: ['dirfd', 'path', 'flags'],
  lseek: ['fd', 'offset', 'whence'],
  fstat: ['fd'],
  ioctl: ['fd', 'request'],
  sendfile: ['out_fd', 'in_fd', ''],
};

const AT_FDCWD = 0xffffff9cn; // -100 as the low 32 bits the kernel compares

/** Renders `args` of call `name`; `path` is the openat path when read, shown only when `redact` is false. */
export function formatSyscallArgs(
  name: string,
  args: readonly bigint[],
  path: string | undefined,
  redact: boolean,
): string {
  const names = ARGS[name];
  if (!names) return args.map((a, i) => `arg${i}=0x${a.toString(16)}`).join(' ');
  const out: string[] = [];
  names.forEach((n, i) => {
    if (!n) return;
    const v = args[i] ?? 0n;
    if (n === 'path') out.push(`path=${path === undefined ? '?' : redact ? '<redacted>' : JSON.stringify(path)}`);
    else if (n === 'dirfd') out.push(`dirfd=${(v & 0xffffffffn) === AT_FDCWD ? 'AT_FDCWD' : signed32(v)}`);
    else if (n.endsWith('fd')) out.push(`${n}=${signed32(v)}`);
    else if (n === 'flags' || n === 'op' || n === 'request' || n === 'uaddr') out.push(`${n}=0x${v.toString(16)}`);
    else out.push(`${n}=${v}`);
  });
  return out.join(' ');
}

function signed32(v: bigint): number {
  const x = Number(v & 0xffffffffn);
  return x >= 0x80000000 ? x - 0x100000000 : x;
}
