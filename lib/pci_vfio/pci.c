/* SPDX-License-Identifier: MIT */
/*
 * PCI devices through sysfs: addresses, the scan for virtio devices, probe,
 * bind/unbind (driver_override + drivers_probe), the "is the kernel still
 * using it" checks, and the config/BAR accessors every bus shares.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <stdarg.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/virtio_pci.h>

#include "pci_internal.h"

/* ---- addresses ---------------------------------------------------------- */

static int parse_hex(const char **p, unsigned maxdigits, unsigned *out)
{
	unsigned v = 0, n = 0;

	while (n < maxdigits && isxdigit((unsigned char)**p)) {
		char c = (char)tolower((unsigned char)**p);

		v = v * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
		(*p)++;
		n++;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int uvio_pci_addr_parse(const char *s, struct uvio_pci_addr *addr)
{
	unsigned a, b, d, f, dom = 0;
	const char *p = s;

	if (!s || !addr)
		return -EINVAL;
	if (parse_hex(&p, 4, &a) || *p++ != ':')
		return -EINVAL;
	if (parse_hex(&p, 2, &b))
		return -EINVAL;
	if (*p == ':') {
		/* dddd:bb:dd.f */
		p++;
		dom = a;
		a = b;
		if (parse_hex(&p, 2, &b))
			return -EINVAL;
	} else if (a > 0xff) {
		return -EINVAL;
	}
	/* now a = bus, b = device */
	if (*p++ != '.')
		return -EINVAL;
	if (parse_hex(&p, 1, &f) || *p != '\0')
		return -EINVAL;
	d = b;
	if (d > 0x1f || f > 7)
		return -EINVAL;
	addr->domain = (uint16_t)dom;
	addr->bus = (uint8_t)a;
	addr->dev = (uint8_t)d;
	addr->func = (uint8_t)f;
	return 0;
}

void uvio_pci_addr_format(const struct uvio_pci_addr *addr,
			  char buf[UVIO_PCI_ADDR_LEN])
{
	uvio_pci_fmt(buf, UVIO_PCI_ADDR_LEN, "%04x:%02x:%02x.%x", addr->domain,
		 addr->bus, addr->dev, addr->func);
}

/* ---- sysfs -------------------------------------------------------------- */

int uvio_pci_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

const char *uvio_pci_sysfs_root(void)
{
	const char *r = getenv("UVIO_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

int uvio_pci_sysfs_path(char *buf, size_t len, const struct uvio_pci_addr *a,
			const char *file)
{
	char bdf[UVIO_PCI_ADDR_LEN];

	uvio_pci_addr_format(a, bdf);
	return uvio_pci_fmt(buf, len, "%s/bus/pci/devices/%s%s%s",
			    uvio_pci_sysfs_root(), bdf, file && *file ? "/" : "",
			    file ? file : "");
}

int uvio_pci_sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int uvio_pci_sysfs_write(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static int sysfs_read_ulong(const char *path, unsigned long *v)
{
	char buf[64], *end;
	int rc = uvio_pci_sysfs_read(path, buf, sizeof(buf));

	if (rc)
		return rc;
	errno = 0;
	*v = strtoul(buf, &end, 0);
	return errno || end == buf ? -EINVAL : 0;
}

/* Basename of the symlink `path` points to, "" when it does not exist. */
static int link_basename(const char *path, char *out, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *b;

	out[0] = '\0';
	if (n < 0)
		return -errno;
	target[n] = '\0';
	b = strrchr(target, '/');
	uvio_pci_fmt(out, len, "%s", b ? b + 1 : target);
	return 0;
}

int uvio_pci_iommu_group(const struct uvio_pci_addr *a)
{
	char path[PATH_MAX], name[32], *end;
	long g;

	if (uvio_pci_sysfs_path(path, sizeof(path), a, "iommu_group") ||
	    link_basename(path, name, sizeof(name)))
		return -1;
	g = strtol(name, &end, 10);
	return *end || g < 0 || g > INT_MAX ? -1 : (int)g;
}

/* ---- probe / scan ------------------------------------------------------- */

static const char *drv_sysfs_name(enum uvio_pci_driver drv)
{
	switch (drv) {
	case UVIO_PCI_DRV_VFIO: return "vfio-pci";
	case UVIO_PCI_DRV_UIO:  return "uio_pci_generic";
	default:                return NULL;
	}
}

/* Walk the capability list in a config-space snapshot for the virtio
 * vendor capability of the common configuration (spec 4.1.4.3). */
static bool cfg_has_virtio_common_cap(const uint8_t *cfg, size_t len)
{
	unsigned pos, loops = 0;

	if (len < 64 || !(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return false;
	pos = cfg[PCI_CAPABILITY_LIST] & ~3u;
	while (pos >= 0x40 && pos + 4 <= len && loops++ < 48) {
		if (cfg[pos] == PCI_CAP_ID_VNDR &&
		    cfg[pos + 3] == VIRTIO_PCI_CAP_COMMON_CFG)
			return true;
		pos = cfg[pos + 1] & ~3u;
	}
	return false;
}

int uvio_pci_probe(const struct uvio_pci_addr *addr,
		   struct uvio_pci_info *info, struct uvio_err *err)
{
	char path[PATH_MAX], bdf[UVIO_PCI_ADDR_LEN];
	unsigned long vendor, device, subdev = 0, node;
	struct stat st;
	uint8_t cfg[256];
	ssize_t n;
	int fd;

	uvio_pci_addr_format(addr, bdf);
	memset(info, 0, sizeof(*info));
	info->addr = *addr;
	if (uvio_pci_sysfs_path(path, sizeof(path), addr, NULL) ||
	    stat(path, &st) != 0)
		return uvio_err_set(err, -ENODEV,
				    "%s: no such PCI device (see 'uvio-devbind --status')",
				    bdf);
	uvio_pci_sysfs_path(path, sizeof(path), addr, "vendor");
	if (sysfs_read_ulong(path, &vendor))
		return uvio_err_set(err, -EIO, "%s: cannot read %s", bdf, path);
	uvio_pci_sysfs_path(path, sizeof(path), addr, "device");
	if (sysfs_read_ulong(path, &device))
		return uvio_err_set(err, -EIO, "%s: cannot read %s", bdf, path);
	info->vendor_id = (uint16_t)vendor;
	info->device_id = (uint16_t)device;
	if (vendor != UVIO_PCI_VENDOR_VIRTIO ||
	    device < UVIO_PCI_DEVICE_TRANS_FIRST ||
	    device > UVIO_PCI_DEVICE_MODERN_LAST)
		return uvio_err_set(err, -ENOTSUP,
				    "%s: not a virtio device (vendor %04lx device %04lx)",
				    bdf, vendor, device);
	if (device >= UVIO_PCI_DEVICE_MODERN_BASE) {
		info->virtio_type = (uint16_t)(device - UVIO_PCI_DEVICE_MODERN_BASE);
	} else {
		/* Transitional: the subsystem device id is the virtio id
		 * (spec 4.1.2.3). */
		uvio_pci_sysfs_path(path, sizeof(path), addr, "subsystem_device");
		sysfs_read_ulong(path, &subdev);
		info->virtio_type = (uint16_t)subdev;
		info->legacy_capable = true;
	}

	uvio_pci_sysfs_path(path, sizeof(path), addr, "config");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, cfg, sizeof(cfg), 0);
		close(fd);
		if (n > 0)
			info->modern_capable = cfg_has_virtio_common_cap(cfg, (size_t)n);
	}
	uvio_pci_sysfs_path(path, sizeof(path), addr, "numa_node");
	info->numa_node = -1;
	if (sysfs_read_ulong(path, &node) == 0 && (long)node >= 0 && node < 4096)
		info->numa_node = (int)node;
	info->iommu_group = uvio_pci_iommu_group(addr);

	uvio_pci_sysfs_path(path, sizeof(path), addr, "driver");
	link_basename(path, info->driver_name, sizeof(info->driver_name));
	if (!info->driver_name[0])
		info->driver = UVIO_PCI_DRV_NONE;
	else if (!strcmp(info->driver_name, "vfio-pci"))
		info->driver = UVIO_PCI_DRV_VFIO;
	else if (!strcmp(info->driver_name, "uio_pci_generic"))
		info->driver = UVIO_PCI_DRV_UIO;
	else
		info->driver = UVIO_PCI_DRV_KERNEL;
	uvio_err_clear(err);
	return 0;
}

static int addr_cmp(const void *a, const void *b)
{
	const struct uvio_pci_info *x = a, *y = b;
	uint64_t kx = (uint64_t)x->addr.domain << 16 | x->addr.bus << 8 |
		      x->addr.dev << 3 | x->addr.func;
	uint64_t ky = (uint64_t)y->addr.domain << 16 | y->addr.bus << 8 |
		      y->addr.dev << 3 | y->addr.func;

	return kx < ky ? -1 : kx > ky;
}

int uvio_pci_scan(struct uvio_pci_info *out, unsigned max,
		  struct uvio_err *err)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned found = 0;
	DIR *d;

	uvio_pci_fmt(path, sizeof(path), "%s/bus/pci/devices", uvio_pci_sysfs_root());
	d = opendir(path);
	if (!d)
		return uvio_err_set(err, -errno, "cannot list %s: %s (is sysfs mounted?)",
				    path, strerror(errno));
	while ((de = readdir(d))) {
		struct uvio_pci_addr a;
		struct uvio_pci_info info;

		if (de->d_name[0] == '.' || uvio_pci_addr_parse(de->d_name, &a))
			continue;
		if (uvio_pci_probe(&a, &info, NULL))
			continue;
		if (found < max)
			out[found] = info;
		found++;
	}
	closedir(d);
	if (out && found)
		qsort(out, found < max ? found : max, sizeof(*out), addr_cmp);
	uvio_err_clear(err);
	return (int)(found > INT_MAX ? INT_MAX : found);
}

/* ---- is the kernel still using it? -------------------------------------- */

/* The virtioN child of a device bound to virtio-pci: its sysfs path. */
static int virtio_child(const struct uvio_pci_addr *a, char *out, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = -ENOENT;

	uvio_pci_sysfs_path(path, sizeof(path), a, NULL);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "virtio", 6) && isdigit((unsigned char)de->d_name[6])) {
			uvio_pci_fmt(out, len, "%s/%s", path, de->d_name);
			rc = 0;
			break;
		}
	}
	closedir(d);
	return rc;
}

static bool dir_nonempty(const char *path)
{
	struct dirent *de;
	bool any = false;
	DIR *d = opendir(path);

	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

/* Is block device `dev` (major:minor) mounted or used as swap? Names what
 * uses it in `why`. */
static bool blkdev_used(unsigned maj, unsigned min, const char *name,
			char *why, size_t len)
{
	char line[1024];
	FILE *f;
	bool used = false;

	f = fopen("/proc/self/mountinfo", "re");
	while (f && !used && fgets(line, sizeof(line), f)) {
		unsigned mj, mn;
		char mnt[512];

		/* "id parent maj:min root mountpoint ..." */
		if (sscanf(line, "%*u %*u %u:%u %*s %511s", &mj, &mn, mnt) == 3 &&
		    mj == maj && mn == min) {
			uvio_pci_fmt(why, len, "/dev/%s is mounted on %s", name, mnt);
			used = true;
		}
	}
	if (f)
		fclose(f);
	f = fopen("/proc/swaps", "re");
	while (f && !used && fgets(line, sizeof(line), f)) {
		char file[512];
		struct stat st;

		if (sscanf(line, "%511s", file) == 1 && stat(file, &st) == 0 &&
		    S_ISBLK(st.st_mode) && major(st.st_rdev) == maj &&
		    minor(st.st_rdev) == min) {
			uvio_pci_fmt(why, len, "/dev/%s is used as swap", name);
			used = true;
		}
	}
	if (f)
		fclose(f);
	return used;
}

/* `dir` is /sys/block/<disk> or a partition directory under it. */
static bool blk_node_used(const char *dir, const char *name, char *why,
			  size_t len)
{
	char path[PATH_MAX], buf[32];
	unsigned maj, min;

	uvio_pci_fmt(path, sizeof(path), "%s/holders", dir);
	if (dir_nonempty(path)) {
		uvio_pci_fmt(why, len, "/dev/%s is held by another device (see %s)",
			 name, path);
		return true;
	}
	uvio_pci_fmt(path, sizeof(path), "%s/dev", dir);
	if (uvio_pci_sysfs_read(path, buf, sizeof(buf)) == 0 &&
	    sscanf(buf, "%u:%u", &maj, &min) == 2)
		return blkdev_used(maj, min, name, why, len);
	return false;
}

static bool blk_in_use(const char *child, char *why, size_t len)
{
	char path[PATH_MAX], disk[PATH_MAX + 256];
	struct dirent *de, *pe;
	bool used = false;
	DIR *d, *pd;

	uvio_pci_fmt(path, sizeof(path), "%s/block", child);
	d = opendir(path);
	if (!d)
		return false;
	while (!used && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		uvio_pci_fmt(disk, sizeof(disk), "%s/%s", path, de->d_name);
		used = blk_node_used(disk, de->d_name, why, len);
		/* Partitions are subdirectories named after the disk. */
		pd = opendir(disk);
		while (!used && pd && (pe = readdir(pd))) {
			char part[PATH_MAX + 512];

			if (strncmp(pe->d_name, de->d_name, strlen(de->d_name)) ||
			    !strcmp(pe->d_name, de->d_name))
				continue;
			uvio_pci_fmt(part, sizeof(part), "%s/%s", disk, pe->d_name);
			used = blk_node_used(part, pe->d_name, why, len);
		}
		if (pd)
			closedir(pd);
	}
	closedir(d);
	return used;
}

/* A netdev is in use when it is up and has an address (other than IPv6
 * link-local, which the kernel adds by itself) or an IPv4 route. */
static bool netdev_in_use(const char *ifname, char *why, size_t len)
{
	char path[PATH_MAX], line[512];
	unsigned long flags = 0;
	struct ifaddrs *ifa, *i;
	bool has_addr = false, has_route = false;
	FILE *f;

	uvio_pci_fmt(path, sizeof(path), "%s/class/net/%s/flags", uvio_pci_sysfs_root(),
		 ifname);
	if (sysfs_read_ulong(path, &flags) || !(flags & IFF_UP))
		return false;
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || strcmp(i->ifa_name, ifname))
				continue;
			if (i->ifa_addr->sa_family == AF_INET)
				has_addr = true;
			if (i->ifa_addr->sa_family == AF_INET6) {
				const struct sockaddr_in6 *s6 =
					(const struct sockaddr_in6 *)(void *)i->ifa_addr;

				if (!IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
					has_addr = true;
			}
		}
		freeifaddrs(ifa);
	}
	f = fopen("/proc/net/route", "re");
	while (f && !has_route && fgets(line, sizeof(line), f)) {
		char name[IF_NAMESIZE + 1];

		if (sscanf(line, "%16s", name) == 1 && !strcmp(name, ifname))
			has_route = true;
	}
	if (f)
		fclose(f);
	if (!has_addr && !has_route)
		return false;
	uvio_pci_fmt(why, len, "netdev %s is up with %s", ifname,
		 has_addr && has_route ? "addresses and routes" :
		 has_addr ? "addresses" : "routes");
	return true;
}

