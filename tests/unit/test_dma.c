/* SPDX-License-Identifier: MIT */
/*
 * DMA memory and buffer pools, on 4K pinned memory (no hugepages, no
 * root). DMA state is process-wide and can be set up once, so every test
 * runs in one process after one uvio_dma_init() in the group setup; the
 * IOVA-mode test, which fixes the mode for good, runs last.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <uvio/dma.h>

#define SEG_SIZE ((size_t)4 << 20)
#define MiB ((size_t)1 << 20)

static int count_seg(void *ctx, const struct uvio_dma_seg *seg)
{
	(void)seg;
	++*(unsigned *)ctx;
	return 0;
}

static unsigned nsegs(void)
{
	unsigned n = 0;

	uvio_dma_foreach_seg(count_seg, &n);
	return n;
}

static void *alloc_ok(size_t len, size_t align)
{
	struct uvio_err err = {0};
	uint64_t iova = 0;
	void *p = uvio_dma_alloc(len, align, -1, &iova, &err);

	assert_non_null(p);
	assert_int_equal(err.code, 0);
	assert_int_equal(iova, (uintptr_t)p);
	return p;
}

static void test_alloc_free_reuse(void **state)
{
	void *a, *b, *c;

	(void)state;
	a = alloc_ok(1000, 64);
	b = alloc_ok(1000, 64);
	assert_ptr_not_equal(a, b);
	uvio_dma_free(a);
	/* First fit hands the freed block out again. */
	c = alloc_ok(1000, 64);
	assert_ptr_equal(a, c);
	uvio_dma_free(b);
	uvio_dma_free(c);
	uvio_dma_free(NULL);
}

static void test_alloc_alignment(void **state)
{
	static const size_t aligns[] = { 0, 1, 64, 4096, 2 * MiB };
	void *p[5];

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		size_t a = aligns[i] < 64 ? 64 : aligns[i];

		p[i] = alloc_ok(100 + i, aligns[i]);
		assert_int_equal((uintptr_t)p[i] % a, 0);
	}
	for (unsigned i = 0; i < 5; i++)
		uvio_dma_free(p[i]);
}

static void test_alloc_zeroed_after_reuse(void **state)
{
	unsigned char *p, *q;

	(void)state;
	p = alloc_ok(8192, 4096);
	memset(p, 0xab, 8192);
	uvio_dma_free(p);
	q = alloc_ok(8192, 4096);
	assert_ptr_equal(p, q);
	for (size_t i = 0; i < 8192; i++)
		assert_int_equal(q[i], 0);
	uvio_dma_free(q);
}

static void expect_einval(size_t len, size_t align)
{
	struct uvio_err err = {0};

	assert_null(uvio_dma_alloc(len, align, -1, NULL, &err));
	assert_int_equal(err.code, -EINVAL);
	assert_true(strlen(err.msg) > 10);
}

static void test_alloc_bad_args_and_bad_frees(void **state)
{
	int local;
	void *p, *q, *r, *s;

	(void)state;
	expect_einval(0, 64);
	expect_einval(64, 3);
	expect_einval(64, 4 * MiB);
	p = alloc_ok(256, 64);
	uvio_dma_free(&local);          /* not DMA memory: ignored */
	uvio_dma_free((char *)p + 64);  /* inside a block: ignored */
	q = alloc_ok(256, 64);
	assert_ptr_not_equal(p, q);     /* so p is still in use */
	uvio_dma_free(p);
	uvio_dma_free(p);               /* double free: ignored */
	r = alloc_ok(256, 64);
	s = alloc_ok(256, 64);
	assert_ptr_equal(r, p);
	assert_ptr_not_equal(s, p);
	uvio_dma_free(q);
	uvio_dma_free(r);
	uvio_dma_free(s);
}

