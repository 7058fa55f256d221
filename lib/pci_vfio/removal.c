/* SPDX-License-Identifier: MIT */
/*
 * Device removal: hot-unplug, or the device's driver unbound under us.
 *
 * VFIO asks first: it signals the device-request IRQ (an eventfd) and the
 * kernel's unplug waits (vfio_unregister_group_dev) until the process has
 * closed the device, re-asking every 10 s. UIO does not ask and does not
 * wait: the device is deleted under the process, and only its config
 * space (sysfs `config` fails with -ENODEV) says so. A BAR mapping the
 * kernel revokes (VFIO when it zaps, e.g. around a reset; sysfs resource
 * files on kernels that revoke them) raises SIGBUS on the next load or
 * store, which would kill the process.
 *
 * Both end in one state, "removed", kept in a record per open device:
 * - its eventfd (the VFIO request eventfd itself, or a plain one) becomes
 *   readable: uvio_pci_removal_fd(); status reads (uvio_pci_bus_poll_removed)
 *   also look at it, and at config space;
 * - BAR reads through the bus accessors return all ones and writes are
 *   dropped, so the status reads 0xff and uvio_blk_check()/uvio_net_check()
 *   say -ENODEV;
 * - a BAR access that faults completes instead. As in SPDK's NVMe driver
 *   (its SIGBUS handler maps anonymous memory over the BAR), a handler,
 *   installed once when the first device is opened, looks the faulting
 *   address up among the mapped BARs; on a hit it puts anonymous memory
 *   over every BAR mapping of that device and returns, so the access is
 *   restarted and completes. SPDK maps zeros, and its dispatcher takes a
 *   mutex in the handler; here the memory reads all ones, as a PCI master
 *   abort does, it replaces the old mapping in one mremap() (another
 *   thread never sees a hole or zeros), and no lock is taken. A fault
 *   anywhere else goes on to the handler that was there before (or to the
 *   default action).
 * uvio_pci_release() puts the same memory over the BARs, swaps the
 * device's file descriptors for /dev/null and breaks its queues, so
 * threads still polling touch nothing real, and fail what is in flight,
 * while the kernel gets the device back.
 *
 * Process-wide state (beyond the VFIO container, vfio.c): the table of
 * records, a fixed array, so that the handler needs no lock and no
 * allocation. Set-up code claims a record by compare-and-swap and fills it
 * before publishing it (state LIVE, release order); the handler reads with
 * atomic loads and calls only mmap, mremap, munmap, write, sigaction and
 * raise, all async-signal-safe system calls (and memset, safe since
 * POSIX.1-2016).
 *
 * This file is the bottom of that story and calls nothing else in the
 * folder: the config-space check and the release of a bus are pci_bus.c's
 * (uvio_pci_bus_poll_removed, uvio_pci_bus_release), the calls on a device
 * are open.c's and lib/vring/dev_recover.c's (uvio_dev_release), and the
 * VFIO request eventfd comes through the bus op request_eventfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pci_internal.h"

/* More devices than one process drives in practice; a full table refuses
 * the open rather than leave a device unprotected. */
#define RM_MAX 64

enum { RM_FREE, RM_BUSY, RM_LIVE };

struct uvio_pci_rm {
	atomic_int state;           /* RM_FREE -> RM_BUSY -> RM_LIVE -> ... */
	atomic_bool removed;
	int efd;                    /* fixed while LIVE */
	struct {
		atomic_uintptr_t va;    /* 0: not mapped; set after len */
		atomic_size_t len;      /* page-rounded */
	} bar[PCI_STD_NUM_BARS];
};

static struct uvio_pci_rm rm_table[RM_MAX];
static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;
static struct sigaction sigbus_prev;
static int sigbus_install_rc;

/* ---- all-ones memory over a BAR mapping ---------------------------------- */