static bool net_in_use(const char *child, char *why, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool used = false;
	DIR *d;

	uvio_pci_fmt(path, sizeof(path), "%s/net", child);
	d = opendir(path);
	if (!d)
		return false;
	while (!used && (de = readdir(d)))
		if (de->d_name[0] != '.')
			used = netdev_in_use(de->d_name, why, len);
	closedir(d);
	return used;
}

/* A process that holds /dev/vfio/<group> open: its pid, or 0. */
static long vfio_group_user(int group)
{
	char want[64], path[PATH_MAX], target[PATH_MAX];
	struct dirent *pe, *fe;
	DIR *pd, *fd;
	long pid = 0;

	uvio_pci_fmt(want, sizeof(want), "/dev/vfio/%d", group);
	pd = opendir("/proc");
	while (pd && !pid && (pe = readdir(pd))) {
		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		uvio_pci_fmt(path, sizeof(path), "/proc/%s/fd", pe->d_name);
		fd = opendir(path);
		while (fd && !pid && (fe = readdir(fd))) {
			char link[PATH_MAX + 256];
			ssize_t n;

			uvio_pci_fmt(link, sizeof(link), "%s/%s", path, fe->d_name);
			n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (!strcmp(target, want) ||
			    (!strncmp(target, "/dev/vfio/noiommu-", 18) &&
			     atoi(target + 18) == group))
				pid = atol(pe->d_name);
		}
		if (fd)
			closedir(fd);
	}
	if (pd)
		closedir(pd);
	return pid;
}

