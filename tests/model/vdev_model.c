/* SPDX-License-Identifier: MIT */
/*
 * The device side of a virtqueue, for tests (see vdev_model.h).
 *
 * Section numbers are those of virtio 1.2 (split: 2.7, packed: 2.8,
 * notifications: 2.9). Single-threaded: device and driver take turns, but
 * the shared fields the spec orders (avail/used idx, packed flags, event
 * suppression) still use acquire/release so the model reads like a device.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdev_model.h"

/* A device MAY limit the elements of one buffer (spec 2.7.4). */
#define VDEV_MAX_SEGS 4096

#define PF_AVAIL ((uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL))
#define PF_USED  ((uint16_t)(1u << VRING_PACKED_DESC_F_USED))

struct vdev_model {
	uint16_t size;
	bool packed, event_idx, indirect_ok, in_order;
	enum vdev_kick_mode kick_mode;
	/* split (2.7) */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;     /* next avail ring entry to read */
	uint16_t used_idx;       /* what we last stored in used->idx */
	uint16_t in_order_next;  /* IN_ORDER: where the next chain must start */
	uint16_t *chain_next;    /* our own copy of each chain we hold */
	/* packed (2.8) */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *driver_ev, *device_ev;
	uint16_t avail_pos, used_pos;
	bool avail_wrap, used_wrap;
	/* split: descriptor held by the device; packed: buffer id in use */
	bool *busy;
	/* buffers popped and not pushed, oldest first */
	struct vdev_buf *pool;
	unsigned *free_slot, nfree;
	struct vdev_buf **pend;
	unsigned npend;
	uint16_t last_id, last_ndesc;
	bool have_last;
	unsigned irqs;
	char err[256];
};

