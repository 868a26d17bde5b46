/**
 * One rule file, bytes to validated documents, with limits checked before any work they guard:
 * size before reading, text (no NUL, valid UTF-8) before parsing, nesting depth before converting,
 * alias expansions while converting. Every problem is a located TriplineError; the file's documents
 * are kept only when it has none.
 */
import { isScalar, parseAllDocuments, LineCounter, visit, type Document, type Node } from 'yaml';
import { blockTooDeep, flowTooDeep, reservedKeys, tooDeep } from './yaml-limits.ts';
import { TriplineError } from '../../errors.ts';
import type { Inhibition, Rule, Silence, SourceRef } from '../types.ts';
import {
  API_VERSION,
  documentSchemas,
  KINDS,
  type ActionCatalog,
  type ProbeCatalog,
  type DocumentSchemas,
  type Kind,
  type RuleTestSpec,
} from './schema.ts';
import { locate, pathText, positionOf, ruleError, type PathSeg, type Position } from './locate.ts';
import { problemsFromZod } from './zod-issues.ts';
import { compileInhibition, compileRule, compileSilence } from '../compile/compile.ts';
import { checkRuleTest } from '../test/compile-test.ts';
import { didYouMean } from './suggest.ts';
import type { Reporter } from '../compile/compile-when.ts';

/** Largest rule file read (rule files are small; a bigger one is a mistake or an attack). */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Deepest nesting of mappings and lists in a document (the format needs about 12). */
export const MAX_DEPTH = 32;
/** Alias expansions per document: enough for shared snippets, far from a billion laughs. */
export const MAX_ALIAS_COUNT = 100;
/** Documents per file. */
export const MAX_DOCUMENTS = 1000;
/** Errors reported per file; past this the file is clearly not a rule file, and more lines help no one. */
export const MAX_ERRORS_PER_FILE = 50;

/**
 * A RuleTest as loaded: its name, where it is, its spec as written, and the positions of the parts a
 * runner reports on, keyed by YAML path (`spec.rule_files[0]`, `spec.expect[1]`,
 * `spec.expect[1].incidents[0]`, `spec.input[2]`), so a mismatch names its line.
 */
export interface LoadedRuleTest {
  readonly name: string;
  readonly source: SourceRef;
  readonly spec: RuleTestSpec;
  readonly positions: Readonly<Record<string, Position>>;
}

/** What one file holds; the lists are empty when `errors` is not. */
export interface ParsedFile {
  readonly file: string;
  readonly rules: Rule[];
  readonly silences: Silence[];
  readonly inhibitions: Inhibition[];
  readonly tests: LoadedRuleTest[];
  readonly errors: TriplineError[];
}

/** Options of a file parse. */
export interface ParseOptions {
  /** The action types rules may use, each with the schema of its spec (the callers pass src/actions/registry.ts). */
  readonly actions: ActionCatalog;
  /** The deep probes rules may name, with their option schemas (the callers pass src/probes/deep/index.ts). */
  readonly probes?: ProbeCatalog;
  /** The size on disk, when the caller did not read an oversized file. @defaultValue the length of `bytes` */
  readonly size?: number;
}

