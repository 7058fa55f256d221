/* SPDX-License-Identifier: MIT */
/*
 * --hugepages, --clear, --show, as dpdk-hugepages.py does them: the
 * per-size files in SYSFS/kernel/mm/hugepages/hugepages-<kB>kB/ and, per
 * NUMA node, in SYSFS/devices/system/node/nodeN/hugepages/. The kernel may
 * give fewer pages than asked (memory fragmented, or too little), so every
 * count written is read back.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "../common/cli.h"
#include "devbind.h"

#define MAX_SIZES 8
#define MAX_NODES 256
#define MAX_MOUNTS 16

struct hmount {
	char dir[256];
	uint64_t page_kb;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* The page sizes this CPU and kernel have, ascending. */
static int page_sizes(uint64_t *kb, int max)
{
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/kernel/mm/hugepages", db_sysfs_root());
	d = opendir(path);
	while (d && n < max && (de = readdir(d))) {
		unsigned long long v;
		char tail[4];

		if (sscanf(de->d_name, "hugepages-%llukB%3s", &v, tail) == 1 && v)
			kb[n++] = v;
	}
	if (d)
		closedir(d);
	qsort(kb, (size_t)n, sizeof(*kb), cmp_u64);
	return n;
}

/* The NUMA nodes sysfs shows, ascending; 0 on a kernel without NUMA. */
static int numa_nodes(int *node, int max)
{
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/devices/system/node", db_sysfs_root());
	d = opendir(path);
	while (d && n < max && (de = readdir(d))) {
		int v;
		char tail[2];

		if (sscanf(de->d_name, "node%d%1s", &v, tail) == 1 && v >= 0)
			node[n++] = v;
	}
	if (d)
		closedir(d);
	qsort(node, (size_t)n, sizeof(*node), cmp_int);
	return n;
}

/* Hugepagesize in /proc/meminfo; else the smallest size sysfs has. */
static uint64_t default_kb(const uint64_t *sizes, int n)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && !kb && fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) != 1)
			kb = 0;
	if (f)
		fclose(f);
	for (int i = 0; kb && i < n; i++)
		if (sizes[i] == kb)
			return kb;
	return n ? sizes[0] : 0;
}

/* SYSFS/.../hugepages-<kB>kB/FILE for one node, or for all (node < 0). */
static void huge_path(char *buf, size_t len, int node, uint64_t kb,
		      const char *file)
{
	if (node < 0)
		snprintf(buf, len, "%s/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s",
			 db_sysfs_root(), kb, file);
	else
		snprintf(buf, len,
			 "%s/devices/system/node/node%d/hugepages/hugepages-%" PRIu64 "kB/%s",
			 db_sysfs_root(), node, kb, file);
}

static void list_sizes(const uint64_t *kb, int n, char *out, size_t len)
{
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t used = strlen(out);

		snprintf(out + used, len - used, "%s", used ? " " : "");
		used = strlen(out);
		db_fmt_kb(kb[i], out + used, len - used);
	}
}

static int check_node(int node)
{
	int nodes[MAX_NODES], n = numa_nodes(nodes, MAX_NODES);
	char list[512] = "";

	for (int i = 0; i < n; i++) {
		size_t used = strlen(list);

		if (nodes[i] == node)
			return 0;
		snprintf(list + used, sizeof(list) - used, "%s%d", used ? " " : "",
			 nodes[i]);
	}
	if (!n)
		return db_fail("no NUMA node %d: this kernel shows no NUMA nodes (%s/devices/system/node)",
			       node, db_sysfs_root());
	return db_fail("no NUMA node %d (nodes here: %s)", node, list);
}