/* Is the device's current driver in use? The reason goes to `why`. The one
 * test behind both the bind refusal and uvio-devbind --status's *Active*. */
static bool device_in_use(const struct uvio_pci_info *info, char *why,
			  size_t len)
{
	char child[PATH_MAX];
	long pid;

	why[0] = '\0';
	if (info->driver == UVIO_PCI_DRV_KERNEL &&
	    virtio_child(&info->addr, child, sizeof(child)) == 0)
		return blk_in_use(child, why, len) || net_in_use(child, why, len);
	if (info->driver != UVIO_PCI_DRV_VFIO || info->iommu_group < 0)
		return false;
	pid = vfio_group_user(info->iommu_group);
	if (pid)
		uvio_pci_fmt(why, len, "/dev/vfio/%d is open in process %ld",
			     info->iommu_group, pid);
	return pid != 0;
}

/* -EBUSY with the reason when the device's current driver is in use. */
static int check_in_use(const struct uvio_pci_info *info, struct uvio_err *err)
{
	char bdf[UVIO_PCI_ADDR_LEN], why[PATH_MAX];

	if (!device_in_use(info, why, sizeof(why)))
		return 0;
	uvio_pci_addr_format(&info->addr, bdf);
	return uvio_err_set(err, -EBUSY,
			    "%s: in use: %s; stop using it or pass --force",
			    bdf, why);
}

