/* SPDX-License-Identifier: MIT */
/*
 * --op: one request of a kind the workload does not issue (flush,
 * write-zeroes, discard, get-id), on queue 0, and its result.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "blkbench.h"

static int issue(const struct bb_opts *o, struct uvio_blk_queue *q, char id[21])
{
	switch (o->op) {
	case BB_OP_FLUSH:
		return uvio_blk_flush_sync(q);
	case BB_OP_WRITE_ZEROES:
		return uvio_blk_write_zeroes_sync(q, o->offset, o->size, o->unmap);
	case BB_OP_DISCARD:
		return uvio_blk_discard_sync(q, o->offset, o->size);
	case BB_OP_GET_ID:
		return uvio_blk_get_id_sync(q, id);
	case BB_OP_NONE:
		break;
	}
	return -EINVAL;
}

static void print_json(const struct bb_opts *o, int rc, const char *id, double us)
{
	printf("{\"device\":\"");
	for (const char *s = o->dev; *s; s++)
		printf(*s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
	printf("\",\"op\":\"%s\",\"status\":\"%s\",\"latency_us\":%.3f",
	       bb_op_name(o->op), rc ? bb_errno_name(-rc) : "ok", us);
	if (o->op == BB_OP_GET_ID && !rc) {
		printf(",\"id\":\"");
		for (const char *s = id; *s; s++)
			printf(isprint((unsigned char)*s) && *s != '"' && *s != '\\' ?
			       "%c" : "\\u%04x", (unsigned char)*s);
		printf("\"");
	}
	if (o->op == BB_OP_WRITE_ZEROES || o->op == BB_OP_DISCARD)
		printf(",\"offset\":%llu,\"size\":%llu", (unsigned long long)o->offset,
		       (unsigned long long)o->size);
	if (o->op == BB_OP_WRITE_ZEROES)
		printf(",\"unmap\":%s", o->unmap ? "true" : "false");
	printf(",\"ok\":%s}\n", rc ? "false" : "true");
}

int bb_run_op(const struct bb_opts *o, struct uvio_blk *blk)
{
	struct uvio_blk_queue *q = uvio_blk_get_queue(blk, 0);
	char id[21] = { 0 };
	uint64_t t0 = bb_now_ns();
	int rc = issue(o, q, id);
	double us = (double)(bb_now_ns() - t0) / 1e3;

	if (o->json)
		print_json(o, rc, id, us);
	if (rc) {
		fprintf(stderr, "blkbench: %s failed: %s%s%s%s\n", bb_op_name(o->op),
			bb_errno_name(-rc),
			rc == -ENOTSUP ? " (the device does not support it)" : "",
			*uvio_blk_queue_error(q) ? ": " : "", uvio_blk_queue_error(q));
		return 1;
	}
	if (o->json)
		return 0;
	if (o->op == BB_OP_GET_ID) {
		for (char *s = id; *s; s++)
			if (!isprint((unsigned char)*s))
				*s = '?';
		printf("id: %s\n", id);
	} else if (o->op == BB_OP_FLUSH) {
		printf("flush: ok (%.1f us)\n", us);
	} else {
		printf("%s: ok offset %llu size %llu%s (%.1f us)\n", bb_op_name(o->op),
		       (unsigned long long)o->offset, (unsigned long long)o->size,
		       o->unmap ? " unmap" : "", us);
	}
	return 0;
}
