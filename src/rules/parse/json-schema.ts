/**
 * The JSON Schema of rule files, generated from the zod schemas so editors (YAML language servers)
 * complete and validate exactly what `tripline check` accepts. scripts/gen-schema.ts writes it, composed with the
 * action registry's schemas, to schema/rule.schema.json; test/rules/parse/schema.test.ts fails when the committed
 * copy is stale.
 */
import { z } from 'zod';
import { documentSchema, type ActionCatalog } from './schema.ts';

/** Where the generated schema is committed, relative to the repository root. */
export const JSON_SCHEMA_PATH = 'schema/rule.schema.json';

/**
 * The JSON Schema (draft 2020-12) of one rule-file document whose actions come from `actions`, describing input
 * as written (defaults optional).
 */
export function ruleJsonSchema(actions: ActionCatalog): Record<string, unknown> {
  const schema = z.toJSONSchema(documentSchema(actions), {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://tripline.dev/schema/rule.schema.json',
    title: 'tripline rule file document (Rule, Silence, Inhibition, RuleTest)',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}

/** The schema as the committed file's text: two-space JSON and a final newline. */
export function ruleJsonSchemaText(actions: ActionCatalog): string {
  return JSON.stringify(ruleJsonSchema(actions), null, 2) + '\n';
}

type JsonNode = Record<string, unknown>;
const jsonSchemas = new WeakMap<z.ZodType, JsonNode>();

/**
 * The keys allowed in the object at `path` of a value of `schema` (a document kind's schema, for "did you
 * mean" on unknown keys), read from its JSON Schema so the suggestion always matches the schema.
 */
export function keysAt(schema: z.ZodType, path: readonly (string | number)[], value?: unknown): string[] {
  let root = jsonSchemas.get(schema);
  if (!root) {
    root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonNode;
    jsonSchemas.set(schema, root);
  }
  const defs = (root.$defs ?? {}) as Record<string, JsonNode>;
  const deref = (n: JsonNode | undefined): JsonNode[] => {
    if (!n) return [];
    if (typeof n.$ref === 'string') return deref(defs[n.$ref.split('/').pop()!]);
    const alts = (n.anyOf ?? n.oneOf) as JsonNode[] | undefined;
    return alts ? alts.flatMap(deref) : [n];
  };
  let nodes = deref(root);
  for (const seg of path) {
    nodes = nodes.flatMap((n) => {
      if (typeof seg === 'number') return deref(n.items as JsonNode | undefined);
      const props = n.properties as Record<string, JsonNode> | undefined;
      if (props && Object.hasOwn(props, seg)) return deref(props[seg]);
      return typeof n.additionalProperties === 'object' ? deref(n.additionalProperties as JsonNode) : [];
    });
  }
  // Of a union's branches, keep those whose constant keys (an action's `type`) agree with the value.
  const v = (value ?? {}) as Record<string, unknown>;
  const fits = nodes.filter((n) =>
    Object.entries((n.properties ?? {}) as Record<string, JsonNode>).every(
      ([k, p]) => p.const === undefined || !Object.hasOwn(v, k) || v[k] === p.const,
    ),
  );
  return [...new Set((fits.length ? fits : nodes).flatMap((n) => Object.keys((n.properties ?? {}) as object)))];
}
