/* SPDX-License-Identifier: MIT */
/*
 * vhost-user messages (QEMU docs/interop/vhost-user.rst, "Message
 * specification"): the wire format and moving one message, with its file
 * descriptors, over the unix socket. Only lib/vhost_user and its unit test
 * include this. Functions are uvio_vu_*: they cross object files, and
 * only uvio_* names may leave the library.
 */
#ifndef UVIO_VU_MSG_H
#define UVIO_VU_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/vhost_types.h>

/* Front-end message types ("Front-end message types"). */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_RESET_DEVICE = 34,
};

/* Feature bit of GET_FEATURES: the transport's, never the device's. */
#define VU_F_PROTOCOL_FEATURES 30

/* Protocol features ("Protocol features"). */
#define VU_PROTOCOL_F_MQ           0
#define VU_PROTOCOL_F_REPLY_ACK    3
#define VU_PROTOCOL_F_CONFIG       9
#define VU_PROTOCOL_F_RESET_DEVICE 13

/* Header flags: version 1 in bits 0-1, reply bit 2, need_reply bit 3. */
#define VU_VERSION         0x1u
#define VU_VERSION_MASK    0x3u
#define VU_FLAG_REPLY      (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)

/* KICK/CALL payload: ring index in bits 0-7, bit 8 = no fd. */
#define VU_VRING_IDX_MASK  0xffu
#define VU_VRING_NOFD      (1u << 8)

/* The basic protocol's memory table holds 8 regions. */
#define VU_MAX_REGIONS 8
#define VU_MAX_FDS     VU_MAX_REGIONS
/* GET_CONFIG / SET_CONFIG payloads are at most 256 bytes. */
#define VU_CONFIG_MAX  256

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;       /* payload bytes after the header */
} __attribute__((packed));

/* "Memory region description": unlike struct vhost_memory_region, the
 * last field is the offset into the region's fd. */
struct vu_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_region regions[VU_MAX_REGIONS];
} __attribute__((packed));

/* "Device configuration space": offset, size, flags, then the bytes. */
struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VU_CONFIG_MAX];
} __attribute__((packed));

#define VU_CONFIG_HDR 12u

union vu_payload {
	uint64_t u64;
	struct vhost_vring_state state;
	struct vhost_vring_addr addr;
	struct vu_mem_table mem;
	struct vu_config config;
};

struct vu_msg {
	struct vu_hdr hdr;
	union vu_payload p;
} __attribute__((packed));

/* The name of a request ("GET_FEATURES"), or "request N". The buffer is
 * used only for unknown numbers. */
const char *uvio_vu_request_name(uint32_t request, char buf[24]);

/* A message of `request` from the front-end with `size` payload bytes. */
void uvio_vu_msg_init(struct vu_msg *m, uint32_t request, uint32_t size);

/* Bytes of a SET_MEM_TABLE payload with n regions. */
uint32_t uvio_vu_mem_table_size(uint32_t nregions);

/*
 * Send one message and `nfds` descriptors (SCM_RIGHTS, with the first
 * byte). Never raises SIGPIPE. Returns 0, or -EPIPE/-ECONNRESET (the peer
 * is gone), -ETIMEDOUT, or another -errno.
 */
int uvio_vu_send(int fd, const struct vu_msg *m, const int *fds, unsigned nfds,
	    int timeout_ms);

/*
 * Receive one message within timeout_ms (-1: no limit). Descriptors that
 * come with it go to fds[0..*nfds) when fds is not NULL (up to VU_MAX_FDS);
 * any others are closed. Returns 0, -ECONNRESET (EOF: the peer closed),
 * -ETIMEDOUT, -EPROTO (a header no vhost-user peer sends: bad version or a
 * payload larger than any message), or another -errno.
 */
int uvio_vu_recv(int fd, struct vu_msg *m, int *fds, unsigned *nfds, int timeout_ms);

/* Check a reply to `request`: the same request, version 1, the reply flag,
 * and at least `min_size` payload bytes (exactly, when exact). Returns 0 or
 * -EPROTO, with what was wrong in `why`. */
int uvio_vu_check_reply(const struct vu_msg *reply, uint32_t request,
		   uint32_t min_size, bool exact, char *why, unsigned len);

#endif