static void test_iova_inner_bytes(void **state)
{
	char *p;

	(void)state;
	p = alloc_ok(3 * 4096, 4096);
	assert_int_equal(uvio_dma_iova(p), (uintptr_t)p);
	assert_int_equal(uvio_dma_iova(p + 1), (uintptr_t)(p + 1));
	assert_int_equal(uvio_dma_iova(p + 5000), (uintptr_t)(p + 5000));
	assert_int_equal(uvio_dma_iova(p + 3 * 4096 - 1),
			 (uintptr_t)(p + 3 * 4096 - 1));
	/* NULL iova pointer is allowed. */
	uvio_dma_free(p);
	p = uvio_dma_alloc(64, 64, -1, NULL, NULL);
	assert_non_null(p);
	uvio_dma_free(p);
}

static void test_iova_not_dma(void **state)
{
	int local;
	void *heap = malloc(64);

	(void)state;
	assert_non_null(heap);
	assert_true(uvio_dma_iova(&local) == UINT64_MAX);
	assert_true(uvio_dma_iova(heap) == UINT64_MAX);
	assert_true(uvio_dma_iova(NULL) == UINT64_MAX);
	free(heap);
}

static void test_big_alloc_own_segment(void **state)
{
	unsigned before = nsegs();
	char *p;

	(void)state;
	p = alloc_ok(10 * MiB, 4096);
	assert_int_equal(nsegs(), before + 1);
	p[10 * MiB - 1] = 1;
	assert_int_equal(uvio_dma_iova(p + 10 * MiB - 1),
			 (uintptr_t)(p + 10 * MiB - 1));
	uvio_dma_free(p);
	/* The freed segment is reused, not grown again. */
	p = alloc_ok(10 * MiB, 4096);
	assert_int_equal(nsegs(), before + 1);
	uvio_dma_free(p);
}

static void test_numa_node(void **state)
{
	struct uvio_err err = {0};
	void *a, *b;

	(void)state;
	a = uvio_dma_alloc(4096, 64, 0, NULL, &err);
	/* A node that does not exist falls back to any node. */
	b = uvio_dma_alloc(4096, 64, 9999, NULL, &err);
	assert_non_null(a);
	assert_non_null(b);
	uvio_dma_free(a);
	uvio_dma_free(b);
}

struct seg_check {
	unsigned seen;
	int stop_at;
};

static int check_seg(void *ctx, const struct uvio_dma_seg *seg)
{
	struct seg_check *c = ctx;
	struct stat st;

	assert_non_null(seg->va);
	assert_true(seg->len >= SEG_SIZE);
	assert_int_equal(seg->iova, (uintptr_t)seg->va);
	assert_int_equal((uintptr_t)seg->va % (2 * MiB), 0);
	/* 4K memory is a memfd too, so a vhost-user backend can map it. */
	assert_true(seg->fd >= 0);
	assert_int_equal(fstat(seg->fd, &st), 0);
	assert_int_equal((size_t)st.st_size, seg->len + seg->fd_offset);
	assert_true(uvio_dma_iova(seg->va) == (uintptr_t)seg->va);
	return ++c->seen == (unsigned)c->stop_at ? 42 : 0;
}

static void test_foreach(void **state)
{
	struct seg_check c = { 0, -1 };

	(void)state;
	assert_int_equal(uvio_dma_foreach_seg(check_seg, &c), 0);
	assert_true(c.seen >= 1);
	assert_int_equal(c.seen, nsegs());
	c = (struct seg_check){ 0, 1 };
	assert_int_equal(uvio_dma_foreach_seg(check_seg, &c), 42);
	assert_int_equal(c.seen, 1);
}

struct rec {
	unsigned calls, maps, unmaps, fail_at;  /* fail_at: 1-based call */
	const char *why;                        /* the refusal's own line */
	void *last_va;
};

static int rec_map(void *ctx, const struct uvio_dma_seg *seg, struct uvio_err *err)
{
	struct rec *r = ctx;

	assert_non_null(seg->va);
	/* Listeners may translate the segment they are told of. */
	assert_true(uvio_dma_iova(seg->va) == seg->iova);
	r->last_va = seg->va;
	if (++r->calls == r->fail_at)
		return r->why ? uvio_err_set(err, -ENOMEM, "%s", r->why) : -ENOMEM;
	r->maps++;
	return 0;
}

