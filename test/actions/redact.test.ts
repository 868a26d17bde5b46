/** URL redaction for errors and logs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl } from '../../src/actions/redact.ts';

test('credentials, query, fragment and token-like path segments go; host and plain path stay', () => {
  assert.equal(
    redactUrl('https://user:pw@hooks.example.com:8443/a/b?token=x#frag'),
    'https://hooks.example.com:8443/a/b?…',
  );
  assert.equal(
    redactUrl('https://hooks.example.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnop1234'),
    'https://hooks.example.com/services/T0123ABCD/B0123ABCD/…',
  );
  assert.equal(redactUrl('http://127.0.0.1:9000/scale'), 'http://127.0.0.1:9000/scale');
  assert.equal(redactUrl('not a url with secret'), '<invalid url>');
});