int db_huge_check(struct db_huge *h)
{
	uint64_t sizes[MAX_SIZES];
	int n = page_sizes(sizes, MAX_SIZES);
	char want[32], have[256];

	if (!n)
		return db_fail("no hugepage sizes in %s/kernel/mm/hugepages (kernel without hugetlbfs?)",
			       db_sysfs_root());
	if (!h->page_kb)
		h->page_kb = default_kb(sizes, n);
	for (int i = 0; i < n; i++)
		if (sizes[i] == h->page_kb)
			return h->node >= 0 ? check_node(h->node) : 0;
	db_fmt_kb(h->page_kb, want, sizeof(want));
	list_sizes(sizes, n, have, sizeof(have));
	return db_fail("no %s hugepages on this CPU (page sizes here: %s)", want,
		       have);
}

static int write_count(const char *path, uint64_t n)
{
	FILE *f = fopen(path, "we");
	int rc = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%" PRIu64 "\n", n) < 0)
		rc = -EIO;
	if (fclose(f) == EOF && !rc)
		rc = -errno;
	return rc;
}

static int short_of(const struct db_huge *h, uint64_t got)
{
	char size[32], where[32] = "";

	db_fmt_kb(h->page_kb, size, sizeof(size));
	if (h->node >= 0)
		snprintf(where, sizeof(where), " on node %d", h->node);
	if (got > h->count)
		return db_fail("%" PRIu64 " %s hugepages%s are still in use (asked for %" PRIu64 "): stop the programs using them and remove their files from hugetlbfs",
			       got, size, where, h->count);
	return db_fail("only %" PRIu64 " of %" PRIu64 " %s hugepages could be reserved%s (too little free memory, or fragmented): ask for fewer, or boot with hugepagesz=%s hugepages=%" PRIu64,
		       got, h->count, size, where, size, h->count);
}

int db_huge_reserve(const struct db_huge *h)
{
	char path[PATH_MAX];
	uint64_t got = 0;
	int rc;

	huge_path(path, sizeof(path), h->node, h->page_kb, "nr_hugepages");
	rc = write_count(path, h->count);
	if (rc == -EACCES || rc == -EPERM || rc == -EROFS)
		return db_fail("cannot write %s: need root", path);
	if (rc)
		return db_fail("cannot write %s: %s", path, strerror(-rc));
	rc = db_read_u64(path, &got);
	if (rc)
		return db_fail("cannot read back %s: %s", path, strerror(-rc));
	return got == h->count ? 0 : short_of(h, got);
}

