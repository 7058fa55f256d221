/* SPDX-License-Identifier: MIT */
/*
 * uvio-vmtest: the guest side of `make check-vm` and `make demo`.
 *
 * Opens one virtio-pci device through uvio (uvio_pci_open), negotiates,
 * reads its config and checks it against what QEMU was given, sets up
 * every queue, starts it and, for a block device, does raw virtio-blk
 * requests (struct virtio_blk_outhdr + data + status byte in DMA memory,
 * one descriptor chain, uvio_vq_add/kick/get_used).
 *
 * Prints what it found on stdout; on failure one line on stderr and exit
 * 1. With --expect-error TEXT the run must fail with a message holding
 * TEXT: then it exits 0 (and 1 otherwise). Usage errors exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <uvio/dev.h>
#include <uvio/dma.h>
#include <uvio/pci.h>
#include <uvio/vring.h>

#include "../common/cli.h"
#include "ringreset.h"

#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38
#endif

#define SECTOR 512u
#define IO_TIMEOUT_S 20   /* TCG is slow, and the first I/O faults pages in */

struct opts {
	const char *bdf;
	const char *mac;            /* expected MAC */
	long long capacity;         /* expected capacity in sectors, -1 = any */
	const char *serial;         /* expected blk serial (GET_ID) */
	long long read_lba;         /* -1: no read */
	const char *read_pat;
	long long write_lba;        /* -1: no write */
	const char *write_pat;
	unsigned count;             /* sectors per read/write */
	unsigned indirect;          /* indirect descriptors per table */
	const char *expect_error;
	const char *expect_ring;    /* "split" / "packed" */
	const char *expect_iface;   /* "modern" / "legacy" */
	const char *expect_driver;  /* "vfio" / "uio" / "vfio-noiommu" */
	const char *expect_iova;    /* "va" / "pa" */
	double hold;                /* seconds to keep the device open */
	bool ring_reset;            /* --ring-reset: ringreset.c instead */
	bool quiet;
	bool error_matched;         /* the failure held --expect-error's text */
};

/* help2man reads this: "Usage:" first, then one option per line. */
static const char usage_text[] =
	"Usage: uvio-vmtest --bdf BDF [OPTION]...\n"
	"The guest side of uvio's VM tests: open one virtio-pci device, check its\n"
	"config against what QEMU was given, set up its queues, and for a block\n"
	"device do raw requests.\n"
	"\n"
	"  --bdf BDF              the device (bound to vfio-pci or uio_pci_generic)\n"
	"  --mac MAC              net: expect this MAC in the config\n"
	"  --capacity SECTORS     blk: expect this capacity (512-byte sectors)\n"
	"  --serial S             blk: expect this serial (VIRTIO_BLK_T_GET_ID)\n"
	"  --read LBA:PATTERN     blk: read --count sectors at LBA, expect PATTERN\n"
	"                         repeated\n"
	"  --write LBA:PATTERN    blk: write PATTERN repeated over --count sectors\n"
	"  --count N              sectors per read/write, 1..2048 (default 1)\n"
	"  --indirect N           queues get indirect tables of N descriptors\n"
	"                         (0..1024)\n"
	"  --expect-ring RING     split or packed\n"
	"  --expect-iface IFACE   modern or legacy\n"
	"  --expect-driver DRV    vfio, vfio-noiommu or uio\n"
	"  --expect-iova MODE     va or pa\n"
	"  --expect-error TEXT    the run must fail with TEXT in its message\n"
	"  --hold TIME            keep the device open TIME before closing\n"
	"                         (seconds, or 500ms, 1m ...)\n"
	"  --ring-reset           reset queue 1 of a 2-queue net or blk device\n"
	"                         while queue 0 carries traffic (tests/vm/run-ringreset)\n"
	"  -q, --quiet            print only errors\n"
	"  -h, --help             this text, and exit\n"
	"  --version              the version, and exit\n"
	"\n"
	"Numbers are decimal (010 is ten).\n"
	"\n"
	"Exit status: 0 ok (with --expect-error: the run failed as expected), 1 a\n"
	"failure, 2 usage error.\n";

static struct opts o = {
	.capacity = -1, .read_lba = -1, .write_lba = -1, .count = 1,
};

/* The one failure of this run: print (or match against --expect-error). */
static int failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int failed(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o.expect_error && strstr(msg, o.expect_error)) {
		o.error_matched = true;
		if (!o.quiet)
			printf("expected error: %s\n", msg);
	} else if (o.expect_error) {
		fprintf(stderr, "uvio-vmtest: wanted an error with '%s', got: %s\n",
			o.expect_error, msg);
	} else {
		fprintf(stderr, "uvio-vmtest: %s\n", msg);
	}
	return -1;
}