int uvio_pci_in_use(const struct uvio_pci_addr *addr, char *why, size_t len)
{
	struct uvio_pci_info info;
	char none[1];
	int rc;

	if (!why || !len) {
		why = none;
		len = sizeof(none);
	}
	why[0] = '\0';
	rc = uvio_pci_probe(addr, &info, NULL);
	if (rc)
		return rc;
	return device_in_use(&info, why, len);
}

/* ---- bind / unbind ------------------------------------------------------ */

static int unbind_current(const struct uvio_pci_info *info, struct uvio_err *err)
{
	char path[PATH_MAX], bdf[UVIO_PCI_ADDR_LEN];
	int rc;

	if (info->driver == UVIO_PCI_DRV_NONE)
		return 0;
	uvio_pci_addr_format(&info->addr, bdf);
	uvio_pci_sysfs_path(path, sizeof(path), &info->addr, "driver/unbind");
	rc = uvio_pci_sysfs_write(path, bdf);
	if (rc == -EACCES || rc == -EPERM)
		return uvio_err_set(err, rc, "%s: cannot unbind from %s: need root",
				    bdf, info->driver_name);
	if (rc)
		return uvio_err_set(err, rc, "%s: cannot unbind from %s: %s", bdf,
				    info->driver_name, strerror(-rc));
	return 0;
}

