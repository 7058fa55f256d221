/* SPDX-License-Identifier: MIT */
/*
 * Inside a uvio virtqueue: the state both layouts share, the shadow of what
 * the driver posted, and the split/packed halves of each verb. Only
 * lib/vring includes this.
 */
#ifndef UVIO_VQ_INTERNAL_H
#define UVIO_VQ_INTERNAL_H

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include <uvio/vring.h>

#include "common/virtio_compat.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "uvio assumes a little-endian CPU (virtio 1.x rings are little-endian)"
#endif

#define UVIO_VQ_MAX_SIZE 32768  /* spec 2.6: Queue Size up to 32768 */

/* Device-shared memory is read and written exactly once per access: the
 * device may change it at any time, so a value is checked and used from
 * the same load. */
#define READ_ONCE(x)     (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/*
 * Barriers (spec 2.7.13, 6.1). Without VIRTIO_F_ORDER_PLATFORM (`weak`) the
 * device is another CPU (a hypervisor thread) and SMP barriers suffice;
 * with it, the device is real hardware and needs I/O ordering, as Linux's
 * virtio_wmb/virtio_rmb/virtio_mb choose between virt_* and dma_* / mb.
 *   x86: loads are ordered with loads and stores with stores for
 *        cache-coherent DMA too (Linux's dma_wmb and dma_rmb are compiler
 *        barriers there), so only the full barrier differs: mfence orders
 *        against non-temporal and device accesses.
 *   arm64: the device may sit outside the inner-shareable domain that
 *        C11 fences (dmb ish) cover: dmb osh* (Linux dma_wmb/dma_rmb), and
 *        dsb sy for the full barrier (Linux mb).
 * Any other architecture has to be thought through first.
 */
#if defined(__x86_64__) || defined(__i386__)
#define VQ_IO_WMB() __asm__ __volatile__("" ::: "memory")
#define VQ_IO_RMB() __asm__ __volatile__("" ::: "memory")
#define VQ_IO_MB()  __asm__ __volatile__("mfence" ::: "memory")
#elif defined(__aarch64__)
#define VQ_IO_WMB() __asm__ __volatile__("dmb oshst" ::: "memory")
#define VQ_IO_RMB() __asm__ __volatile__("dmb oshld" ::: "memory")
#define VQ_IO_MB()  __asm__ __volatile__("dsb sy" ::: "memory")
#else
#error "uvio: no virtqueue barriers for this architecture (lib/vring/vq_internal.h)"
#endif

static inline void vq_wmb(bool weak)
{
	if (weak)
		__atomic_thread_fence(__ATOMIC_RELEASE);
	else
		VQ_IO_WMB();
}

static inline void vq_rmb(bool weak)
{
	if (weak)
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	else
		VQ_IO_RMB();
}

static inline void vq_mb(bool weak)
{
	if (weak)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	else
		VQ_IO_MB();
}

/* What the driver remembers about one posted buffer, by buffer id (split:
 * the head descriptor index; packed: the buffer id). Never read from the
 * ring. */
struct vq_buf_state {
	void *cookie;      /* NULL: not in flight */
	uint32_t in_len;   /* device-writable bytes */
	uint16_t ndesc;    /* ring descriptors it holds (1 when indirect) */
	uint16_t last;     /* split: last descriptor of the chain */
};

struct vq_split {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *next;         /* shadow of desc[i].next, for the free list */
	uint16_t free_head;
	uint16_t avail_idx;     /* our copy of avail->idx, published at kick */
	uint16_t last_used;     /* next used ring entry to read */
	uint16_t avail_flags;   /* our copy of avail->flags */
};

struct vq_packed {
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *driver_event;  /* we write */
	struct vring_packed_desc_event *device_event;  /* device writes */
	uint16_t next_avail;
	uint16_t next_used;
	bool avail_wrap;
	bool used_wrap;
	uint16_t *next_id;      /* free buffer id list */
	uint16_t free_id;
	uint16_t event_flags;   /* our copy of driver_event->flags */
};

