// SPDX-License-Identifier: GPL-2.0
/*
 * http (counter family, src/probes/counters/http.ts): server-side HTTP request latency per cpu cgroup, method, status
 * class and protocol (HTTP/1.x, HTTP/2 in clear text), and HTTP/2 frames per cgroup and type, from the bytes that
 * socket reads and writes carry. Only the first bytes of a read or write are looked at (request line, status line,
 * HTTP/2 client preface, 9-byte frame headers and the first HPACK fields of HEADERS frames), never a body.
 * Hooks: raw_syscalls sys_exit as tp_btf tlc_http_exit, with the raw_tp twin tlc_http_exit_raw (userspace loads one);
 *   at the exit the user buffer holds what was read and still holds what was written, the arguments are still in the
 *   saved registers, and the return value says how many bytes moved:
 *   read, recvfrom   an HTTP/1 request line ("GET /", "POST /", ... on a socket) starts a request on that fd; the
 *                    HTTP/2 client preface marks the fd HTTP/2; on HTTP/2 fds the frames are walked (request HEADERS
 *                    open a stream, RST_STREAM drops it)
 *   write, sendto,   on an HTTP/1 fd with a request read: a status line ("HTTP/1.x NNN") ends it (1xx other than 101
 *   writev           are interim and end nothing; a second status line with no read in between is a pipelined
 *                    request that came in the same read, timed from it, with its first request's method); on HTTP/2
 *                    fds the frames are walked: response HEADERS give the status class, END_STREAM ends the request;
 *                    every header block the server writes is walked field by field to mirror its HPACK encoder's
 *                    dynamic table (which entries are grpc-status, with which code), so a grpc-status in trailers
 *                    reads whether sent literally or indexed (h2_encoded, h2_field)
 *   close            forgets the fd
 *   readv, recvmsg   as read, through their iovec array (HTTP/1: its first entry; HTTP/2: every entry)
 *   sendmsg          as writev
 *   Other system calls return after one compare; sendfile, splice and io_uring are not looked at.
 * TLS hooks (uprobes, no twins; attached by userspace to each shared libssl of counters.http_libssl, every process):
 *   SSL_read / SSL_read_ex        tlc_http_tls_r / tlc_http_tls_rx: remember the SSL object and buffer of the thread
 *   SSL_write / SSL_write_ex      tlc_http_tls_w / tlc_http_tls_wx: remember the SSL object and buffer
 *   their returns                 tlc_http_tls_rr (reads) / tlc_http_tls_wr (writes): the plaintext read or written,
 *                                 parsed as a read or write above
 *   SSL_free                      tlc_http_tls_f: forgets the connection
 *   (BPF_KPROBE/BPF_KRETPROBE: libbpf 1.1 has no BPF_UPROBE; the register layout is the same.) A server linking
 *   OpenSSL statically (Node, Go's crypto/tls is not OpenSSL at all) is not seen: `tripline probes` names them.
 * Maps:
 *   http_latency     PERCPU_HASH key struct http_key -> struct hist (us), max = max_cgroups
 *   http2_frames     PERCPU_HASH key __u64 cgroup id -> struct http_frames, max = max_cgroups
 *   http_conns       HASH key __u64 tgid << 32 | fd -> struct http_conn, max = http_max_connections
 *   http_h2_streams  HASH key __u64 tgid << 32 | fd -> struct http_streams, max = http_max_connections
 *   http_ssl_args    HASH key __u64 pid_tgid -> struct ssl_args (SSL_read/SSL_write entry to return), 10240
 *   http_hpack_scratch  PERCPU_ARRAY 1 x struct hpack_block: the response header block being walked
 *   http_drops       PERCPU_ARRAY 1 x __u64 (maps.h)
 * Knobs (rodata): http_client (counters.http_client): also time requests of clients (HTTP/1: request line written ->
 *   status line read; h2c with prior knowledge: the client preface written makes the connection an HTTP/2 client one,
 *   request HEADERS written -> END_STREAM read, status from the response HEADERS and grpc-status read, no frame
 *   counts), as side = client; off, a write to a socket that carried no HTTP costs one lookup.
 * Emits: nothing per event; userspace reads http_latency and http2_frames each tick (cumulative).
 * Cost class: always-on (every system call exit on the host compares the syscall number; reads of 16 bytes or more
 *   look up the fd and read their first 16 bytes; writes look up the fd).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.h"
#include "hist.h"
#include "cgroup.h"
#include "sys_exit.h"
#include "http.h"

#if defined(__TARGET_ARCH_x86)
#define NR_READ 0
#define NR_WRITE 1
#define NR_CLOSE 3
#define NR_READV 19
#define NR_WRITEV 20
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define NR_SENDMSG 46
#define NR_RECVMSG 47
#elif defined(__TARGET_ARCH_arm64)
#define NR_CLOSE 57
#define NR_READ 63
#define NR_WRITE 64
#define NR_READV 65
#define NR_WRITEV 66
#define NR_SENDTO 206
#define NR_RECVFROM 207
#define NR_SENDMSG 211
#define NR_RECVMSG 212
#else
#error "http.bpf.c: syscall numbers and argument registers for this architecture are missing"
#endif

#define S_IFMT 00170000
#define S_IFSOCK 0140000

#define H2_PREFACE_LEN 24
#define H2_FLAG_END_STREAM 0x1
#define H2_FLAG_PADDED 0x8
#define H2_FLAG_END_HEADERS 0x4
#define H2_FLAG_PRIORITY 0x20
#define DIR_READ 1
#define DIR_WRITE 2

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory per key seen, not max_entries x CPUs up front */
	__uint(max_entries, 10240);
	__type(key, struct http_key);
	__type(value, struct hist);
} http_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct http_frames);
} http2_frames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HTTP_CONNS_MAX);
	__type(key, __u64);
	__type(value, struct http_conn);
} http_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* HTTP/2 connections are few; 128 bytes each only when used */
	__uint(max_entries, HTTP_CONNS_MAX);
	__type(key, __u64);
	__type(value, struct http_streams);
} http_h2_streams SEC(".maps");

/* A response header block being walked (too big for the stack beside the frame walk's). */
struct hpack_block {
	__u8 b[HTTP_HPACK_BLOCK];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hpack_block);
} http_hpack_scratch SEC(".maps");

DROPS_MAP(http_drops);

/* Knob (rodata): 1 = also time the requests clients on this host make (counters.http_client). */
const volatile __u8 http_client = 0;

