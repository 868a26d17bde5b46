// Writes schema/rule.schema.json from the zod schemas of the rule format (src/rules/parse/schema.ts).
// Run after changing the schema: scripts/node scripts/gen-schema.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_SCHEMA_PATH, ruleJsonSchemaText } from '../src/rules/parse/json-schema.ts';

const out = join(import.meta.dirname, '..', JSON_SCHEMA_PATH);
writeFileSync(out, ruleJsonSchemaText());
process.stdout.write(`wrote ${JSON_SCHEMA_PATH}\n`);
