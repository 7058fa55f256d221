/* SPDX-License-Identifier: MIT */
/*
 * The packed virtqueue (spec 2.8): one descriptor ring that both sides
 * write, with wrap counters instead of indices, and two event suppression
 * structures.
 */
#include <errno.h>
#include <stdlib.h>

#include "vq_internal.h"

#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED  (1u << VRING_PACKED_DESC_F_USED)
#define WRAP_BIT (1u << VRING_PACKED_EVENT_F_WRAP_CTR)

size_t uvio_vq_packed_ring_size(uint16_t size)
{
	return 16u * size + 2 * sizeof(struct vring_packed_desc_event);
}

void uvio_vq_packed_init(struct uvio_vq *vq)
{
	struct vq_packed *p = &vq->u.packed;

	p->desc = vq->mem;
	p->driver_event = (struct vring_packed_desc_event *)(p->desc + vq->size);
	p->device_event = p->driver_event + 1;
	p->avail_wrap = true;   /* spec 2.8.1: both counters start at 1 */
	p->used_wrap = true;
	p->next_id = malloc(sizeof(*p->next_id) * vq->size);
	if (!p->next_id) {
		__atomic_store_n(&vq->broken, true, __ATOMIC_RELEASE);
		return;
	}
	for (uint16_t i = 0; i < vq->size; i++)
		p->next_id[i] = (uint16_t)((i + 1) % vq->size);
	p->free_id = 0;
}

static void advance_avail(struct uvio_vq *vq, uint16_t n)
{
	struct vq_packed *p = &vq->u.packed;

	p->next_avail += n;
	if (p->next_avail >= vq->size) {
		p->next_avail -= vq->size;
		p->avail_wrap = !p->avail_wrap;
	}
}

/* Buffer ids: a free list; with IN_ORDER, plain rotation, so that the
 * buffers in flight are always oldest..oldest+in_flight. */
static uint16_t alloc_id(struct uvio_vq *vq)
{
	struct vq_packed *p = &vq->u.packed;
	uint16_t id = p->free_id;

	p->free_id = vq->in_order ? vq_next_id(vq, id) : p->next_id[id];
	return id;
}

/* Indirect (spec 2.8.19): the table holds packed descriptors whose only
 * meaningful flag is WRITE. */
static void fill_indirect(struct uvio_vq *vq, uint16_t id,
			  const struct uvio_sg *sg, unsigned n_out, unsigned n)
{
	struct vring_packed_desc *table = vq_indirect_table(vq, id);

	for (unsigned i = 0; i < n; i++) {
		table[i].addr = sg[i].iova;
		table[i].len = sg[i].len;
		table[i].id = id;
		table[i].flags = i >= n_out ? VRING_DESC_F_WRITE : 0;
	}
}

/* Write descriptors after the head; the head's flags are written last,
 * which is what hands the whole chain to the device (spec 2.8.21). */
static uint16_t write_chain(struct uvio_vq *vq, uint16_t id,
			    const struct uvio_sg *sg, unsigned n_out, unsigned n)
{
	struct vq_packed *p = &vq->u.packed;
	uint16_t pos = p->next_avail, head_flags = 0;
	bool wrap = p->avail_wrap;

	for (unsigned k = 0; k < n; k++) {
		struct vring_packed_desc *d = &p->desc[pos];
		uint16_t f = (uint16_t)((k >= n_out ? VRING_DESC_F_WRITE : 0) |
					(k + 1 < n ? VRING_DESC_F_NEXT : 0) |
					(wrap ? F_AVAIL : F_USED));

		d->addr = sg[k].iova;
		d->len = sg[k].len;
		d->id = id;
		if (k == 0)
			head_flags = f;
		else
			d->flags = f;
		if (++pos == vq->size) {
			pos = 0;
			wrap = !wrap;
		}
	}
	return head_flags;
}

int uvio_vq_packed_add(struct uvio_vq *vq, const struct uvio_sg *sg,
		       unsigned n_out, unsigned n_in, void *cookie)
{
	struct vq_packed *p = &vq->u.packed;
	unsigned n = n_out + n_in;
	bool indirect = n > 1 && n <= vq->indirect_max;
	uint16_t ndesc = (uint16_t)(indirect ? 1 : n), head = p->next_avail, flags;
	uint16_t id;

	if (ndesc > vq->num_free)
		return -ENOSPC;
	id = alloc_id(vq);
	if (indirect) {
		struct uvio_sg table = {
			.iova = vq_indirect_iova(vq, id),
			.len = (uint32_t)(n * sizeof(struct vring_packed_desc)),
		};
		fill_indirect(vq, id, sg, n_out, n);
		flags = (uint16_t)(write_chain(vq, id, &table, 1, 1) | VRING_DESC_F_INDIRECT);
	} else {
		flags = write_chain(vq, id, sg, n_out, n);
	}
	vq->state[id] = (struct vq_buf_state){
		.cookie = cookie, .in_len = vq_sg_in_len(sg, n_out, n_in), .ndesc = ndesc,
	};
	vq->num_free -= ndesc;
	vq->in_flight++;
	vq->num_added += ndesc;
	advance_avail(vq, ndesc);
	__atomic_store_n(&p->desc[head].flags, flags, __ATOMIC_RELEASE);
	return 0;
}