static const struct hist zero_hist;
static const struct http_frames zero_frames;
static const struct http_streams zero_streams;

/*
 * State of one system call on an HTTP/2 connection: the frames it carried. Handed to the walk and frame functions,
 * which are BPF-to-BPF calls verified once on their own (inlined, the frame loop times the iovec loop times the
 * stream slots is too much for the verifier): they take scalars and this struct only, and look maps up themselves.
 */
struct walk {
	__u64 key;
	__u64 now;
	__u64 cgid;
	__u32 skip;
	__u8 dir;
	__u8 lost;
	__u8 pad;
	__u8 side; /* HTTP_SIDE_* of the connection: a client's requests go out and its responses come in */
	__u64 n[HTTP_FRAME_TYPES];
	/* the response header block being walked (h2_encoded): next field, end, grpc-status code found or -1 */
	__u32 hp;
	__u32 hend;
	int code;
	__u8 unresolved; /* a field named a dynamic entry the mirror does not know, or a grpc-status not read */
	__u8 pad2[3];
};

/* Adds one request to (current cgroup, method, status class, protocol). */
static __always_inline void record(__u64 cgid, __u8 method, __u8 status, __u8 proto, __u64 start, __u64 now, __u8 side)
{
	struct http_key key = {
		.cgroup_id = cgid, .method = method, .status_class = status, .protocol = proto, .side = side
	};
	struct hist *h = map_lookup_or_init(&http_latency, &key, &zero_hist);

	if (!h) {
		count_drop(&http_drops);
		return;
	}
	hist_add(h, hist_div1000(now - start)); /* HTTP_UNIT_NS */
}

/* True when fd of the current process is a socket (checked once per connection, when it is first seen). */
static __always_inline bool fd_is_socket(__u32 fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = NULL;
	__u32 max;

	if (!fdt)
		return false;
	max = BPF_CORE_READ(fdt, max_fds);
	if (fd >= max)
		return false;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return false;
	return (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) == S_IFSOCK;
}

/* fd of a TLS connection: its bytes come from SSL_read/SSL_write, a socket by construction. */
#define TLS_FD 0xFFFFFFFFU

static __always_inline bool is_conn(__u32 fd)
{
	return fd == TLS_FD || fd_is_socket(fd);
}

#define W5(a, b, c, d, e) \
	((__u64)(a) | ((__u64)(b) << 8) | ((__u64)(c) << 16) | ((__u64)(d) << 24) | ((__u64)(e) << 32))
#define W6(a, b, c, d, e, f) (W5(a, b, c, d, e) | ((__u64)(f) << 40))
#define W7(a, b, c, d, e, f, g) (W6(a, b, c, d, e, f) | ((__u64)(g) << 48))
#define W8(a, b, c, d, e, f, g, h) (W7(a, b, c, d, e, f, g) | ((__u64)(h) << 56))
#define M5 0xFFFFFFFFFFULL
#define M6 0xFFFFFFFFFFFFULL
#define M7 0xFFFFFFFFFFFFFFULL

/* Method of an HTTP/1 request line from its first 8 bytes (little-endian), -1 when they are not one. */
static __always_inline int request_method(__u64 w)
{
	if ((w & M5) == W5('G', 'E', 'T', ' ', '/'))
		return HTTP_METHOD_GET;
	if ((w & M6) == W6('P', 'O', 'S', 'T', ' ', '/'))
		return HTTP_METHOD_POST;
	if ((w & M5) == W5('P', 'U', 'T', ' ', '/'))
		return HTTP_METHOD_PUT;
	if (w == W8('D', 'E', 'L', 'E', 'T', 'E', ' ', '/'))
		return HTTP_METHOD_DELETE;
	if ((w & M6) == W6('H', 'E', 'A', 'D', ' ', '/') || (w & M7) == W7('P', 'A', 'T', 'C', 'H', ' ', '/') ||
	    w == W8('O', 'P', 'T', 'I', 'O', 'N', 'S', ' '))
		return HTTP_METHOD_OTHER;
	return -1;
}

