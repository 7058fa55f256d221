/* SPDX-License-Identifier: MIT */
/*
 * Fixed-size DMA buffer pools: one DMA allocation cut into objects, a
 * mutex-protected stack of free objects (the shared part), and per-thread
 * caches that make get/put lock-free for their owner.
 *
 * Cache policy (as in DPDK's mempool): a get that the cache cannot serve
 * refills it from the shared part with what was asked plus size/2, and a
 * put that would overflow it flushes it down to size/2, so a thread that
 * alternates get and put touches the lock once per size/2 objects.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvio/dma.h>

#include "dma_internal.h"

#define OBJ_ALIGN 64u

struct uvio_pool_cache {
	struct uvio_pool *pool;
	struct uvio_pool_cache *next;   /* pool's list, under its lock */
	unsigned size;
	/* Written by the owner (under the pool lock when objects move to or
	 * from the shared part), read by uvio_pool_avail(). */
	atomic_uint len;
	void *objs[];
};

struct uvio_pool {
	pthread_mutex_t lock;           /* shared part and cache list */
	unsigned count, elt_size;
	unsigned top;                   /* stack[0, top) are free */
	void **stack;
	void *mem;
	const struct uvio_dma_segment *seg;
	struct uvio_pool_cache *caches;
	char name[32];
};

/* Offset of object i: `per_page` objects in each `page`-sized unit so no
 * object straddles a hugepage (page 0: one unbroken run). */
static size_t obj_off(size_t i, size_t esz, size_t page, size_t per_page)
{
	if (!page)
		return i * esz;
	return (i / per_page) * page + (i % per_page) * esz;
}

static int check_args(const char *name, unsigned count, unsigned elt_size,
		      struct uvio_pool **out, struct uvio_err *err)
{
	if (!out || !count || !elt_size)
		return uvio_err_set(err, -EINVAL,
			"pool %s: need count > 0, elt_size > 0 and an out "
			"pointer", name ? name : "?");
	if (elt_size > UINT32_MAX - OBJ_ALIGN)
		return uvio_err_set(err, -EINVAL, "pool %s: elt_size %u is "
				    "too big", name ? name : "?", elt_size);
	return 0;
}

/* Allocate the object area, starting it on a page boundary when it spans
 * pages so the layout from obj_addr() holds. */
static int alloc_area(struct uvio_pool *p, size_t page, int numa_node,
		      struct uvio_err *err)
{
	size_t per_page = page ? page / p->elt_size : 0;
	size_t len = obj_off(p->count - 1, p->elt_size, page, per_page) +
		     p->elt_size;
	size_t align = page && len > page ? page : OBJ_ALIGN;
	struct uvio_err e = {0};

	/* A block of len <= page never crosses a page, so it needs no
	 * page alignment. */
	p->mem = uvio_dma_alloc_aligned(len, align, numa_node, &e);
	if (!p->mem) {
		if (err)
			*err = e;
		return e.code ? e.code : -ENOMEM;
	}
	p->seg = uvio_dma_segment_of(p->mem);
	for (unsigned i = 0; i < p->count; i++)
		p->stack[p->count - 1 - i] = (char *)p->mem +
			obj_off(i, p->elt_size, page, per_page);
	p->top = p->count;
	return 0;
}

static int pool_init(struct uvio_pool *p, const char *name, unsigned count,
		     unsigned elt_size, int numa_node, struct uvio_err *err)
{
	size_t page;
	int rc = uvio_dma_contig_size(&page, err);

	if (rc < 0)
		return rc;
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
	p->count = count;
	p->elt_size = (elt_size + OBJ_ALIGN - 1) & ~(OBJ_ALIGN - 1);
	if (page && p->elt_size > page)
		return uvio_err_set(err, -EINVAL,
			"pool %s: objects of %u bytes would straddle a %zu "
			"byte hugepage: use smaller objects", p->name,
			p->elt_size, page);
	p->stack = calloc(count, sizeof(*p->stack));
	if (!p->stack)
		return uvio_err_set(err, -ENOMEM, "pool %s: out of memory",
				    p->name);
	rc = pthread_mutex_init(&p->lock, NULL);
	if (rc)
		return uvio_err_set(err, -rc, "pool %s: mutex: %s", p->name,
				    strerror(rc));
	rc = alloc_area(p, page, numa_node, err);
	if (rc < 0)
		pthread_mutex_destroy(&p->lock);
	return rc;
}

