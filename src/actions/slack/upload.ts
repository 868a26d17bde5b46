/**
 * The bundle tarball into the incident's thread, in Slack's three upload steps (get an upload URL, send the
 * bytes, complete). Each step may fail and the job may run again: the progress is kept in the action store per
 * incident key and bundle, so a retry resumes at the failed step and a completed upload is never posted twice.
 */
import { stat, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Incident } from '../../incident.ts';
import type { BundleRef } from '../../bundle/types.ts';
import type { ActionStore } from '../types.ts';
import { UploadUrlRejected } from './client.ts';
import type { MessageRef, PendingUpload, SlackTransport } from './transport.ts';
import { THREAD_TTL_MS } from './threads.ts';
import { bundleTarball } from '../bundle-file.ts';

/** Stored progress, or undefined (start over) when it is not what this code wrote. */
function parseProgress(raw: string): UploadProgress | undefined {
  try {
    const p = JSON.parse(raw) as UploadProgress;
    const ok =
      p &&
      typeof p === 'object' &&
      typeof p.sent === 'boolean' &&
      typeof p.done === 'boolean' &&
      typeof p.pending?.fileId === 'string' &&
      typeof p.pending?.uploadUrl === 'string';
    return ok ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Tarballs above this are not uploaded; the thread gets the path instead (Slack allows more, people read less). */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

/** Progress of one upload, as stored. */
interface UploadProgress {
  readonly pending: PendingUpload;
  sent: boolean;
  done: boolean;
}

/** What `uploadBundle` did. `missing`/`too-large`: no upload (the caller says so in the thread). */
export type UploadResult = 'uploaded' | 'already' | 'missing' | 'too-large';

/**
 * Uploads `bundle.tarball` into `thread`, once per incident key and bundle id, resuming after failures. `beforePost`
 * runs right before the step that posts into the channel (the caller's per-channel spacing); `ns` prefixes the
 * progress key (`slack-file` for the file sink).
 */
export async function uploadBundle(
  transport: SlackTransport,
  store: ActionStore,
  thread: MessageRef,
  incidentKey: string,
  bundle: BundleRef,
  beforePost: () => Promise<void> = async () => {},
  ns = 'slack',
  bundlesDir?: string,
): Promise<UploadResult> {
  const key = `${ns}:upload:${incidentKey}:${bundle.id}`;
  const raw = await store.get(key);
  // Progress comes from the store (Redis): shape-checked; the upload URL is checked again by the transport.
  let progress = raw ? parseProgress(raw) : undefined;
  if (progress && !transport.isUploadUrl(progress.pending.uploadUrl)) progress = undefined; // planted: start over
  if (progress?.done) return 'already';

  let size: number;
  let path = bundle.tarball;
  if (bundlesDir !== undefined) {
    const file = await bundleTarball(bundlesDir, bundle.tarball);
    if (!file) return 'missing';
    ({ size, path } = file);
  } else {
    try {
      size = (await stat(bundle.tarball)).size;
    } catch {
      return 'missing';
    }
  }
  if (size > MAX_UPLOAD_BYTES) return 'too-large';
  const name = basename(bundle.tarball);

  const save = (p: UploadProgress): Promise<void> => store.set(key, JSON.stringify(p), THREAD_TTL_MS);
  if (!progress) {
    progress = { pending: await transport.startUpload(name, size), sent: false, done: false };
    await save(progress);
  }
  if (!progress.sent) {
    try {
      await transport.sendBytes(progress.pending, path, await readFile(path));
    } catch (err) {
      // An expired or refused upload URL: forget it, so the retry starts with a fresh one.
      if (err instanceof UploadUrlRejected) await store.del(key);
      throw err;
    }
    progress.sent = true;
    await save(progress);
  }
  const comment = `Evidence bundle ${bundle.id}${bundle.partial ? ' (partial)' : ''}: open with \`tripline bundles show ${bundle.id}\` or unpack and read summary.md`;
  await beforePost();
  await transport.completeUpload(progress.pending, `tripline bundle ${bundle.id}`, thread, comment);
  progress.done = true;
  await save(progress);
  return 'uploaded';
}

/**
 * A firing incident's bundle in its thread: uploaded from this host's bundles folder, or, when the bundle is missing,
 * too large, or on another host (bundles stay on the host that wrote them: this engine's workers took over a job of
 * another host's incident), a reply saying where it is. Returns the summary's suffix.
 */
export async function shareBundle(o: {
  readonly incident: Incident;
  readonly bundle: BundleRef;
  /** This engine's host. */
  readonly here: string;
  readonly upload: () => Promise<UploadResult>;
  readonly reply: (step: string, text: string) => Promise<unknown>;
}): Promise<string> {
  const { incident, bundle } = o;
  if (incident.host !== o.here) {
    const text = `Bundle ${bundle.id} is on host ${incident.host}: ${bundle.tarball} (delivered by ${o.here}, which does not have it).`;
    await o.reply('bundle-elsewhere', text);
    return ', bundle on its host';
  }
  const r = await o.upload();
  if (r === 'missing' || r === 'too-large') {
    const why = r === 'missing' ? 'tarball not found' : 'too large';
    await o.reply(`bundle-${r}`, `Bundle ${bundle.id} not uploaded (${why}); on the host: ${bundle.tarball}`);
  }
  return `, bundle ${r}`;
}