/* Status class of an HTTP/1 status line from its first 16 bytes, -1 when they are not one. */
static __always_inline int status_class(const __u8 *b)
{
	if (b[0] != 'H' || b[1] != 'T' || b[2] != 'T' || b[3] != 'P' || b[4] != '/' || b[5] != '1' || b[6] != '.' ||
	    b[8] != ' ' || b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' || b[11] < '0' || b[11] > '9')
		return -1;
	/* 1xx other than 101 (Switching Protocols) are interim responses: the final one follows. */
	if (b[9] == '1' && !(b[10] == '0' && b[11] == '1'))
		return 0;
	return b[9] - '0';
}

/* ---- HTTP/2 ---- */

static __always_inline __u32 frame_index(__u8 type)
{
	switch (type) {
	case 0:
		return HTTP_FRAME_DATA;
	case 1:
		return HTTP_FRAME_HEADERS;
	case 3:
		return HTTP_FRAME_RST_STREAM;
	case 4:
		return HTTP_FRAME_SETTINGS;
	case 6:
		return HTTP_FRAME_PING;
	case 7:
		return HTTP_FRAME_GOAWAY;
	case 8:
		return HTTP_FRAME_WINDOW_UPDATE;
	default:
		return HTTP_FRAME_OTHER;
	}
}

/*
 * :method of a request's header block (its first HTTP_HPACK_PEEK bytes, `n` of them valid), from the first few
 * fields: indexed GET (2) / POST (3) of HPACK's static table, or a literal :method value sent raw (PUT, DELETE are
 * no shorter in Huffman code, so encoders send them raw). A method the peer had put in its dynamic table earlier on
 * the connection shows as OTHER.
 */
static __always_inline __u8 h2_method(const __u8 *hb, __u32 n)
{
	__u32 p = 0, name, len;
	__u8 b;

#pragma unroll
	for (int f = 0; f < 6; f++) {
		if (p >= n || p >= HTTP_HPACK_PEEK - 8)
			break;
		b = hb[p & (HTTP_HPACK_PEEK - 1)];
		if (b & 0x80) { /* indexed field */
			if ((b & 0x7f) == 2)
				return HTTP_METHOD_GET;
			if ((b & 0x7f) == 3)
				return HTTP_METHOD_POST;
			p++;
			continue;
		}
		if ((b & 0xe0) == 0x20) { /* dynamic table size update */
			p++;
			continue;
		}
		name = (b & 0x40) ? (b & 0x3f) : (b & 0x0f);
		if (name == ((b & 0x40) ? 0x3f : 0x0f))
			break; /* multi-byte index */
		p++;
		if (name == 0) { /* literal name: skip it */
			len = hb[p & (HTTP_HPACK_PEEK - 1)] & 0x7f;
			if (len == 0x7f)
				break;
			p += 1 + len;
			if (p >= HTTP_HPACK_PEEK - 8)
				break;
		}
		b = hb[p & (HTTP_HPACK_PEEK - 1)];
		len = b & 0x7f;
		if (len == 0x7f)
			break;
		if (name == 2) {
			if (b & 0x80)
				return HTTP_METHOD_OTHER; /* Huffman-coded: not PUT or DELETE (above) */
			p++;
			if (len == 3 && hb[p & 63] == 'P' && hb[(p + 1) & 63] == 'U' && hb[(p + 2) & 63] == 'T')
				return HTTP_METHOD_PUT;
			if (len == 6 && hb[p & 63] == 'D' && hb[(p + 1) & 63] == 'E' && hb[(p + 2) & 63] == 'L' &&
			    hb[(p + 3) & 63] == 'E' && hb[(p + 4) & 63] == 'T' && hb[(p + 5) & 63] == 'E')
				return HTTP_METHOD_DELETE;
			return HTTP_METHOD_OTHER;
		}
		p += 1 + len;
	}
	return HTTP_METHOD_OTHER;
}

/*
 * Status class of a response's header block from its first field, :status (it must come first): indexed in the
 * static table (200, 204, 206, 304, 400, 404, 500) or a literal with name index 8 (raw, or Huffman: the first
 * digit's code is 5 bits for 0-2 and 6 bits 011001.. for 3-9). HTTP_STATUS_UNKNOWN otherwise (dynamic table).
 */
static __always_inline __u8 h2_status(const __u8 *hb)
{
	__u8 b = hb[0], v, c;

	if (b & 0x80) {
		switch (b & 0x7f) {
		case 8:
		case 9:
		case 10:
			return 2;
		case 11:
			return 3;
		case 12:
		case 13:
			return 4;
		case 14:
			return 5;
		default:
			return HTTP_STATUS_UNKNOWN;
		}
	}
	if (!((b & 0xc0) == 0x40 && (b & 0x3f) == 8) && !((b & 0xe0) == 0 && (b & 0x0f) == 8))
		return HTTP_STATUS_UNKNOWN;
	v = hb[1];
	c = hb[2];
	if (!(v & 0x80))
		return c >= '1' && c <= '5' ? c - '0' : HTTP_STATUS_UNKNOWN;
	if ((c >> 3) == 1 || (c >> 3) == 2)
		return c >> 3; /* '1' 00001, '2' 00010 */
	if ((c >> 2) >= 0x19 && (c >> 2) <= 0x1b)
		return (c >> 2) - 0x19 + 3; /* '3' 011001, '4' 011010, '5' 011011 */
	return HTTP_STATUS_UNKNOWN;
}

/* ---- HPACK: the server's dynamic table, for grpc-status ---- */

/* h2_encoded: a grpc-status may be in the block, unread. */
#define H2_UNREAD -2

#define HB(i) blk->b[(i) & (HTTP_HPACK_BLOCK - 1)]

/* HPACK integer with a `bits`-bit prefix at b[*p] (RFC 7541 5.1, up to 3 continuation bytes); -1 past `n`. */
static __always_inline int hpack_int(struct hpack_block *blk, __u32 *p, __u32 n, __u32 bits)
{
	__u32 mask = (1u << bits) - 1, q = *p, v, c = 0x80;

	if (q >= n)
		return -1;
	v = HB(q) & mask;
	q++;
	if (v == mask) {
#pragma unroll
		for (int i = 0; i < 3; i++) {
			if (q >= n)
				return -1;
			c = HB(q);
			q++;
			v += (c & 0x7f) << (7 * i);
			if (!(c & 0x80))
				break;
		}
		if (c & 0x80)
			return -1;
	}
	*p = q;
	return v;
}

/*
 * The header of an HPACK string at b[*p] (RFC 7541 5.2): its length, whether it is Huffman-coded (*huff), and *p
 * moved to its first byte; -1 when the header or the string's bytes run past `n` (so they are never read stale).
 */
static __always_inline int hpack_str(struct hpack_block *blk, __u32 *p, __u32 n, bool *huff)
{
	int len;

	if (*p >= n)
		return -1;
	*huff = HB(*p) & 0x80;
	len = hpack_int(blk, p, n, 7);
	if (len < 0 || *p + len > n)
		return -1;
	return len;
}

/* Whether the string at b[p] of `len` bytes (Huffman-coded when `huff`) is "grpc-status". */
static __always_inline bool is_grpc_status(struct hpack_block *blk, __u32 p, __u32 len, bool huff)
{
	if (huff) /* its Huffman code (RFC 7541 appendix B) */
		return len == 8 && HB(p) == 0x9a && HB(p + 1) == 0xca && HB(p + 2) == 0xc8 && HB(p + 3) == 0xb2 &&
		       HB(p + 4) == 0x12 && HB(p + 5) == 0x34 && HB(p + 6) == 0xda && HB(p + 7) == 0x8f;
	return len == 11 && HB(p) == 'g' && HB(p + 1) == 'r' && HB(p + 2) == 'p' && HB(p + 3) == 'c' &&
	       HB(p + 4) == '-' && HB(p + 5) == 's' && HB(p + 6) == 't' && HB(p + 7) == 'a' && HB(p + 8) == 't' &&
	       HB(p + 9) == 'u' && HB(p + 10) == 's';
}

/* A grpc-status value at b[p]: "0".."16" raw, or one Huffman-coded digit; HTTP_DYN_NO_CODE otherwise. */
static __always_inline __u8 grpc_code(struct hpack_block *blk, __u32 p, __u32 len, bool huff)
{
	__u8 c0 = HB(p), c1 = HB(p + 1), v;

	if (huff) {
		if (len == 2) { /* "10".."16" (encoders that always use Huffman code, e.g. Rust's h2): '1' 00001, a digit */
			__u32 w2 = (__u32)c0 << 8 | c1, r = w2 & 0x7ff;

			if ((w2 >> 11) != 1)
				return HTTP_DYN_NO_CODE;
			if ((r & 0x3f) == 0x3f && (r >> 6) <= 2)
				return 10 + (r >> 6); /* '0'..'2': 5 bits, then 6 bits of padding */
			if ((r & 0x1f) == 0x1f && (r >> 5) >= 0x19 && (r >> 5) <= 0x1c)
				return 13 + (r >> 5) - 0x19; /* '3'..'6': 6 bits, then 5 bits of padding */
			return HTTP_DYN_NO_CODE;
		}
		if (len != 1)
			return HTTP_DYN_NO_CODE;
		if ((c0 & 0x07) == 0x07 && (c0 >> 3) <= 2)
			return c0 >> 3; /* '0' 00000, '1' 00001, '2' 00010, then EOS padding */
		return (c0 & 0x03) == 0x03 && (c0 >> 2) >= 0x19 && (c0 >> 2) <= 0x1f ? (c0 >> 2) - 0x19 + 3 : HTTP_DYN_NO_CODE;
	}
	if (len < 1 || len > 2 || c0 < '0' || c0 > '9')
		return HTTP_DYN_NO_CODE;
	v = c0 - '0';
	if (len == 2) {
		if (c1 < '0' || c1 > '9' || v == 0)
			return HTTP_DYN_NO_CODE;
		v = v * 10 + (c1 - '0');
	}
	return v <= 16 ? v : HTTP_DYN_NO_CODE;
}

/* The mirrored entry at dynamic index `idx` (62 + j, newest first), or 0 when not known. */
static __always_inline __u8 dyn_entry(struct http_streams *ss, __u32 idx)
{
	__u32 j = idx - 62;

	if (ss->dyn_lost || idx < 62 || j >= ss->dyn_n || j >= HTTP_DYN_TRACK)
		return 0;
	return ss->dyn[(ss->dyn_n - 1 - j) & (HTTP_DYN_TRACK - 1)];
}

/*
 * One field of the response header block in http_hpack_scratch at w->hp (up to w->hend): keeps the mirror of the
 * encoder's dynamic table and sets w->code at the first readable grpc-status. 1: go on; 0: the block is done; -1:
 * a field past the bytes read (the table is lost). A call of its own: verified once, not once per field.
 */
__noinline int h2_field(struct walk *w)
{
	__u32 zero = 0, p, end, name_len, val_len;
	struct hpack_block *blk;
	struct http_streams *ss;
	__u8 b, entry = 0;
	bool huff;
	__u64 key;
	int v;

	if (!w)
		return -1;
	key = w->key;
	p = w->hp;
	end = w->hend;
	ss = bpf_map_lookup_elem(&http_h2_streams, &key);
	blk = bpf_map_lookup_elem(&http_hpack_scratch, &zero);
	if (!ss || !blk)
		return -1;
	if (p >= end)
		return 0;
	b = HB(p);
	if (b & 0x80) { /* indexed */
		v = hpack_int(blk, &p, end, 7);
		if (v < 0)
			return -1;
		entry = dyn_entry(ss, v);
		if (v >= 62 && !entry)
			w->unresolved = 1;
		if ((entry & HTTP_DYN_GRPC) && (entry & 0x1f) == HTTP_DYN_NO_CODE)
			w->unresolved = 1;
		if (w->code < 0 && (entry & HTTP_DYN_GRPC) && (entry & 0x1f) != HTTP_DYN_NO_CODE)
			w->code = entry & 0x1f;
		w->hp = p;
		return 1;
	}
	if ((b & 0xe0) == 0x20) { /* dynamic table size update */
		if (hpack_int(blk, &p, end, 5) < 0)
			return -1;
		w->hp = p;
		return 1;
	}
	/* a literal: with incremental indexing (01), without (0000) or never indexed (0001) */
	v = hpack_int(blk, &p, end, (b & 0xc0) == 0x40 ? 6 : 4);
	if (v < 0)
		return -1;
	if (v == 0) { /* the name as a string */
		v = hpack_str(blk, &p, end, &huff);
		if (v < 0)
			return -1;
		name_len = v;
		if (is_grpc_status(blk, p, name_len, huff))
			entry = HTTP_DYN_GRPC;
		p += name_len;
	} else if (dyn_entry(ss, v) & HTTP_DYN_GRPC) {
		entry = HTTP_DYN_GRPC;
	} else if (v >= 62 && !dyn_entry(ss, v)) {
		w->unresolved = 1; /* a name the mirror does not know: it may be grpc-status */
	}
	v = hpack_str(blk, &p, end, &huff);
	if (v < 0)
		return -1;
	val_len = v;
	if (entry) {
		entry |= grpc_code(blk, p, val_len, huff);
		if ((entry & 0x1f) == HTTP_DYN_NO_CODE)
			w->unresolved = 1;
		else if (w->code < 0)
			w->code = entry & 0x1f;
	}
	p += val_len;
	if (p > end)
		return -1;
	if ((b & 0xc0) == 0x40) {
		ss->dyn[ss->dyn_n & (HTTP_DYN_TRACK - 1)] = entry;
		ss->dyn_n++;
	}
	w->hp = p;
	return 1;
}

/*
 * A header block the server wrote on the connection (HEADERS; PUSH_PROMISE and CONTINUATION lose the table): its
 * fields keep the mirror of the encoder's dynamic table. Returns the code of its first readable grpc-status; else
 * H2_UNREAD when a grpc-status may be in it unread (a field named a dynamic entry the mirror does not know, a value
 * that is not a code, bytes not seen), else -1. `payload` is the frame's payload, `avail` of its `len` bytes in this
 * write; `flags` the type << 8 | flags.
 */
__noinline int h2_encoded(struct walk *w, __u64 payload, __u32 avail, __u32 len, __u32 flags)
{
	__u32 zero = 0, n, start = 0, end = len;
	struct hpack_block *blk;
	struct http_streams *ss;
	bool whole;
	__u64 key;
	int r = 0;

	if (!w)
		return -1;
	key = w->key;
	ss = bpf_map_lookup_elem(&http_h2_streams, &key);
	blk = bpf_map_lookup_elem(&http_hpack_scratch, &zero);
	if (!ss || !blk)
		return -1;
	/* a block this walk cannot see whole: its insertions are not all counted (set after the walk below, so the
	 * visible part of this block is still read against the mirror as it was) */
	whole = (flags >> 8) == 1 && (flags & H2_FLAG_END_HEADERS) && avail >= len && len <= HTTP_HPACK_BLOCK;
	if ((flags >> 8) != 1 || avail < 1 || len < 1) {
		ss->dyn_lost = 1;
		return (flags >> 8) == 1 ? H2_UNREAD : -1;
	}
	n = avail < len ? avail : len;
	if (n > HTTP_HPACK_BLOCK)
		n = HTTP_HPACK_BLOCK;
	/* n is 1..HTTP_HPACK_BLOCK; said so the verifier sees it */
	if (bpf_probe_read_user(blk->b, ((n - 1) & (HTTP_HPACK_BLOCK - 1)) + 1, (void *)payload)) {
		ss->dyn_lost = 1;
		return H2_UNREAD;
	}
	if (flags & H2_FLAG_PADDED) {
		end = blk->b[0] < len ? len - blk->b[0] : 0;
		start = 1;
	}
	if (flags & H2_FLAG_PRIORITY)
		start += 5;
	w->hp = start;
	w->hend = end < n ? end : n;
	w->code = -1;
	w->unresolved = 0;
	for (int i = 0; i < HTTP_HPACK_FIELDS; i++) {
		r = h2_field(w);
		if (r <= 0)
			break;
	}
	/* more fields than walked, a field past the bytes read, or bytes not read */
	if (r < 0 || w->hp < w->hend || w->hend < end || !whole) {
		ss->dyn_lost = 1;
		w->unresolved = 1;
	}
	return w->code >= 0 ? w->code : w->unresolved ? H2_UNREAD : -1;
}

/* The status class of gRPC code `code` (1..16) as google.rpc.Code maps it to HTTP. */
static __always_inline __u8 grpc_class(int code)
{
	return (0xf014 >> code) & 1 ? 5 : 4;
}

/* The slot of stream `id`, or NULL. */
static __always_inline struct http_stream *stream_of(struct http_streams *ss, __u32 id)
{
#pragma unroll
	for (int i = 0; i < HTTP_H2_STREAMS; i++)
		if (ss->s[i].id == id)
			return &ss->s[i];
	return NULL;
}

/*
 * One frame of a walk: `meta` packs its payload length (bits 0-23), type (24-31) and flags (32-39); `payload` is the
 * user address of its payload and `avail` how many of its bytes are there. Returns 0.
 */
__noinline int h2_frame(struct walk *w, __u64 payload, __u32 avail, __u64 meta, __u32 id)
{
	__u32 len = meta & 0xffffff, off = 0, n = 0;
	__u8 type = meta >> 24, flags = meta >> 32;
	__u8 hb[HTTP_HPACK_PEEK] = {};
	struct http_streams *ss;
	struct http_stream *s;
	int code = -1;
	__u8 answer;
	__u64 key;

	if (!w)
		return 0;
	w->n[frame_index(type) & (HTTP_FRAME_TYPES - 1)]++;
	/* the answering side's header blocks: written by a server, read by a client */
	answer = w->side == HTTP_SIDE_CLIENT ? DIR_READ : DIR_WRITE;
	if (w->dir == answer && (type == 1 || type == 5 || type == 9))
		code = h2_encoded(w, payload, avail, len, (__u32)type << 8 | flags);
	if (!id || (type != 0 && type != 1 && type != 3))
		return 0;
	key = w->key;
	ss = bpf_map_lookup_elem(&http_h2_streams, &key);
	if (!ss)
		return 0;
	if (type == 3) { /* RST_STREAM, either way: the request is abandoned */
		s = stream_of(ss, id);
		if (s)
			s->id = 0;
		return 0;
	}
	if (type == 1) { /* HEADERS: the header block starts after the pad length and the priority fields */
		if (flags & H2_FLAG_PADDED)
			off += 1;
		if (flags & H2_FLAG_PRIORITY)
			off += 5;
		n = len < avail ? len : avail;
		if (off >= n)
			return 0;
		n -= off;
		if (bpf_probe_read_user(hb, sizeof(hb), (void *)(payload + off)))
			return 0;
	}
	if (w->dir != answer) {
		if (type != 1 || !(id & 1) || stream_of(ss, id) || id <= ss->unmatched_id)
			return 0; /* only a client's new request (not one already answered); trailers are not starts */
		s = stream_of(ss, 0);
		if (!s) {
			count_drop(&http_drops); /* more than HTTP_H2_STREAMS requests in flight */
			return 0;
		}
		s->id = id;
		s->method = h2_method(hb, n);
		s->status_class = HTTP_STATUS_UNKNOWN;
		s->flags = 0;
		s->start_ns = w->now;
		return 0;
	}
	s = stream_of(ss, id);
	if (!s) {
		/* an answer before its request's write returned (another thread read it): that start is not taken */
		if ((flags & H2_FLAG_END_STREAM) && (id & 1) && id > ss->unmatched_id)
			ss->unmatched_id = id;
		return 0;
	}
	if (type == 1 && !(s->flags & HTTP_STREAM_ANSWERED)) {
		s->status_class = h2_status(hb);
		if (s->status_class != 1) /* a 1xx is interim: the final response's HEADERS follow */
			s->flags |= HTTP_STREAM_ANSWERED;
	} else if (type == 1 && code == H2_UNREAD) {
		s->status_class = HTTP_STATUS_UNKNOWN; /* trailers whose grpc-status may be unread: not counted a success */
	}
	if (code > 0) /* a gRPC error in the trailers (or a trailers-only response) */
		s->status_class = grpc_class(code);
	if (flags & H2_FLAG_END_STREAM) {
		record(w->cgid, s->method, s->status_class, HTTP_PROTO_H2, s->start_ns, w->now, w->side);
		s->id = 0;
	}
	return 0;
}

/* Walks the frames of `len` bytes at user address `base`, continuing the frame that w->skip says is unfinished. */
__noinline int h2_walk(struct walk *w, __u64 base, __u32 len)
{
	__u8 h[9];
	__u32 pos = 0, left, flen;

	if (!w)
		return 0;
	for (int i = 0; i < HTTP_H2_FRAMES_MAX; i++) {
		if (w->skip) {
			left = len - pos;
			if (w->skip >= left) {
				w->skip -= left;
				return 0;
			}
			pos += w->skip;
			w->skip = 0;
		}
		if (pos >= len)
			return 0;
		if (len - pos < sizeof(h) || bpf_probe_read_user(h, sizeof(h), (void *)(base + pos))) {
			w->lost = 1; /* a frame header split across writes or reads: boundaries lost */
			return 0;
		}
		flen = ((__u32)h[0] << 16) | ((__u32)h[1] << 8) | h[2];
		pos += sizeof(h);
		h2_frame(w, base + pos, len - pos, flen | ((__u64)h[3] << 24) | ((__u64)h[4] << 32),
			 (((__u32)h[5] & 0x7f) << 24) | ((__u32)h[6] << 16) | ((__u32)h[7] << 8) | h[8]);
		w->skip = flen;
	}
	if (w->skip) {
		left = len - pos;
		if (w->skip >= left) {
			w->skip -= left;
			return 0;
		}
		pos += w->skip;
		w->skip = 0;
	}
	if (pos < len)
		w->lost = 1; /* more than HTTP_H2_FRAMES_MAX frames in one call */
	return 0;
}

/* Adds a walk's frame counts to the current cgroup. */
static __always_inline void h2_flush(struct walk *w)
{
	struct http_frames *f;

	if (w->side == HTTP_SIDE_CLIENT) /* http2_frames counts servers' frames */
		return;
	if (!(w->n[0] | w->n[1] | w->n[2] | w->n[3] | w->n[4] | w->n[5] | w->n[6] | w->n[7]))
		return;
	f = map_lookup_or_init(&http2_frames, &w->cgid, &zero_frames);
	if (!f) {
		count_drop(&http_drops);
		return;
	}
#pragma unroll
	for (int i = 0; i < HTTP_FRAME_TYPES; i++)
		f->n[i] += w->n[i];
}

/* Starts a walk of one system call on HTTP/2 connection `c`; false when that direction lost its frame boundaries. */
static __always_inline bool h2_begin(struct walk *w, struct http_conn *c, __u64 key, __u8 dir)
{
	if (c->desync & dir)
		return false;
	__builtin_memset(w, 0, sizeof(*w));
	w->key = key;
	w->dir = dir;
	w->side = c->side;
	w->now = bpf_ktime_get_ns();
	w->cgid = task_cpu_cgroup_id(bpf_get_current_task_btf(), CGROUP_BTF);
	w->skip = dir == DIR_READ ? c->rd_skip : c->wr_skip;
	return true;
}

static __always_inline void h2_end(struct walk *w, struct http_conn *c)
{
	if (w->lost) {
		c->desync |= w->dir;
		count_drop(&http_drops);
	}
	if (w->dir == DIR_READ)
		c->rd_skip = w->skip;
	else
		c->wr_skip = w->skip;
	h2_flush(w);
}

/* ---- system calls ---- */

/* A read of `n` bytes into `buf` on fd (read, recvfrom). */
static __always_inline void on_read(__u64 key, __u32 fd, __u64 buf, __u32 n)
{
	struct http_conn *c = bpf_map_lookup_elem(&http_conns, &key);
	struct http_conn init = {};
	struct walk w;
	__u8 b[16];
	int m;

	if (c && c->proto == HTTP_PROTO_H2) {
		if (h2_begin(&w, c, key, DIR_READ)) {
			h2_walk(&w, buf, n);
			h2_end(&w, c);
		}
		return;
	}
	if (n < sizeof(b) || bpf_probe_read_user(b, sizeof(b), (void *)buf))
		return;
	if (c && c->side == HTTP_SIDE_CLIENT) {
		/* A client's response: its final status line ends the request it wrote (pipelined ones: each in turn). */
		m = status_class(b);
		if (m > 0 && c->req_ns && !c->answered) {
			record(task_cpu_cgroup_id(bpf_get_current_task_btf(), CGROUP_BTF), c->method, m,
			       HTTP_PROTO_HTTP1, c->req_ns, bpf_ktime_get_ns(), HTTP_SIDE_CLIENT);
			/* once per request written: a response read before its request's write returned (another
			 * thread) is not timed against the request before it */
			c->answered = 1;
		}
		return;
	}
	m = request_method(*(__u64 *)b);
	if (m < 0) {
		/* "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": the client preface of HTTP/2 with prior knowledge (h2c) */
		if (c || *(__u64 *)b != W8('P', 'R', 'I', ' ', '*', ' ', 'H', 'T') ||
		    *(__u64 *)(b + 8) != W8('T', 'P', '/', '2', '.', '0', '\r', '\n') || !is_conn(fd))
			return;
		init.proto = HTTP_PROTO_H2;
		if (bpf_map_update_elem(&http_conns, &key, &init, BPF_ANY) ||
		    bpf_map_update_elem(&http_h2_streams, &key, &zero_streams, BPF_ANY)) {
			bpf_map_delete_elem(&http_conns, &key);
			count_drop(&http_drops);
			return;
		}
		c = bpf_map_lookup_elem(&http_conns, &key);
		if (c && n > H2_PREFACE_LEN && h2_begin(&w, c, key, DIR_READ)) {
			h2_walk(&w, buf + H2_PREFACE_LEN, n - H2_PREFACE_LEN);
			h2_end(&w, c);
		}
		return;
	}
	if (!c) {
		if (!is_conn(fd))
			return;
		if (bpf_map_update_elem(&http_conns, &key, &init, BPF_ANY)) {
			count_drop(&http_drops); /* http_conns full */
			return;
		}
		c = bpf_map_lookup_elem(&http_conns, &key);
		if (!c)
			return;
	}
	c->method = m;
	c->answered = 0;
	c->req_ns = bpf_ktime_get_ns();
}

/* A write of `n` bytes on an HTTP/1 connection: `first` is the user address of its first `first_len` bytes. */
static __always_inline void http1_write(struct http_conn *c, __u64 first, __u32 first_len)
{
	__u8 b[16];
	int st;

	if (!c->req_ns || first_len < 12 || bpf_probe_read_user(b, sizeof(b), (void *)first))
		return;
	st = status_class(b);
	if (st <= 0)
		return;
	record(task_cpu_cgroup_id(bpf_get_current_task_btf(), CGROUP_BTF), c->method, st, HTTP_PROTO_HTTP1, c->req_ns,
	       bpf_ktime_get_ns(), HTTP_SIDE_SERVER);
	c->answered = 1;
}

/*
 * With the http_client knob: a request line written by a client starts (or, on a kept-alive client connection,
 * restarts) its request; the HTTP/2 client preface makes the connection an HTTP/2 client connection, returned (its
 * frames are then walked, the preface skipped). `c` is the connection's state, NULL when it has none.
 */
static __always_inline struct http_conn *client_write(__u64 key, struct http_conn *c, __u64 first, __u32 first_len)
{
	struct http_conn init = { .proto = HTTP_PROTO_HTTP1, .side = HTTP_SIDE_CLIENT };
	__u8 b[16];
	int m;

	if (!http_client || first_len < sizeof(b) || bpf_probe_read_user(b, sizeof(b), (void *)first))
		return NULL;
	m = request_method(*(__u64 *)b);
	if (m < 0) {
		/* the client preface of HTTP/2 with prior knowledge (h2c): an HTTP/2 client connection */
		if (c || *(__u64 *)b != W8('P', 'R', 'I', ' ', '*', ' ', 'H', 'T') ||
		    *(__u64 *)(b + 8) != W8('T', 'P', '/', '2', '.', '0', '\r', '\n') ||
		    !is_conn(key >> 63 ? TLS_FD : (__u32)key))
			return NULL;
		init.proto = HTTP_PROTO_H2;
		init.wr_skip = H2_PREFACE_LEN; /* the walk of this write starts after the preface */
		if (bpf_map_update_elem(&http_conns, &key, &init, BPF_ANY) ||
		    bpf_map_update_elem(&http_h2_streams, &key, &zero_streams, BPF_ANY)) {
			bpf_map_delete_elem(&http_conns, &key);
			count_drop(&http_drops);
			return NULL;
		}
		return bpf_map_lookup_elem(&http_conns, &key);
	}
	if (!c) {
		if (!is_conn(key >> 63 ? TLS_FD : (__u32)key))
			return NULL;
		if (bpf_map_update_elem(&http_conns, &key, &init, BPF_ANY)) {
			count_drop(&http_drops);
			return NULL;
		}
		c = bpf_map_lookup_elem(&http_conns, &key);
		if (!c)
			return NULL;
	}
	c->method = m;
	c->answered = 0;
	c->req_ns = bpf_ktime_get_ns();
	return NULL;
}

/* write, sendto: `n` bytes from `buf`. */
static __always_inline void on_write(__u64 key, __u64 buf, __u32 n)
{
	struct http_conn *c = bpf_map_lookup_elem(&http_conns, &key);
	struct walk w;

	if (!c || (c->side == HTTP_SIDE_CLIENT && c->proto == HTTP_PROTO_HTTP1)) {
		c = client_write(key, c, buf, n);
		if (!c)
			return;
	} else if (c->proto == HTTP_PROTO_HTTP1) {
		http1_write(c, buf, n);
		return;
	}
	if (h2_begin(&w, c, key, DIR_WRITE)) {
		h2_walk(&w, buf, n);
		h2_end(&w, c);
	}
}

/* Walks the frames of `n` bytes spread over the iovec array at `iov` of `cnt` entries, in one direction. */
static __always_inline void h2_walk_iov(struct http_conn *c, __u64 key, __u8 dir, __u64 iov, __u32 cnt, __u32 n)
{
	struct iovec v;
	struct walk w;
	__u32 len;

	if (!h2_begin(&w, c, key, dir))
		return;
	for (int i = 0; i < HTTP_IOV_MAX; i++) {
		if (i >= cnt || !n || w.lost)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(iov + i * sizeof(v)))) {
			w.lost = 1;
			break;
		}
		len = v.iov_len < n ? v.iov_len : n;
		h2_walk(&w, (__u64)v.iov_base, len);
		n -= len;
	}
	if (n)
		w.lost = 1; /* more than HTTP_IOV_MAX entries */
	h2_end(&w, c);
}

