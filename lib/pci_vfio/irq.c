/* SPDX-License-Identifier: MIT */
/*
 * Event mode over PCI: one MSI-X vector per interrupt source, each
 * signalling an eventfd uvio creates (VFIO_DEVICE_SET_IRQS). Vector 0 is
 * the configuration change, vector 1 + q is queue q (spec 4.1.4.3:
 * msix_config, queue_msix_vector; 4.1.5.1.3 says to read the vector back,
 * which virtio_pci*.c do). Vectors are enabled all at once on first use,
 * since older kernels cannot grow an enabled MSI-X set; a source gets its
 * vector written into the device only once someone asks for its fd.
 *
 * UIO has one INTx line for everything, acked by reading the ISR and
 * re-armed by writing the uio fd: not an fd per queue, so it is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_pci.h>

#include "pci_internal.h"

struct uvio_pci_irq {
	unsigned n;     /* vectors enabled */
	int *efd;       /* per vector */
	bool *want;     /* per vector: given to its source */
};

static void irq_free(struct uvio_pci_irq *irq)
{
	for (unsigned i = 0; irq->efd && i < irq->n; i++)
		if (irq->efd[i] >= 0)
			close(irq->efd[i]);
	free(irq->efd);
	free(irq->want);
	free(irq);
}

static int irq_alloc(struct uvio_pci_irq *irq, unsigned n)
{
	irq->efd = malloc(n * sizeof(*irq->efd));
	irq->want = calloc(n, sizeof(*irq->want));
	if (!irq->efd || !irq->want)
		return -ENOMEM;
	for (irq->n = 0; irq->n < n; irq->n++) {
		irq->efd[irq->n] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (irq->efd[irq->n] < 0)
			return -errno;
	}
	return 0;
}

/* The vectors for `nsrc` sources (1 + queues), as many as the device has. */
static int irq_create(struct uvio_pci_bus *bus, unsigned nsrc,
		      struct uvio_pci_irq **out, struct uvio_err *err)
{
	unsigned n = uvio_vfio_msix_count(bus);
	struct uvio_pci_irq *irq;
	int rc;

	if (bus->driver != UVIO_PCI_DRV_VFIO)
		return uvio_err_set(err, -ENOTSUP, "%s: no per-queue interrupts over %s "
				    "(one shared INTx line, acked through the ISR): "
				    "bind the device to vfio-pci", bus->bdf, bus->ops->name);
	if (n == 0)
		return uvio_err_set(err, -ENOTSUP, "%s: the device has no MSI-X", bus->bdf);
	if (n > nsrc)
		n = nsrc;
	irq = calloc(1, sizeof(*irq));
	if (!irq)
		return uvio_err_set(err, -ENOMEM, "%s: out of memory", bus->bdf);
	rc = irq_alloc(irq, n);
	if (rc) {
		irq_free(irq);
		return uvio_err_set(err, rc, "%s: cannot create eventfds: %s", bus->bdf,
				    strerror(-rc));
	}
	rc = uvio_vfio_msix_enable(bus, irq->efd, n, err);
	if (rc) {
		irq_free(irq);
		return rc;
	}
	*out = irq;
	return 0;
}

int uvio_pci_irq_want(struct uvio_pci_bus *bus, struct uvio_pci_irq **irq,
		      unsigned nsrc, unsigned vec, struct uvio_err *err)
{
	int rc;

	if (!*irq) {
		rc = irq_create(bus, nsrc, irq, err);
		if (rc)
			return rc;
	}
	if (vec >= (*irq)->n)
		return uvio_err_set(err, -ENOSPC, "%s: MSI-X vector %u wanted, the device "
				    "has %u", bus->bdf, vec, (*irq)->n);
	(*irq)->want[vec] = true;
	return (*irq)->efd[vec];
}

uint16_t uvio_pci_irq_vector(const struct uvio_pci_irq *irq, unsigned vec)
{
	return irq && vec < irq->n && irq->want[vec] ? (uint16_t)vec : VIRTIO_MSI_NO_VECTOR;
}

void uvio_pci_irq_destroy(struct uvio_pci_irq *irq)
{
	if (irq)
		irq_free(irq);
}
