/**
 * deploy/kubernetes as `kubectl apply -k` would build it, without a kustomize binary: the files of
 * kustomization.yaml's `resources:` in order, with its `images:` applied. Any other kustomize field fails the
 * load: a patch or generator this loader ignored would make the tests check objects that are not deployed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/** The kustomize folder. */
export const KUSTOMIZE_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes');

/** The kustomization fields this loader applies. */
const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'images']);

type Obj = any;

/** One object of the build, with the file it came from. */
export interface KustomizeObject {
  readonly file: string;
  readonly obj: Obj;
}

/** An `images:` entry. */
interface ImageRule {
  readonly name: string;
  readonly newName?: string;
  readonly newTag?: string;
}

/** The objects `kubectl apply -k deploy/kubernetes` applies, in order. */
export function buildKustomization(dir = KUSTOMIZE_DIR): KustomizeObject[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), { version: '1.1' });
  assert.equal(k.apiVersion, 'kustomize.config.k8s.io/v1beta1');
  assert.equal(k.kind, 'Kustomization');
  for (const field of Object.keys(k))
    assert.ok(KNOWN_FIELDS.has(field), `kustomization.yaml: ${field} is not applied by test/support/kustomize.ts`);
  const out: KustomizeObject[] = [];
  for (const file of k.resources as string[]) {
    assert.match(file, /^[a-z0-9-]+\.yaml$/, `resource ${file}: a file of this folder`);
    // YAML 1.1, as kubectl reads it (sigs.k8s.io/yaml): `0400` is octal there.
    for (const d of parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { uniqueKeys: true, version: '1.1' })) {
      assert.deepEqual(d.errors, [], `${file}: YAML errors`);
      const obj = d.toJS();
      if (obj !== null) out.push({ file, obj });
    }
  }
  for (const { obj } of out) for (const c of containersOf(obj)) c.image = applyImages(c.image, k.images ?? []);
  return out;
}

/** Every container (and init container) of a workload object. */
export function containersOf(obj: Obj): Obj[] {
  const spec = obj.kind === 'Pod' ? obj.spec : obj.spec?.template?.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

/** kustomize's image transform: `name[:tag]` whose name matches gets newName and newTag. */
function applyImages(image: string, rules: readonly ImageRule[]): string {
  const at = image.lastIndexOf(':');
  const [name, tag] = at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
  const rule = rules.find((r) => r.name === name);
  if (!rule) return image;
  const t = rule.newTag ?? tag;
  return `${rule.newName ?? name}${t === undefined ? '' : `:${t}`}`;
}

/** docs/security.md's table of the probe side's capabilities: capability → where it is granted ("host, pod"). */
export function securityDocCapabilities(): Map<string, string> {
  const doc = readFileSync(join(KUSTOMIZE_DIR, '..', '..', 'docs', 'security.md'), 'utf8');
  const section = doc.split("## The probe side's privileges")[1]?.split('\n## ')[0] ?? '';
  const out = new Map<string, string>();
  for (const m of section.matchAll(/^\| ((?:`[A-Z_]+`(?:, )?)+) \| [^|]+ \| ([a-z, ]+) \|$/gm))
    for (const cap of m[1].matchAll(/`([A-Z_]+)`/g)) out.set(cap[1], m[2]);
  assert.ok(out.size >= 8, "docs/security.md has the table of the probe side's capabilities");
  return out;
}