#define say(...) do { if (!o.quiet) printf(__VA_ARGS__); } while (0)

static void fill_pattern(uint8_t *buf, size_t len, const char *pat)
{
	size_t n = strlen(pat);

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)pat[i % n];
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Post one chain, kick, poll for it. Returns bytes the device wrote, or
 * -1 with the failure reported in `why`. */
static long run_chain(struct uvio_vq *vq, const struct uvio_sg *sg,
		      unsigned n_out, unsigned n_in, char *why, size_t wlen)
{
	struct uvio_vq_used used = { 0 };
	static int token;
	double t0 = now_s();
	int rc = uvio_vq_add(vq, sg, n_out, n_in, &token);

	if (rc) {
		snprintf(why, wlen, "uvio_vq_add: %s%s%s", strerror(-rc),
			 uvio_vq_is_broken(vq) ? ": " : "", uvio_vq_error(vq));
		return -1;
	}
	uvio_vq_kick(vq);
	for (;;) {
		rc = uvio_vq_get_used(vq, &used, 1);
		if (rc < 0) {
			snprintf(why, wlen, "queue broke: %s", uvio_vq_error(vq));
			return -1;
		}
		if (rc == 1)
			break;
		if (now_s() - t0 > IO_TIMEOUT_S) {
			snprintf(why, wlen, "no completion within %d s (device not DMAing? check the IOMMU mode)",
				 IO_TIMEOUT_S);
			return -1;
		}
	}
	if (used.cookie != &token) {
		snprintf(why, wlen, "completion with a foreign cookie");
		return -1;
	}
	return used.len;
}

struct blk_io {
	struct virtio_blk_outhdr hdr;
	uint8_t status;
};

/* One virtio-blk request (spec 5.2.6): header, data, status byte. */
static int blk_request(struct uvio_dev *dev, struct uvio_vq *vq, uint32_t type,
		       uint64_t lba, void *data, uint32_t len, uint64_t data_iova,
		       bool data_in, const char *what)
{
	uint64_t io_iova;
	struct uvio_err err;
	struct blk_io *io = uvio_dma_alloc(sizeof(*io), 64, uvio_dev_numa_node(dev),
					   &io_iova, &err);
	struct uvio_sg sg[3];
	unsigned n = 0, n_out;
	char why[256];
	long got;
	int rc = 0;

	(void)data;
	if (!io)
		return failed("%s: %s", what, err.msg);
	/* Legacy devices take the header in the guest's byte order; that is
	 * little-endian here, like the modern one. */
	io->hdr.type = type;
	io->hdr.ioprio = 0;
	io->hdr.sector = lba;
	io->status = 0xff;
	sg[n++] = (struct uvio_sg){ io_iova + offsetof(struct blk_io, hdr),
				    sizeof(io->hdr) };
	n_out = 1;
	if (len) {
		sg[n++] = (struct uvio_sg){ data_iova, len };
		if (!data_in)
			n_out++;
	}
	sg[n++] = (struct uvio_sg){ io_iova + offsetof(struct blk_io, status), 1 };
	got = run_chain(vq, sg, n_out, n - n_out, why, sizeof(why));
	if (got < 0)
		rc = failed("%s: %s", what, why);
	else if (io->status != VIRTIO_BLK_S_OK)
		rc = failed("%s: device returned status %u", what, io->status);
	else if (got < 1 || (data_in && (uint32_t)got < len + 1))
		rc = failed("%s: device wrote %ld bytes, want %u", what, got,
			    data_in ? len + 1 : 1);
	uvio_dma_free(io);
	return rc ? -1 : 0;
}

