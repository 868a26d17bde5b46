import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, logFormat } from '../src/log.ts';

/** A stream that keeps what is written, optionally claiming to be a terminal. */
function sink(isTTY = false): Writable & { text: () => string; isTTY?: boolean } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { text: () => string; isTTY?: boolean };
  w.text = () => chunks.join('');
  if (isTTY) w.isTTY = true;
  return w;
}

test('log format: pretty on a terminal, JSON elsewhere, a flag overrides both, another value is a usage error', () => {
  assert.equal(logFormat(undefined, sink(true)), 'pretty');
  assert.equal(logFormat(undefined, sink(false)), 'json');
  assert.equal(logFormat('', sink(true)), 'pretty');
  assert.equal(logFormat('json', sink(true)), 'json');
  assert.equal(logFormat('pretty', sink(false)), 'pretty');
  assert.throws(() => logFormat('xml', sink()), /CLI_ERR_USAGE|unknown log format "xml"/);
});

/** Secrets as the engine could log them: top-level, one level down, in an auth header. */
const SECRETS = {
  token: 'xoxb-top-secret',
  slack: { token: 'xoxb-nested-secret' },
  headers: { authorization: 'Bearer api-secret' },
  webhook: { secret: 'hmac-secret' },
  redis: { password: 'redis-secret' },
};

for (const format of ['json', 'pretty'] as const) {
  test(`log (${format}): secrets are redacted`, () => {
    const out = sink();
    createLogger('info', out, format).warn({ ...SECRETS, rule: 'cpu-throttling' }, 'action settled');
    const text = out.text();
    for (const s of ['xoxb-top-secret', 'xoxb-nested-secret', 'api-secret', 'hmac-secret', 'redis-secret'])
      assert.ok(!text.includes(s), `${s} is not in ${text}`);
    assert.equal(text.match(/\[redacted\]/g)?.length, 5, text);
    assert.match(text, /cpu-throttling/);
  });
}

test('log (pretty): one readable line per entry, level and message first, fields after; colours only on a terminal', () => {
  const out = sink();
  const log = createLogger('info', out, 'pretty');
  log.info({ listen: '127.0.0.1:9464' }, 'network side running');
  log.error({ err: 'connect ECONNREFUSED' }, 'http handler failed');
  log.debug({}, 'not shown at info');
  const lines = out.text().trimEnd().split('\n');
  assert.equal(lines.length, 2, out.text());
  assert.match(lines[0], /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: network side running \{"listen":"127\.0\.0\.1:9464"\}$/);
  assert.match(lines[1], /^\[[\d:.]+\] ERROR: http handler failed \{"err":"connect ECONNREFUSED"\}$/);
  assert.doesNotMatch(out.text(), /\x1b\[/, 'no colour codes off a terminal');
  const tty = sink(true);
  createLogger('info', tty, 'pretty').warn({}, 'coloured');
  assert.match(tty.text(), /\x1b\[\d+m/);
});

test('log (json): one JSON object per line, as before', () => {
  const out = sink(true);
  createLogger('info', out, 'json').info({ listen: '127.0.0.1:1' }, 'network side running');
  const entry = JSON.parse(out.text());
  assert.equal(entry.msg, 'network side running');
  assert.equal(entry.app, 'tripline');
  assert.equal(entry.level, 30);
});