/* n one-descriptor buffers, with the cursors in registers (see split.c).
 * A refill (device-writable) shows its first descriptor last, so the
 * device sees the n buffers appear at once: a device that takes aligned
 * groups (DPDK's vhost: 4 descriptors, one cache line, per step) otherwise
 * catches a group half written, serves one buffer alone and stays
 * misaligned. Not for tx: there the device waits at that first
 * descriptor, and going back to it costs the line a second trip (measured:
 * 3 ns per packet on a 64-byte tx burst). */
static void add_bufs_scalar(struct uvio_vq *vq, const struct uvio_sg *sg,
			    void *const *cookies, unsigned n, bool writable)
{
	struct vq_packed *p = &vq->u.packed;
	struct vring_packed_desc *desc = p->desc;
	struct vq_buf_state *state = vq->state;
	uint16_t pos = p->next_avail, size = vq->size, first = pos, first_flags = 0;
	uint16_t wflag = writable ? VRING_DESC_F_WRITE : 0;
	bool wrap = p->avail_wrap;

	for (unsigned i = 0; i < n; i++) {
		uint16_t id = alloc_id(vq);
		uint16_t flags = (uint16_t)(wflag | (wrap ? F_AVAIL : F_USED));

		desc[pos].addr = sg[i].iova;
		desc[pos].len = sg[i].len;
		desc[pos].id = id;
		state[id] = (struct vq_buf_state){
			.cookie = cookies[i], .in_len = writable ? sg[i].len : 0, .ndesc = 1,
		};
		/* The flags hand the descriptor over (spec 2.8.21). */
		if (i || !writable)
			__atomic_store_n(&desc[pos].flags, flags, __ATOMIC_RELEASE);
		else
			first_flags = flags;
		if (++pos == size) {
			pos = 0;
			wrap = !wrap;
		}
	}
	if (n && writable)
		__atomic_store_n(&desc[first].flags, first_flags, __ATOMIC_RELEASE);
	p->next_avail = pos;
	p->avail_wrap = wrap;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->num_added = (uint16_t)(vq->num_added + n);
	vq->in_flight = (uint16_t)(vq->in_flight + n);
}

/* Whole aligned groups through the batch path; the scalar loop brings
 * the ring to the next group and takes what the batch path leaves. */
void uvio_vq_packed_add_bufs(struct uvio_vq *vq, const struct uvio_sg *sg,
			     void *const *cookies, unsigned n, bool writable)
{
	unsigned i = 0;

	while (vq->batch4 && i < n) {
		unsigned head = (4u - (vq->u.packed.next_avail & 3u)) & 3u;
		unsigned m = head < n - i ? head : n - i;

		if (m) {
			add_bufs_scalar(vq, &sg[i], &cookies[i], m, writable);
			i += m;
			continue;
		}
		if (!(m = uvio_vq_packed_add_x4(vq, &sg[i], &cookies[i], n - i, writable)))
			break;
		i += m;
	}
	add_bufs_scalar(vq, &sg[i], &cookies[i], n - i, writable);
}

/* Spec 2.8.10 and 2.8.14: the device's event suppression structure. */
bool uvio_vq_packed_kick_prepare(struct uvio_vq *vq)
{
	struct vq_packed *p = &vq->u.packed;
	uint16_t new_pos = p->next_avail, old_pos = (uint16_t)(new_pos - vq->num_added);
	uint16_t off_wrap, flags, event;

	if (!vq->num_added)
		return false;
	vq->num_added = 0;
	vq_mb(vq->weak_barriers);  /* descriptors before reading the event */
	off_wrap = READ_ONCE(p->device_event->off_wrap);
	flags = READ_ONCE(p->device_event->flags);
	if (flags != VRING_PACKED_EVENT_FLAG_DESC)
		return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	event = off_wrap & (uint16_t)~WRAP_BIT;
	/* An event offset from the previous lap lies one ring size back. */
	if (!!(off_wrap & WRAP_BIT) != p->avail_wrap)
		event = (uint16_t)(event - vq->size);
	return vring_need_event(event, new_pos, old_pos);
}

