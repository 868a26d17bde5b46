// Writes deploy/kubernetes/rules.yaml, the tripline-rules ConfigMap, from the bundled rules in rules/ (their tests,
// *.test.yaml, stay out). Generated because kustomize's configMapGenerator cannot read files outside the
// kustomization's folder; test/deploy/kustomize.test.ts fails when it is out of date.
// Run after changing a rule: scripts/node scripts/gen-deploy.ts
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document } from 'yaml';

/** Where the ConfigMap goes, relative to the repository root. */
export const RULES_CONFIGMAP_PATH = 'deploy/kubernetes/rules.yaml';
/** The command that regenerates it (named by the test that keeps it in sync). */
export const GEN_DEPLOY_COMMAND = 'scripts/node scripts/gen-deploy.ts';
/** The API server refuses a ConfigMap over 1 MiB; stay well below (metadata, other keys). */
const MAX_CONFIGMAP_BYTES = 900 * 1024;

/** The bundled rule files (names), sorted. */
export function bundledRuleFiles(root: string): string[] {
  return readdirSync(join(root, 'rules'))
    .filter((n) => /\.ya?ml$/.test(n) && !/\.test\.ya?ml$/.test(n))
    .sort();
}

/** The text of deploy/kubernetes/rules.yaml for the rules under `root`/rules. */
export function rulesConfigMapText(root: string): string {
  const data: Record<string, string> = {};
  let bytes = 0;
  for (const name of bundledRuleFiles(root)) {
    data[name] = readFileSync(join(root, 'rules', name), 'utf8');
    bytes += Buffer.byteLength(data[name]);
  }
  if (bytes > MAX_CONFIGMAP_BYTES) throw new Error(`rules/ holds ${bytes} bytes: more than a ConfigMap can carry`);
  const doc = new Document({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'tripline-rules', namespace: 'tripline' },
    data,
  });
  doc.commentBefore =
    ` GENERATED from rules/*.yaml by scripts/gen-deploy.ts: do not edit; regenerate with ${GEN_DEPLOY_COMMAND}.\n` +
    ' The bundled rules, mounted at /etc/tripline/rules. Your own rules: add files to rules/ and regenerate, or\n' +
    ' replace this ConfigMap (kubectl -n tripline create configmap tripline-rules --from-file=DIR) and drop this\n' +
    ' file from kustomization.yaml. The probe side watches its rule folder; a pod restart reloads in any case.';
  return doc.toString({ blockQuote: 'literal', lineWidth: 0 });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(import.meta.dirname, '..');
  writeFileSync(join(root, RULES_CONFIGMAP_PATH), rulesConfigMapText(root));
  process.stdout.write(`wrote ${RULES_CONFIGMAP_PATH}\n`);
}
