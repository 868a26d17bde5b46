/* SPDX-License-Identifier: GPL-2.0 */
/*
 * http (counter family): kernel/user contract (bpf/counters/http.bpf.c, src/probes/counters/http.ts,
 * src/probes/decode/http.ts).
 */
#ifndef TRIPLINE_COUNTERS_HTTP_H
#define TRIPLINE_COUNTERS_HTTP_H

#include "hist.h"

/* Histogram unit: microseconds (slot 31 starts at 2^30 us ~ 18 min). */
#define HTTP_UNIT_NS 1000

/* Request methods (the `method` label): HTTP/1 request line, HTTP/2 :method. */
#define HTTP_METHOD_GET 0
#define HTTP_METHOD_POST 1
#define HTTP_METHOD_PUT 2
#define HTTP_METHOD_DELETE 3
#define HTTP_METHOD_OTHER 4
#define HTTP_METHODS 5

/*
 * Status class (the `status_class` label): 1..5 = 1xx..5xx, 0 = not readable (an HTTP/2 :status in HPACK's dynamic
 * table). A gRPC response's grpc-status trailer other than 0 overrides its :status 200: 4xx or 5xx as google.rpc.Code
 * maps them to HTTP (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS are 5xx).
 */
#define HTTP_STATUS_UNKNOWN 0
#define HTTP_STATUS_CLASSES 6

/* Protocol (the `protocol` label). */
#define HTTP_PROTO_HTTP1 0
#define HTTP_PROTO_H2 1

/* Side (picks the signal): the server answering (http_request_duration_seconds) or, with the http_client knob, the
 * client asking (http_client_request_duration_seconds; HTTP/1 and h2c). */
#define HTTP_SIDE_SERVER 0
#define HTTP_SIDE_CLIENT 1

/* HTTP/2 frame types counted (the `type` label), index into struct http_frames. */
#define HTTP_FRAME_DATA 0
#define HTTP_FRAME_HEADERS 1
#define HTTP_FRAME_RST_STREAM 2
#define HTTP_FRAME_SETTINGS 3
#define HTTP_FRAME_PING 4
#define HTTP_FRAME_GOAWAY 5
#define HTTP_FRAME_WINDOW_UPDATE 6
#define HTTP_FRAME_OTHER 7
#define HTTP_FRAME_TYPES 8

/*
 * Bounds per system call: frames walked, iovec entries of a writev, HPACK bytes looked at for :method; per response
 * header block: bytes and fields walked for the dynamic table (a longer block loses the table: dyn_lost).
 */
#define HTTP_H2_FRAMES_MAX 32
#define HTTP_IOV_MAX 64
#define HTTP_HPACK_PEEK 64
#define HTTP_HPACK_BLOCK 256
#define HTTP_HPACK_FIELDS 24

/*
 * http_latency: PERCPU_HASH, key struct http_key, value struct hist per CPU, max entries = counters.max_cgroups
 * (one entry per (cgroup, method, status class, protocol) seen; memory per key seen).
 */
struct http_key {
	__u64 cgroup_id;    /* cpu cgroup of the thread that wrote the response (server) or read it (client) */
	__u8 method;        /* HTTP_METHOD_* */
	__u8 status_class;  /* 1..5, HTTP_STATUS_UNKNOWN */
	__u8 protocol;      /* HTTP_PROTO_* */
	__u8 side;          /* HTTP_SIDE_* */
	__u8 pad[4];        /* always 0 (part of the hash key) */
};
#define HTTP_KEY_SIZE 16
_Static_assert(sizeof(struct http_key) == HTTP_KEY_SIZE, "struct http_key size");

/*
 * http2_frames: PERCPU_HASH, key __u64 cgroup id (the thread that read or wrote the frames), value struct
 * http_frames per CPU, max entries = counters.max_cgroups.
 */