void uvio_vq_packed_release(struct uvio_vq *vq, uint16_t id)
{
	struct vq_packed *p = &vq->u.packed;

	if (!vq->in_order) {
		p->next_id[id] = p->free_id;
		p->free_id = id;
	}
	vq->num_free += vq->state[id].ndesc;
	vq->in_flight--;
	vq->state[id].cookie = NULL;
}

static bool desc_is_used(const struct vq_packed *p, uint16_t flags)
{
	bool avail = flags & F_AVAIL, used = flags & F_USED;

	return avail == used && used == p->used_wrap;
}

/* While buffers are in flight, the slot at next_used was written by us in
 * this lap (spec 2.8.1): either still available, or used. Anything else
 * is the device scribbling. */
static bool desc_is_avail(const struct vq_packed *p, uint16_t flags)
{
	bool avail = flags & F_AVAIL, used = flags & F_USED;

	return avail == p->used_wrap && used != p->used_wrap;
}

bool uvio_vq_packed_has_used(struct uvio_vq *vq)
{
	struct vq_packed *p = &vq->u.packed;

	return desc_is_used(p, READ_ONCE(p->desc[p->next_used].flags));
}

static void advance_used(struct uvio_vq *vq, uint32_t n)
{
	struct vq_packed *p = &vq->u.packed;
	uint32_t pos = p->next_used + n;

	if (pos >= vq->size) {
		pos -= vq->size;
		p->used_wrap = !p->used_wrap;
	}
	p->next_used = (uint16_t)pos;
}

/* IN_ORDER batch (spec 2.8.8): the used descriptor names the last buffer
 * of the batch; the device skips the ring past all of them. */
static uint32_t batch_descs(struct uvio_vq *vq, uint16_t last)
{
	uint32_t total = 0;
	uint16_t id = vq->io_oldest;

	for (;;) {
		total += vq->state[id].ndesc;
		if (id == last)
			return total;
		id = vq_next_id(vq, id);
	}
}

/* Read the used descriptor at next_used: 1 opens an IN_ORDER batch,
 * 0 completed one buffer into *out, < 0 broke the queue. */
static int read_used(struct uvio_vq *vq, struct uvio_vq_used *out)
{
	struct vq_packed *p = &vq->u.packed;
	struct vring_packed_desc *d = &p->desc[p->next_used];
	uint16_t id = READ_ONCE(d->id);
	/* Spec 2.8.4: the length means nothing for a buffer the device may not
	 * write (DPDK's vhost puts the buffer size there on tx). Whether it
	 * could is in our shadow; QEMU does not set WRITE in used flags. */
	uint32_t len = id < vq->size && !vq->state[id].in_len ? 0 : READ_ONCE(d->len);
	int rc = uvio_vq_check_used(vq, id, len);

	if (rc)
		return rc;
	if (vq->in_order) {
		/* An id in flight is at most in_flight steps ahead, so the walk
		 * ends; the sum never exceeds the ring. */
		advance_used(vq, batch_descs(vq, id));
		vq->batch_active = true;
		vq->batch_id = id;
		vq->batch_len = len;
		return 1;
	}
	advance_used(vq, vq->state[id].ndesc);
	out->cookie = vq->state[id].cookie;
	out->len = len;
	uvio_vq_packed_release(vq, id);
	return 0;
}

/* The common used descriptor, one buffer, taken in a loop with the
 * cursors in registers. Under IN_ORDER that is one naming the oldest buffer
 * in flight; one that closes a longer batch stops the loop, as does
 * anything suspect: the general loop of get_used looks at those. */
