// Writes what is generated from the rule format's zod schemas and the action registry: schema/rule.schema.json
// (src/rules/parse/schema.ts composed with each action's spec schema) and the Actions section of docs/rules.md
// (src/actions/doc.ts). Run after changing a schema or adding an action: scripts/node scripts/gen-schema.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_SCHEMA_PATH, ruleJsonSchemaText } from '../src/rules/parse/json-schema.ts';
import { ACTIONS } from '../src/actions/registry.ts';
import { withActionsReference } from '../src/actions/doc.ts';

const root = join(import.meta.dirname, '..');
writeFileSync(join(root, JSON_SCHEMA_PATH), ruleJsonSchemaText(ACTIONS));
process.stdout.write(`wrote ${JSON_SCHEMA_PATH}\n`);
const rulesDoc = join(root, 'docs', 'rules.md');
writeFileSync(rulesDoc, withActionsReference(readFileSync(rulesDoc, 'utf8'), ACTIONS));
process.stdout.write('wrote docs/rules.md (Actions section)\n');