/* /proc/mounts escapes a space as \040; such a directory is left out. */
static int hugetlbfs_mounts(struct hmount *m, int max, uint64_t def_kb)
{
	char line[1024], dir[256], type[64], opts[512];
	FILE *f = fopen("/proc/mounts", "re");
	int n = 0;

	while (f && n < max && fgets(line, sizeof(line), f)) {
		const char *ps;
		uint64_t bytes;

		if (sscanf(line, "%*s %255s %63s %511s", dir, type, opts) != 3 ||
		    strcmp(type, "hugetlbfs") || strchr(dir, '\\'))
			continue;
		snprintf(m[n].dir, sizeof(m[n].dir), "%s", dir);
		m[n].page_kb = def_kb;
		ps = strstr(opts, "pagesize=");
		if (ps) {
			char val[32];

			snprintf(val, sizeof(val), "%.*s", (int)strcspn(ps + 9, ","), ps + 9);
			if (cli_parse_size(val, &bytes) == 0)
				m[n].page_kb = bytes / 1024;
		}
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

static uint64_t current_default_kb(void)
{
	uint64_t sizes[MAX_SIZES];

	return default_kb(sizes, page_sizes(sizes, MAX_SIZES));
}

/* DB_HUGEPAGES_MNT when it is free, else DB_HUGEPAGES_MNT-<size>. The
 * directory used goes to dir. */
int db_huge_mount(uint64_t page_kb, char *dir, size_t len)
{
	struct hmount m[MAX_MOUNTS];
	int n = hugetlbfs_mounts(m, MAX_MOUNTS, current_default_kb());
	char size[32], opt[64];
	bool taken = false;

	for (int i = 0; i < n; i++) {
		if (m[i].page_kb == page_kb) {
			snprintf(dir, len, "%s", m[i].dir);
			return 0;
		}
		taken |= !strcmp(m[i].dir, DB_HUGEPAGES_MNT);
	}
	db_fmt_kb(page_kb, size, sizeof(size));
	snprintf(dir, len, "%s%s%s", DB_HUGEPAGES_MNT, taken ? "-" : "",
		 taken ? size : "");
	snprintf(opt, sizeof(opt), "pagesize=%" PRIu64 "K", page_kb);
	mkdir(dir, 0755);
	if (mount("nodev", dir, "hugetlbfs", 0, opt))
		return db_fail("cannot mount hugetlbfs (%s pages) on %s: %s%s", size,
			       dir, strerror(errno), errno == EPERM ? " (need root)" : "");
	return 0;
}

/* Without --pagesize every size is cleared, as dpdk-hugepages --clear does. */
int db_huge_clear(const struct db_huge *h)
{
	uint64_t sizes[MAX_SIZES];
	int n = page_sizes(sizes, MAX_SIZES), rc = 0;

	for (int i = 0; i < n && !rc; i++) {
		struct db_huge one = { 0, sizes[i], h->node };

		if (!h->page_kb || h->page_kb == sizes[i])
			rc = db_huge_reserve(&one);
	}
	return rc;
}

static void show_row(const char *node, int nnode, uint64_t kb)
{
	char path[PATH_MAX], size[32], mem[32];
	uint64_t total = 0, free_pages = 0;

	huge_path(path, sizeof(path), nnode, kb, "nr_hugepages");
	db_read_u64(path, &total);
	huge_path(path, sizeof(path), nnode, kb, "free_hugepages");
	db_read_u64(path, &free_pages);
	db_fmt_kb(kb, size, sizeof(size));
	db_fmt_kb(total * kb, mem, sizeof(mem));
	printf("%-5s %-5s %-7" PRIu64 " %-7" PRIu64 " %s\n", node, size, total,
	       free_pages, total ? mem : "0");
}

static void show_mounts(uint64_t def_kb)
{
	struct hmount m[MAX_MOUNTS];
	int n = hugetlbfs_mounts(m, MAX_MOUNTS, def_kb);
	char size[32];

	for (int i = 0; i < n; i++) {
		db_fmt_kb(m[i].page_kb, size, sizeof(size));
		printf("hugetlbfs on %s (%s pages)\n", m[i].dir, size);
	}
	if (!n)
		printf("hugetlbfs is not mounted (uvio-devbind --hugepages N mounts it on %s)\n",
		       DB_HUGEPAGES_MNT);
}

/* Per node and page size, then the whole machine, then the mounts. */
int db_huge_show(void)
{
	uint64_t sizes[MAX_SIZES];
	int nodes[MAX_NODES], ns = page_sizes(sizes, MAX_SIZES);
	int nn = numa_nodes(nodes, MAX_NODES);
	char name[16], def[32];

	if (!ns)
		return db_fail("no hugepage sizes in %s/kernel/mm/hugepages (kernel without hugetlbfs?)",
			       db_sysfs_root());
	printf("%-5s %-5s %-7s %-7s %s\n", "NODE", "SIZE", "TOTAL", "FREE", "MEMORY");
	for (int i = 0; i < nn; i++)
		for (int s = 0; s < ns; s++) {
			snprintf(name, sizeof(name), "%d", nodes[i]);
			show_row(name, nodes[i], sizes[s]);
		}
	for (int s = 0; s < ns; s++)
		show_row("all", -1, sizes[s]);
	db_fmt_kb(default_kb(sizes, ns), def, sizeof(def));
	printf("default page size %s\n", def);
	show_mounts(default_kb(sizes, ns));
	return 0;
}
