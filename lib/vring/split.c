/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue (spec 2.7): descriptor table, avail ring, used ring.
 */
#include <errno.h>
#include <stdlib.h>

#include "vq_internal.h"

/* The legacy layout (spec 2.7.2 "Legacy Interfaces"): used ring on the
 * next 4096 boundary, so the same memory serves legacy and modern devices.
 * The avail and used rings carry the event index after their entries. */
static size_t avail_bytes(uint16_t size) { return 4 + 2u * size + 2; }
static size_t used_off(uint16_t size)
{
	return (16u * size + avail_bytes(size) + 4095) & ~(size_t)4095;
}

size_t uvio_vq_split_ring_size(uint16_t size)
{
	return used_off(size) + 4 + 8u * size + 2;
}

static uint16_t *used_event(struct vq_split *s, uint16_t size)
{
	return &s->avail->ring[size];
}

static uint16_t *avail_event(struct vq_split *s, uint16_t size)
{
	return (uint16_t *)&s->used->ring[size];
}

void uvio_vq_split_init(struct uvio_vq *vq)
{
	struct vq_split *s = &vq->u.split;

	s->desc = vq->mem;
	s->avail = (struct vring_avail *)((char *)vq->mem + 16u * vq->size);
	s->used = (struct vring_used *)((char *)vq->mem + used_off(vq->size));
	s->next = malloc(sizeof(*s->next) * vq->size);
	if (!s->next) {
		__atomic_store_n(&vq->broken, true, __ATOMIC_RELEASE);
		return;
	}
	for (uint16_t i = 0; i < vq->size; i++)
		s->next[i] = (uint16_t)((i + 1) & (vq->size - 1));
	s->free_head = 0;
}

/* Fill one descriptor (in the ring or in an indirect table). */
static void write_desc(struct vring_desc *d, const struct uvio_sg *sg,
		       bool writable, bool more, uint16_t next)
{
	d->addr = sg->iova;
	d->len = sg->len;
	d->flags = (uint16_t)((writable ? VRING_DESC_F_WRITE : 0) |
			      (more ? VRING_DESC_F_NEXT : 0));
	d->next = next;
}

/* One ring descriptor pointing at an indirect table of n entries. */
static uint16_t add_indirect(struct uvio_vq *vq, const struct uvio_sg *sg,
			     unsigned n_out, unsigned n)
{
	struct vq_split *s = &vq->u.split;
	uint16_t head = s->free_head;
	struct vring_desc *table = vq_indirect_table(vq, head);

	for (unsigned i = 0; i < n; i++)
		write_desc(&table[i], &sg[i], i >= n_out, i + 1 < n, (uint16_t)(i + 1));
	s->desc[head].addr = vq_indirect_iova(vq, head);
	s->desc[head].len = (uint32_t)(n * sizeof(struct vring_desc));
	s->desc[head].flags = VRING_DESC_F_INDIRECT;
	vq->state[head].last = head;
	s->free_head = vq->in_order ? (uint16_t)((head + 1) & (vq->size - 1))
				    : s->next[head];
	return head;
}

/* A chain of n ring descriptors, from the free list (or, IN_ORDER, the
 * next ones in table order, spec 2.7.9). */
static uint16_t add_direct(struct uvio_vq *vq, const struct uvio_sg *sg,
			   unsigned n_out, unsigned n)
{
	struct vq_split *s = &vq->u.split;
	uint16_t head = s->free_head, i = head, last = head;

	for (unsigned k = 0; k < n; k++) {
		uint16_t next = vq->in_order ? (uint16_t)((i + 1) & (vq->size - 1))
					     : s->next[i];

		write_desc(&s->desc[i], &sg[k], k >= n_out, k + 1 < n, next);
		last = i;
		i = next;
	}
	vq->state[head].last = last;
	s->free_head = i;
	return head;
}

/* Publish head in the next avail slot. Rewriting a slot that already
 * holds this head (the common case with IN_ORDER) would only dirty a cache
 * line the device reads. */
static void publish(struct uvio_vq *vq, uint16_t head)
{
	struct vq_split *s = &vq->u.split;
	uint16_t slot = s->avail_idx & (vq->size - 1);

	if (s->avail->ring[slot] != head)
		s->avail->ring[slot] = head;
	s->avail_idx++;
	vq->num_added++;
	vq->in_flight++;
}

int uvio_vq_split_add(struct uvio_vq *vq, const struct uvio_sg *sg,
		      unsigned n_out, unsigned n_in, void *cookie)
{
	unsigned n = n_out + n_in;
	bool indirect = n > 1 && n <= vq->indirect_max;
	unsigned ndesc = indirect ? 1 : n;
	uint16_t head;

	if (ndesc > vq->num_free)
		return -ENOSPC;
	head = indirect ? add_indirect(vq, sg, n_out, n) : add_direct(vq, sg, n_out, n);
	vq->state[head] = (struct vq_buf_state){
		.cookie = cookie, .in_len = vq_sg_in_len(sg, n_out, n_in),
		.ndesc = (uint16_t)ndesc, .last = vq->state[head].last,
	};
	vq->num_free -= (uint16_t)ndesc;
	publish(vq, head);
	return 0;
}