static int check_blk(struct uvio_dev *dev)
{
	struct virtio_blk_config cfg;
	struct uvio_vq *vq = uvio_dev_queue(dev, 0);
	size_t len = (size_t)o.count * SECTOR;
	uint64_t iova;
	struct uvio_err err;
	uint8_t *buf, *want;
	int rc = 0;

	memset(&cfg, 0, sizeof(cfg));
	if (uvio_dev_read_config(dev, 0, &cfg.capacity, sizeof(cfg.capacity)))
		return failed("%s", uvio_dev_error(dev));
	if (uvio_dev_has_feature(dev, VIRTIO_BLK_F_BLK_SIZE))
		uvio_dev_read_config(dev, offsetof(struct virtio_blk_config, blk_size),
				     &cfg.blk_size, sizeof(cfg.blk_size));
	if (uvio_dev_has_feature(dev, VIRTIO_BLK_F_SEG_MAX))
		uvio_dev_read_config(dev, offsetof(struct virtio_blk_config, seg_max),
				     &cfg.seg_max, sizeof(cfg.seg_max));
	if (uvio_dev_has_feature(dev, VIRTIO_BLK_F_MQ))
		uvio_dev_read_config(dev, offsetof(struct virtio_blk_config, num_queues),
				     &cfg.num_queues, sizeof(cfg.num_queues));
	say("config: capacity %" PRIu64 " sectors (%" PRIu64 " MiB), blk_size %u, seg_max %u, num_queues %u%s\n",
	    (uint64_t)cfg.capacity, (uint64_t)cfg.capacity / 2048, cfg.blk_size,
	    cfg.seg_max, cfg.num_queues ? cfg.num_queues : 1,
	    uvio_dev_has_feature(dev, VIRTIO_BLK_F_RO) ? ", read-only" : "");
	if (o.capacity >= 0 && cfg.capacity != (uint64_t)o.capacity)
		return failed("capacity is %" PRIu64 " sectors, QEMU was given %lld",
			      (uint64_t)cfg.capacity, o.capacity);
	if (!vq)
		return failed("queue 0 was not set up");

	buf = uvio_dma_alloc(len, 4096, uvio_dev_numa_node(dev), &iova, &err);
	want = malloc(len);
	if (!buf || !want) {
		free(want);
		return failed("data buffer: %s", buf ? "out of memory" : err.msg);
	}
	if (o.serial) {
		char id[VIRTIO_BLK_ID_BYTES + 1] = "";

		memset(buf, 0, VIRTIO_BLK_ID_BYTES);
		if (blk_request(dev, vq, VIRTIO_BLK_T_GET_ID, 0, buf, VIRTIO_BLK_ID_BYTES,
				iova, true, "GET_ID")) {
			rc = -1;
			goto out;
		}
		memcpy(id, buf, VIRTIO_BLK_ID_BYTES);
		say("serial: '%s'\n", id);
		if (strcmp(id, o.serial)) {
			rc = failed("serial is '%s', QEMU was given '%s'", id, o.serial);
			goto out;
		}
	}
	if (o.read_lba >= 0) {
		memset(buf, 0, len);
		if (blk_request(dev, vq, VIRTIO_BLK_T_IN, (uint64_t)o.read_lba, buf,
				(uint32_t)len, iova, true, "READ")) {
			rc = -1;
			goto out;
		}
		fill_pattern(want, len, o.read_pat);
		for (size_t i = 0; i < len; i++)
			if (buf[i] != want[i]) {
				rc = failed("READ of %u sectors at LBA %lld: byte %zu is 0x%02x, want 0x%02x ('%s' pattern)",
					    o.count, o.read_lba, i, buf[i], want[i],
					    o.read_pat);
				goto out;
			}
		say("read: %u sectors at LBA %lld match '%s'\n", o.count, o.read_lba,
		    o.read_pat);
	}
	if (o.write_lba >= 0) {
		fill_pattern(buf, len, o.write_pat);
		if (blk_request(dev, vq, VIRTIO_BLK_T_OUT, (uint64_t)o.write_lba, buf,
				(uint32_t)len, iova, false, "WRITE")) {
			rc = -1;
			goto out;
		}
		if (uvio_dev_has_feature(dev, VIRTIO_BLK_F_FLUSH) &&
		    blk_request(dev, vq, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, false,
				"FLUSH")) {
			rc = -1;
			goto out;
		}
		say("write: %u sectors at LBA %lld with '%s'%s\n", o.count,
		    o.write_lba, o.write_pat,
		    uvio_dev_has_feature(dev, VIRTIO_BLK_F_FLUSH) ? ", flushed" : "");
	}
out:
	free(want);
	uvio_dma_free(buf);
	return rc;
}

