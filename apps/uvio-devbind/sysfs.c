/* SPDX-License-Identifier: MIT */
/* What status.c and hugepages.c both read: sysfs numbers and directories. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cli.h"
#include "devbind.h"

const char *db_sysfs_root(void)
{
	const char *r = getenv("UVIO_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

int db_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, DB_PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int db_read_u64(const char *path, uint64_t *val)
{
	char buf[64];
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return cli_parse_uint(buf, 0, UINT64_MAX, val);
}

bool db_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void db_fmt_kb(uint64_t kb, char *buf, size_t len)
{
	if (kb && kb % (1024 * 1024) == 0)
		snprintf(buf, len, "%" PRIu64 "G", kb / (1024 * 1024));
	else if (kb && kb % 1024 == 0)
		snprintf(buf, len, "%" PRIu64 "M", kb / 1024);
	else
		snprintf(buf, len, "%" PRIu64 "K", kb);
}
