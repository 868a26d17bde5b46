/** Redaction of URLs for errors and logs: webhook URLs often carry tokens in their credentials, path or query. */

/**
 * The URL without credentials, query or fragment: `https://hooks.example/a/b?token=x` → `https://hooks.example/a/b?…`.
 * Path segments that look like secrets (long random tokens) are elided too. Unparseable input gives `<invalid url>`.
 */
export function redactUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return '<invalid url>';
  }
  // Long opaque path segments are how many hooks embed their secret (e.g. /hooks/T000/B000/XXXXXXXX).
  const path = u.pathname
    .split('/')
    .map((seg) => (seg.length >= 16 && /[0-9]/.test(seg) && /[a-zA-Z]/.test(seg) ? '…' : seg))
    .join('/');
  return `${u.protocol}//${u.host}${path}${u.search ? '?…' : ''}`;
}