/* n one-descriptor buffers, with the ring's cursors in registers: the
 * stores into the ring could alias them, which would make the compiler
 * reload them for every buffer. */
static void add_bufs_scalar(struct uvio_vq *vq, const struct uvio_sg *sg,
			    void *const *cookies, unsigned n, bool writable)
{
	struct vq_split *s = &vq->u.split;
	struct vring_desc *desc = s->desc;
	struct vq_buf_state *state = vq->state;
	uint16_t *ring = s->avail->ring, *next = s->next;
	uint16_t mask = (uint16_t)(vq->size - 1), head = s->free_head, idx = s->avail_idx;
	uint16_t flags = writable ? VRING_DESC_F_WRITE : 0;
	bool in_order = vq->in_order;

	for (unsigned i = 0; i < n; i++) {
		uint16_t slot = idx++ & mask;

		desc[head].addr = sg[i].iova;
		desc[head].len = sg[i].len;
		desc[head].flags = flags;
		state[head] = (struct vq_buf_state){
			.cookie = cookies[i], .in_len = writable ? sg[i].len : 0,
			.ndesc = 1, .last = head,
		};
		if (ring[slot] != head)  /* see publish() */
			ring[slot] = head;
		head = in_order ? (uint16_t)((head + 1) & mask) : next[head];
	}
	s->free_head = head;
	s->avail_idx = idx;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->num_added = (uint16_t)(vq->num_added + n);
	vq->in_flight = (uint16_t)(vq->in_flight + n);
}

/* Groups of four through the batch path; one buffer of the scalar loop
 * past what stops a group (the end of the table or of the avail ring). */
void uvio_vq_split_add_bufs(struct uvio_vq *vq, const struct uvio_sg *sg,
			    void *const *cookies, unsigned n, bool writable)
{
	unsigned i = 0;

	while (vq->batch4 && i + 4 <= n) {
		i += uvio_vq_split_add_x4(vq, &sg[i], &cookies[i], n - i, writable);
		if (i + 4 <= n) {
			add_bufs_scalar(vq, &sg[i], &cookies[i], 1, writable);
			i++;
		}
	}
	add_bufs_scalar(vq, &sg[i], &cookies[i], n - i, writable);
}

/* Spec 2.7.10: publish the avail index, then decide whether to notify. */
bool uvio_vq_split_kick_prepare(struct uvio_vq *vq)
{
	struct vq_split *s = &vq->u.split;
	uint16_t new_idx = s->avail_idx, old_idx = (uint16_t)(new_idx - vq->num_added);

	if (!vq->num_added)
		return false;
	vq_wmb(vq->weak_barriers);
	WRITE_ONCE(s->avail->idx, new_idx);
	vq->num_added = 0;
	/* The device may read avail->idx and then suppress notifications; the
	 * full barrier orders our index store before the flag/event load. */
	vq_mb(vq->weak_barriers);
	if (vq->event_idx)
		return vring_need_event(READ_ONCE(*avail_event(s, vq->size)),
					new_idx, old_idx);
	return !(READ_ONCE(s->used->flags) & VRING_USED_F_NO_NOTIFY);
}

void uvio_vq_split_release(struct uvio_vq *vq, uint16_t id)
{
	struct vq_split *s = &vq->u.split;
	struct vq_buf_state *st = &vq->state[id];

	if (!vq->in_order) {
		s->next[st->last] = s->free_head;
		s->free_head = id;
	}
	vq->num_free += st->ndesc;
	vq->in_flight--;
	st->cookie = NULL;
}

bool uvio_vq_split_has_used(struct uvio_vq *vq)
{
	struct vq_split *s = &vq->u.split;

	return READ_ONCE(s->used->idx) != s->last_used;
}

/* IN_ORDER (spec 2.7.9 "In-order use of descriptors"): one entry names
 * the last buffer of a batch and the device moves the used index by the
 * batch's size. Buffers in flight are heads io_oldest, +ndesc, ... */
static uint16_t batch_buffers(const struct uvio_vq *vq, uint16_t last)
{
	uint16_t id = vq->io_oldest, n = 1;

	while (id != last) {
		id = (uint16_t)((id + vq->state[id].ndesc) & (vq->size - 1));
		n++;
	}
	return n;
}

/* Read the used entry at last_used: checks it, consumes it. For IN_ORDER
 * it opens a batch instead of completing. */
static int read_used(struct uvio_vq *vq, struct uvio_vq_used *out, uint16_t used_idx)
{
	struct vq_split *s = &vq->u.split;
	struct vring_used_elem *e = &s->used->ring[s->last_used & (vq->size - 1)];
	uint32_t id = READ_ONCE(e->id), len = READ_ONCE(e->len);
	int rc = uvio_vq_check_used(vq, id, len);

	if (rc)
		return rc;
	if (vq->in_order) {
		/* An id in flight is reached within in_flight steps. */
		uint16_t n = batch_buffers(vq, (uint16_t)id);

		if (n > (uint16_t)(used_idx - s->last_used))
			return uvio_vq_break(vq, "in-order batch of %u buffers, but used "
					     "idx moved only to %u", n, used_idx);
		s->last_used += n;
		vq->batch_active = true;
		vq->batch_id = (uint16_t)id;
		vq->batch_len = len;
		return 1;
	}
	s->last_used++;
	out->cookie = vq->state[id].cookie;
	out->len = len;
	uvio_vq_split_release(vq, (uint16_t)id);
	return 0;
}