static int check_net(struct uvio_dev *dev)
{
	struct virtio_net_config cfg;
	char mac[32];

	memset(&cfg, 0, sizeof(cfg));
	if (uvio_dev_has_feature(dev, VIRTIO_NET_F_MAC) &&
	    uvio_dev_read_config(dev, offsetof(struct virtio_net_config, mac),
				 cfg.mac, sizeof(cfg.mac)))
		return failed("%s", uvio_dev_error(dev));
	if (uvio_dev_has_feature(dev, VIRTIO_NET_F_STATUS))
		uvio_dev_read_config(dev, offsetof(struct virtio_net_config, status),
				     &cfg.status, sizeof(cfg.status));
	if (uvio_dev_has_feature(dev, VIRTIO_NET_F_MQ))
		uvio_dev_read_config(dev,
				     offsetof(struct virtio_net_config, max_virtqueue_pairs),
				     &cfg.max_virtqueue_pairs,
				     sizeof(cfg.max_virtqueue_pairs));
	if (uvio_dev_has_feature(dev, VIRTIO_NET_F_MTU))
		uvio_dev_read_config(dev, offsetof(struct virtio_net_config, mtu),
				     &cfg.mtu, sizeof(cfg.mtu));
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", cfg.mac[0],
		 cfg.mac[1], cfg.mac[2], cfg.mac[3], cfg.mac[4], cfg.mac[5]);
	say("config: mac %s, status %s, max_virtqueue_pairs %u, mtu %u\n",
	    uvio_dev_has_feature(dev, VIRTIO_NET_F_MAC) ? mac : "(none)",
	    !uvio_dev_has_feature(dev, VIRTIO_NET_F_STATUS) ? "(none)" :
	    cfg.status & VIRTIO_NET_S_LINK_UP ? "link up" : "link down",
	    cfg.max_virtqueue_pairs ? cfg.max_virtqueue_pairs : 1, cfg.mtu);
	if (o.mac && strcasecmp(mac, o.mac))
		return failed("MAC is %s, QEMU was given %s", mac, o.mac);
	return 0;
}

static void print_features(uint64_t f)
{
	static const struct { unsigned bit; const char *name; } ring[] = {
		{ VIRTIO_RING_F_INDIRECT_DESC, "INDIRECT_DESC" },
		{ VIRTIO_RING_F_EVENT_IDX, "EVENT_IDX" },
		{ VIRTIO_F_VERSION_1, "VERSION_1" },
		{ VIRTIO_F_ACCESS_PLATFORM, "ACCESS_PLATFORM" },
		{ VIRTIO_F_RING_PACKED, "RING_PACKED" },
		{ VIRTIO_F_IN_ORDER, "IN_ORDER" },
		{ VIRTIO_F_ORDER_PLATFORM, "ORDER_PLATFORM" },
		{ VIRTIO_F_NOTIFICATION_DATA, "NOTIFICATION_DATA" },
	};

	for (size_t i = 0; i < sizeof(ring) / sizeof(ring[0]); i++)
		if (f & (1ULL << ring[i].bit))
			say(" %s", ring[i].name);
}

static uint64_t wanted_features(uint16_t type)
{
	uint64_t f = uvio_dev_ring_features();

	if (type == VIRTIO_ID_BLOCK)
		f |= 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
		     1ULL << VIRTIO_BLK_F_RO | 1ULL << VIRTIO_BLK_F_MQ |
		     1ULL << VIRTIO_BLK_F_TOPOLOGY;
	else if (type == VIRTIO_ID_NET)
		f |= 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS |
		     1ULL << VIRTIO_NET_F_MQ | 1ULL << VIRTIO_NET_F_MTU;
	return f;
}