static unsigned get_used_fast(struct uvio_vq *vq, struct uvio_vq_used *out,
			      unsigned max)
{
	struct vq_packed *p = &vq->u.packed;
	struct vring_packed_desc *desc = p->desc;
	struct vq_buf_state *state = vq->state;
	uint16_t pos = p->next_used, size = vq->size, free_id = p->free_id, freed = 0;
	uint16_t oldest = vq->io_oldest;
	bool wrap = p->used_wrap, in_order = vq->in_order;
	unsigned n = 0, limit = max < vq->in_flight ? max : vq->in_flight;

	for (; n < limit; n++) {
		uint16_t flags = __atomic_load_n(&desc[pos].flags, __ATOMIC_ACQUIRE);
		bool avail = flags & F_AVAIL, used = flags & F_USED;
		uint16_t id;
		uint32_t len;
		struct vq_buf_state *st;

		if (avail != used || used != wrap)
			break;
		id = READ_ONCE(desc[pos].id);
		if (id >= size || !state[id].cookie || (in_order && id != oldest))
			break;
		st = &state[id];
		len = st->in_len ? READ_ONCE(desc[pos].len) : 0;  /* see read_used() */
		if (len > st->in_len)
			break;
		out[n].cookie = st->cookie;
		out[n].len = len;
		pos = (uint16_t)(pos + st->ndesc);
		if (pos >= size) {
			pos = (uint16_t)(pos - size);
			wrap = !wrap;
		}
		if (in_order) {
			oldest = vq_next_id(vq, id);
		} else {
			p->next_id[id] = free_id;
			free_id = id;
		}
		freed = (uint16_t)(freed + st->ndesc);
		st->cookie = NULL;
	}
	p->next_used = pos;
	p->used_wrap = wrap;
	p->free_id = free_id;
	vq->io_oldest = oldest;
	vq->num_free = (uint16_t)(vq->num_free + freed);
	vq->in_flight = (uint16_t)(vq->in_flight - n);
	return n;
}

/* The batch path for whole aligned groups, the scalar loop up to the next
 * group boundary between them, and for all the rest when a group does not
 * come whole (a short burst, a batch id, or something to look at). */
static unsigned get_used_batched(struct uvio_vq *vq, struct uvio_vq_used *out,
				 unsigned max)
{
	unsigned n = 0;

	while (vq->batch4 && n < max) {
		unsigned step, k;

		n += uvio_vq_packed_used_x4(vq, &out[n], max - n);
		step = (4u - (vq->u.packed.next_used & 3u)) & 3u;
		if (n == max || !step)
			break;
		step = step < max - n ? step : max - n;
		k = get_used_fast(vq, &out[n], step);
		n += k;
		if (k < step)
			return n;
	}
	return n + get_used_fast(vq, &out[n], max - n);
}

int uvio_vq_packed_get_used(struct uvio_vq *vq, struct uvio_vq_used *out,
			    unsigned max)
{
	struct vq_packed *p = &vq->u.packed;
	unsigned n = vq->batch_active ? 0 : get_used_batched(vq, out, max);

	while (n < max) {
		if (!vq->batch_active) {
			uint16_t flags = __atomic_load_n(&p->desc[p->next_used].flags,
							 __ATOMIC_ACQUIRE);
			if (!desc_is_used(p, flags)) {
				if (vq->in_flight && !desc_is_avail(p, flags))
					return n ? (int)n : uvio_vq_break(vq,
						"descriptor %u has flags 0x%x: neither "
						"available nor used", p->next_used, flags);
				break;
			}
			if (!vq->in_flight)
				return n ? (int)n : uvio_vq_break(vq, "device marked "
					"descriptor %u used with nothing in flight", p->next_used);
			int rc = read_used(vq, &out[n]);
			if (rc < 0)  /* what was taken still goes back */
				return n ? (int)n : rc;
			if (rc == 0) {
				n++;
				continue;
			}
		}
		n += uvio_vq_take_batch(vq, &out[n], max - n);
	}
	/* With callbacks on, keep asking for the next one. */
	if (n && p->event_flags == VRING_PACKED_EVENT_FLAG_DESC)
		WRITE_ONCE(p->driver_event->off_wrap,
			   (uint16_t)(p->next_used | (p->used_wrap ? WRAP_BIT : 0)));
	return (int)n;
}

/* Spec 2.8.10: the driver event suppression structure. */
void uvio_vq_packed_disable_cb(struct uvio_vq *vq)
{
	struct vq_packed *p = &vq->u.packed;

	if (p->event_flags != VRING_PACKED_EVENT_FLAG_DISABLE) {
		p->event_flags = VRING_PACKED_EVENT_FLAG_DISABLE;
		WRITE_ONCE(p->driver_event->flags, p->event_flags);
	}
}

bool uvio_vq_packed_enable_cb(struct uvio_vq *vq)
{
	struct vq_packed *p = &vq->u.packed;

	if (vq->event_idx) {
		/* Interrupt at the very next used descriptor. */
		WRITE_ONCE(p->driver_event->off_wrap,
			   (uint16_t)(p->next_used | (p->used_wrap ? WRAP_BIT : 0)));
		vq_wmb(vq->weak_barriers);
		p->event_flags = VRING_PACKED_EVENT_FLAG_DESC;
	} else {
		p->event_flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	}
	WRITE_ONCE(p->driver_event->flags, p->event_flags);
	vq_mb(vq->weak_barriers);
	return !uvio_vq_packed_has_used(vq);
}