/* The common used entry, one buffer, taken in a loop with the cursors in
 * registers. Under IN_ORDER that is an entry naming the oldest buffer in
 * flight; one that closes a longer batch stops the loop, and so does a bad
 * one (which breaks the queue): the general loop of get_used takes those.
 * What was taken before a bad entry still goes back. */
static int get_used_fast(struct uvio_vq *vq, struct uvio_vq_used *out,
			 unsigned max, uint16_t used_idx)
{
	struct vq_split *s = &vq->u.split;
	struct vring_used_elem *ring = s->used->ring;
	struct vq_buf_state *state = vq->state;
	uint16_t mask = (uint16_t)(vq->size - 1), last = s->last_used;
	uint16_t head = s->free_head, oldest = vq->io_oldest, freed = 0;
	bool in_order = vq->in_order;
	unsigned n = 0;
	int rc = 0;

	for (; n < max && last != used_idx; n++, last++) {
		struct vring_used_elem *e = &ring[last & mask];
		uint32_t id = READ_ONCE(e->id), len = READ_ONCE(e->len);
		struct vq_buf_state *st;

		if ((rc = uvio_vq_check_used(vq, id, len)) || (in_order && id != oldest))
			break;
		st = &state[id];
		out[n].cookie = st->cookie;
		out[n].len = len;
		if (in_order) {
			oldest = (uint16_t)((id + st->ndesc) & mask);
		} else {
			s->next[st->last] = head;
			head = (uint16_t)id;
		}
		freed = (uint16_t)(freed + st->ndesc);
		st->cookie = NULL;
	}
	s->last_used = last;
	s->free_head = head;
	vq->io_oldest = oldest;
	vq->num_free = (uint16_t)(vq->num_free + freed);
	vq->in_flight = (uint16_t)(vq->in_flight - n);
	return n || !rc ? (int)n : rc;
}

int uvio_vq_split_get_used(struct uvio_vq *vq, struct uvio_vq_used *out,
			   unsigned max)
{
	struct vq_split *s = &vq->u.split;
	uint16_t used_idx = READ_ONCE(s->used->idx);
	uint16_t pending = (uint16_t)(used_idx - s->last_used);
	unsigned n = 0;

	/* IN_ORDER batches mean fewer used entries than buffers, never more. */
	if (pending > vq->in_flight)
		return uvio_vq_break(vq, "used idx jumped from %u to %u with %u "
				     "buffers in flight", s->last_used, used_idx,
				     vq->in_flight);
	vq_rmb(vq->weak_barriers);  /* entries after the index */
	if (!vq->batch_active) {
		unsigned x4 = uvio_vq_split_used_x4(vq, out, max, used_idx);
		int got = get_used_fast(vq, &out[x4], max - x4, used_idx);

		if (got < 0 && !x4)
			return got;
		n = x4 + (got > 0 ? (unsigned)got : 0);
	}
	while (vq->in_order && n < max) {
		if (!vq->batch_active) {
			if (s->last_used == used_idx)
				break;
			int rc = read_used(vq, &out[n], used_idx);
			if (rc < 0)  /* what was taken still goes back */
				return n ? (int)n : rc;
			if (rc == 0) {
				n++;
				continue;
			}
		}
		n += uvio_vq_take_batch(vq, &out[n], max - n);
	}
	/* With callbacks on, keep asking for the next one (as without
	 * EVENT_IDX, where the flag stays clear). */
	if (n && vq->event_idx && !(s->avail_flags & VRING_AVAIL_F_NO_INTERRUPT))
		WRITE_ONCE(*used_event(s, vq->size), s->last_used);
	return (int)n;
}

/* Spec 2.7.7: flags without EVENT_IDX; with it the used_event index. */
void uvio_vq_split_disable_cb(struct uvio_vq *vq)
{
	struct vq_split *s = &vq->u.split;

	s->avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
	if (vq->event_idx)
		/* An index the device just passed: no interrupt for a lap. */
		WRITE_ONCE(*used_event(s, vq->size), (uint16_t)(s->last_used - 1));
	else
		WRITE_ONCE(s->avail->flags, s->avail_flags);
}

bool uvio_vq_split_enable_cb(struct uvio_vq *vq)
{
	struct vq_split *s = &vq->u.split;

	s->avail_flags &= (uint16_t)~VRING_AVAIL_F_NO_INTERRUPT;
	if (vq->event_idx)
		WRITE_ONCE(*used_event(s, vq->size), s->last_used);
	else
		WRITE_ONCE(s->avail->flags, s->avail_flags);
	vq_mb(vq->weak_barriers);
	return !uvio_vq_split_has_used(vq);
}
