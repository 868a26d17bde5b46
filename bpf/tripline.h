/* SPDX-License-Identifier: GPL-2.0 */
/* tripline: helpers shared by every BPF program. Include after vmlinux.h. */
#ifndef TRIPLINE_H
#define TRIPLINE_H

/*
 * Keeps a struct that only travels through a ring buffer in the object's BTF, so the TypeScript
 * decoder's layout is checked at load (openObject's `layouts`). Costs 8 bytes of .rodata.
 */
#define TRIPLINE_EXPORT_TYPE(type) const volatile struct type *__tl_type_##type = 0

#endif
