/**
 * A minimal ustar writer for bundles: regular files and directories only, names split into prefix/name,
 * mode and mtime kept, uid/gid 0. Enough for `tar -xzf` and any tar reader; no shelling out.
 */

/** One tar member. Directories end with `/` and have no data. */
export interface TarEntry {
  readonly path: string;
  readonly data?: Buffer;
  readonly mode: number;
  readonly mtimeMs: number;
}

function octal(n: number, width: number): string {
  // width - 1 digits plus a NUL terminator, as ustar readers expect.
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(512);
  const dir = e.path.endsWith('/');
  let name = e.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // Split at a slash so that prefix ≤ 155 bytes and name ≤ 100 bytes.
    const cut = name.lastIndexOf('/', dir ? name.length - 2 : name.length - 1);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(name) > 100)
      throw new Error(`tar: path too long: ${e.path}`);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(dir ? 0 : (e.data?.length ?? 0), 12), 124, 'ascii');
  h.write(octal(Math.floor(e.mtimeMs / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum is computed with its own field as spaces
  h.write(dir ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** The tar archive of the entries (not compressed), ended by two zero blocks. */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (!e.path.endsWith('/') && e.data && e.data.length > 0) {
      parts.push(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