static void rec_unmap(void *ctx, const struct uvio_dma_seg *seg)
{
	(void)seg;
	((struct rec *)ctx)->unmaps++;
}

static void test_listener_replay_and_announce(void **state)
{
	struct rec r = {0};
	struct uvio_dma_listener l = { rec_map, rec_unmap, &r };
	struct uvio_err err = {0};
	unsigned n = nsegs();
	void *p;

	(void)state;
	assert_int_equal(uvio_dma_listen(&l, &err), 0);
	assert_int_equal(r.maps, n);
	p = alloc_ok(3 * SEG_SIZE, 64);        /* needs a new segment */
	assert_int_equal(r.maps, n + 1);
	uvio_dma_free(p);
	/* Unlisten forgets; the owner tears down its own mappings. */
	uvio_dma_unlisten(&l);
	assert_int_equal(r.unmaps, 0);
	p = alloc_ok(4 * SEG_SIZE, 64);
	assert_int_equal(r.maps, n + 1);
	uvio_dma_free(p);
}

static void test_listener_replay_failure(void **state)
{
	struct rec r = { .fail_at = 2 };
	struct uvio_dma_listener l = { rec_map, rec_unmap, &r };
	struct uvio_err err = {0};
	void *p;

	(void)state;
	assert_true(nsegs() >= 2);
	assert_int_equal(uvio_dma_listen(&l, &err), -ENOMEM);
	assert_true(strlen(err.msg) > 10);
	assert_int_equal(r.maps, 1);
	assert_int_equal(r.unmaps, 1);          /* rolled back */
	/* Not registered: a new segment is not announced to it. */
	p = alloc_ok(5 * SEG_SIZE, 64);
	assert_int_equal(r.calls, 2);
	uvio_dma_free(p);
}

static void test_listener_new_segment_failure(void **state)
{
	unsigned n = nsegs();
	struct rec a = {0}, b = { .fail_at = n + 1, .why = "b has no room left" };
	struct uvio_dma_listener la = { rec_map, rec_unmap, &a };
	struct uvio_dma_listener lb = { rec_map, rec_unmap, &b };
	struct uvio_err err = {0};
	void *p, *refused;

	(void)state;
	assert_int_equal(uvio_dma_listen(&la, &err), 0);
	assert_int_equal(uvio_dma_listen(&lb, &err), 0);
	p = uvio_dma_alloc(6 * SEG_SIZE, 64, -1, NULL, &err);
	assert_null(p);
	assert_int_equal(err.code, -ENOMEM);
	assert_string_equal(err.msg, "b has no room left");   /* the listener's reason */
	/* a mapped the segment, then had it taken back; it never showed. */
	assert_int_equal(a.maps, n + 1);
	assert_int_equal(a.unmaps, 1);
	assert_int_equal(nsegs(), n);
	refused = b.last_va;
	uvio_dma_unlisten(&lb);
	/* The refused segment is retried rather than a new one made. */
	p = alloc_ok(6 * SEG_SIZE, 64);
	assert_ptr_equal(p, refused);
	assert_int_equal(a.maps, n + 2);
	assert_int_equal(nsegs(), n + 1);
	uvio_dma_unlisten(&la);
	uvio_dma_free(p);
}

static void test_init_busy_after_alloc(void **state)
{
	struct uvio_err err = {0};
	void *p;

	(void)state;
	p = alloc_ok(64, 64);
	assert_int_equal(uvio_dma_init(&(struct uvio_dma_opts){
		.backing = UVIO_DMA_4K_PINNED }, &err), -EBUSY);
	assert_true(strlen(err.msg) > 10);
	assert_int_equal(uvio_dma_init(&(struct uvio_dma_opts){
		.backing = (enum uvio_dma_backing)7 }, &err), -EINVAL);
	uvio_dma_free(p);
}

/* ---- pools ------------------------------------------------------------ */

static struct uvio_pool *pool_ok(unsigned count, unsigned elt)
{
	struct uvio_err err = {0};
	struct uvio_pool *p = NULL;

