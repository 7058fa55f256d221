/* SPDX-License-Identifier: MIT */
/*
 * Host-test helper: virtio-blk over vhost-user across a back-end restart.
 *
 *   vu_blk_reconnect DEV BLOCKS RECONNECTS
 *     writes blocks 0..BLOCKS-1 (4 KiB each, iodepth 8) with a pattern of
 *     their number, pass after pass, until RECONNECTS reconnects happened
 *     (60 s at most; at least one pass). When the back-end goes away the
 *     writes in flight fail with -EIO and are counted, uvio_blk_check says
 *     -ERESTART, the device comes back (uvio_vhost_user_reconnect, 20 s, then
 *     uvio_blk_reinit) and the failed blocks are written again; at the end
 *     every block is read back and checked. This is what blkbench does.
 *     Prints "running" once the first write completed.
 *   vu_blk_reconnect --check IMAGE BLOCKS
 *     checks the same pattern in the image file, on the host.
 *
 * Prints "written N failed F reconnects R" and "verify ok"; exit 0 when
 * every block verified and, with a restart, at least one reconnect happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uvio/uvio.h>

#define BS 4096u
#define DEPTH 8u
#define SEED 0x5556494f424c4b31ull  /* "UVIOBLK1" */

static void fill(uint64_t *p, uint64_t lba)
{
	uint64_t x = SEED ^ (lba * 0x9E3779B97F4A7C15ull);

	for (unsigned i = 0; i < BS / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = i == 0 ? lba : x;
	}
}

static int check_block(const uint64_t *p, uint64_t lba)
{
	uint64_t want[BS / 8];

	fill(want, lba);
	return memcmp(p, want, BS) ? -1 : 0;
}

struct slot {
	void *buf;
	uint64_t lba;
	int busy;
	int status;
	int done;
};

static void on_done(void *arg, int status)
{
	struct slot *s = arg;

	s->status = status;
	s->done = 1;
}

static int check_image(const char *path, uint64_t blocks)
{
	uint64_t buf[BS / 8];
	int fd = open(path, O_RDONLY);
	uint64_t bad = 0;

	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (uint64_t b = 0; b < blocks; b++)
		if (pread(fd, buf, BS, (off_t)(b * BS)) != BS || check_block(buf, b))
			bad++;
	close(fd);
	printf("image: %llu blocks, %llu bad\n", (unsigned long long)blocks,
	       (unsigned long long)bad);
	return bad ? 1 : 0;
}

/* Submit into every free slot, blocks to redo first. */
static void submit(struct uvio_blk_queue *q, struct slot *slots, uint64_t blocks,
		   uint64_t *next, uint64_t *redo, uint64_t *nredo, unsigned *in_flight)
{
	for (unsigned i = 0; i < DEPTH; i++) {
		struct slot *s = &slots[i];
		struct iovec iov;

		if (s->busy || (!*nredo && *next == blocks))
			continue;
		s->lba = *nredo ? redo[--*nredo] : (*next)++;
		fill(s->buf, s->lba);
		iov = (struct iovec){ s->buf, BS };
		s->done = 0;
		if (uvio_blk_write(q, s->lba * BS, &iov, 1, on_done, s)) {
			redo[(*nredo)++] = s->lba;  /* broken or full: later */
			return;
		}
		s->busy = 1;
		++*in_flight;
	}
}

int main(int argc, char **argv)
{
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;
	struct uvio_blk *blk;
	struct uvio_blk_queue *q;
	struct slot slots[DEPTH];
	uint64_t blocks, next = 0, written = 0, failed = 0, bad = 0, nredo = 0, *redo;
	unsigned reconnects = 0, want_reconnects, in_flight = 0, passes = 0;
	time_t start = time(NULL);

	if (argc == 4 && !strcmp(argv[1], "--check"))
		return check_image(argv[2], strtoull(argv[3], NULL, 0));
	if (argc != 4) {
		fprintf(stderr, "usage: vu_blk_reconnect DEV BLOCKS RECONNECTS | "
			"--check IMAGE BLOCKS\n");
		return 2;
	}
	blocks = strtoull(argv[2], NULL, 0);
	want_reconnects = (unsigned)strtoul(argv[3], NULL, 0);
	redo = calloc(blocks + DEPTH, sizeof(*redo));
	if (!redo || uvio_open(argv[1], &dev, &err) || uvio_blk_open(dev, NULL, &blk, &err)) {
		fprintf(stderr, "vu_blk_reconnect: %s\n", err.msg);
		return 1;
	}
	q = uvio_blk_get_queue(blk, 0);
	for (unsigned i = 0; i < DEPTH; i++) {
		uint64_t iova;

		slots[i] = (struct slot){ .buf = uvio_dma_alloc(BS, BS, -1, &iova, &err) };
		if (!slots[i].buf) {
			fprintf(stderr, "vu_blk_reconnect: %s\n", err.msg);
			return 1;
		}
	}
	for (;;) {
		int n;

		if (next == blocks && !nredo && !in_flight) {
			passes++;
			if (reconnects >= want_reconnects || time(NULL) - start > 60)
				break;
			next = 0;
		}
		submit(q, slots, blocks, &next, redo, &nredo, &in_flight);
		n = uvio_blk_poll(q, DEPTH);
		for (unsigned i = 0; i < DEPTH; i++) {
			struct slot *s = &slots[i];

			if (!s->busy || !s->done)
				continue;
			s->busy = 0;
			in_flight--;
			if (s->status) {
				failed++;
				redo[nredo++] = s->lba;
			} else if (!written++) {
				printf("running\n");
				fflush(stdout);
			}
		}
		if (n >= 0)
			continue;
		/* Broken: that poll failed everything in flight with -EIO. */
		fprintf(stderr, "vu_blk_reconnect: %s; %llu writes failed so far; "
			"reconnecting\n", uvio_blk_queue_error(q), (unsigned long long)failed);
		if (uvio_blk_check(blk) != -ERESTART) {
			fprintf(stderr, "vu_blk_reconnect: broken, but uvio_blk_check says %d\n",
				uvio_blk_check(blk));
			return 1;
		}
		if (uvio_vhost_user_reconnect(dev, 20000, &err) || uvio_blk_reinit(blk, &err)) {
			fprintf(stderr, "vu_blk_reconnect: %s\n", err.msg);
			return 1;
		}
		q = uvio_blk_get_queue(blk, 0);  /* reinit made new queues */
		reconnects++;
	}
	for (uint64_t b = 0; b < blocks; b++) {
		if (uvio_blk_read_sync(q, b * BS, slots[0].buf, BS)) {
			fprintf(stderr, "vu_blk_reconnect: read of block %llu failed\n",
				(unsigned long long)b);
			return 1;
		}
		if (check_block(slots[0].buf, b))
			bad++;
	}
	printf("written %llu failed %llu reconnects %u passes %u\n",
	       (unsigned long long)written, (unsigned long long)failed, reconnects,
	       passes);
	printf("verify %s: %llu of %llu blocks bad\n", bad ? "FAILED" : "ok",
	       (unsigned long long)bad, (unsigned long long)blocks);
	for (unsigned i = 0; i < DEPTH; i++)
		uvio_dma_free(slots[i].buf);
	uvio_blk_close(blk);
	free(redo);
	return bad || reconnects < want_reconnects ? 1 : 0;
}
