// The channel between the two sides: typed requests and notifications, every inbound frame validated and bounded,
// a hostile peer cut off, a closed peer noticed at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { Channel, MAX_FRAME_BYTES } from '../../src/split/channel.ts';

const A = { ping: z.strictObject({ n: z.number().int() }), note: z.strictObject({ text: z.string().max(10) }) };
const B = { pong: z.strictObject({ n: z.number() }) };

/** Two connected Unix sockets. */
async function pair(): Promise<{ a: Socket; b: Socket; done(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-chan-'));
  const path = join(dir, 's');
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  const b = connect(path);
  const [a] = (await once(server, 'connection')) as [Socket];
  await once(b, 'connect');
  return {
    a,
    b,
    done() {
      a.destroy();
      b.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('requests get validated replies; notifications reach their handler', async () => {
  const p = await pair();
  try {
    const server = new Channel(p.a, { inbound: A, outbound: B, replies: {} });
    const client = new Channel(p.b, { inbound: B, outbound: A, replies: { ping: z.strictObject({ n: z.number() }) } });
    server.on('ping', ({ n }) => ({ n: n + 1 }));
    const notes: string[] = [];
    server.on('note', ({ text }) => void notes.push(text));
    assert.deepEqual(await client.request('ping', { n: 41 }), { n: 42 });
    client.notify('note', { text: 'hello' });
    await client.request('ping', { n: 0 }); // ordered after the note
    assert.deepEqual(notes, ['hello']);
    assert.throws(() => client.notify('note', { text: 'far too long a note' }), /CHANNEL|text/);
  } finally {
    p.done();
  }
});

test('hostile frames are dropped and counted; a request with a bad payload gets an error reply', async () => {
  const p = await pair();
  try {
    const invalid: string[] = [];
    const server = new Channel(p.a, { inbound: A, outbound: B, replies: {}, onInvalid: (r) => invalid.push(r) });
    server.on('ping', ({ n }) => ({ n }));
    const replies: string[] = [];
    p.b.on('data', (d) => replies.push(d.toString()));
    p.b.write('not json\n');
    p.b.write('{"t":"rm -rf","p":{}}\n');
    p.b.write('{"t":"__proto__","p":{}}\n');
    p.b.write('{"t":"ping","p":{"n":"1; DROP"},"id":7}\n');
    p.b.write('{"t":"ping","p":{"n":1,"extra":true},"id":8}\n');
    p.b.write('x'.repeat(MAX_FRAME_BYTES + 10) + '\n');
    p.b.write('{"t":"ping","p":{"n":5},"id":9}\n');
    for (let i = 0; i < 100 && !replies.join('').includes('"re":9'); i++) await new Promise((r) => setTimeout(r, 20));
    const lines = replies
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.re, l.ok]),
      [
        [7, false],
        [8, false],
        [9, true],
      ],
    );
    assert.equal(lines[2].p.n, 5, 'a valid request after the junk is still served');
    assert.equal(server.dropped, 6);
    assert.match(invalid.join('\n'), /not JSON/);
    assert.match(invalid.join('\n'), /unknown message type "rm -rf"/);
    assert.match(invalid.join('\n'), /over \d+ bytes/);
  } finally {
    p.done();
  }
});

test('a peer that keeps sending junk is cut off', async () => {
  const p = await pair();
  try {
    const server = new Channel(p.a, { inbound: A, outbound: B, replies: {} });
    const closed = new Promise<string>((r) => server.onClose(r));
    p.b.write('junk\n'.repeat(150));
    assert.match(await closed, /cut off after 100 invalid frames/);
  } finally {
    p.done();
  }
});

test('the other side exiting is noticed at once and pending requests fail', async () => {
  const p = await pair();
  try {
    const client = new Channel(p.b, { inbound: B, outbound: A, replies: {} });
    const closed = new Promise<string>((r) => client.onClose(r));
    const pending = assert.rejects(client.request('ping', { n: 1 }), /channel closed/); // nobody answers
    p.a.destroy();
    assert.match(await closed, /peer closed the channel|channel error/);
    await pending;
    await assert.rejects(client.request('ping', { n: 2 }), /channel closed/);
  } finally {
    p.done();
  }
});

test('notifications that come before their handler are held and handed over in order', async () => {
  const p = await pair();
  try {
    const server = new Channel(p.a, { inbound: A, outbound: B, replies: {} });
    const client = new Channel(p.b, { inbound: B, outbound: A, replies: {} });
    client.notify('note', { text: 'one' });
    client.notify('note', { text: 'two' });
    await new Promise((r) => setTimeout(r, 50));
    const got: string[] = [];
    server.on('note', ({ text }) => void got.push(text));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, ['one', 'two']);
  } finally {
    p.done();
  }
});