	assert_int_equal(uvio_pool_create("t", count, elt, -1, &p, &err), 0);
	assert_non_null(p);
	assert_int_equal(uvio_pool_count(p), count);
	assert_int_equal(uvio_pool_avail(p), count);
	return p;
}

static void test_pool_get_put_all(void **state)
{
	struct uvio_pool *p = pool_ok(100, 200);
	void *objs[101];

	(void)state;
	assert_int_equal(uvio_pool_elt_size(p), 256);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(uvio_pool_get_bulk(p, NULL, &objs[i], 1), 1);
	assert_int_equal(uvio_pool_avail(p), 0);
	assert_int_equal(uvio_pool_get_bulk(p, NULL, &objs[100], 1), 0);
	uvio_pool_put_bulk(p, NULL, objs, 100);
	assert_int_equal(uvio_pool_avail(p), 100);
	assert_int_equal(uvio_pool_get_bulk(p, NULL, objs, 100), 100);
	uvio_pool_put_bulk(p, NULL, objs, 100);
	uvio_pool_destroy(p);
}

static void test_pool_all_or_nothing(void **state)
{
	struct uvio_pool *p = pool_ok(10, 64);
	struct uvio_pool_cache *c = uvio_pool_cache_create(p, 4);
	void *held[10], *more[10] = {0};

	(void)state;
	assert_non_null(c);
	assert_int_equal(uvio_pool_get_bulk(p, NULL, held, 8), 8);
	assert_int_equal(uvio_pool_get_bulk(p, NULL, more, 3), 0);
	assert_int_equal(uvio_pool_get_bulk(p, c, more, 3), 0);
	assert_null(more[0]);
	assert_int_equal(uvio_pool_avail(p), 2);
	/* Through the cache, and bigger than the cache. */
	assert_int_equal(uvio_pool_get_bulk(p, c, more, 2), 2);
	uvio_pool_put_bulk(p, c, more, 2);
	assert_int_equal(uvio_pool_get_bulk(p, c, more, 5), 0);
	uvio_pool_put_bulk(p, NULL, held, 8);
	assert_int_equal(uvio_pool_get_bulk(p, c, more, 10), 10);
	assert_int_equal(uvio_pool_avail(p), 0);
	uvio_pool_put_bulk(p, c, more, 10);
	assert_int_equal(uvio_pool_avail(p), 10);
	uvio_pool_cache_destroy(c);
	assert_int_equal(uvio_pool_avail(p), 10);
	uvio_pool_destroy(p);
}

static void test_pool_cache_avail_exact(void **state)
{
	struct uvio_pool *p = pool_ok(200, 64);
	struct uvio_pool_cache *c = uvio_pool_cache_create(p, 16);
	void *objs[200];
	unsigned out = 0;

	(void)state;
	assert_non_null(c);
	/* Gets and puts of every size cross refills and flushes. */
	for (unsigned n = 1; n <= 19; n++) {
		assert_int_equal(uvio_pool_get_bulk(p, c, &objs[out], n), n);
		out += n;
		assert_int_equal(uvio_pool_avail(p), 200 - out);
	}
	while (out) {
		unsigned n = out < 7 ? out : 7;

		out -= n;
		uvio_pool_put_bulk(p, c, &objs[out], n);
		assert_int_equal(uvio_pool_avail(p), 200 - out);
	}
	uvio_pool_cache_destroy(c);
	assert_int_equal(uvio_pool_avail(p), 200);
	/* Everything went back: all 200 come out of the shared part. */
	assert_int_equal(uvio_pool_get_bulk(p, NULL, objs, 200), 200);
	uvio_pool_put_bulk(p, NULL, objs, 200);
	uvio_pool_destroy(p);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(uintptr_t const *)a, y = *(uintptr_t const *)b;

	return x < y ? -1 : x > y;
}

