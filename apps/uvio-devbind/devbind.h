/* SPDX-License-Identifier: MIT */
/*
 * uvio-devbind's parts: options.c parses and dispatches, status.c shows and
 * binds devices, hugepages.c reserves, shows and mounts hugepages, sysfs.c
 * reads the files they share. Every sysfs path starts at UVIO_SYSFS_ROOT
 * (default /sys), as in libuvio, so the tests can run over a fake tree.
 *
 * Exit status: 0 on success; 1 with one error line; 2 on a usage error.
 */
#ifndef UVIO_DEVBIND_H
#define UVIO_DEVBIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uvio/pci.h>

#define DB_PROG "uvio-devbind"
#define DB_HUGEPAGES_MNT "/dev/hugepages"

/* options.c: the whole program, main() minus nothing. */
int devbind_run(int argc, char **argv);

/* sysfs.c */
const char *db_sysfs_root(void);
int db_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int db_read_u64(const char *path, uint64_t *val);
bool db_is_dir(const char *path);
/* "2M", "1G", "64K": a size in kB the way --pagesize takes it. */
void db_fmt_kb(uint64_t kb, char *buf, size_t len);

/* status.c */
int db_status(void);
int db_bind(enum uvio_pci_driver drv, bool force, int argc, char **argv);
/* The kernel's names for the device: "eth0", "vda" ("" when none). */
void db_kernel_names(const struct uvio_pci_addr *a, char *out, size_t len);

/* hugepages.c. A page size is in kB; node -1 means every node. */
struct db_huge {
	uint64_t count;
	uint64_t page_kb;   /* 0: the default size */
	int node;           /* -1: not per node */
};
/* Default size resolved, page size and node checked: 0, or 1 (printed). */
int db_huge_check(struct db_huge *h);
/* Write the count and read back what the kernel gave: 0 or 1 (printed). */
int db_huge_reserve(const struct db_huge *h);
/* A hugetlbfs mount for the page size, made when there is none: its
 * directory in dir. 0 or 1 (printed). */
int db_huge_mount(uint64_t page_kb, char *dir, size_t len);
int db_huge_clear(const struct db_huge *h);
int db_huge_show(void);

#endif