static int run(void)
{
	struct uvio_pci_addr addr;
	struct uvio_pci_info info;
	struct uvio_dev *dev = NULL;
	struct uvio_err err;
	enum uvio_pci_driver drv;
	const char *drv_name;
	uint64_t features = 0;
	bool noiommu, packed;
	uint16_t nq, set = 0;
	int rc;

	if (uvio_pci_addr_parse(o.bdf, &addr))
		return failed("bad PCI address '%s' (want dddd:bb:dd.f)", o.bdf);
	rc = uvio_pci_open(&addr, &dev, &err);
	if (rc)
		return failed("%s", err.msg);
	uvio_pci_probe(&addr, &info, NULL);
	drv = uvio_pci_dev_driver(dev, &noiommu);
	drv_name = drv == UVIO_PCI_DRV_UIO ? "uio" : noiommu ? "vfio-noiommu" : "vfio";
	say("%s: virtio %s (%04x:%04x), %s interface, via %s, IOVA %s, numa %d\n",
	    o.bdf, info.virtio_type == VIRTIO_ID_NET ? "net" :
	    info.virtio_type == VIRTIO_ID_BLOCK ? "blk" : "device",
	    info.vendor_id, info.device_id,
	    uvio_dev_is_legacy(dev) ? "legacy" : "modern", drv_name,
	    uvio_dma_iova_mode() == UVIO_IOVA_PA ? "PA" : "VA",
	    uvio_dev_numa_node(dev));
	if (o.expect_driver && strcmp(o.expect_driver, drv_name)) {
		rc = failed("opened via %s, expected %s", drv_name, o.expect_driver);
		goto out;
	}
	if (o.expect_iova &&
	    strcasecmp(o.expect_iova, uvio_dma_iova_mode() == UVIO_IOVA_PA ? "pa" : "va")) {
		rc = failed("device addresses are %s, expected %s",
			    uvio_dma_iova_mode() == UVIO_IOVA_PA ? "PA" : "VA", o.expect_iova);
		goto out;
	}
	if (o.expect_iface &&
	    strcmp(o.expect_iface, uvio_dev_is_legacy(dev) ? "legacy" : "modern")) {
		rc = failed("the device has a %s interface, expected %s",
			    uvio_dev_is_legacy(dev) ? "legacy" : "modern", o.expect_iface);
		goto out;
	}

	rc = uvio_dev_negotiate(dev, wanted_features(info.virtio_type), &features);
	if (rc) {
		rc = failed("%s", uvio_dev_error(dev));
		goto out;
	}
	packed = features & (1ULL << VIRTIO_F_RING_PACKED);
	say("features: device 0x%016" PRIx64 ", negotiated 0x%016" PRIx64 ":",
	    uvio_dev_device_features(dev), features);
	print_features(features);
	say("\n");
	if (o.expect_ring && strcmp(o.expect_ring, packed ? "packed" : "split")) {
		rc = failed("negotiated a %s ring, expected %s (device offers RING_PACKED: %s)",
			    packed ? "packed" : "split", o.expect_ring,
			    uvio_dev_device_features(dev) & (1ULL << VIRTIO_F_RING_PACKED) ?
			    "yes" : "no");
		goto out;
	}

	nq = uvio_dev_max_queues(dev);
	for (uint16_t q = 0; q < nq; q++) {
		struct uvio_vq *vq = NULL;
		uint16_t max = uvio_dev_queue_max_size(dev, q);

		if (!max)
			continue;
		rc = uvio_dev_setup_queue(dev, q, 0, (uint16_t)o.indirect, &vq);
		if (rc) {
			rc = failed("%s", uvio_dev_error(dev));
			goto out;
		}
		set++;
		say("queue %u: size %u (max %u), %s\n", q, uvio_vq_size(vq), max,
		    uvio_vq_is_packed(vq) ? "packed" : "split");
	}
	if (!set) {
		rc = failed("the device has no queues");
		goto out;
	}
	rc = uvio_dev_start(dev);
	if (rc) {
		rc = failed("%s", uvio_dev_error(dev));
		goto out;
	}
	say("started: %u queues, status 0x%02x\n", set, uvio_dev_status(dev));

	if (info.virtio_type == VIRTIO_ID_BLOCK)
		rc = check_blk(dev);
	else if (info.virtio_type == VIRTIO_ID_NET)
		rc = check_net(dev);
	if (rc)
		goto out;
	if (uvio_dev_needs_reset(dev)) {
		rc = failed("the device set DEVICE_NEEDS_RESET");
		goto out;
	}
	if (o.hold > 0) {
		struct timespec ts = { (time_t)o.hold,
				       (long)((o.hold - (double)(time_t)o.hold) * 1e9) };

		nanosleep(&ts, NULL);
	}
out:
	uvio_dev_destroy(dev);
	return rc;
}

static int parse_lba_pat(const char *arg, long long *lba, const char **pat)
{
	const char *colon = strchr(arg, ':');
	char num[24];
	uint64_t v;

	if (!colon || !colon[1] || (size_t)(colon - arg) >= sizeof(num))
		return -1;
	memcpy(num, arg, (size_t)(colon - arg));
	num[colon - arg] = '\0';
	if (cli_parse_uint(num, 0, INT64_MAX, &v))
		return -1;
	*lba = (long long)v;
	*pat = colon + 1;
	return 0;
}

enum { O_BDF = 256, O_MAC, O_CAP, O_SERIAL, O_READ, O_WRITE, O_COUNT,
       O_INDIRECT, O_EXPECT_ERROR, O_EXPECT_RING, O_EXPECT_IFACE,
       O_EXPECT_DRIVER, O_EXPECT_IOVA, O_HOLD, O_VERSION, O_RING_RESET };