/* Set driver_override (NULL clears it) and ask the bus to probe. */
static int override_and_probe(const struct uvio_pci_addr *a, const char *drv,
			      struct uvio_err *err)
{
	char path[PATH_MAX], bdf[UVIO_PCI_ADDR_LEN];
	int rc;

	uvio_pci_addr_format(a, bdf);
	uvio_pci_sysfs_path(path, sizeof(path), a, "driver_override");
	rc = uvio_pci_sysfs_write(path, drv ? drv : "\n");
	if (rc)
		return uvio_err_set(err, rc, "%s: cannot write %s: %s%s", bdf, path,
				    strerror(-rc),
				    rc == -EACCES || rc == -EPERM ? " (need root)" : "");
	uvio_pci_fmt(path, sizeof(path), "%s/bus/pci/drivers_probe", uvio_pci_sysfs_root());
	/* A failing probe is seen below, by looking at the driver link. */
	uvio_pci_sysfs_write(path, bdf);
	return 0;
}

int uvio_pci_bind(const struct uvio_pci_addr *addr, enum uvio_pci_driver drv,
		  bool force, struct uvio_err *err)
{
	char path[PATH_MAX], bdf[UVIO_PCI_ADDR_LEN], buf[64];
	const char *name = drv_sysfs_name(drv);
	struct uvio_pci_info info;
	struct stat st;
	int rc;

	uvio_pci_addr_format(addr, bdf);
	if (!name)
		return uvio_err_set(err, -EINVAL,
				    "%s: can only bind to vfio-pci or uio_pci_generic", bdf);
	rc = uvio_pci_probe(addr, &info, err);
	if (rc)
		return rc;
	if (info.driver == drv)
		return 0;
	uvio_pci_fmt(path, sizeof(path), "%s/bus/pci/drivers/%s", uvio_pci_sysfs_root(), name);
	if (stat(path, &st) != 0)
		return uvio_err_set(err, -ENOENT,
				    "%s: driver %s is not loaded; run 'modprobe %s'",
				    bdf, name, name);
	if (drv == UVIO_PCI_DRV_VFIO && info.iommu_group < 0) {
		uvio_pci_fmt(path, sizeof(path),
			 "%s/module/vfio/parameters/enable_unsafe_noiommu_mode",
			 uvio_pci_sysfs_root());
		if (uvio_pci_sysfs_read(path, buf, sizeof(buf)) || buf[0] != 'Y')
			return uvio_err_set(err, -ENODEV,
					    "%s: no IOMMU group: boot with intel_iommu=on, or load vfio with enable_unsafe_noiommu_mode=1, or use uio_pci_generic",
					    bdf);
	}
	if (drv == UVIO_PCI_DRV_UIO && info.iommu_group >= 0 && !force) {
		uvio_pci_fmt(path, sizeof(path), "%s/kernel/iommu_groups/%d/type",
			 uvio_pci_sysfs_root(), info.iommu_group);
		if (uvio_pci_sysfs_read(path, buf, sizeof(buf)) == 0 &&
		    !strncmp(buf, "DMA", 3))
			return uvio_err_set(err, -EINVAL,
					    "%s: the IOMMU translates DMA for group %d (type %s), so uio_pci_generic cannot work: use vfio-pci, or boot with iommu=pt (or pass --force)",
					    bdf, info.iommu_group, buf);
	}
	if (!force) {
		rc = check_in_use(&info, err);
		if (rc)
			return rc;
	}
	rc = unbind_current(&info, err);
	if (rc)
		return rc;
	rc = override_and_probe(addr, name, err);
	if (rc)
		return rc;
	rc = uvio_pci_probe(addr, &info, err);
	if (rc)
		return rc;
	if (info.driver != drv) {
		/* Do not leave it orphaned: back to its kernel driver. */
		override_and_probe(addr, NULL, NULL);
		return uvio_err_set(err, -EIO,
				    "%s: %s did not take the device (see dmesg)",
				    bdf, name);
	}
	return 0;
}

int uvio_pci_unbind(const struct uvio_pci_addr *addr, struct uvio_err *err)
{
	struct uvio_pci_info info;
	int rc;

	rc = uvio_pci_probe(addr, &info, err);
	if (rc)
		return rc;
	if (info.driver == UVIO_PCI_DRV_KERNEL)
		return 0;
	/* Unbinding vfio-pci blocks until its user lets go: refuse instead. */
	rc = check_in_use(&info, err);
	if (rc)
		return rc;
	rc = unbind_current(&info, err);
	if (rc)
		return rc;
	return override_and_probe(addr, NULL, err);
}