struct uvio_vq {
	bool packed;
	/* Set by the owner thread when the device lies, or by another thread
	 * (a transport that lost its backend): always through the helpers. */
	bool broken;
	bool breaking;          /* elects the one thread that writes error[] */
	bool event_idx;
	bool in_order;
	bool weak_barriers;
	bool notification_data;
	bool batch4;            /* the batch path (vq_batch.c) */
	uint16_t size;
	uint16_t index;
	uint16_t indirect_max;
	uint16_t num_free;      /* free ring descriptors */
	uint16_t num_added;     /* since the last kick (split: buffers; packed: descriptors) */
	uint16_t in_flight;     /* buffers posted, not yet returned */
	/* IN_ORDER (spec 2.7.9 / 2.8.8 batching): the oldest buffer in
	 * flight, and a used entry that stands for several buffers. */
	uint16_t io_oldest;
	bool batch_active;
	uint16_t batch_id;
	uint32_t batch_len;
	struct vq_buf_state *state;
	void *indirect;         /* size tables of indirect_max descriptors */
	uint64_t indirect_iova;
	uint64_t mem_iova;
	void *mem;
	uvio_vq_notify_fn notify;
	void *notify_ctx;
	union {
		struct vq_split split;
		struct vq_packed packed;
	} u;
	char error[160];
};

static inline bool vq_broken(const struct uvio_vq *vq)
{
	return __atomic_load_n(&vq->broken, __ATOMIC_ACQUIRE);
}