__attribute__((format(printf, 2, 3)))
static int fail(struct vdev_model *m, const char *fmt, ...)
{
	va_list ap;

	if (!m->err[0]) {
		va_start(ap, fmt);
		vsnprintf(m->err, sizeof(m->err), fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

static bool has(uint64_t features, unsigned bit)
{
	return features & (1ULL << bit);
}

struct vdev_model *vdev_model_create(const struct uvio_vq_addrs *addrs,
				     uint16_t size, uint64_t features)
{
	struct vdev_model *m = calloc(1, sizeof(*m));

	if (!m || !size)
		goto err;
	m->size = size;
	m->packed = has(features, VIRTIO_F_RING_PACKED);
	m->event_idx = has(features, VIRTIO_RING_F_EVENT_IDX);
	m->indirect_ok = has(features, VIRTIO_RING_F_INDIRECT_DESC);
	m->in_order = has(features, VIRTIO_F_IN_ORDER);
	m->desc = (void *)(uintptr_t)addrs->desc;
	m->avail = (void *)(uintptr_t)addrs->driver;
	m->used = (void *)(uintptr_t)addrs->device;
	m->pdesc = (void *)(uintptr_t)addrs->desc;
	m->driver_ev = (void *)(uintptr_t)addrs->driver;
	m->device_ev = (void *)(uintptr_t)addrs->device;
	m->avail_wrap = m->used_wrap = true;  /* 2.8.1: wrap counters start at 1 */
	m->chain_next = calloc(size, sizeof(*m->chain_next));
	m->busy = calloc(size, sizeof(*m->busy));
	m->pool = calloc(size, sizeof(*m->pool));
	m->free_slot = calloc(size, sizeof(*m->free_slot));
	m->pend = calloc(size, sizeof(*m->pend));
	if (!m->chain_next || !m->busy || !m->pool || !m->free_slot || !m->pend)
		goto err;
	for (unsigned i = 0; i < size; i++)
		m->free_slot[m->nfree++] = size - 1 - i;
	vdev_model_kick_mode(m, VDEV_KICK_ALWAYS, 0);
	return m;
err:
	vdev_model_destroy(m);
	return NULL;
}

void vdev_model_destroy(struct vdev_model *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->npend; i++)
		if (m->pend[i]->seg != m->pend[i]->seg_inline)
			free(m->pend[i]->seg);
	free(m->chain_next);
	free(m->busy);
	free(m->pool);
	free(m->free_slot);
	free(m->pend);
	free(m);
}

const char *vdev_model_error(const struct vdev_model *m)
{
	return m->err;
}

unsigned vdev_model_irqs(const struct vdev_model *m)
{
	return m->irqs;
}

unsigned vdev_model_pending(const struct vdev_model *m)
{
	return m->npend;
}

struct vdev_buf *vdev_model_pending_at(const struct vdev_model *m, unsigned i)
{
	return i < m->npend ? m->pend[i] : NULL;
}

/* ---- buffers and their elements ---- */

static struct vdev_buf *buf_get(struct vdev_model *m)
{
	struct vdev_buf *b;

	if (!m->nfree)
		return NULL;
	b = &m->pool[m->free_slot[--m->nfree]];
	memset(b, 0, sizeof(*b));
	b->slot = (unsigned)(b - m->pool);
	b->seg = b->seg_inline;
	b->seg_cap = sizeof(b->seg_inline) / sizeof(b->seg_inline[0]);
	return b;
}

static void buf_put(struct vdev_model *m, struct vdev_buf *b)
{
	if (b->seg != b->seg_inline)
		free(b->seg);
	b->seg = NULL;
	m->free_slot[m->nfree++] = b->slot;
}

static int seg_grow(struct vdev_model *m, struct vdev_buf *b)
{
	unsigned cap = b->seg_cap * 4;
	struct vdev_seg *s = malloc(cap * sizeof(*s));

	if (!s)
		return fail(m, "model: out of memory");
	memcpy(s, b->seg, b->nseg * sizeof(*s));
	if (b->seg != b->seg_inline)
		free(b->seg);
	b->seg = s;
	b->seg_cap = cap;
	return 0;
}

/* One element; the checks of 2.7.4.2 / 2.8.17 (message framing). */
static int seg_add(struct vdev_model *m, struct vdev_buf *b, uint64_t addr,
		   uint32_t len, bool wr)
{
	uint64_t total = (uint64_t)b->out_len + b->in_len + len;

	if (b->nseg >= VDEV_MAX_SEGS)
		return fail(m, "buffer has more than %u elements", VDEV_MAX_SEGS);
	if (!wr && b->n_in)
		return fail(m, "device-readable element after a device-writable one (2.7.4.2)");
	if (len && !addr)
		return fail(m, "element %u has address 0", b->nseg);
	if (total > UINT32_MAX)
		return fail(m, "buffer longer than 2^32 bytes (2.7.5.2)");
	if (b->nseg == b->seg_cap && seg_grow(m, b))
		return -EPROTO;
	b->seg[b->nseg++] = (struct vdev_seg){ (void *)(uintptr_t)addr, addr, len, wr };
	if (wr) {
		b->n_in++;
		b->in_len += len;
	} else {
		b->n_out++;
		b->out_len += len;
	}
	return 0;
}

/* The descriptor that points at an indirect table (2.7.5.3, 2.8.7). */
static int indirect_check(struct vdev_model *m, uint16_t flags, uint32_t len,
			  uint64_t addr, bool first)
{
	if (!m->indirect_ok)
		return fail(m, "INDIRECT without VIRTIO_F_INDIRECT_DESC (2.7.5.3.1)");
	if (flags & VRING_DESC_F_NEXT)
		return fail(m, "INDIRECT and NEXT in one descriptor (2.7.5.3.1)");
	if (m->packed && !first)
		return fail(m, "INDIRECT inside a chain (2.8.19)");
	if (!len || len % 16 || len / 16 > VDEV_MAX_SEGS)
		return fail(m, "indirect table length %u", len);
	if (!addr)
		return fail(m, "indirect table at address 0");
	return 0;
}

size_t vdev_buf_read(const struct vdev_buf *b, void *dst, size_t max)
{
	size_t done = 0;

	for (unsigned i = 0; i < b->nseg && done < max; i++) {
		size_t n = b->seg[i].len;

		if (b->seg[i].writable)
			break;
		if (n > max - done)
			n = max - done;
		memcpy((char *)dst + done, b->seg[i].ptr, n);
		done += n;
	}
	return done;
}

size_t vdev_buf_write(struct vdev_buf *b, const void *src, size_t len)
{
	size_t done = 0;

	for (unsigned i = b->n_out; i < b->nseg && done < len; i++) {
		size_t n = b->seg[i].len;

		if (n > len - done)
			n = len - done;
		memcpy(b->seg[i].ptr, (const char *)src + done, n);
		done += n;
	}
	return done;
}

/* ---- split: taking available buffers (2.7.6, 2.7.13) ---- */

static int split_indirect(struct vdev_model *m, struct vdev_buf *b,
			  const struct vring_desc *d)
{
	const struct vring_desc *t = (const void *)(uintptr_t)d->addr;
	uint16_t n = d->len / 16, i = 0;

	if (indirect_check(m, d->flags, d->len, d->addr, false))
		return -EPROTO;
	b->indirect = true;
	for (unsigned count = 1;; count++) {
		if (count > n)
			return fail(m, "indirect chain loops or runs past its table");
		if (t[i].flags & VRING_DESC_F_INDIRECT)
			return fail(m, "INDIRECT inside an indirect table (2.7.5.3.1)");
		if (seg_add(m, b, t[i].addr, t[i].len, t[i].flags & VRING_DESC_F_WRITE))
			return -EPROTO;
		if (!(t[i].flags & VRING_DESC_F_NEXT))
			return 0;
		if (t[i].next >= n)
			return fail(m, "indirect next %u past table of %u", t[i].next, n);
		if (m->in_order && t[i].next != i + 1)
			return fail(m, "IN_ORDER: indirect next %u after %u (2.7.5.3.1)", t[i].next, i);
		i = t[i].next;
	}
}

static int split_chain(struct vdev_model *m, struct vdev_buf *b, uint16_t head)
{
	uint16_t i = head;

	for (unsigned count = 1;; count++) {
		struct vring_desc d = m->desc[i];

		if (count > m->size)
			return fail(m, "chain from %u longer than the queue (loop?)", head);
		if (m->busy[i])
			return fail(m, "descriptor %u reused while the device holds it", i);
		m->busy[i] = true;
		b->ndesc = count;
		m->in_order_next = (uint16_t)((i + 1) % m->size);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return split_indirect(m, b, &d);
		if (seg_add(m, b, d.addr, d.len, d.flags & VRING_DESC_F_WRITE))
			return -EPROTO;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= m->size)
			return fail(m, "descriptor %u: next %u out of range", i, d.next);
		if (m->in_order && d.next != (i + 1) % m->size)
			return fail(m, "IN_ORDER: descriptor %u chains to %u (2.7.5.2)", i, d.next);
		m->chain_next[i] = d.next;
		i = d.next;
	}
}

static void split_set_avail_event(struct vdev_model *m, uint16_t v)
{
	uint16_t *ev = (uint16_t *)&m->used->ring[m->size];

	__atomic_store_n(ev, v, __ATOMIC_RELEASE);
}

static int split_pop(struct vdev_model *m, struct vdev_buf *b)
{
	uint16_t idx = __atomic_load_n(&m->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t ahead = (uint16_t)(idx - m->last_avail), head;

	if (!ahead)
		return 0;
	if (ahead > m->size)
		return fail(m, "avail idx %u is %u entries ahead of the device (size %u)",
			    idx, ahead, m->size);
	head = m->avail->ring[m->last_avail % m->size];
	if (head >= m->size)
		return fail(m, "avail ring entry %u: head %u out of range", m->last_avail, head);
	if (m->in_order && head != m->in_order_next)
		return fail(m, "IN_ORDER: chain starts at %u, expected %u (2.7.5, 2.7.9)",
			    head, m->in_order_next);
	b->id = head;
	if (split_chain(m, b, head))
		return -EPROTO;
	m->last_avail++;
	if (m->event_idx && m->kick_mode == VDEV_KICK_ALWAYS)
		split_set_avail_event(m, m->last_avail);
	return 1;
}

/* ---- packed: taking available buffers (2.8.1, 2.8.6, 2.8.21) ---- */

static bool packed_is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & PF_AVAIL) == wrap && !!(flags & PF_USED) != wrap;
}