struct http_frames {
	__u64 n[HTTP_FRAME_TYPES];
};
#define HTTP_FRAMES_SIZE 64
_Static_assert(sizeof(struct http_frames) == HTTP_FRAMES_SIZE, "struct http_frames size");

/*
 * http_conns: HASH, key __u64 (tgid << 32 | fd), value struct http_conn, max entries = counters.http_max_connections:
 * server sockets that read an HTTP/1 request line or the HTTP/2 client preface (with http_client, also client
 * sockets that wrote one). Deleted at close(); entries of
 * processes that exited without closing are removed by userspace.
 */
struct http_conn {
	__u64 req_ns;   /* HTTP/1: when the request being answered was read, 0 = none */
	__u32 rd_skip;  /* HTTP/2: payload bytes of the frame being read that are still to come */
	__u32 wr_skip;  /* HTTP/2: same for the frame being written */
	__u8 proto;     /* HTTP_PROTO_* */
	__u8 method;    /* HTTP/1: method of the request being answered */
	__u8 answered;  /* HTTP/1: a response was written since req_ns (further ones are pipelined requests) */
	__u8 desync;    /* HTTP/2: frame boundaries lost (bit 0 read, bit 1 write): frames no longer walked */
	__u8 side;      /* HTTP_SIDE_*: a client connection wrote the request line and reads the status line */
	__u8 pad[3];
};
#define HTTP_CONN_SIZE 24
_Static_assert(sizeof(struct http_conn) == HTTP_CONN_SIZE, "struct http_conn size");

/*
 * http_h2_streams: HASH, key __u64 (as http_conns), value struct http_streams, max entries =
 * counters.http_max_connections: the requests in flight on an HTTP/2 connection, HTTP_H2_STREAMS at most.
 */
struct http_stream {
	__u64 start_ns;      /* request HEADERS read (a server) or written (a client) */
	__u32 id;            /* stream id, 0 = free slot */
	__u8 method;         /* HTTP_METHOD_* */
	__u8 status_class;   /* from the response HEADERS, HTTP_STATUS_UNKNOWN before */
	__u8 flags;          /* HTTP_STREAM_ANSWERED: the response HEADERS went by (a later HEADERS is the trailers) */
	__u8 pad;
};
#define HTTP_STREAM_ANSWERED 0x1
#define HTTP_STREAM_SIZE 16
_Static_assert(sizeof(struct http_stream) == HTTP_STREAM_SIZE, "struct http_stream size");
#define HTTP_H2_STREAMS 8
/* Entries of the server's HPACK dynamic table mirrored per connection (the newest ones; for grpc-status). */
#define HTTP_DYN_TRACK 64
#define HTTP_DYN_GRPC 0x80     /* the entry's name is grpc-status; bits 0-4: its code, or HTTP_DYN_NO_CODE */
#define HTTP_DYN_NO_CODE 0x1f
struct http_streams {
	struct http_stream s[HTTP_H2_STREAMS];
	__u8 dyn[HTTP_DYN_TRACK]; /* dynamic index 62 + j is dyn[(dyn_n - 1 - j) % HTTP_DYN_TRACK], j < dyn_n */
	__u32 dyn_n;              /* entries the server's encoder inserted */
	__u32 unmatched_id;       /* client: the highest stream answered before its request's write returned */
	__u8 dyn_lost;            /* a header block it wrote was not seen whole: dynamic indices unknown from then on */
	__u8 pad[7];
};
#define HTTP_STREAMS_SIZE 208
_Static_assert(sizeof(struct http_streams) == HTTP_STREAMS_SIZE, "struct http_streams size");
#define HTTP_CONNS_MAX 65536

/*
 * http_drops: PERCPU_ARRAY 1 x __u64: requests or frames not recorded: a full http_conns, http_h2_streams,
 * http_latency or http2_frames, more than HTTP_H2_STREAMS requests in flight on one connection, or an HTTP/2
 * connection whose frame boundaries were lost.
 */

#endif /* TRIPLINE_COUNTERS_HTTP_H */