int uvio_pool_create(const char *name, unsigned count, unsigned elt_size,
		     int numa_node, struct uvio_pool **out,
		     struct uvio_err *err)
{
	struct uvio_pool *p;
	int rc = check_args(name, count, elt_size, out, err);

	if (rc < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return uvio_err_set(err, -ENOMEM, "pool %s: out of memory",
				    name ? name : "");
	rc = pool_init(p, name, count, elt_size, numa_node, err);
	if (rc < 0) {
		free(p->stack);
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* Caches still alive are freed too: their pool is gone, so they are of
 * no use, and a thread that exited without destroying its cache would
 * otherwise leak it. */
void uvio_pool_destroy(struct uvio_pool *pool)
{
	if (!pool)
		return;
	while (pool->caches) {
		struct uvio_pool_cache *c = pool->caches;

		pool->caches = c->next;
		free(c);
	}
	uvio_dma_free(pool->mem);
	pthread_mutex_destroy(&pool->lock);
	free(pool->stack);
	free(pool);
}

/* Objects are elt_size rounded up to 64 bytes; this is that size. */
unsigned uvio_pool_elt_size(const struct uvio_pool *pool)
{
	return pool->elt_size;
}

unsigned uvio_pool_count(const struct uvio_pool *pool)
{
	return pool->count;
}

unsigned uvio_pool_avail(const struct uvio_pool *pool)
{
	/* The lock is not part of the pool's value: cast away const. */
	pthread_mutex_t *lock = (pthread_mutex_t *)&pool->lock;
	unsigned n;

	pthread_mutex_lock(lock);
	n = pool->top;
	for (const struct uvio_pool_cache *c = pool->caches; c; c = c->next)
		n += atomic_load_explicit(&c->len, memory_order_relaxed);
	pthread_mutex_unlock(lock);
	return n;
}

uint64_t uvio_pool_iova(const struct uvio_pool *pool, const void *obj)
{
	/* Through the segment rather than a table filled at creation, so it
	 * stays right when the IOVA mode becomes PA after the pool exists. */
	return uvio_dma_segment_iova(pool->seg, obj);
}

/* ---- shared part ------------------------------------------------------ */

/* Pop between `min` and `max` objects into objs; none if fewer than `min`
 * are free. Under the lock. */
static unsigned stack_pop(struct uvio_pool *p, void **objs, unsigned min,
			  unsigned max)
{
	unsigned n = p->top < max ? p->top : max;

	if (n < min)
		return 0;
	p->top -= n;
	memcpy(objs, &p->stack[p->top], n * sizeof(*objs));
	return n;
}

/* Under the lock. The clamp only guards the stack against a double put. */
static void stack_push(struct uvio_pool *p, void *const *objs, unsigned n)
{
	if (n > p->count - p->top)
		n = p->count - p->top;
	memcpy(&p->stack[p->top], objs, n * sizeof(*objs));
	p->top += n;
}

static void shared_put(struct uvio_pool *p, void *const *objs, unsigned n)
{
	pthread_mutex_lock(&p->lock);
	stack_push(p, objs, n);
	pthread_mutex_unlock(&p->lock);
}

/* A get bigger than the cache: take the cached objects first, then the
 * rest from the shared part, all or none. */
static unsigned get_uncached(struct uvio_pool *p, struct uvio_pool_cache *c,
			     void **objs, unsigned n)
{
	unsigned len = c ? atomic_load_explicit(&c->len, memory_order_relaxed)
			 : 0;
	unsigned from_cache = len < n ? len : n;

	pthread_mutex_lock(&p->lock);
	if (p->top < n - from_cache) {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	stack_pop(p, objs + from_cache, n - from_cache, n - from_cache);
	if (from_cache) {
		memcpy(objs, &c->objs[len - from_cache],
		       from_cache * sizeof(*objs));
		atomic_store_explicit(&c->len, len - from_cache,
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* ---- caches ----------------------------------------------------------- */

struct uvio_pool_cache *uvio_pool_cache_create(struct uvio_pool *pool,
					       unsigned size)
{
	struct uvio_pool_cache *c;

	if (!pool || !size)
		return NULL;
	c = calloc(1, sizeof(*c) + (size_t)size * sizeof(c->objs[0]));
	if (!c)
		return NULL;
	c->pool = pool;
	c->size = size;
	pthread_mutex_lock(&pool->lock);
	c->next = pool->caches;
	pool->caches = c;
	pthread_mutex_unlock(&pool->lock);
	return c;
}

void uvio_pool_cache_destroy(struct uvio_pool_cache *cache)
{
	struct uvio_pool *p;
	struct uvio_pool_cache **pp;

	if (!cache)
		return;
	p = cache->pool;
	pthread_mutex_lock(&p->lock);
	stack_push(p, cache->objs, atomic_load(&cache->len));
	for (pp = &p->caches; *pp && *pp != cache; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = cache->next;
	pthread_mutex_unlock(&p->lock);
	free(cache);
}

/* Make room for at least `need` more objects in the cache, topping it up
 * by size/2 beyond that when the shared part has them. */
static bool cache_refill(struct uvio_pool *p, struct uvio_pool_cache *c,
			 unsigned need)
{
	unsigned len = atomic_load_explicit(&c->len, memory_order_relaxed);
	unsigned room = c->size - len;
	unsigned want = need + c->size / 2 < room ? need + c->size / 2 : room;
	unsigned got;

	pthread_mutex_lock(&p->lock);
	got = stack_pop(p, &c->objs[len], need, want);
	atomic_store_explicit(&c->len, len + got, memory_order_relaxed);
	pthread_mutex_unlock(&p->lock);
	return got != 0;
}

/* Move the top `n` cached objects to the shared part. */
static void cache_flush(struct uvio_pool *p, struct uvio_pool_cache *c,
			unsigned n)
{
	unsigned len = atomic_load_explicit(&c->len, memory_order_relaxed);

	pthread_mutex_lock(&p->lock);
	stack_push(p, &c->objs[len - n], n);
	atomic_store_explicit(&c->len, len - n, memory_order_relaxed);
	pthread_mutex_unlock(&p->lock);
}

unsigned uvio_pool_get_bulk(struct uvio_pool *pool,
			    struct uvio_pool_cache *cache, void **objs,
			    unsigned n)
{
	unsigned len;

	if (!n)
		return 0;
	if (!cache || n > cache->size)
		return get_uncached(pool, cache, objs, n);
	len = atomic_load_explicit(&cache->len, memory_order_relaxed);
	if (len < n && !cache_refill(pool, cache, n - len))
		return 0;
	len = atomic_load_explicit(&cache->len, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++)
		objs[i] = cache->objs[len - 1 - i];
	atomic_store_explicit(&cache->len, len - n, memory_order_relaxed);
	return n;
}

void uvio_pool_put_bulk(struct uvio_pool *pool, struct uvio_pool_cache *cache,
			void *const *objs, unsigned n)
{
	unsigned len, excess;

	if (!cache || n > cache->size) {
		shared_put(pool, objs, n);
		return;
	}
	len = atomic_load_explicit(&cache->len, memory_order_relaxed);
	if (len + n > cache->size) {
		/* Leave size/2 after the put, or as few as n allows. */
		excess = len + n - cache->size / 2;
		cache_flush(pool, cache, excess < len ? excess : len);
		len = atomic_load_explicit(&cache->len, memory_order_relaxed);
	}
	memcpy(&cache->objs[len], objs, n * sizeof(*objs));
	atomic_store_explicit(&cache->len, len + n, memory_order_relaxed);
}