/* writev, sendmsg: `n` bytes from the iovec array at `iov` of `cnt` entries. */
static __always_inline void on_writev(__u64 key, __u64 iov, __u32 cnt, __u32 n)
{
	struct http_conn *c = bpf_map_lookup_elem(&http_conns, &key);
	struct iovec v;

	if (!c || c->proto == HTTP_PROTO_HTTP1) {
		if (!cnt || (!c && !http_client) || bpf_probe_read_user(&v, sizeof(v), (void *)iov))
			return;
		if (c && c->side != HTTP_SIDE_CLIENT) {
			http1_write(c, (__u64)v.iov_base, v.iov_len < n ? v.iov_len : n);
			return;
		}
		c = client_write(key, c, (__u64)v.iov_base, v.iov_len < n ? v.iov_len : n);
		if (!c)
			return;
	}
	h2_walk_iov(c, key, DIR_WRITE, iov, cnt, n);
}

/*
 * readv, recvmsg: `n` bytes into the iovec array at `iov` of `cnt` entries. HTTP/2 connections walk every entry; else
 * the first entry is read as a read (request line, status line, client preface).
 */
static __always_inline void on_readv(__u64 key, __u32 fd, __u64 iov, __u32 cnt, __u32 n)
{
	struct http_conn *c = bpf_map_lookup_elem(&http_conns, &key);
	struct iovec v;

	if (c && c->proto == HTTP_PROTO_H2) {
		h2_walk_iov(c, key, DIR_READ, iov, cnt, n);
		return;
	}
	if (cnt && !bpf_probe_read_user(&v, sizeof(v), (void *)iov) && v.iov_len)
		on_read(key, fd, (__u64)v.iov_base, v.iov_len < n ? v.iov_len : n);
}

