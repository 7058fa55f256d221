/* SPDX-License-Identifier: MIT */
/*
 * blk_sync_read: the smallest complete uvio block program. It opens a
 * virtio-blk device, reads COUNT 512-byte sectors from SECTOR with one
 * synchronous call, and prints them as hex (the layout of
 * `od -An -v -tx1 -w16`, each line prefixed by its byte offset), or checks
 * that every byte is one value.
 *
 *   cc blk_sync_read.c $(pkg-config --cflags --libs uvio)
 *   blk_sync_read vhost-user:/tmp/blk.sock 0 8
 *   blk_sync_read pci:0000:01:00.0 2048 128 --pattern 0xa5
 *
 * Exit status: 0 read (and matched), 1 an error or a mismatch, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvio/uvio.h>

#define PROG "blk_sync_read"
#include "example.h"
#define SECTOR_SIZE 512u    /* virtio-blk counts in 512-byte sectors (spec 5.2.6) */
/* 2 MiB: uvio_dma_alloc keeps a block of up to one hugepage contiguous,
 * and the driver splits it at the device's size_max and seg_max. */
#define MAX_SECTORS 4096u

struct args {
	const char *dev;
	uint64_t sector, count;
	int pattern;        /* the byte every byte must be; -1: print hex */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " DEV SECTOR COUNT [--pattern BYTE]\n"
		"Read COUNT 512-byte sectors (1-%u) from SECTOR of the virtio-blk device DEV\n"
		"(pci:BDF or vhost-user:PATH) with one synchronous read, and print them as\n"
		"hex, 16 bytes a line after the line's byte offset.\n"
		"  --pattern BYTE   check instead that every byte read is BYTE (e.g. 0xa5)\n"
		"  -h, --help       this text\n"
		"Exit status: 0 read (and matched), 1 an error or a mismatch, 2 usage.\n",
		MAX_SECTORS);
}

/* -1: go on; otherwise the exit status (help, or a usage error). */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longs[] = {
		{ "pattern", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uvio_err err = { 0 };
	uint64_t byte;
	int c;

	a->pattern = -1;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return fflush(stdout) ? 1 : 0;
		}
		if (c != 'p')
			return usage_error("unknown option", NULL);
		if (parse_u64(optarg, 255, &byte))
			return usage_error("--pattern wants a byte, 0-255 or 0x00-0xff", optarg);
		a->pattern = (int)byte;
	}
	if (argc - optind != 3) {
		usage(stderr);
		return 2;
	}
	a->dev = argv[optind];
	/* A malformed name is a usage error, not a device that failed to open. */
	if (uvio_spec_check(a->dev, &err))
		return usage_error(err.msg, NULL);
	if (parse_u64(argv[optind + 1], UINT64_MAX / SECTOR_SIZE, &a->sector))
		return usage_error("SECTOR is not a sector number", argv[optind + 1]);
	if (parse_u64(argv[optind + 2], MAX_SECTORS, &a->count) || !a->count)
		return usage_error("COUNT wants 1-4096 sectors", argv[optind + 2]);
	return -1;
}

/* The driver refuses a misaligned or out-of-range read with a bare errno;
 * say what is wrong in the caller's units instead. */
static int check_range(const struct uvio_blk_info *in, const struct args *a)
{
	uint64_t sectors = in->capacity / SECTOR_SIZE;
	uint64_t per_block = in->block_size / SECTOR_SIZE;

	if (a->sector >= sectors || a->count > sectors - a->sector) {
		fprintf(stderr, PROG ": sectors %" PRIu64 "-%" PRIu64 " are past the "
			"end of the device (%" PRIu64 " sectors)\n", a->sector,
			a->sector + a->count - 1, sectors);
		return -1;
	}
	if (per_block > 1 && (a->sector % per_block || a->count % per_block)) {
		fprintf(stderr, PROG ": the device's blocks are %u bytes: SECTOR and "
			"COUNT must be multiples of %" PRIu64 "\n", in->block_size,
			per_block);
		return -1;
	}
	return 0;
}

static int print_hex(const unsigned char *buf, uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		if (!(i % 16))
			printf("%s%010" PRIx64 ":", i ? "\n" : "", off + i);
		printf(" %02x", buf[i]);
	}
	printf("\n");
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, PROG ": writing the output: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int check_pattern(const unsigned char *buf, uint64_t off, uint64_t len,
			 int byte)
{
	uint64_t bad = 0, first = 0;

	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != byte && !bad++)
			first = i;
	if (bad) {
		fprintf(stderr, PROG ": %" PRIu64 " of %" PRIu64 " bytes differ; the "
			"first, at byte %" PRIu64 ", is 0x%02x, not 0x%02x\n", bad,
			len, off + first, buf[first], byte);
		return -1;
	}
	printf(PROG ": %" PRIu64 " bytes at byte %" PRIu64 " are all 0x%02x\n",
	       len, off, byte);
	return 0;
}

static int read_and_show(struct uvio_blk *blk, const struct args *a)
{
	struct uvio_blk_queue *q = uvio_blk_get_queue(blk, 0);
	uint64_t off = a->sector * SECTOR_SIZE, len = a->count * SECTOR_SIZE;
	struct uvio_err err = { 0 };
	uint64_t iova;
	unsigned char *buf;
	int rc;

	/* Device-visible memory on the device's NUMA node; the driver finds
	 * its device address by itself. */
	buf = uvio_dma_alloc(len, 4096, uvio_dev_numa_node(uvio_blk_dev(blk)), &iova, &err);
	if (!buf) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return -1;
	}
	rc = uvio_blk_read_sync(q, off, buf, len);
	if (rc) {
		const char *why = uvio_blk_queue_error(q);

		fprintf(stderr, PROG ": read of %" PRIu64 " bytes at byte %" PRIu64
			": %s%s%s\n", len, off, strerror(-rc), *why ? ": " : "", why);
	} else if (a->pattern >= 0) {
		rc = check_pattern(buf, off, len, a->pattern);
	} else {
		rc = print_hex(buf, off, len);
	}
	uvio_dma_free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	const struct uvio_blk_info *in;
	struct uvio_blk *blk;
	struct args a;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	if (open_blk(a.dev, &blk))
		return 1;
	in = uvio_blk_get_info(blk);
	fprintf(stderr, PROG ": %s: %" PRIu64 " sectors, %u-byte blocks, %s rings\n",
		a.dev, in->capacity / SECTOR_SIZE, in->block_size,
		in->packed ? "packed" : "split");
	rc = check_range(in, &a) || read_and_show(blk, &a) ? 1 : 0;
	uvio_blk_close(blk);
	return rc;
}