static const struct option lopts[] = {
	{ "bdf", required_argument, NULL, O_BDF },
	{ "mac", required_argument, NULL, O_MAC },
	{ "capacity", required_argument, NULL, O_CAP },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "read", required_argument, NULL, O_READ },
	{ "write", required_argument, NULL, O_WRITE },
	{ "count", required_argument, NULL, O_COUNT },
	{ "indirect", required_argument, NULL, O_INDIRECT },
	{ "expect-error", required_argument, NULL, O_EXPECT_ERROR },
	{ "expect-ring", required_argument, NULL, O_EXPECT_RING },
	{ "expect-iface", required_argument, NULL, O_EXPECT_IFACE },
	{ "expect-driver", required_argument, NULL, O_EXPECT_DRIVER },
	{ "expect-iova", required_argument, NULL, O_EXPECT_IOVA },
	{ "hold", required_argument, NULL, O_HOLD },
	{ "ring-reset", no_argument, NULL, O_RING_RESET },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

#define USAGE(...) cli_usage_error("uvio-vmtest", __VA_ARGS__)

/* A decimal option in [min, max]. 0 or 2 (said). */
static int uint_opt(const char *name, const char *v, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	if (cli_parse_uint(v, min, max, out))
		return USAGE("--%s: '%s' is not a decimal number in %llu..%llu", name, v,
			     (unsigned long long)min, (unsigned long long)max);
	return 0;
}

/* An option that takes a number or a time: 0 or 2 (said). */
static int number_opt(int c, const char *v)
{
	uint64_t u = 0;

	switch (c) {
	case O_CAP:
		if (uint_opt("capacity", v, 0, INT64_MAX, &u))
			return 2;
		o.capacity = (long long)u;
		return 0;
	case O_COUNT:
		if (uint_opt("count", v, 1, 2048, &u))
			return 2;
		o.count = (unsigned)u;
		return 0;
	case O_INDIRECT:
		if (uint_opt("indirect", v, 0, 1024, &u))
			return 2;
		o.indirect = (unsigned)u;
		return 0;
	case O_READ: case O_WRITE:
		if (c == O_READ ? parse_lba_pat(v, &o.read_lba, &o.read_pat) :
				  parse_lba_pat(v, &o.write_lba, &o.write_pat))
			return USAGE("--%s: expected LBA:PATTERN (a decimal LBA), not '%s'",
				     c == O_READ ? "read" : "write", v);
		return 0;
	}
	if (cli_parse_time(v, &o.hold) || o.hold > 86400)
		return USAGE("--hold: '%s' is not a time of at most a day (e.g. 8, 500ms)", v);
	return 0;
}

/* 0, 2 (usage error, said) or 3 (--help or --version: done). */
static int parse_opts(int argc, char **argv)
{
	char msg[128];
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qh", lopts, NULL)) != -1) {
		switch (c) {
		case O_BDF: o.bdf = optarg; break;
		case O_MAC: o.mac = optarg; break;
		case O_SERIAL: o.serial = optarg; break;
		case O_EXPECT_ERROR: o.expect_error = optarg; break;
		case O_EXPECT_RING: o.expect_ring = optarg; break;
		case O_EXPECT_IFACE: o.expect_iface = optarg; break;
		case O_EXPECT_DRIVER: o.expect_driver = optarg; break;
		case O_EXPECT_IOVA: o.expect_iova = optarg; break;
		case 'q': o.quiet = true; break;
		case O_RING_RESET: o.ring_reset = true; break;
		case 'h': fputs(usage_text, stdout); return 3;
		case O_VERSION: cli_print_version("uvio-vmtest"); return 3;
		case '?': case ':':
			cli_getopt_msg(c, argv, msg, sizeof(msg));
			return USAGE("%s", msg);
		default:
			if (number_opt(c, optarg))
				return 2;
		}
	}
	if (optind != argc)
		return USAGE("unexpected argument '%s'", argv[optind]);
	if (!o.bdf)
		return USAGE("missing --bdf BDF (e.g. --bdf 0000:00:04.0)");
	return 0;
}

int main(int argc, char **argv)
{
	int c = parse_opts(argc, argv);

	if (c)
		return c == 3 ? 0 : c;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.ring_reset)
		return vmtest_ring_reset(o.bdf);
	c = run();
	if (!o.expect_error)
		return c ? 1 : 0;
	if (c == 0)
		fprintf(stderr, "uvio-vmtest: expected an error with '%s', but everything worked\n",
			o.expect_error);
	return o.error_matched ? 0 : 1;
}