/* sendmsg, recvmsg: the iovec array of the user_msghdr at `msg`; false when it cannot be read. */
static __always_inline bool msg_iov(__u64 msg, __u64 *iov, __u32 *cnt)
{
	struct user_msghdr m;

	if (bpf_probe_read_user(&m, sizeof(m), (void *)msg))
		return false;
	*iov = (__u64)m.msg_iov;
	*cnt = m.msg_iovlen;
	return true;
}

static __always_inline void on_close(__u64 key)
{
	/* Look up first: the delete of a missing key takes the bucket lock, and most closed fds are not HTTP. */
	if (!bpf_map_lookup_elem(&http_conns, &key))
		return;
	bpf_map_delete_elem(&http_conns, &key);
	bpf_map_delete_elem(&http_h2_streams, &key);
}

/* The system calls looked at below 64, as a bit mask (all of them on x86-64); the others compared one by one. */
#define NR_BIT(n) ((n) < 64 ? 1ULL << ((n) & 63) : 0)
#define NR_LOW                                                                                                     \
	(NR_BIT(NR_READ) | NR_BIT(NR_RECVFROM) | NR_BIT(NR_WRITE) | NR_BIT(NR_SENDTO) | NR_BIT(NR_WRITEV) |          \
	 NR_BIT(NR_CLOSE) | NR_BIT(NR_READV) | NR_BIT(NR_SENDMSG) | NR_BIT(NR_RECVMSG))
