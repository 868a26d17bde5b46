/** Where this installation keeps what it ships and builds: one definition for the engine, the CLI and the tests. */
import { join, resolve } from 'node:path';

/** Root of this installation (rules/, build/bpf/, bin/ live here). */
export const INSTALL_DIR = resolve(import.meta.dirname, '..');

/** Compiled BPF objects (scripts/build-bpf writes them here). */
export const OBJ_DIR = join(INSTALL_DIR, 'build', 'bpf');

/** The bundled rules. */
export const RULES_DIR = join(INSTALL_DIR, 'rules');
