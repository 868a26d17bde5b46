/**
 * `tripline probes`: what this kernel supports, found by really loading each counter family and deep probe
 * (loaded, attached for counters, then closed at once), with the reason for anything unavailable.
 */
import { loadConfig } from '../config.ts';
import { OBJ_DIR as objDir } from '../paths.ts';
import { TriplineError } from '../errors.ts';
import { features } from '../probes/features.ts';

interface Row {
  readonly kind: string;
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const bad = argv.find((a) => a !== '--json');
  if (bad) {
    process.stderr.write(`tripline probes: unknown option ${bad} (usage: tripline probes [--json])\n`);
    return 2;
  }
  const rows: Row[] = [];
  const f = features(objDir);
  for (const [name, v] of Object.entries(f)) rows.push({ kind: 'feature', name, ok: v.ok, detail: v.reason });

  const config = loadConfig();
  const { COUNTERS } = await import('../probes/counters/index.ts');
  for (const [name, factory] of Object.entries(COUNTERS)) {
    try {
      const fam = factory.start({ config, objDir });
      const st = fam.stats();
      const notes = fam.notes?.() ?? [];
      fam.close();
      rows.push({
        kind: 'counter',
        name,
        ok: true,
        detail: `${factory.bpf ? `${st.programs} program(s)` : 'file reads'}; signals: ${factory.signals.join(', ')}${notes.map((n) => `; ${n}`).join('')}`,
      });
    } catch (err) {
      rows.push({ kind: 'counter', name, ok: false, detail: reason(err) });
    }
  }
  const { deepProbes } = await import('../probes/deep/index.ts');
  for (const [name, probe] of Object.entries(deepProbes)) {
    try {
      // bpftrace runs the rule's program; check it with a program that exits at once.
      const options = name === 'bpftrace' ? { program: 'BEGIN { exit(); }' } : {};
      probe.prepare({ objDir, redact: true, options }).close();
      rows.push({ kind: 'deep', name, ok: true, detail: probe.description });
    } catch (err) {
      rows.push({ kind: 'deep', name, ok: false, detail: reason(err) });
    }
  }
  if (json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else {
    for (const kind of ['feature', 'counter', 'deep']) {
      process.stdout.write(
        `${{ feature: 'kernel features', counter: 'always-on counters', deep: 'deep probes' }[kind]}:\n`,
      );
      for (const r of rows.filter((x) => x.kind === kind))
        process.stdout.write(`  ${r.ok ? 'yes' : 'no '}  ${r.name.padEnd(13)} ${r.detail}\n`);
    }
  }
  // Exit 1 when no counter can run at all (nothing useful on this host).
  return rows.some((r) => r.kind === 'counter' && r.ok) ? 0 : 1;
}

function reason(err: unknown): string {
  return err instanceof TriplineError ? err.describe().split('\n')[0] : String((err as Error)?.message ?? err);
}