#define NR_HIGH(n) ((n) >= 64 && nr == (n))

/* The system calls looked at; every other one returns here (on x86-64 after one compare and one bit test). */
static __always_inline bool wanted(long nr)
{
	if ((unsigned long)nr < 64)
		return (NR_LOW >> nr) & 1;
	return NR_HIGH(NR_READ) || NR_HIGH(NR_RECVFROM) || NR_HIGH(NR_WRITE) || NR_HIGH(NR_SENDTO) ||
	       NR_HIGH(NR_WRITEV) || NR_HIGH(NR_CLOSE) || NR_HIGH(NR_READV) || NR_HIGH(NR_SENDMSG) ||
	       NR_HIGH(NR_RECVMSG);
}

static __always_inline void on_exit(struct sc *a, long ret)
{
	__u64 key, iov;
	__u32 fd, cnt;

	if (a->nr == NR_CLOSE ? ret != 0 : ret <= 0)
		return; /* a failed call, or a read at EOF: nothing moved */
	fd = (__u32)a->a0;
	key = (bpf_get_current_pid_tgid() & 0xFFFFFFFF00000000ULL) | fd;
	if (a->nr == NR_CLOSE) {
		on_close(key);
		return;
	}
	if (a->nr == NR_READ || a->nr == NR_RECVFROM)
		on_read(key, fd, a->a1, (__u32)ret);
	else if (a->nr == NR_WRITEV)
		on_writev(key, a->a1, (__u32)a->a2, (__u32)ret);
	else if (a->nr == NR_READV)
		on_readv(key, fd, a->a1, (__u32)a->a2, (__u32)ret);
	else if (a->nr == NR_SENDMSG || a->nr == NR_RECVMSG) {
		/* a sendmsg on a socket that carried no HTTP (DNS, netlink, ...) need not read its msghdr */
		if (a->nr == NR_SENDMSG && !http_client && !bpf_map_lookup_elem(&http_conns, &key))
			return;
		if (!msg_iov(a->a1, &iov, &cnt))
			return;
		if (a->nr == NR_SENDMSG)
			on_writev(key, iov, cnt, (__u32)ret);
		else
			on_readv(key, fd, iov, cnt, (__u32)ret);
	} else
		on_write(key, a->a1, (__u32)ret);
}