/* Put the queue in the broken state with a reason; returns -EIO. */
int uvio_vq_break(struct uvio_vq *vq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The n-th indirect table (one per buffer id). */
static inline void *vq_indirect_table(const struct uvio_vq *vq, uint16_t id)
{
	return (char *)vq->indirect + (size_t)id * vq->indirect_max * 16;
}

static inline uint64_t vq_indirect_iova(const struct uvio_vq *vq, uint16_t id)
{
	return vq->indirect_iova + (uint64_t)id * vq->indirect_max * 16;
}

/* Sum of the device-writable segment lengths. */
static inline uint32_t vq_sg_in_len(const struct uvio_sg *sg, unsigned n_out,
				    unsigned n_in)
{
	uint64_t len = 0;

	for (unsigned i = n_out; i < n_out + n_in; i++)
		len += sg[i].len;
	return len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
}

/* Validate a used entry against the shadow: the common checks of both
 * layouts. Returns 0 or breaks the queue (the reason is built out of line:
 * this runs for every used entry). */
int uvio_vq_used_bad(struct uvio_vq *vq, uint32_t id, uint32_t len);

static inline int uvio_vq_check_used(struct uvio_vq *vq, uint32_t id, uint32_t len)
{
	if (__builtin_expect(id >= vq->size || !vq->state[id].cookie ||
			     len > vq->state[id].in_len, 0))
		return uvio_vq_used_bad(vq, id, len);
	return 0;
}

/* Packed buffer ids rotate through 0..size-1 under IN_ORDER; the size
 * need not be a power of two, and a division per buffer is too dear. */
static inline uint16_t vq_next_id(const struct uvio_vq *vq, uint16_t id)
{
	return ++id == vq->size ? 0 : id;
}

/*
 * IN_ORDER (spec 2.7.9, 2.8.8): one used entry may stand for every buffer
 * up to and including its id (DPDK's vhost closes a whole packed tx burst
 * so). The buffers before it were filled completely, so they complete with
 * their whole writable length. This takes up to max of the open batch in
 * a register loop; under IN_ORDER a release is only the counts, no free
 * list, the same for both layouts.
 */
static inline unsigned uvio_vq_take_batch(struct uvio_vq *vq, struct uvio_vq_used *out,
					  unsigned max)
{
	struct vq_buf_state *state = vq->state;
	uint16_t id = vq->io_oldest, last = vq->batch_id, mask = (uint16_t)(vq->size - 1);
	uint16_t freed = 0;
	bool packed = vq->packed;
	unsigned n = 0;

	while (n < max) {
		struct vq_buf_state *st = &state[id];
		bool end = id == last;

		out[n].cookie = st->cookie;
		out[n++].len = end ? vq->batch_len : st->in_len;
		freed = (uint16_t)(freed + st->ndesc);
		st->cookie = NULL;
		/* packed ids rotate; split heads step over their chains */
		id = packed ? vq_next_id(vq, id) : (uint16_t)((id + st->ndesc) & mask);
		if (end) {
			vq->batch_active = false;
			break;
		}
	}
	vq->io_oldest = id;
	vq->num_free = (uint16_t)(vq->num_free + freed);
	vq->in_flight = (uint16_t)(vq->in_flight - n);
	return n;
}

size_t uvio_vq_split_ring_size(uint16_t size);
void uvio_vq_split_init(struct uvio_vq *vq);
int uvio_vq_split_add(struct uvio_vq *vq, const struct uvio_sg *sg,
		      unsigned n_out, unsigned n_in, void *cookie);
/* n one-segment buffers (add_one is n = 1); the caller checked room
 * and cookies. */
void uvio_vq_split_add_bufs(struct uvio_vq *vq, const struct uvio_sg *sg,
			    void *const *cookies, unsigned n, bool writable);
bool uvio_vq_split_kick_prepare(struct uvio_vq *vq);
int uvio_vq_split_get_used(struct uvio_vq *vq, struct uvio_vq_used *out,
			   unsigned max);
bool uvio_vq_split_has_used(struct uvio_vq *vq);
void uvio_vq_split_disable_cb(struct uvio_vq *vq);
bool uvio_vq_split_enable_cb(struct uvio_vq *vq);
void uvio_vq_split_release(struct uvio_vq *vq, uint16_t id);

size_t uvio_vq_packed_ring_size(uint16_t size);
void uvio_vq_packed_init(struct uvio_vq *vq);
int uvio_vq_packed_add(struct uvio_vq *vq, const struct uvio_sg *sg,
		       unsigned n_out, unsigned n_in, void *cookie);
void uvio_vq_packed_add_bufs(struct uvio_vq *vq, const struct uvio_sg *sg,
			     void *const *cookies, unsigned n, bool writable);
bool uvio_vq_packed_kick_prepare(struct uvio_vq *vq);
int uvio_vq_packed_get_used(struct uvio_vq *vq, struct uvio_vq_used *out,
			    unsigned max);
bool uvio_vq_packed_has_used(struct uvio_vq *vq);
void uvio_vq_packed_disable_cb(struct uvio_vq *vq);
bool uvio_vq_packed_enable_cb(struct uvio_vq *vq);
void uvio_vq_packed_release(struct uvio_vq *vq, uint16_t id);

/*
 * The batch path (vq_batch.c): whole groups of four buffers, one cache
 * line of descriptors, as DPDK's vector paths take them. IN_ORDER queues
 * only; each stops at the first group it cannot take whole, for the
 * scalar code of packed.c / split.c to take, and returns how many buffers
 * it took (a multiple of 4). used_idx: the split used index already read.
 */
uint16_t uvio_vq_cpu_simd_bitwidth(void);
unsigned uvio_vq_packed_add_x4(struct uvio_vq *vq, const struct uvio_sg *sg,
			       void *const *cookies, unsigned n, bool writable);
unsigned uvio_vq_packed_used_x4(struct uvio_vq *vq, struct uvio_vq_used *out,
				unsigned max);
unsigned uvio_vq_split_add_x4(struct uvio_vq *vq, const struct uvio_sg *sg,
			      void *const *cookies, unsigned n, bool writable);
unsigned uvio_vq_split_used_x4(struct uvio_vq *vq, struct uvio_vq_used *out,
			       unsigned max, uint16_t used_idx);

#endif
