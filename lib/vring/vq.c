/* SPDX-License-Identifier: MIT */
/*
 * The layout-independent half of a virtqueue: creation, the one dispatch
 * point between split and packed, and the checks of what the device wrote.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vq_internal.h"

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((size_t)(a) - 1))

static bool has_bit(uint64_t features, unsigned bit)
{
	return features & (1ULL << bit);
}

static size_t ring_size(bool packed, uint16_t size)
{
	return packed ? uvio_vq_packed_ring_size(size)
		      : uvio_vq_split_ring_size(size);
}

size_t uvio_vq_mem_size(uint64_t features, uint16_t size, uint16_t indirect_max)
{
	size_t ring = ALIGN_UP(ring_size(has_bit(features, VIRTIO_F_RING_PACKED), size), 4096);

	return ALIGN_UP(ring + (size_t)size * indirect_max * 16, 4096);
}

static int check_params(const struct uvio_vq_params *p)
{
	bool packed = has_bit(p->features, VIRTIO_F_RING_PACKED);

	if (p->size == 0 || p->size > UVIO_VQ_MAX_SIZE)
		return -EINVAL;
	/* Spec 2.7: split queue sizes are powers of two; packed need not be. */
	if (!packed && (p->size & (p->size - 1)))
		return -EINVAL;
	if (!p->mem || ((uintptr_t)p->mem & 4095) || (p->mem_iova & 4095))
		return -EINVAL;
	return 0;
}

static void apply_features(struct uvio_vq *vq, uint64_t f)
{
	vq->packed = has_bit(f, VIRTIO_F_RING_PACKED);
	vq->event_idx = has_bit(f, VIRTIO_RING_F_EVENT_IDX);
	vq->in_order = has_bit(f, VIRTIO_F_IN_ORDER);
	vq->weak_barriers = !has_bit(f, VIRTIO_F_ORDER_PLATFORM);
	vq->notification_data = has_bit(f, VIRTIO_F_NOTIFICATION_DATA);
	if (!has_bit(f, VIRTIO_RING_F_INDIRECT_DESC))
		vq->indirect_max = 0;
}

/* The batch path's width: the caller's cap, else the environment's (a
 * whole process at once, as DPDK's EAL option), else none; the CPU decides
 * what is there. */
static uint16_t simd_bitwidth(const struct uvio_vq_params *p)
{
	unsigned long cap = p->max_simd_bitwidth;
	const char *env = getenv("UVIO_MAX_SIMD_BITWIDTH");

	if (!cap && env && *env)
		cap = strtoul(env, NULL, 10);
	if (cap && cap < 256)
		return 64;
	return uvio_vq_cpu_simd_bitwidth();
}

int uvio_vq_create(const struct uvio_vq_params *p, struct uvio_vq **out)
{
	struct uvio_vq *vq;
	int rc = check_params(p);

	if (rc)
		return rc;
	vq = calloc(1, sizeof(*vq));
	if (!vq)
		return -ENOMEM;
	vq->size = p->size;
	vq->index = p->index;
	vq->indirect_max = p->indirect_max;
	apply_features(vq, p->features);
	vq->batch4 = vq->in_order && simd_bitwidth(p) >= 256;
	vq->mem = p->mem;
	vq->mem_iova = p->mem_iova;
	vq->notify = p->notify;
	vq->notify_ctx = p->notify_ctx;
	vq->num_free = p->size;
	vq->state = calloc(p->size, sizeof(*vq->state));
	if (!vq->state) {
		free(vq);
		return -ENOMEM;
	}
	size_t ind_off = ALIGN_UP(ring_size(vq->packed, vq->size), 4096);
	vq->indirect = (char *)p->mem + ind_off;
	vq->indirect_iova = p->mem_iova + ind_off;
	if (vq->packed)
		uvio_vq_packed_init(vq);
	else
		uvio_vq_split_init(vq);
	/* uvio polls: no used-buffer notifications unless asked for. */
	uvio_vq_disable_cb(vq);
	if (vq_broken(vq)) {  /* init could not allocate its shadow */
		uvio_vq_destroy(vq);
		return -ENOMEM;
	}
	*out = vq;
	return 0;
}

void uvio_vq_destroy(struct uvio_vq *vq)
{
	if (!vq)
		return;
	free(vq->packed ? (void *)vq->u.packed.next_id : (void *)vq->u.split.next);
	free(vq->state);
	free(vq);
}

void uvio_vq_get_addrs(const struct uvio_vq *vq, struct uvio_vq_addrs *a)
{
	uint64_t base = vq->mem_iova;
	const char *mem = vq->mem;

	if (vq->packed) {
		a->desc = base;
		a->driver = base + (uint64_t)((const char *)vq->u.packed.driver_event - mem);
		a->device = base + (uint64_t)((const char *)vq->u.packed.device_event - mem);
	} else {
		a->desc = base;
		a->driver = base + (uint64_t)((const char *)vq->u.split.avail - mem);
		a->device = base + (uint64_t)((const char *)vq->u.split.used - mem);
	}
}

