/* SPDX-License-Identifier: MIT */
/*
 * vring micro-benchmark: round trips (add, kick, device use, get_used)
 * through the in-process device model of tests/model, split against
 * packed, in batches of 1, 8 and 32 on a queue of 256.
 *
 * The device model runs on the same core and validates everything it
 * reads, so the numbers are the driver's cost plus a careful device's, not
 * a device's throughput. Compare rows with each other, not with hardware.
 *
 *   vring_bench [-t SECONDS]   (run length per row, default 0.3)
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uvio/vring.h>

#include "../tests/model/vdev_model.h"

#define QSIZE 256
#define MAX_BATCH 32

struct row {
	bool packed;
	unsigned batch;
	unsigned segs;     /* descriptors per buffer: 1, or 3 (header + 2 in) */
	double mops;
	double ns;
};

struct bench {
	struct uvio_vq *vq;
	struct vdev_model *dev;
	struct vdev_kicks kicks;
	void *mem;
	uint8_t (*data)[3][64];
	struct uvio_sg sg[QSIZE][3];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_close(struct bench *b)
{
	uvio_vq_destroy(b->vq);
	vdev_model_destroy(b->dev);
	free(b->mem);
	free(b->data);
}

static int bench_open(struct bench *b, bool packed)
{
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1 |
			    (packed ? 1ULL << VIRTIO_F_RING_PACKED : 0);
	size_t len = (uvio_vq_mem_size(features, QSIZE, 0) + 4095) & ~(size_t)4095;
	struct uvio_vq_params p = {
		.size = QSIZE, .features = features, .notify = vdev_kick_count,
		.notify_ctx = &b->kicks,
	};
	struct uvio_vq_addrs a;
	int rc;

	memset(b, 0, sizeof(*b));
	b->mem = aligned_alloc(4096, len);
	b->data = calloc(QSIZE, sizeof(*b->data));
	if (!b->mem || !b->data)
		return -ENOMEM;
	memset(b->mem, 0, len);
	p.mem = b->mem;
	p.mem_iova = (uintptr_t)b->mem;
	rc = uvio_vq_create(&p, &b->vq);
	if (rc)
		return rc;
	uvio_vq_get_addrs(b->vq, &a);
	b->dev = vdev_model_create(&a, QSIZE, features);
	if (!b->dev)
		return -ENOMEM;
	for (unsigned i = 0; i < QSIZE; i++)
		for (unsigned k = 0; k < 3; k++)
			b->sg[i][k] = (struct uvio_sg){ (uintptr_t)b->data[i][k], k ? 64 : 12 };
	return 0;
}

/* One batch: the driver posts and kicks, the device uses everything in
 * order, the driver takes it all back. Returns 0 or a negative errno. */
static int one_batch(struct bench *b, const struct row *r, unsigned *slot)
{
	struct uvio_vq_used used[MAX_BATCH];
	struct vdev_buf *vb;
	unsigned got = 0;
	int rc;

	for (unsigned i = 0; i < r->batch; i++) {
		unsigned s = (*slot)++ % QSIZE;

		/* 1 descriptor: one writable buffer; 3: header + 2 writable */
		rc = uvio_vq_add(b->vq, r->segs == 1 ? &b->sg[s][1] : b->sg[s],
				 r->segs == 1 ? 0 : 1, r->segs == 1 ? 1 : 2, b->data[s]);
		if (rc)
			return rc;
	}
	uvio_vq_kick(b->vq);
	while ((rc = vdev_model_pop(b->dev, &vb)) == 1)
		vdev_model_push(b->dev, vb, vb->in_len);
	if (rc < 0)
		return rc;
	while (got < r->batch) {
		rc = uvio_vq_get_used(b->vq, used + got, r->batch - got);
		if (rc <= 0)
			return rc < 0 ? rc : -EPROTO;
		got += (unsigned)rc;
	}
	return 0;
}

static int run_row(struct row *r, double secs)
{
	struct bench b;
	unsigned long bufs = 0;
	unsigned slot = 0;
	double t0, t;
	int rc = bench_open(&b, r->packed);

	for (unsigned i = 0; !rc && i < 1000; i++)  /* warm up */
		rc = one_batch(&b, r, &slot);
	t0 = now();
	do {
		for (unsigned i = 0; !rc && i < 256; i++, bufs += r->batch)
			rc = one_batch(&b, r, &slot);
		t = now() - t0;
	} while (!rc && t < secs);
	if (rc)
		fprintf(stderr, "vring_bench: %s batch %u: error %d (%s / %s)\n",
			r->packed ? "packed" : "split", r->batch, rc,
			b.vq ? uvio_vq_error(b.vq) : "", b.dev ? vdev_model_error(b.dev) : "");
	bench_close(&b);
	r->mops = (double)bufs / t / 1e6;
	r->ns = t * 1e9 / (double)bufs;
	return rc;
}

int main(int argc, char **argv)
{
	static const struct { unsigned batch, segs; } shapes[] = {
		{ 1, 1 }, { 8, 1 }, { 32, 1 }, { 8, 3 },
	};
	double secs = 0.3;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "t:h")) != -1) {
		if (opt == 't' && atof(optarg) > 0) {
			secs = atof(optarg);
		} else {
			fprintf(stderr, "usage: %s [-t SECONDS]\n", argv[0]);
			return 2;
		}
	}
	printf("vring round trips: queue %u, device model in-process, %.2f s per row\n",
	       QSIZE, secs);
	printf("%-7s %5s %5s %9s %9s %9s\n", "layout", "batch", "descs",
	       "Mops/s", "ns/buf", "vs split");
	for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct row split = { false, shapes[i].batch, shapes[i].segs, 0, 0 };
		struct row packed = { true, shapes[i].batch, shapes[i].segs, 0, 0 };

		rc |= run_row(&split, secs);
		rc |= run_row(&packed, secs);
		printf("%-7s %5u %5u %9.2f %9.1f %9s\n", "split", split.batch,
		       split.segs, split.mops, split.ns, "1.00x");
		printf("%-7s %5u %5u %9.2f %9.1f %8.2fx\n", "packed", packed.batch,
		       packed.segs, packed.mops, packed.ns, packed.mops / split.mops);
	}
	return rc ? 1 : 0;
}