static void packed_advance(uint16_t *pos, bool *wrap, uint32_t n, uint16_t size)
{
	uint32_t p = *pos + n;

	while (p >= size) {
		p -= size;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

static int packed_indirect(struct vdev_model *m, struct vdev_buf *b,
			   const struct vring_packed_desc *d)
{
	const struct vring_packed_desc *t = (const void *)(uintptr_t)d->addr;

	if (indirect_check(m, d->flags, d->len, d->addr, b->ndesc == 1))
		return -EPROTO;
	b->indirect = true;
	for (unsigned i = 0; i < d->len / 16; i++) {
		if (t[i].flags & ~VRING_DESC_F_WRITE)
			return fail(m, "indirect entry %u has flags %#x (2.8.19: WRITE only)",
				    i, t[i].flags);
		if (seg_add(m, b, t[i].addr, t[i].len, t[i].flags & VRING_DESC_F_WRITE))
			return -EPROTO;
	}
	return 0;
}

static int packed_pop(struct vdev_model *m, struct vdev_buf *b)
{
	uint16_t pos = m->avail_pos, flags;
	bool wrap = m->avail_wrap;
	struct vring_packed_desc d;

	flags = __atomic_load_n(&m->pdesc[pos].flags, __ATOMIC_ACQUIRE);
	if (!packed_is_avail(flags, wrap))
		return 0;
	do {
		d = m->pdesc[pos];
		if (!packed_is_avail(d.flags, wrap))
			return fail(m, "chain element at %u not available (flags %#x, wrap %d) (2.8.6)",
				    pos, d.flags, wrap);
		if (++b->ndesc > m->size)
			return fail(m, "chain longer than the queue (2.8.17)");
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (packed_indirect(m, b, &d))
				return -EPROTO;
		} else if (seg_add(m, b, d.addr, d.len, d.flags & VRING_DESC_F_WRITE)) {
			return -EPROTO;
		}
		packed_advance(&pos, &wrap, 1, m->size);
	} while (d.flags & VRING_DESC_F_NEXT);
	/* 2.8.6: the buffer id is in the last descriptor of the chain. */
	if (d.id >= m->size)
		return fail(m, "buffer id %u out of range", d.id);
	if (m->busy[d.id])
		return fail(m, "buffer id %u reused while the device holds it", d.id);
	m->busy[d.id] = true;
	b->id = d.id;
	m->avail_pos = pos;
	m->avail_wrap = wrap;
	return 1;
}

static bool avail_nonempty(struct vdev_model *m)
{
	if (m->packed)
		return packed_is_avail(__atomic_load_n(&m->pdesc[m->avail_pos].flags,
						       __ATOMIC_ACQUIRE), m->avail_wrap);
	return __atomic_load_n(&m->avail->idx, __ATOMIC_ACQUIRE) != m->last_avail;
}

int vdev_model_pop(struct vdev_model *m, struct vdev_buf **out)
{
	struct vdev_buf *b;
	int rc;

	if (m->err[0])
		return -EPROTO;
	if (!avail_nonempty(m))
		return 0;
	b = buf_get(m);
	if (!b)
		return fail(m, "more buffers available than the queue holds");
	rc = m->packed ? packed_pop(m, b) : split_pop(m, b);
	if (rc != 1) {
		buf_put(m, b);
		return rc;
	}
	m->pend[m->npend++] = b;
	*out = b;
	return 1;
}

int vdev_model_pop_all(struct vdev_model *m)
{
	struct vdev_buf *b;
	int n = 0, rc;

	while ((rc = vdev_model_pop(m, &b)) == 1)
		n++;
	return rc < 0 ? rc : n;
}

/* ---- used buffers and used buffer notifications ---- */

/* 2.7.7: VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX. */
static bool split_need_irq(struct vdev_model *m, uint16_t old, uint16_t new)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (m->event_idx)
		return vring_need_event(__atomic_load_n(&m->avail->ring[m->size],
							__ATOMIC_ACQUIRE), new, old);
	return !(__atomic_load_n(&m->avail->flags, __ATOMIC_ACQUIRE) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

/* A ring position counted over two laps, so that one subtraction tells
 * "before" from "after" even across the wrap (2.8.10 off_wrap). */
static uint32_t lap_pos(uint16_t size, uint16_t off, bool wrap)
{
	return off + (wrap ? 0u : size);
}

/* 2.8.10: the driver event suppression structure. The used descriptors
 * just written cover [old, current used position). */
static bool packed_need_irq(struct vdev_model *m, uint16_t old, bool old_wrap)
{
	uint32_t lap = 2u * m->size, o, n, ev;
	uint16_t flags, off_wrap;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = __atomic_load_n(&m->driver_ev->flags, __ATOMIC_ACQUIRE);
	off_wrap = __atomic_load_n(&m->driver_ev->off_wrap, __ATOMIC_ACQUIRE);
	switch (flags & 3) {
	case VRING_PACKED_EVENT_FLAG_ENABLE:
		return true;
	case VRING_PACKED_EVENT_FLAG_DISABLE:
		return false;
	case VRING_PACKED_EVENT_FLAG_DESC:
		break;
	default:
		fail(m, "driver event flags %#x reserved (2.8.10)", flags);
		return true;
	}
	if (!m->event_idx)
		fail(m, "driver event DESC without EVENT_IDX (2.8.10)");
	if ((off_wrap & 0x7fff) >= m->size)
		fail(m, "driver event offset %u past the ring", off_wrap & 0x7fff);
	o = lap_pos(m->size, old, old_wrap);
	n = lap_pos(m->size, m->used_pos, m->used_wrap);
	ev = lap_pos(m->size, off_wrap & 0x7fff, off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR);
	return (ev + lap - o) % lap < (n + lap - o) % lap;
}

/* Write one used entry standing for `count` buffers / `skip` descriptors
 * (2.7.8 + 2.7.9 split, 2.8.6 + 2.8.8 packed). Returns whether a
 * notification is due. */
static bool write_used(struct vdev_model *m, uint32_t id, uint32_t len,
		       uint16_t count, uint32_t skip)
{
	bool irq;

	if (m->packed) {
		struct vring_packed_desc *d = &m->pdesc[m->used_pos];
		uint16_t old = m->used_pos, flags = m->used_wrap ? PF_AVAIL | PF_USED : 0;
		bool old_wrap = m->used_wrap;

		d->id = (uint16_t)id;
		d->len = len;
		if (len)  /* 2.8.3: WRITE in a used descriptor = data written */
			flags |= VRING_DESC_F_WRITE;
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
		packed_advance(&m->used_pos, &m->used_wrap, skip, m->size);
		irq = packed_need_irq(m, old, old_wrap);
	} else {
		struct vring_used_elem *e = &m->used->ring[m->used_idx % m->size];
		uint16_t old = m->used_idx;

		e->id = id;
		e->len = len;
		m->used_idx = (uint16_t)(m->used_idx + count);
		__atomic_store_n(&m->used->idx, m->used_idx, __ATOMIC_RELEASE);
		irq = split_need_irq(m, old, m->used_idx);
	}
	m->irqs += irq;
	return irq;
}

/* The device gives up what b held. */
static void release(struct vdev_model *m, struct vdev_buf *b)
{
	unsigned i;

	if (m->packed) {
		m->busy[b->id] = false;
	} else {
		uint16_t d = b->id;

		for (unsigned n = 0; n < b->ndesc; n++, d = m->chain_next[d])
			m->busy[d] = false;
	}
	for (i = 0; i < m->npend && m->pend[i] != b; i++)
		;
	memmove(&m->pend[i], &m->pend[i + 1], (m->npend - i - 1) * sizeof(*m->pend));
	m->npend--;
	m->last_id = b->id;
	m->last_ndesc = b->ndesc;
	m->have_last = true;
	buf_put(m, b);
}

bool vdev_model_push(struct vdev_model *m, struct vdev_buf *b, uint32_t len)
{
	bool irq;

	if (m->in_order && m->pend[0] != b) {
		fail(m, "model misuse: IN_ORDER device must use the oldest buffer first");
		return false;
	}
	if (len > b->in_len) {
		fail(m, "model misuse: len %u > writable %u (use vdev_model_misbehave)",
		     len, b->in_len);
		return false;
	}
	irq = write_used(m, b->id, len, 1, b->ndesc);
	release(m, b);
	return irq;
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

unsigned vdev_model_push_all(struct vdev_model *m, enum vdev_order order,
			     uint32_t seed)
{
	unsigned done = 0, i;

	seed = seed ? seed : 0x9e3779b9u;
	while (m->npend) {
		if (order == VDEV_ORDER_FIFO)
			i = 0;
		else if (order == VDEV_ORDER_REVERSE)
			i = m->npend - 1;
		else
			i = xorshift(&seed) % m->npend;
		vdev_model_push(m, m->pend[i], m->pend[i]->in_len);
		done++;
	}
	return done;
}

bool vdev_model_push_batch(struct vdev_model *m, unsigned n, uint32_t len)
{
	struct vdev_buf *last;
	uint32_t skip = 0;
	bool irq;

	if (!m->in_order || !n || n > m->npend) {
		fail(m, "model misuse: batch of %u (pending %u, IN_ORDER %d)",
		     n, m->npend, m->in_order);
		return false;
	}
	last = m->pend[n - 1];
	if (len > last->in_len) {
		fail(m, "model misuse: batch len %u > writable %u", len, last->in_len);
		return false;
	}
	for (unsigned i = 0; i < n; i++)
		skip += m->pend[i]->ndesc;
	irq = write_used(m, last->id, len, (uint16_t)n, skip);
	while (n--)
		release(m, m->pend[0]);
	return irq;
}

/* ---- available buffer notifications (2.7.10, 2.8.10) ---- */

void vdev_model_kick_mode(struct vdev_model *m, enum vdev_kick_mode mode,
			  unsigned ahead)
{
	m->kick_mode = mode;
	if (mode == VDEV_KICK_AT && (!m->event_idx || ahead >= m->size)) {
		fail(m, "model misuse: kick AT needs EVENT_IDX and ahead < size");
		return;
	}
	if (m->packed) {
		uint16_t pos = m->avail_pos, flags = VRING_PACKED_EVENT_FLAG_DESC;
		bool wrap = m->avail_wrap;

		packed_advance(&pos, &wrap, ahead, m->size);
		if (mode != VDEV_KICK_AT)
			flags = mode == VDEV_KICK_NEVER ? VRING_PACKED_EVENT_FLAG_DISABLE
							: VRING_PACKED_EVENT_FLAG_ENABLE;
		m->device_ev->off_wrap = (uint16_t)(pos | wrap << VRING_PACKED_EVENT_F_WRAP_CTR);
		__atomic_store_n(&m->device_ev->flags, flags, __ATOMIC_RELEASE);
	} else if (m->event_idx) {
		/* flags must be 0 with EVENT_IDX; NEVER = an event one lap away */
		m->used->flags = 0;
		split_set_avail_event(m, (uint16_t)(m->last_avail +
			(mode == VDEV_KICK_AT ? ahead : mode == VDEV_KICK_NEVER ? 0xffff : 0)));
	} else {
		__atomic_store_n(&m->used->flags,
				 mode == VDEV_KICK_NEVER ? VRING_USED_F_NO_NOTIFY : 0,
				 __ATOMIC_RELEASE);
	}
}

/* ---- misbehaviour ---- */

/* An id no buffer the device holds has (pop everything first, so that the
 * driver has nothing in flight the device has not seen). */
static uint32_t id_not_in_flight(struct vdev_model *m)
{
	for (uint32_t id = 0; id < m->size; id++) {
		bool held = false;

		for (unsigned i = 0; i < m->npend && !held; i++)
			held = m->pend[i]->id == id;
		if (!held)
			return id;
	}
	return 0;
}

int vdev_model_misbehave(struct vdev_model *m, enum vdev_evil what,
			 struct vdev_buf *b)
{
	uint32_t skip = b ? b->ndesc : 1;

	switch (what) {
	case VDEV_EVIL_ID_RANGE:
		write_used(m, m->packed ? m->size : m->size + 7u, 0, 1, skip);
		return 0;
	case VDEV_EVIL_ID_NOT_IN_FLIGHT:
		if (vdev_model_pop_all(m) < 0 || m->npend >= m->size)
			return -EINVAL;
		write_used(m, id_not_in_flight(m), 0, 1, 1);
		return 0;
	case VDEV_EVIL_DOUBLE:
		if (!m->have_last)
			return -EINVAL;
		write_used(m, m->last_id, 0, 1, m->last_ndesc);
		return 0;
	case VDEV_EVIL_LEN:
		if (!b)
			return -EINVAL;
		write_used(m, b->id, b->in_len + 1, 1, b->ndesc);
		release(m, b);
		return 0;
	case VDEV_EVIL_IDX_JUMP:
		if (m->packed)
			return -EINVAL;
		m->used_idx = (uint16_t)(m->used_idx + m->size + 1);
		__atomic_store_n(&m->used->idx, m->used_idx, __ATOMIC_RELEASE);
		return 0;
	case VDEV_EVIL_BAD_WRAP:
		if (!m->packed)
			return -EINVAL;
		m->pdesc[m->used_pos].id = b ? b->id : 0;
		m->pdesc[m->used_pos].len = 0;
		__atomic_store_n(&m->pdesc[m->used_pos].flags,
				 m->used_wrap ? PF_USED : PF_AVAIL, __ATOMIC_RELEASE);
		return 0;
	}
	return -EINVAL;
}

void vdev_kick_count(void *ctx, uint16_t index, uint32_t data)
{
	struct vdev_kicks *k = ctx;

	k->count++;
	k->last_index = index;
	k->last_data = data;
}
