/**
 * Reads struct layouts and .rodata variable offsets from a loaded object's BTF (through libbpf's btf API),
 * so the TypeScript decoders and knobs are checked against what clang actually laid out.
 */
import { ffi, koffi, type Ptr } from './libbpf-ffi.ts';

export interface StructLayout {
  readonly size: number;
  /** Field name → byte offset (bitfields are reported at their containing byte). */
  readonly fields: ReadonlyMap<string, number>;
}

const BTF_KIND_STRUCT = 4;
const BTF_KIND_DATASEC = 15;
const BTF_TYPE_BYTES = 12;
const BTF_MEMBER_BYTES = 12;

function readType(
  btf: Ptr,
  id: number,
): { buf: Buffer; nameOff: number; kind: number; vlen: number; kflag: boolean; size: number } {
  const f = ffi();
  const ptr = f.btf__type_by_id(btf, id);
  const head = Buffer.from(koffi.view(ptr, BTF_TYPE_BYTES) as ArrayBuffer);
  const info = head.readUInt32LE(4);
  const vlen = info & 0xffff;
  const buf = Buffer.from(koffi.view(ptr, BTF_TYPE_BYTES + vlen * BTF_MEMBER_BYTES) as ArrayBuffer);
  return {
    buf,
    nameOff: head.readUInt32LE(0),
    kind: (info >>> 24) & 0x1f,
    vlen,
    kflag: info >>> 31 === 1,
    size: head.readUInt32LE(8),
  };
}

/** Layout of `struct NAME` in the BTF, or undefined when absent. */
export function btfStructLayout(btf: Ptr, name: string): StructLayout | undefined {
  const f = ffi();
  const id = f.btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
  if (id <= 0) return undefined;
  const t = readType(btf, id);
  const fields = new Map<string, number>();
  for (let i = 0; i < t.vlen; i++) {
    const at = BTF_TYPE_BYTES + i * BTF_MEMBER_BYTES;
    const memberName = f.btf__name_by_offset(btf, t.buf.readUInt32LE(at)) as string;
    const raw = t.buf.readUInt32LE(at + 8);
    const bits = t.kflag ? raw & 0xffffff : raw;
    fields.set(memberName, Math.floor(bits / 8));
  }
  return { size: t.size, fields };
}

/** Variables of a data section (e.g. `.rodata`): name → offset and size within the section. */
export function btfDatasecVars(btf: Ptr, section: string): Map<string, { offset: number; size: number }> {
  const f = ffi();
  const out = new Map<string, { offset: number; size: number }>();
  const id = f.btf__find_by_name_kind(btf, section, BTF_KIND_DATASEC);
  if (id <= 0) return out;
  const t = readType(btf, id);
  for (let i = 0; i < t.vlen; i++) {
    const at = BTF_TYPE_BYTES + i * 12;
    const varId = t.buf.readUInt32LE(at);
    const v = readType(btf, varId);
    out.set(f.btf__name_by_offset(btf, v.nameOff) as string, {
      offset: t.buf.readUInt32LE(at + 4),
      size: t.buf.readUInt32LE(at + 8),
    });
  }
  return out;
}