/*
 * Replace [va, va + len) with private anonymous memory full of 0xff. The
 * new pages are filled first, elsewhere, then moved over the BAR in one
 * mremap(): a thread touching the BAR meanwhile sees the BAR (and maybe
 * faults, and comes here too) or all ones, never zeros. Out of memory,
 * fall back to mapping in place.
 */
static void map_ones(uintptr_t va, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED) {
		memset(p, 0xff, len);
		if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)va) != MAP_FAILED)
			return;
		munmap(p, len);
	}
	p = mmap((void *)va, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p != MAP_FAILED)
		memset(p, 0xff, len);
}

static void rm_map_ones(struct uvio_pci_rm *rm)
{
	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		uintptr_t va = atomic_load_explicit(&rm->bar[i].va, memory_order_acquire);

		if (va)
			map_ones(va, atomic_load_explicit(&rm->bar[i].len,
							  memory_order_relaxed));
	}
}

/* Set the removed flag; the first to set it signals the eventfd. */
static void rm_mark(struct uvio_pci_rm *rm)
{
	uint64_t one = 1;

	if (!atomic_exchange(&rm->removed, true) &&
	    write(rm->efd, &one, sizeof(one)) < 0) {
		/* A full eventfd counter is readable anyway. */
	}
}

/* ---- the SIGBUS handler ----------------------------------------------------- */

static struct uvio_pci_rm *rm_find(uintptr_t addr)
{
	for (int i = 0; i < RM_MAX; i++) {
		struct uvio_pci_rm *rm = &rm_table[i];

		if (atomic_load_explicit(&rm->state, memory_order_acquire) != RM_LIVE)
			continue;
		for (int b = 0; b < PCI_STD_NUM_BARS; b++) {
			uintptr_t va = atomic_load_explicit(&rm->bar[b].va,
							    memory_order_acquire);

			if (va && addr >= va &&
			    addr - va < atomic_load_explicit(&rm->bar[b].len,
							     memory_order_relaxed))
				return rm;
		}
	}
	return NULL;
}

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	int saved = errno;
	/* si_code > 0: raised by the kernel for a fault at si_addr (a kill()
	 * or sigqueue() has si_code <= 0 and no address). */
	struct uvio_pci_rm *rm = si && si->si_code > 0 ?
		rm_find((uintptr_t)si->si_addr) : NULL;

	if (rm) {
		rm_mark(rm);
		rm_map_ones(rm);
		errno = saved;
		return;       /* the access is restarted, and now reads all ones */
	}
	errno = saved;
	if (sigbus_prev.sa_flags & SA_SIGINFO) {
		sigbus_prev.sa_sigaction(sig, si, uctx);
	} else if (sigbus_prev.sa_handler != SIG_DFL &&
		   sigbus_prev.sa_handler != SIG_IGN) {
		sigbus_prev.sa_handler(sig);
	} else {
		/* The default action: restore it; a fault happens again on
		 * return and kills as it would have, a sent signal is raised
		 * again (it is blocked until we return). */
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(SIGBUS, &dfl, NULL);
		if (!si || si->si_code <= 0)
			raise(sig);
	}
}

static void sigbus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	/* The previous handler is saved before ours can run and read it. */
	if (sigaction(SIGBUS, NULL, &sigbus_prev) || sigaction(SIGBUS, &sa, NULL))
		sigbus_install_rc = -errno;
}

/* ---- the records (set-up and teardown threads) ---------------------------- */