static void test_pool_objects_aligned_distinct(void **state)
{
	struct uvio_pool *p = pool_ok(500, 100);
	void *objs[500];
	unsigned esz;

	(void)state;
	esz = uvio_pool_elt_size(p);
	assert_int_equal(esz, 128);
	assert_int_equal(uvio_pool_get_bulk(p, NULL, objs, 500), 500);
	for (unsigned i = 0; i < 500; i++) {
		assert_int_equal((uintptr_t)objs[i] % 64, 0);
		memset(objs[i], 0x5a, esz);      /* ASan: inside the area */
	}
	qsort(objs, 500, sizeof(objs[0]), cmp_ptr);
	for (unsigned i = 1; i < 500; i++)
		assert_true((uintptr_t)objs[i] >= (uintptr_t)objs[i - 1] + esz);
	uvio_pool_put_bulk(p, NULL, objs, 500);
	uvio_pool_destroy(p);
}

static void test_pool_iova(void **state)
{
	struct uvio_pool *p = pool_ok(64, 2048);
	void *objs[64];

	(void)state;
	assert_int_equal(uvio_pool_get_bulk(p, NULL, objs, 64), 64);
	for (unsigned i = 0; i < 64; i++) {
		uint64_t iova = uvio_pool_iova(p, objs[i]);

		assert_true(iova != UINT64_MAX);
		assert_int_equal(iova, uvio_dma_iova(objs[i]));
		assert_int_equal(iova, (uintptr_t)objs[i]);
	}
	uvio_pool_put_bulk(p, NULL, objs, 64);
	uvio_pool_destroy(p);
}

static void test_pool_bad_args(void **state)
{
	struct uvio_err err = {0};
	struct uvio_pool *p = NULL;

	(void)state;
	assert_int_equal(uvio_pool_create("z", 0, 64, -1, &p, &err), -EINVAL);
	assert_true(strlen(err.msg) > 10);
	assert_int_equal(uvio_pool_create("z", 8, 0, -1, &p, &err), -EINVAL);
	assert_int_equal(uvio_pool_create("z", 8, 64, -1, NULL, &err),
			 -EINVAL);
	assert_null(p);
	p = pool_ok(4, 64);
	assert_null(uvio_pool_cache_create(p, 0));
	uvio_pool_destroy(p);
	uvio_pool_destroy(NULL);
}

#define MT_THREADS 4
#define MT_ROUNDS 20000
#define MT_COUNT 1024

struct mt_arg {
	struct uvio_pool *pool;
	unsigned seed, id;
	unsigned long gets, puts, errors;
};

/* Each object's first word says which thread holds it: two owners at
 * once, or a put of an object not held, is an error. */
static void mt_claim(struct mt_arg *a, void **objs, unsigned n, bool get)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t want = get ? 0 : a->id, to = get ? a->id : 0;

		if (!__atomic_compare_exchange_n((uint64_t *)objs[i], &want, to,
						 false, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			a->errors++;
	}
}

static void *mt_worker(void *arg)
{
	struct mt_arg *a = arg;
	struct uvio_pool_cache *c = uvio_pool_cache_create(a->pool, 32);
	void *held[256];
	unsigned nheld = 0;

	if (!c) {
		a->errors++;
		return NULL;
	}
	for (unsigned r = 0; r < MT_ROUNDS; r++) {
		unsigned n = 1 + rand_r(&a->seed) % 48;

		if (rand_r(&a->seed) % 2 && nheld + n <= 256) {
			if (uvio_pool_get_bulk(a->pool, c, &held[nheld], n)) {
				mt_claim(a, &held[nheld], n, true);
				nheld += n;
				a->gets += n;
			}
		} else if (nheld) {
			n = n < nheld ? n : nheld;
			nheld -= n;
			mt_claim(a, &held[nheld], n, false);
			uvio_pool_put_bulk(a->pool, c, &held[nheld], n);
			a->puts += n;
		}
	}
	mt_claim(a, held, nheld, false);
	uvio_pool_put_bulk(a->pool, c, held, nheld);
	a->puts += nheld;
	uvio_pool_cache_destroy(c);
	return NULL;
}

