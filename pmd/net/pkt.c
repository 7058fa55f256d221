/* SPDX-License-Identifier: MIT */
/*
 * Packet buffers: a DMA pool whose objects are struct uvio_pkt, headroom,
 * then frame room. The device address of each buffer is set once, here.
 */
#include <errno.h>
#include <stdlib.h>

#include <uvio/dma.h>

#include "net_internal.h"

_Static_assert(sizeof(struct uvio_pkt) <= PKT_META, "uvio_pkt outgrew its room");

static void pkt_reset(struct uvio_pkt *p)
{
	p->next = NULL;
	p->data_off = PKT_META + UVIO_PKT_HEADROOM;
	p->data_len = 0;
	p->nb_segs = 1;
	p->pkt_len = 0;
	p->ol_flags = 0;
}

/* Stamp every object with what never changes: its pool, size, address. */
static int pool_stamp(struct uvio_pktpool *pp, unsigned count, unsigned elt)
{
	void **objs = malloc(sizeof(*objs) * count);

	if (!objs)
		return -ENOMEM;
	/* buf_iova is read once, here: it must not go stale. */
	uvio_dma_keep_iovas();
	if (uvio_pool_get_bulk(pp->pool, NULL, objs, count) != count) {
		free(objs);
		return -EIO;
	}
	for (unsigned i = 0; i < count; i++) {
		struct uvio_pkt *p = objs[i];

		p->pool = pp;
		p->buf_len = (uint16_t)elt;
		p->buf_iova = uvio_pool_iova(pp->pool, p);
		p->udata = 0;
		pkt_reset(p);
	}
	uvio_pool_put_bulk(pp->pool, NULL, objs, count);
	free(objs);
	return 0;
}

/* Objects span 4k + 2 cache lines (38 for a 2 KiB room, not 36). The
 * device writes the same lines of every buffer (header, frame start): at
 * a 36-line stride those of a ring's 256 buffers share 16 of the 64 sets
 * of a 48 KiB L1d, more than its 12 ways. Against DPDK's vhost, 64 B,
 * 38 lines gave mergeable rx a quarter more than 36; odd strides did the
 * same for rx but cost tx 15%. */
static unsigned pkt_spread(unsigned bytes)
{
	unsigned lines = (bytes + 63) / 64;

	return (lines + (6 - lines % 4) % 4) * 64;
}

int uvio_pktpool_create(const char *name, unsigned count, uint16_t data_room,
			int numa_node, struct uvio_pktpool **out, struct uvio_err *err)
{
	unsigned elt = pkt_spread(PKT_META + UVIO_PKT_HEADROOM + data_room);
	struct uvio_pktpool *pp;
	int rc;

	if (!count || !data_room || elt > UINT16_MAX)
		return uvio_err_set(err, -EINVAL, "packet pool %s: count %u and data "
				    "room %u must be > 0, room < 64 KiB", name, count, data_room);
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return uvio_err_set(err, -ENOMEM, "out of memory");
	pp->data_room = data_room;
	rc = uvio_pool_create(name, count, elt, numa_node, &pp->pool, err);
	if (!rc && (rc = pool_stamp(pp, count, uvio_pool_elt_size(pp->pool))))
		uvio_err_set(err, rc, "packet pool %s: could not initialise", name);
	if (rc) {
		if (pp->pool)
			uvio_pool_destroy(pp->pool);
		free(pp);
		return rc;
	}
	*out = pp;
	return 0;
}

void uvio_pktpool_destroy(struct uvio_pktpool *pp)
{
	if (!pp)
		return;
	uvio_pool_destroy(pp->pool);
	free(pp);
}

unsigned uvio_pktpool_avail(const struct uvio_pktpool *pp)
{
	return uvio_pool_avail(pp->pool);
}

struct uvio_pkt_cache *uvio_pkt_cache_create(struct uvio_pktpool *pp, unsigned size)
{
	struct uvio_pkt_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->pool = pp;
	c->cache = uvio_pool_cache_create(pp->pool, size);
	if (!c->cache) {
		free(c);
		return NULL;
	}
	return c;
}

void uvio_pkt_cache_destroy(struct uvio_pkt_cache *c)
{
	if (!c)
		return;
	uvio_pool_cache_destroy(c->cache);
	free(c);
}

unsigned uvio_pkt_alloc_bulk(struct uvio_pktpool *pp, struct uvio_pkt_cache *c,
			     struct uvio_pkt **pkts, unsigned n)
{
	struct uvio_pool_cache *pc = c && c->pool == pp ? c->cache : NULL;

	if (uvio_pool_get_bulk(pp->pool, pc, (void **)pkts, n) != n)
		return 0;
	for (unsigned i = 0; i < n; i++)
		pkt_reset(pkts[i]);
	return n;
}

/* Frames of another pool than the cache's (forwarded from another port,
 * or from a tx pool the driver's queue cache is not for) go back in runs
 * of the same pool, one locked put per run. */
struct put_run {
	struct uvio_pktpool *pool;
	unsigned n;
	void *objs[64];
};

static void run_flush(struct put_run *r)
{
	if (r->n)
		uvio_pool_put_bulk(r->pool->pool, NULL, r->objs, r->n);
	r->n = 0;
}

static void run_add(struct put_run *r, struct uvio_pkt *seg)
{
	if (r->n == 64 || (r->n && r->pool != seg->pool))
		run_flush(r);
	r->pool = seg->pool;
	r->objs[r->n++] = seg;
}

void uvio_pkt_free_bulk(struct uvio_pkt_cache *c, struct uvio_pkt **pkts, unsigned n)
{
	struct uvio_pktpool *mine = c ? c->pool : NULL;
	struct put_run others = { .n = 0 };
	void *batch[64];
	unsigned nb = 0;

	for (unsigned i = 0; i < n; i++) {
		for (struct uvio_pkt *seg = pkts[i], *next; seg; seg = next) {
			next = seg->next;
			if (seg->pool != mine) {
				run_add(&others, seg);
				continue;
			}
			batch[nb++] = seg;
			if (nb == 64) {
				uvio_pool_put_bulk(mine->pool, c->cache, batch, nb);
				nb = 0;
			}
		}
	}
	if (nb)
		uvio_pool_put_bulk(mine->pool, c->cache, batch, nb);
	run_flush(&others);
}