int uvio_pci_rm_attach(struct uvio_pci_bus *bus, struct uvio_err *err)
{
	struct uvio_pci_rm *rm = NULL;
	int efd = -1;

	pthread_once(&sigbus_once, sigbus_install);
	if (sigbus_install_rc)
		return uvio_err_set(err, sigbus_install_rc,
				    "%s: cannot install the SIGBUS handler: %s",
				    bus->bdf, strerror(-sigbus_install_rc));
	for (int i = 0; i < RM_MAX && !rm; i++) {
		int want = RM_FREE;

		if (atomic_compare_exchange_strong(&rm_table[i].state, &want, RM_BUSY))
			rm = &rm_table[i];
	}
	if (!rm)
		return uvio_err_set(err, -ENOSPC, "%s: more than %d PCI devices open",
				    bus->bdf, RM_MAX);
	/* VFIO: the kernel's request eventfd; otherwise (UIO, or a kernel
	 * without the request IRQ) one only the SIGBUS handler signals. */
	if (bus->ops->request_eventfd)
		efd = bus->ops->request_eventfd(bus);
	if (efd < 0)
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0) {
		int e = -errno;

		atomic_store(&rm->state, RM_FREE);
		return uvio_err_set(err, e, "%s: eventfd: %s", bus->bdf, strerror(-e));
	}
	rm->efd = efd;
	atomic_store(&rm->removed, false);
	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		atomic_store(&rm->bar[i].va, 0);
		atomic_store(&rm->bar[i].len, 0);
	}
	atomic_store_explicit(&rm->state, RM_LIVE, memory_order_release);
	bus->rm = rm;
	return 0;
}

void uvio_pci_rm_add_bar(struct uvio_pci_bus *bus, int bar)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	const struct uvio_pci_bar *b = &bus->bar[bar];

	if (!bus->rm || !b->va)
		return;
	atomic_store_explicit(&bus->rm->bar[bar].len,
			      (b->map_len + pg - 1) / pg * pg, memory_order_relaxed);
	atomic_store_explicit(&bus->rm->bar[bar].va, (uintptr_t)b->va,
			      memory_order_release);
}

void uvio_pci_rm_detach(struct uvio_pci_bus *bus)
{
	struct uvio_pci_rm *rm = bus->rm;

	if (!rm)
		return;
	/* Out of the handler's sight first, then cleared. */
	atomic_store(&rm->state, RM_BUSY);
	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		atomic_store(&rm->bar[i].va, 0);
		atomic_store(&rm->bar[i].len, 0);
	}
	close(rm->efd);
	rm->efd = -1;
	bus->rm = NULL;
	atomic_store_explicit(&rm->state, RM_FREE, memory_order_release);
}

int uvio_pci_bus_removal_fd(const struct uvio_pci_bus *bus)
{
	return bus->rm ? bus->rm->efd : -1;
}

bool uvio_pci_bus_removed(const struct uvio_pci_bus *bus)
{
	return bus->rm && atomic_load_explicit(&bus->rm->removed, memory_order_relaxed);
}

/* The removed flag, or the eventfd (VFIO's request eventfd: nobody reads
 * it, so it stays readable) sets it. */
bool uvio_pci_rm_signalled(struct uvio_pci_bus *bus)
{
	struct pollfd p;

	if (!bus->rm)
		return false;
	if (atomic_load(&bus->rm->removed))
		return true;
	p.fd = bus->rm->efd;
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		atomic_store(&bus->rm->removed, true);
		return true;
	}
	return false;
}

void uvio_pci_rm_mark(struct uvio_pci_bus *bus)
{
	if (bus->rm)
		rm_mark(bus->rm);
}

void uvio_pci_rm_cover(struct uvio_pci_bus *bus)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	uvio_pci_rm_mark(bus);
	for (int i = 0; i < PCI_STD_NUM_BARS; i++)
		if (bus->bar[i].va)
			map_ones((uintptr_t)bus->bar[i].va,
				 (bus->bar[i].map_len + pg - 1) / pg * pg);
}

/* Point `fd` at /dev/null: a thread still calling pread/pwrite on it gets
 * nothing (a short read reads as all ones), never someone else's file. */
int uvio_pci_fd_to_null(int fd)
{
	int null, rc = 0;

	if (fd < 0)
		return 0;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -errno;
	if (dup3(null, fd, O_CLOEXEC) < 0)
		rc = -errno;
	close(null);
	return rc;
}