SYS_EXIT_PROGRAMS(tlc_http_exit, wanted, on_exit)

/*
 * ---- TLS: OpenSSL's SSL_read(_ex)/SSL_write(_ex)/SSL_free in a shared libssl (uprobes, attached by userspace to
 * each libssl of counters.http_libssl that exists, for every process): the same parsing on the plaintext, the
 * connection keyed by its SSL object instead of its fd. ----
 */
struct ssl_args {
	__u64 ssl;
	__u64 buf;
	__u64 done; /* SSL_read_ex's size_t *readbytes, SSL_write_ex's size_t *written; 0 for SSL_read, SSL_write */
	__u8 write; /* SSL_write(_ex): the plaintext is walked at the return, once, and only as far as it went */
	__u8 pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct ssl_args);
} http_ssl_args SEC(".maps");

/*
 * Key of a TLS connection: bit 63 set (an fd key, tgid << 32 | fd, never has it), the low 16 bits of the tgid in bits
 * 47-62 and the SSL object's address (user addresses stay below 2^47) in the rest.
 */
static __always_inline __u64 ssl_key(__u64 ssl)
{
	return (1ULL << 63) | (((bpf_get_current_pid_tgid() >> 32) & 0xffff) << 47) | (ssl & ((1ULL << 47) - 1));
}

