/* SPDX-License-Identifier: MIT */
/*
 * uvio-fio.so: a fio external ioengine over uvio's virtio-blk driver.
 *
 *   fio --thread=1 --ioengine=external:build/uvio-fio.so \
 *       --filename='vhost-user\:/run/blk.sock' --rw=randread --bs=4k ...
 *
 * filename= is a uvio DEV (pci:BDF, vhost-user:PATH[,opts]); fio splits
 * filenames on ':', so each ':' of it is written '\:'. The device is opened
 * once per process and shared by the jobs that name it (refcounted); each
 * job owns one of its queues and polls it from its own thread, as uvio's
 * queues want, so fio must run jobs as threads (thread=1). iodepth_batch
 * becomes one device notification per batch (fio's commit hook).
 *
 * Built against the headers of the fio it is loaded into (tools/fetch-fio-src):
 * fio engines see fio's internal structs, which have no stable ABI.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fio.h"
#include "optgroup.h"

#include <uvio/uvio.h>

/* One open device, shared by every job that names it. Under devs_lock. */
struct uv_dev {
	struct uv_dev *next;
	char *name;
	struct uvio_blk *blk;
	const struct uvio_blk_info *info;
	unsigned refs;
	unsigned jobs;          /* that asked for a queue, for the message */
	bool short_of_queues;   /* a job got none: none of them runs */
	bool *taken;            /* info->queues entries: a job owns the queue */
};

/* One fio job (thread): its queue and the completions not yet reaped. */
struct uv_job {
	struct uv_dev *dev;
	int qi;                 /* the queue it owns, -1 none yet */
	struct uvio_blk_queue *q;
	struct io_u **done;     /* completed, for getevents/event */
	unsigned ndone, nreaped, cap;
};

struct uv_opts {
	void *pad;              /* fio's: the thread_data */
	int queue;              /* uvio_queue=: -1 = the first free one */
};

static pthread_mutex_t devs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uv_dev *devs;
/* The last device that failed to open: its other jobs fail without
 * repeating the line (numjobs=8 would print it 8 times). */
static char *failed_name;

static struct fio_option options[] = {
	{
		.name = "uvio_queue",
		.lname = "uvio queue index",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct uv_opts, queue),
		.def = "-1",
		.minval = -1,
		.help = "Device queue this job polls (default: the first one no other job has)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{ .name = NULL },
};

/* ---- devices ----------------------------------------------------------- */