/** Parses and validates one file's bytes. `file` is the name used in messages. Never throws. */
export function parseRuleFile(file: string, bytes: Uint8Array | string, opts: ParseOptions): ParsedFile {
  const size = opts.size ?? (typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length);
  const out: ParsedFile = { file, rules: [], silences: [], inhibitions: [], tests: [], errors: [] };
  const fileError = (
    code: 'RULE_ERR_FILE',
    pos: { line: number; col: number },
    message: string,
    hint: string,
  ): ParsedFile => {
    out.errors.push(ruleError(code, file, pos, [], message, hint));
    return out;
  };
  if (size > MAX_FILE_BYTES)
    return fileError(
      'RULE_ERR_FILE',
      { line: 1, col: 1 },
      `file is ${(size / 1048576).toFixed(1)} MiB, over the 1 MiB limit for rule files`,
      'split it into several files, or check that this is a rule file',
    );
  let text: string;
  if (typeof bytes === 'string') text = bytes;
  else {
    const nul = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(0);
    if (nul >= 0)
      return fileError(
        'RULE_ERR_FILE',
        positionOf(new TextDecoder().decode(bytes.subarray(0, nul)), nul),
        'binary file (NUL byte): not a YAML text file',
        'rule files are UTF-8 YAML text; remove this file from the rules folder',
      );
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const loose = new TextDecoder().decode(bytes);
      const at = loose.indexOf('\uFFFD');
      return fileError(
        'RULE_ERR_FILE',
        positionOf(loose, Math.max(0, at)),
        'not valid UTF-8 text',
        'save the file as UTF-8',
      );
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!/\S/.test(text.replace(/^\s*#.*$/gm, '')))
    return fileError(
      'RULE_ERR_FILE',
      { line: 1, col: 1 },
      'empty file: no YAML documents',
      'add a document (apiVersion: tripline.dev/v1, kind: Rule, ...) or delete the file',
    );

  const flow = Math.max(flowTooDeep(text, MAX_DEPTH), blockTooDeep(text, MAX_DEPTH));
  if (flow >= 0)
    return fileError(
      'RULE_ERR_FILE',
      positionOf(text, flow),
      `nesting deeper than ${MAX_DEPTH} levels`,
      'rule documents need far less; flatten the structure',
    );
  const lines = new LineCounter();
  let docs: Document.Parsed[];
  try {
    const parsed = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, strict: true, prettyErrors: false });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (cause) {
    // The parser recurses per nesting level; a pathological file can exhaust the stack.
    return fileError(
      'RULE_ERR_FILE',
      { line: 1, col: 1 },
      `YAML parser gave up: ${(cause as Error).message}`,
      `keep nesting under ${MAX_DEPTH} levels`,
    );
  }
  if (docs.length > MAX_DOCUMENTS)
    return fileError(
      'RULE_ERR_FILE',
      { line: 1, col: 1 },
      `${docs.length} documents, over the limit of ${MAX_DOCUMENTS} per file`,
      'split the file',
    );
  const schemas = documentSchemas(opts.actions, opts.probes);
  for (const doc of docs) parseDocument(doc, file, text, lines, schemas, out);
  if (out.errors.length > MAX_ERRORS_PER_FILE) {
    const more = out.errors.length - MAX_ERRORS_PER_FILE;
    out.errors.length = MAX_ERRORS_PER_FILE;
    out.errors.push(
      ruleError(
        'RULE_ERR_FILE',
        file,
        { line: 1, col: 1 },
        [],
        `${more} more errors not shown`,
        'fix the errors above and check again',
      ),
    );
  }
  if (out.errors.length) {
    out.rules.length = 0;
    out.silences.length = 0;
    out.inhibitions.length = 0;
    out.tests.length = 0;
  }
  return out;
}

function parseDocument(
  doc: Document.Parsed,
  file: string,
  text: string,
  lines: LineCounter,
  schemas: DocumentSchemas,
  out: ParsedFile,
): void {
  if (doc.errors.length) {
    for (const e of doc.errors) {
      const p = lines.linePos(e.pos[0]);
      if (e.code === 'DUPLICATE_KEY') {
        const key = text
          .slice(e.pos[0], e.pos[0] + 200)
          .split(/[:\n]/)[0]
          .trim();
        out.errors.push(
          ruleError(
            'RULE_ERR_DUPLICATE',
            file,
            p,
            [],
            `duplicate key ${JSON.stringify(key)}`,
            'a key may appear once per mapping: remove or merge the other one',
          ),
        );
      } else {
        const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        out.errors.push(
          ruleError(
            'RULE_ERR_SYNTAX',
            file,
            p,
            [],
            `YAML syntax: ${msg}`,
            'fix the YAML (indentation, quotes, brackets)',
          ),
        );
      }
    }
    return;
  }
  // An empty document (between two `---`, or a trailing one) holds nothing: skip it.
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null && !doc.contents.tag)) return;
  const at = (n: Node | null | undefined): { line: number; col: number } => lines.linePos(n?.range?.[0] ?? 0);
  const deep = tooDeep(doc.contents as Node, MAX_DEPTH);
  if (deep) {
    out.errors.push(
      ruleError(
        'RULE_ERR_FILE',
        file,
        at(deep),
        [],
        `nesting deeper than ${MAX_DEPTH} levels`,
        'rule documents need far less; flatten the structure',
      ),
    );
    return;
  }
  const reserved = reservedKeys(doc.contents as Node);
  for (const k of reserved)
    out.errors.push(
      ruleError(
        'RULE_ERR_SCHEMA',
        file,
        at(k.node),
        k.path,
        `key ${JSON.stringify(k.path[k.path.length - 1])} is reserved`,
        'rename it: __proto__, constructor and prototype cannot be keys (they would be dropped or reach the object prototype)',
      ),
    );
  if (reserved.length) return;
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    let alias: Node | undefined;
    visit(doc, {
      Alias(_, n) {
        alias = n;
        return visit.BREAK;
      },
    });
    void cause;
    out.errors.push(
      ruleError(
        'RULE_ERR_SYNTAX',
        file,
        at(alias ?? (doc.contents as Node)),
        [],
        `YAML aliases expand past ${MAX_ALIAS_COUNT} nodes (an alias bomb?)`,
        'write the values out instead of nesting aliases',
      ),
    );
    return;
  }
  const report: Reporter = (path, err, atKey = false) => {
    out.errors.push(ruleError(err.code, file, locate(doc, lines, path, atKey), path, err.message, err.hint));
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    report(
      [],
      new TriplineError(
        'RULE_ERR_SCHEMA',
        `a document must be a mapping, got ${Array.isArray(data) ? 'a list' : JSON.stringify(data)}`,
        { hint: 'start with apiVersion: tripline.dev/v1, kind: Rule, metadata: {name: ...}, spec: {...}' },
      ),
    );
    return;
  }
  const obj = data as Record<string, unknown>;
  if (obj.apiVersion !== API_VERSION) {
    const has = Object.hasOwn(obj, 'apiVersion');
    report(
      ['apiVersion'],
      new TriplineError(
        'RULE_ERR_SCHEMA',
        has ? `unsupported apiVersion ${JSON.stringify(obj.apiVersion)}` : 'missing required key "apiVersion"',
        { hint: `write apiVersion: ${API_VERSION}` },
      ),
      !has,
    );
    return;
  }
  const kind = obj.kind as Kind;
  if (!(KINDS as readonly unknown[]).includes(kind)) {
    report(
      ['kind'],
      new TriplineError(
        'RULE_ERR_SCHEMA',
        Object.hasOwn(obj, 'kind') ? `unknown kind ${JSON.stringify(obj.kind)}` : 'missing required key "kind"',
        { hint: didYouMean(String(obj.kind), KINDS, `kind is one of: ${KINDS.join(', ')}`) },
      ),
      !Object.hasOwn(obj, 'kind'),
    );
    return;
  }
  const parsed = schemas[kind].safeParse(data);
  if (!parsed.success) {
    for (const p of problemsFromZod(schemas[kind], parsed.error.issues, data)) report(p.path, p.error, p.atKey);
    return;
  }
  const { metadata, spec } = parsed.data;
  const pos = locate(doc, lines, ['metadata', 'name']);
  const source: SourceRef = { file, line: pos.line, column: pos.col };
  switch (kind) {
    case 'Rule': {
      const r = compileRule(metadata.name, spec as never, source, report);
      if (r) out.rules.push(r);
      break;
    }
    case 'Silence': {
      const s = compileSilence(metadata.name, spec as never, source, report);
      if (s) out.silences.push(s);
      break;
    }
    case 'Inhibition': {
      const h = compileInhibition(metadata.name, spec as never, source, report);
      if (h) out.inhibitions.push(h);
      break;
    }
    case 'RuleTest': {
      const t = spec as RuleTestSpec;
      if (!checkRuleTest(t, report)) break;
      const paths: PathSeg[][] = [
        ...t.rule_files.map((_, i) => ['spec', 'rule_files', i]),
        ...t.input.map((_, i) => ['spec', 'input', i]),
        ...t.expect.flatMap((e, i) => [
          ['spec', 'expect', i],
          ...e.incidents.map((_, j) => ['spec', 'expect', i, 'incidents', j]),
        ]),
      ];
      const positions = Object.fromEntries(paths.map((p) => [pathText(p), locate(doc, lines, p)]));
      out.tests.push({ name: metadata.name, source, spec: t, positions });
      break;
    }
  }
}