static void test_pool_mt_stress(void **state)
{
	struct uvio_pool *p = pool_ok(MT_COUNT, 64);
	struct mt_arg args[MT_THREADS];
	pthread_t t[MT_THREADS];
	unsigned long gets = 0;

	(void)state;
	for (unsigned i = 0; i < MT_THREADS; i++) {
		args[i] = (struct mt_arg){ .pool = p, .seed = i + 1,
					   .id = i + 1 };
		assert_int_equal(pthread_create(&t[i], NULL, mt_worker,
						&args[i]), 0);
	}
	for (unsigned i = 0; i < MT_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(args[i].errors, 0);
		assert_int_equal(args[i].gets, args[i].puts);
		gets += args[i].gets;
	}
	assert_true(gets > MT_THREADS * 1000);
	assert_int_equal(uvio_pool_avail(p), MT_COUNT);
	uvio_pool_destroy(p);
}

/* Last: fixes the process's IOVA mode. */
static void test_iova_mode(void **state)
{
	struct uvio_err err = {0};
	char *p;

	(void)state;
	assert_int_equal(uvio_dma_iova_mode(), UVIO_IOVA_UNSET);
	assert_int_equal(uvio_dma_set_iova_mode(UVIO_IOVA_UNSET, &err),
			 -EINVAL);
	/* PA needs physically contiguous pages: refused on 4K memory. */
	assert_int_equal(uvio_dma_set_iova_mode(UVIO_IOVA_PA, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "hugepages"));
	assert_int_equal(uvio_dma_iova_mode(), UVIO_IOVA_UNSET);
	/* IOVAs kept while unset are virtual: PA is refused from then on,
	 * before anything else is looked at, and the mode stays unset. */
	uvio_dma_keep_iovas();
	err = (struct uvio_err){0};
	assert_int_equal(uvio_dma_set_iova_mode(UVIO_IOVA_PA, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "open every device before creating packet pools"));
	assert_int_equal(uvio_dma_iova_mode(), UVIO_IOVA_UNSET);
	assert_int_equal(uvio_dma_set_iova_mode(UVIO_IOVA_VA, &err), 0);
	assert_int_equal(uvio_dma_set_iova_mode(UVIO_IOVA_VA, &err), 0);
	err = (struct uvio_err){0};
	assert_int_equal(uvio_dma_set_iova_mode(UVIO_IOVA_PA, &err), -EEXIST);
	assert_true(strlen(err.msg) > 10);
	assert_int_equal(uvio_dma_iova_mode(), UVIO_IOVA_VA);
	p = alloc_ok(4096, 64);
	assert_int_equal(uvio_dma_iova(p + 7), (uintptr_t)(p + 7));
	uvio_dma_free(p);
}

static int group_setup(void **state)
{
	struct uvio_err err = {0};

	(void)state;
	return uvio_dma_init(&(struct uvio_dma_opts){
		.backing = UVIO_DMA_4K_PINNED, .segment_size = SEG_SIZE },
		&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_free_reuse),
		cmocka_unit_test(test_alloc_alignment),
		cmocka_unit_test(test_alloc_zeroed_after_reuse),
		cmocka_unit_test(test_alloc_bad_args_and_bad_frees),
		cmocka_unit_test(test_iova_inner_bytes),
		cmocka_unit_test(test_iova_not_dma),
		cmocka_unit_test(test_big_alloc_own_segment),
		cmocka_unit_test(test_numa_node),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_listener_replay_and_announce),
		cmocka_unit_test(test_listener_replay_failure),
		cmocka_unit_test(test_listener_new_segment_failure),
		cmocka_unit_test(test_init_busy_after_alloc),
		cmocka_unit_test(test_pool_get_put_all),
		cmocka_unit_test(test_pool_all_or_nothing),
		cmocka_unit_test(test_pool_cache_avail_exact),
		cmocka_unit_test(test_pool_objects_aligned_distinct),
		cmocka_unit_test(test_pool_iova),
		cmocka_unit_test(test_pool_bad_args),
		cmocka_unit_test(test_pool_mt_stress),
		cmocka_unit_test(test_iova_mode),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
