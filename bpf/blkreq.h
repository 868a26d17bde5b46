/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one reader of block requests (struct request), shared by the blockio counter family and the io deep probe.
 * Each reader takes `btf`, a constant after inlining (as in cgroup.h): BLKREQ_BTF for a BTF pointer (tp_btf
 * arguments), read with direct loads, which the verifier makes fault-safe (a probe-read helper call each saved);
 * BLKREQ_CORE for an untyped one (raw_tp), read with CO-RE probe reads. Field offsets are CO-RE relocated either way.
 * The bytes of a completion are not read from the request: block_rq_complete passes them (nr_bytes; a partial
 * completion covers part of the request).
 * Include after vmlinux.h and <bpf/bpf_core_read.h>.
 */
#ifndef TRIPLINE_BLKREQ_H
#define TRIPLINE_BLKREQ_H

#define BLKREQ_BTF true
#define BLKREQ_CORE false

#define BLKREQ_OP_MASK 0xff /* (1 << REQ_OP_BITS) - 1; REQ_OP_BITS is 8 on the 5.x+ kernels with BTF */
#define BLKREQ_MINORBITS 20 /* the kernel's dev_t: major << 20 | minor */

/* Kernels before 5.17 had the disk in request->rq_disk (f3fa33acca9f moved it to request->q->disk). */
struct request___old {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/* The whole disk's dev_t (major << 20 | first minor) of a request; 0 when it has no disk. */
static __always_inline __u32 blkreq_dev(struct request *rq, bool btf)
{
	struct gendisk *disk;

	if (bpf_core_field_exists(rq->q->disk))
		disk = btf ? rq->q->disk : BPF_CORE_READ(rq, q, disk);
	else
		disk = btf ? ((struct request___old *)rq)->rq_disk : BPF_CORE_READ((struct request___old *)rq, rq_disk);
	if (!disk)
		return 0;
	if (btf)
		return ((__u32)disk->major << BLKREQ_MINORBITS) | disk->first_minor;
	return ((__u32)BPF_CORE_READ(disk, major) << BLKREQ_MINORBITS) | BPF_CORE_READ(disk, first_minor);
}

/* REQ_OP_* of a request: 0 read, 1 write, 2 flush, 3 discard, 9 write zeroes, ... */
static __always_inline __u32 blkreq_op(struct request *rq, bool btf)
{
	return (btf ? rq->cmd_flags : BPF_CORE_READ(rq, cmd_flags)) & BLKREQ_OP_MASK;
}

/* Bytes of a request still to transfer (its whole size at issue). */
static __always_inline __u32 blkreq_bytes(struct request *rq, bool btf)
{
	return btf ? rq->__data_len : BPF_CORE_READ(rq, __data_len);
}

/* First sector (512 bytes) of a request. */
static __always_inline __u64 blkreq_sector(struct request *rq, bool btf)
{
	return btf ? rq->__sector : BPF_CORE_READ(rq, __sector);
}

#endif /* TRIPLINE_BLKREQ_H */