static __always_inline void ssl_enter(__u64 ssl, __u64 buf, __u64 done, __u8 write)
{
	struct ssl_args a = { .ssl = ssl, .buf = buf, .done = done, .write = write };
	__u64 id = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&http_ssl_args, &id, &a, BPF_ANY);
}

SEC("uprobe")
int BPF_KPROBE(tlc_http_tls_r, void *ssl, void *buf, int num)
{
	ssl_enter((__u64)ssl, (__u64)buf, 0, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tlc_http_tls_rx, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	ssl_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, 0);
	return 0;
}

/*
 * What an SSL_read(_ex) or SSL_write(_ex) returning `ret` moved: the bytes (SSL_read / SSL_write return them; the _ex
 * forms return 1 and put them in *readbytes / *written), 0 when it failed; `a` its arguments, taken off the map.
 */
static __always_inline __u32 ssl_done(int ret, struct ssl_args *a)
{
	__u64 id = bpf_get_current_pid_tgid(), n = 0;
	struct ssl_args *e = bpf_map_lookup_elem(&http_ssl_args, &id);

	if (!e)
		return 0;
	*a = *e;
	bpf_map_delete_elem(&http_ssl_args, &id);
	if (ret <= 0)
		return 0;
	if (!a->done)
		n = ret;
	else if (bpf_probe_read_user(&n, sizeof(n), (void *)a->done))
		return 0;
	return n < 0x80000000ULL ? (__u32)n : 0;
}

/* Return of SSL_read and SSL_read_ex: the plaintext read, parsed as a read. */
SEC("uretprobe")
int BPF_KRETPROBE(tlc_http_tls_rr, int ret)
{
	struct ssl_args a;
	__u32 n = ssl_done(ret, &a);

	if (n && !a.write)
		on_read(ssl_key(a.ssl), TLS_FD, a.buf, n);
	return 0;
}

/*
 * Return of SSL_write and SSL_write_ex: the plaintext written, parsed as a write. Walked here, not at the entry: a
 * write retried after SSL_ERROR_WANT_WRITE hands the same bytes over again, and only what went counts.
 */
SEC("uretprobe")
int BPF_KRETPROBE(tlc_http_tls_wr, int ret)
{
	struct ssl_args a;
	__u32 n = ssl_done(ret, &a);

	if (n && a.write)
		on_write(ssl_key(a.ssl), a.buf, n);
	return 0;
}

/* SSL_write(ssl, buf, num): remembered for its return. */
SEC("uprobe")
int BPF_KPROBE(tlc_http_tls_w, void *ssl, void *buf, int num)
{
	ssl_enter((__u64)ssl, (__u64)buf, 0, 1);
	return 0;
}

/* SSL_write_ex(ssl, buf, num, written): remembered for its return. */
SEC("uprobe")
int BPF_KPROBE(tlc_http_tls_wx, void *ssl, void *buf, size_t num, size_t *written)
{
	ssl_enter((__u64)ssl, (__u64)buf, (__u64)written, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tlc_http_tls_f, void *ssl)
{
	on_close(ssl_key((__u64)ssl));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