uint16_t uvio_vq_size(const struct uvio_vq *vq) { return vq->size; }
uint16_t uvio_vq_index(const struct uvio_vq *vq) { return vq->index; }
bool uvio_vq_is_packed(const struct uvio_vq *vq) { return vq->packed; }
uint16_t uvio_vq_simd_bitwidth(const struct uvio_vq *vq) { return vq->batch4 ? 256 : 64; }
unsigned uvio_vq_num_free(const struct uvio_vq *vq) { return vq->num_free; }
uint16_t uvio_vq_next_slot(const struct uvio_vq *vq)
{
	return vq->packed ? vq->u.packed.next_avail
			  : (uint16_t)(vq->u.split.avail_idx & (vq->size - 1));
}
unsigned uvio_vq_in_flight(const struct uvio_vq *vq) { return vq->in_flight; }
bool uvio_vq_is_broken(const struct uvio_vq *vq) { return vq_broken(vq); }
const char *uvio_vq_error(const struct uvio_vq *vq) { return vq_broken(vq) ? vq->error : ""; }

void uvio_vq_set_broken(struct uvio_vq *vq, const char *why)
{
	uvio_vq_break(vq, "%s", why);
}

int uvio_vq_add(struct uvio_vq *vq, const struct uvio_sg *sg, unsigned n_out,
		unsigned n_in, void *cookie)
{
	unsigned n = n_out + n_in;

	if (vq_broken(vq))
		return -EIO;
	if (!cookie || n == 0 || n < n_out)
		return -EINVAL;
	/* A chain longer than the ring only fits indirect (spec 2.7.5.3.1). */
	if (n > vq->size && n > vq->indirect_max)
		return -EINVAL;
	if (vq->packed)
		return uvio_vq_packed_add(vq, sg, n_out, n_in, cookie);
	return uvio_vq_split_add(vq, sg, n_out, n_in, cookie);
}

int uvio_vq_add_one(struct uvio_vq *vq, uint64_t iova, uint32_t len,
		    bool device_writes, void *cookie)
{
	struct uvio_sg sg = { iova, len };

	return uvio_vq_add_bufs(vq, &sg, &cookie, 1, device_writes);
}

int uvio_vq_add_bufs(struct uvio_vq *vq, const struct uvio_sg *sg,
		     void *const *cookies, unsigned n, bool device_writes)
{
	if (vq_broken(vq))
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		if (!cookies[i])
			return -EINVAL;
	if (n > vq->num_free)
		return -ENOSPC;
	if (vq->packed)
		uvio_vq_packed_add_bufs(vq, sg, cookies, n, device_writes);
	else
		uvio_vq_split_add_bufs(vq, sg, cookies, n, device_writes);
	return 0;
}

bool uvio_vq_kick_prepare(struct uvio_vq *vq)
{
	if (vq_broken(vq))
		return false;
	return vq->packed ? uvio_vq_packed_kick_prepare(vq)
			  : uvio_vq_split_kick_prepare(vq);
}

/* Spec 4.1.5.2 (and 2.9): vqn, then next_off:15 and next_wrap:1. For a
 * split ring those 16 bits are simply the avail index. */
uint32_t uvio_vq_notification_data(const struct uvio_vq *vq)
{
	if (!vq->notification_data)
		return vq->index;
	if (vq->packed)
		return vq->index | (uint32_t)vq->u.packed.next_avail << 16 |
		       (uint32_t)vq->u.packed.avail_wrap << 31;
	return vq->index | (uint32_t)vq->u.split.avail_idx << 16;
}

bool uvio_vq_kick(struct uvio_vq *vq)
{
	if (!uvio_vq_kick_prepare(vq))
		return false;
	if (vq->notify)
		vq->notify(vq->notify_ctx, vq->index, uvio_vq_notification_data(vq));
	return true;
}

int uvio_vq_get_used(struct uvio_vq *vq, struct uvio_vq_used *out, unsigned max)
{
	if (vq_broken(vq))
		return -EIO;
	return vq->packed ? uvio_vq_packed_get_used(vq, out, max)
			  : uvio_vq_split_get_used(vq, out, max);
}

bool uvio_vq_has_used(struct uvio_vq *vq)
{
	if (vq_broken(vq))
		return false;
	if (vq->batch_active)
		return true;
	return vq->packed ? uvio_vq_packed_has_used(vq)
			  : uvio_vq_split_has_used(vq);
}

void uvio_vq_disable_cb(struct uvio_vq *vq)
{
	if (vq->packed)
		uvio_vq_packed_disable_cb(vq);
	else
		uvio_vq_split_disable_cb(vq);
}

bool uvio_vq_enable_cb(struct uvio_vq *vq)
{
	if (vq_broken(vq))
		return true;
	if (vq->batch_active)
		return false;
	return vq->packed ? uvio_vq_packed_enable_cb(vq)
			  : uvio_vq_split_enable_cb(vq);
}

static void release(struct uvio_vq *vq, uint16_t id)
{
	if (vq->packed)
		uvio_vq_packed_release(vq, id);
	else
		uvio_vq_split_release(vq, id);
}

/* After a reset the device owns nothing: hand back what is still posted,
 * found in the shadow, not in the ring. */
void *uvio_vq_detach_unused(struct uvio_vq *vq)
{
	for (uint16_t id = 0; id < vq->size; id++) {
		void *cookie = vq->state[id].cookie;

		if (cookie) {
			release(vq, id);
			return cookie;
		}
	}
	return NULL;
}

int uvio_vq_used_bad(struct uvio_vq *vq, uint32_t id, uint32_t len)
{
	if (id >= vq->size)
		return uvio_vq_break(vq, "device used id %u, out of range (size %u)",
				     id, vq->size);
	if (!vq->state[id].cookie)
		return uvio_vq_break(vq, "device used id %u, which is not in flight "
				     "(double completion?)", id);
	if (len > vq->state[id].in_len)
		return uvio_vq_break(vq, "device wrote %u bytes into id %u, which "
				     "has only %u writable", len, id,
				     vq->state[id].in_len);
	return 0;
}