static struct uv_dev *dev_find(const char *name)
{
	for (struct uv_dev *d = devs; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

/* Every queue the device has: jobs come and claim them one by one. */
static struct uv_dev *dev_open(const char *name)
{
	struct uvio_blk_opts bo = { .queues = UINT16_MAX };
	struct uvio_err err;
	struct uvio_dev *udev;
	struct uv_dev *d = calloc(1, sizeof(*d));

	if (!d || !(d->name = strdup(name))) {
		log_err("uvio: %s: out of memory\n", name);
		free(d);
		return NULL;
	}
	if (uvio_open(name, &udev, &err) || uvio_blk_open(udev, &bo, &d->blk, &err)) {
		if (!failed_name || strcmp(failed_name, name))
			log_err("uvio: %s\n", err.msg);
		free(failed_name);
		failed_name = strdup(name);
		goto fail;
	}
	d->info = uvio_blk_get_info(d->blk);
	d->taken = calloc(d->info->queues, sizeof(*d->taken));
	if (!d->taken) {
		log_err("uvio: %s: out of memory\n", name);
		uvio_blk_close(d->blk);
		goto fail;
	}
	d->next = devs;
	devs = d;
	return d;
fail:
	free(d->name);
	free(d);
	return NULL;
}

static void dev_put(struct uv_dev *d)
{
	struct uv_dev **p;

	if (--d->refs)
		return;
	for (p = &devs; *p != d; p = &(*p)->next)
		;
	*p = d->next;
	uvio_blk_close(d->blk);
	free(d->taken);
	free(d->name);
	free(d);
}

/* The queue a job asked for, or the first free one. */
static int queue_claim(struct uv_dev *d, int want)
{
	unsigned n = d->info->queues;

	d->jobs++;
	if (want >= 0) {
		if ((unsigned)want >= n) {
			log_err("uvio: %s: uvio_queue=%d, but the device has %u queues (0..%u)\n",
				d->name, want, n, n - 1);
			return -1;
		}
		if (d->taken[want]) {
			log_err("uvio: %s: queue %d is taken by another job: give each job its own uvio_queue\n",
				d->name, want);
			return -1;
		}
		d->taken[want] = true;
		return want;
	}
	for (unsigned i = 0; i < n; i++)
		if (!d->taken[i]) {
			d->taken[i] = true;
			return (int)i;
		}
	log_err("uvio: %s: %u queues, one per job, and this is job %u on the device: use numjobs <= %u\n",
		d->name, n, d->jobs, n);
	return -1;
}

/* ---- per job ----------------------------------------------------------- */

static struct uv_job *job_of(struct thread_data *td)
{
	return td->io_ops_data;
}

/* Open (or share) the job's device and take a queue for it. Called by
 * setup and by init, whichever fio runs first (create_serialize decides). */
static int job_attach(struct thread_data *td)
{
	struct uv_opts *o = td->eo;
	struct uv_job *j;
	struct uv_dev *d;
	const char *name;

	if (job_of(td))
		return 0;
	if (td->o.nr_files != 1 || !td->files || !td->files[0]) {
		log_err("uvio: give one device as filename= (a DEV such as 'vhost-user\\:/path.sock'; fio splits on unescaped ':')\n");
		return 1;
	}
	name = td->files[0]->file_name;
	j = calloc(1, sizeof(*j));
	if (!j)
		return 1;
	j->qi = -1;
	pthread_mutex_lock(&devs_lock);
	d = dev_find(name);
	if (!d)
		d = dev_open(name);
	if (d) {
		d->refs++;
		j->qi = queue_claim(d, o ? o->queue : -1);
		if (j->qi < 0) {
			d->short_of_queues = true;
			dev_put(d);
		}
	}
	pthread_mutex_unlock(&devs_lock);
	if (j->qi < 0) {
		free(j);
		return 1;
	}
	j->dev = d;
	td->io_ops_data = j;
	return 0;
}

static void job_detach(struct thread_data *td)
{
	struct uv_job *j = job_of(td);

	if (!j)
		return;
	pthread_mutex_lock(&devs_lock);
	j->dev->taken[j->qi] = false;
	dev_put(j->dev);
	pthread_mutex_unlock(&devs_lock);
	free(j->done);
	free(j);
	td->io_ops_data = NULL;
}

/* ---- hooks ------------------------------------------------------------- */

static int uv_get_file_size(struct thread_data *td, struct fio_file *f);

/* Once per process, not once per job: the cause is the same for all. */
static int need_threads(void)
{
	static atomic_bool said;

	if (!atomic_exchange(&said, true))
		log_err("uvio: the uvio engine needs thread=1 (its queues are polled by threads of one process)\n");
	return 1;
}

/* fio's main thread, before the job threads start (create_serialize=1). */
static int uv_setup(struct thread_data *td)
{
	if (!td->o.use_thread)
		return need_threads();
	if (job_attach(td))
		return 1;
	return uv_get_file_size(td, td->files[0]);
}

/* The job's thread. */
static int uv_init(struct thread_data *td)
{
	struct uv_job *j;

	if (!td->o.use_thread)
		return need_threads();
	if (job_attach(td))
		return 1;
	j = job_of(td);
	/* Said once already (queue_claim); half of the jobs is not the run
	 * that was asked for. Only known here when fio set every job up
	 * first (create_serialize, its default). */
	if (j->dev->short_of_queues)
		return 1;
	j->cap = td->o.iodepth ? td->o.iodepth : 1;
	j->done = calloc(j->cap, sizeof(*j->done));
	if (!j->done)
		return 1;
	j->q = uvio_blk_get_queue(j->dev->blk, (uint16_t)j->qi);
	uvio_blk_defer_kicks(j->q, true);
	return 0;
}

static void uv_cleanup(struct thread_data *td)
{
	struct uv_job *j = job_of(td);

	/* fio reaps every I/O before cleanup; a broken queue fails its own. */
	if (j && j->q)
		while (uvio_blk_queue_in_flight(j->q) && uvio_blk_poll(j->q, 64) >= 0)
			;
	job_detach(td);
}

static void uv_done(void *arg, int status)
{
	struct io_u *io_u = arg;
	struct uv_job *j = io_u->engine_data;

	io_u->error = status == -ENOTSUP ? EOPNOTSUPP : -status;
	io_u->resid = status ? io_u->xfer_buflen : 0;
	j->done[j->ndone++] = io_u;
}

static int submit(struct uv_job *j, struct io_u *io_u)
{
	struct iovec iov = { io_u->xfer_buf, io_u->xfer_buflen };

	switch (io_u->ddir) {
	case DDIR_READ:
		return uvio_blk_read(j->q, io_u->offset, &iov, 1, uv_done, io_u);
	case DDIR_WRITE:
		return uvio_blk_write(j->q, io_u->offset, &iov, 1, uv_done, io_u);
	case DDIR_TRIM:
		return uvio_blk_discard(j->q, io_u->offset, io_u->xfer_buflen, uv_done, io_u);
	case DDIR_SYNC:
	case DDIR_DATASYNC:
		/* No FLUSH offered: the device has no volatile cache to flush. */
		if (!j->dev->info->flush) {
			uv_done(io_u, 0);
			return 0;
		}
		return uvio_blk_flush(j->q, uv_done, io_u);
	default:
		return -EINVAL;
	}
}

/* Completions run here only from uvio_blk_poll: in getevents, or below to
 * make room. Either way they wait in done[] for fio to reap. */
static enum fio_q_status uv_queue(struct thread_data *td, struct io_u *io_u)
{
	struct uv_job *j = job_of(td);
	int rc;

	fio_ro_check(td, io_u);
	io_u->engine_data = j;
	rc = submit(j, io_u);
	if (rc == -EAGAIN) {
		/* The ring is full of what fio has not committed or reaped:
		 * kick and reap once, so fio's own retry cannot spin. */
		uvio_blk_kick(j->q);
		if (uvio_blk_poll(j->q, j->cap - j->ndone) > 0)
			rc = submit(j, io_u);
		if (rc == -EAGAIN)
			return FIO_Q_BUSY;
	}
	if (rc) {
		io_u->error = rc == -ENOTSUP ? EOPNOTSUPP : -rc;
		return FIO_Q_COMPLETED;
	}
	return FIO_Q_QUEUED;
}

static int uv_commit(struct thread_data *td)
{
	uvio_blk_kick(job_of(td)->q);
	return 0;
}

/* Drop what fio reaped after the last call; then poll until `min` are done. */
static int uv_getevents(struct thread_data *td, unsigned min, unsigned max,
			const struct timespec *t)
{
	struct uv_job *j = job_of(td);
	struct timespec start;
	int rc;

	if (j->nreaped) {
		memmove(j->done, j->done + j->nreaped,
			(j->ndone - j->nreaped) * sizeof(*j->done));
		j->ndone -= j->nreaped;
	}
	if (t)
		fio_gettime(&start, NULL);
	while (j->ndone < min) {
		rc = uvio_blk_poll(j->q, j->cap - j->ndone);
		if (rc < 0) {
			log_err("uvio: %s: queue %d: %s\n", j->dev->name, j->qi,
				uvio_blk_queue_error(j->q));
			return -EIO;
		}
		if (!rc && t && utime_since_now(&start) >= t->tv_sec * 1000000ULL + t->tv_nsec / 1000)
			break;
	}
	if (j->ndone < max)
		uvio_blk_poll(j->q, j->cap - j->ndone);
	j->nreaped = j->ndone < max ? j->ndone : max;
	return (int)j->nreaped;
}

static struct io_u *uv_event(struct thread_data *td, int ev)
{
	return job_of(td)->done[ev];
}

static int uv_open_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

static int uv_close_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

static int uv_get_file_size(struct thread_data *td, struct fio_file *f)
{
	struct uv_job *j = job_of(td);

	if (!j)
		return 1;
	f->real_file_size = j->dev->info->capacity;
	fio_file_set_size_known(f);
	return 0;
}

/* Every buffer fio hands us is DMA memory, so I/O needs no copy. */
static int uv_iomem_alloc(struct thread_data *td, size_t total)
{
	struct uvio_err err;
	uint64_t iova;
	struct uv_job *j = job_of(td);
	int node = j ? uvio_dev_numa_node(uvio_blk_dev(j->dev->blk)) : -1;

	td->orig_buffer = uvio_dma_alloc(total, 4096, node, &iova, &err);
	if (!td->orig_buffer) {
		log_err("uvio: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static void uv_iomem_free(struct thread_data *td)
{
	uvio_dma_free(td->orig_buffer);
	td->orig_buffer = NULL;
}

/* Found by fio's dlsym("ioengine") for ioengine=external:PATH. */
__attribute__((visibility("default"))) struct ioengine_ops ioengine;
struct ioengine_ops ioengine = {
	.name = "uvio",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_RAWIO | FIO_NOEXTEND | FIO_NODISKUTIL | FIO_MEMALIGN |
		 FIO_DISKLESSIO,
	.setup = uv_setup,
	.init = uv_init,
	.queue = uv_queue,
	.commit = uv_commit,
	.getevents = uv_getevents,
	.event = uv_event,
	.cleanup = uv_cleanup,
	.open_file = uv_open_file,
	.close_file = uv_close_file,
	.get_file_size = uv_get_file_size,
	.iomem_alloc = uv_iomem_alloc,
	.iomem_free = uv_iomem_free,
	.option_struct_size = sizeof(struct uv_opts),
	.options = options,
};
