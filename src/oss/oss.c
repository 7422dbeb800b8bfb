/*
 * sfs-oss: the StratusFS object storage server.
 *
 * Serves one or more OSTs.  An OST is a directory on local disk holding one
 * plain file per object (O/<low byte of id>/<id in hex>); reads and writes
 * are pread/pwrite, durability is fdatasync when the client asks.  Each OST
 * registers with the MDS at start and then heartbeats every second with its
 * free space; the heartbeat's answer lists objects to destroy (files that
 * were removed), so the MDS never has to call us.
 *
 * With --capacity, each OST holds at most that many bytes (allocated blocks of
 * its objects, as du counts them): statfs reports it, and a write that would
 * go beyond it fails with ENOSPC before any byte is written.
 *
 * One thread per client connection, requests answered in order on it (the
 * receive of the next overlapping the write of the last: see struct writer);
 * clients open several connections for parallelism.  A peer that sends a
 * malformed frame is dropped with a log line; everyone else carries on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/net.h"
#include "common/util.h"
#include "libsfs/sfs_conn.h"
#include "proto/sfs_proto.h"
#include "proto/sfs_wire.h"

struct oss_opts {
	char *dir;
	char *mds;
	char *listen;
	char *advertise;
	int64_t port;
	char *port_file;
	char *munge_socket;
	int64_t bandwidth;
	int64_t capacity;
	char *log_file;
	char *log_level;
	char *pid_file;
	int64_t heartbeat_ms;
	bool direct_io;
};

static const struct cfg_opt oss_table[] = {
	CFG_STR("dir", 'd', struct oss_opts, dir, NULL, "OST directory, or several separated by commas (required)"),
	CFG_STR("mds", 'm', struct oss_opts, mds, NULL, "metadata server as HOST[:PORT] (required)"),
	CFG_STR("listen", 'l', struct oss_opts, listen, "127.0.0.1", "address to listen on"),
	CFG_STR("advertise", 0, struct oss_opts, advertise, NULL, "address clients should use (default: the listen address)"),
	CFG_INT("port", 'p', struct oss_opts, port, "0", 0, 65535, "TCP port (0: any free port)"),
	CFG_STR("port-file", 0, struct oss_opts, port_file, NULL, "write the bound port here once listening"),
	CFG_STR("munge-socket", 0, struct oss_opts, munge_socket, NULL, "munged socket (default: MUNGE's own)"),
	CFG_SIZE("bandwidth", 'b', struct oss_opts, bandwidth, "0", 0, INT64_MAX, "cap on data bytes per second, reads and writes together (0: none)"),
	CFG_SIZE("capacity", 0, struct oss_opts, capacity, "0", 0, INT64_MAX, "bytes each OST may hold, e.g. 10g (0: its disk's free space)"),
	CFG_STR("log-file", 0, struct oss_opts, log_file, NULL, "log here instead of stderr"),
	CFG_STR("log-level", 0, struct oss_opts, log_level, "info", "error, warn, info or debug"),
	CFG_STR("pid-file", 0, struct oss_opts, pid_file, NULL, "write the process id here"),
	CFG_DURATION("heartbeat", 0, struct oss_opts, heartbeat_ms, "1s", 100, 60000, "how often to report to the MDS"),
	CFG_BOOL("direct-io", 0, struct oss_opts, direct_io, "true", "large aligned reads and writes (64 KiB or more at 4 KiB boundaries) go between disk and buffer with O_DIRECT; false: all data through the page cache (for a host with memory to spare serving the same data again and again)"),
	CFG_END
};

static const struct cfg_program oss_prog = {
	"sfs-oss", "[options]",
	"StratusFS object storage server: serves OSTs (directories of object files) to clients "
	"and registers them with the metadata server.",
	oss_table
};

#define MAX_OSTS 16

struct ost {
	char *path;
	char uuid[SFS_FSNAME_MAX + 1];
	uint32_t index;        /* assigned by the MDS; SFS_NO_OST until registered */
	int subdir_fd[256];
	uint64_t acked;        /* highest destroy seq done */
	/* With --capacity: bytes allocated to objects, under cap_lock (held
	 * across every change of an object's allocation, so the count is exact). */
	int64_t used;
	pthread_mutex_t cap_lock;
	atomic_bool no_direct; /* --direct-io=false, or its file system refused O_DIRECT I/O */
};

static struct oss_opts opts;
static struct ost osts[MAX_OSTS];
static int nosts;
static char fsname[SFS_FSNAME_MAX + 1] = "sfs";
static int advertised_port;
static pthread_mutex_t ost_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- bandwidth cap: one token bucket for the whole server ---- */
static pthread_mutex_t bw_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t bw_next_ns;

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Take n bytes of the budget: sleep until the transfer's slot has passed. */
static void throttle(size_t n)
{
	if (opts.bandwidth <= 0 || !n)
		return;
	int64_t cost = (int64_t)((double)n * 1e9 / (double)opts.bandwidth);
	pthread_mutex_lock(&bw_lock);
	int64_t now = mono_ns();
	if (bw_next_ns < now)
		bw_next_ns = now;
	bw_next_ns += cost;
	int64_t until = bw_next_ns;
	pthread_mutex_unlock(&bw_lock);
	int64_t wait = until - mono_ns();
	if (wait > 0) {
		struct timespec ts = { wait / 1000000000, wait % 1000000000 };
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
}

/* ---- OSTs ---- */

static struct ost *find_ost(uint32_t index)
{
	for (int i = 0; i < nosts; i++)
		if (osts[i].index == index)
			return &osts[i];
	return NULL;
}

static void obj_name(uint64_t objid, char *out, size_t len)
{
	snprintf(out, len, "%016" PRIx64, objid);
}

static int ost_open(struct ost *o)
{
	int rc = util_mkdirs(o->path, 0755);
	if (rc)
		return error("cannot create OST directory '%s': %s", o->path, strerror(-rc));
	char p[4096];
	snprintf(p, sizeof(p), "%s/ost_uuid", o->path);
	char *text = NULL;
	size_t len = 0;
	rc = util_read_file(p, 256, &text, &len);
	if (rc == -ENOENT) {
		uint64_t a = sfs_random_id(), b = sfs_random_id();
		char u[40];
		int n = snprintf(u, sizeof(u), "%016" PRIx64 "%016" PRIx64 "\n", a, b);
		rc = util_write_file_atomic(p, u, (size_t)n, 0644);
		if (rc)
			return error("cannot write '%s': %s", p, strerror(-rc));
		rc = util_read_file(p, 256, &text, &len);
	}
	if (rc)
		return error("cannot read '%s': %s", p, strerror(-rc));
	text[strcspn(text, "\n")] = 0;
	snprintf(o->uuid, sizeof(o->uuid), "%s", text);
	free(text);
	snprintf(p, sizeof(p), "%s/O", o->path);
	mkdir(p, 0755);
	for (int i = 0; i < 256; i++) {
		snprintf(p, sizeof(p), "%s/O/%02x", o->path, i);
		if (mkdir(p, 0755) && errno != EEXIST)
			return error("cannot create '%s': %s", p, strerror(errno));
		o->subdir_fd[i] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (o->subdir_fd[i] < 0)
			return error("cannot open '%s': %s", p, strerror(errno));
	}
	/* The index the MDS gave this OST before, if any: requests are served
	 * from the first moment after a restart, not only once the MDS has
	 * answered our registration again (clients that reconnect at once
	 * would otherwise be told ESTALE). */
	o->index = SFS_NO_OST;
	snprintf(p, sizeof(p), "%s/ost_index", o->path);
	if (util_read_file(p, 64, &text, &len) == 0) {
		char *end;
		unsigned long v = strtoul(text, &end, 10);
		if (end != text && v < SFS_NO_OST)
			o->index = (uint32_t)v;
		free(text);
	}
	return 0;
}

static int ost_statfs(struct ost *o, uint64_t *total, uint64_t *avail)
{
	struct statvfs sv;
	if (statvfs(o->path, &sv))
		return -errno;
	*total = (uint64_t)sv.f_blocks * sv.f_frsize;
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (opts.capacity > 0) {
		pthread_mutex_lock(&o->cap_lock);
		uint64_t left = o->used < opts.capacity ? (uint64_t)(opts.capacity - o->used) : 0;
		pthread_mutex_unlock(&o->cap_lock);
		*total = (uint64_t)opts.capacity;
		if (left < *avail)
			*avail = left;
	}
	return 0;
}

/* ---- capacity (--capacity): what the OST's objects hold ---- */

/* Sum the allocated bytes of every object: the starting count. */
static int ost_count_used(struct ost *o)
{
	int64_t sum = 0;
	for (int i = 0; i < 256; i++) {
		int fd = dup(o->subdir_fd[i]);
		DIR *d = fd < 0 ? NULL : fdopendir(fd);
		if (!d) {
			if (fd >= 0)
				close(fd);
			return error("cannot read '%s/O/%02x': %s", o->path, i, strerror(errno));
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			struct stat st;
			if (e->d_name[0] != '.' && !fstatat(o->subdir_fd[i], e->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
			    S_ISREG(st.st_mode))
				sum += (int64_t)st.st_blocks * 512;
		}
		closedir(d);
	}
	o->used = sum;
	return 0;
}

/* Bytes a write of len at off to a file of st may newly allocate, at most:
 * none when it overwrites data the file holds without holes. */
static int64_t write_growth(const struct stat *st, uint64_t off, size_t len)
{
	int64_t bs = st->st_blksize > 0 ? st->st_blksize : 4096;
	bool dense = (int64_t)st->st_blocks * 512 >= (st->st_size + bs - 1) / bs * bs;
	if (dense && off + len <= (uint64_t)st->st_size)
		return 0;
	return ((int64_t)len + bs - 1) / bs * bs + bs;
}

/* Account the change of fd's allocation since *before (in 512-byte blocks). */
static void cap_account(struct ost *o, int fd, blkcnt_t before)
{
	struct stat st;
	if (!fstat(fd, &st))
		o->used += ((int64_t)st.st_blocks - (int64_t)before) * 512;
}

static int obj_open(struct ost *o, uint64_t objid, int flags)
{
	char name[32];
	obj_name(objid, name, sizeof(name));
	int fd = openat(o->subdir_fd[objid & 0xff], name, flags | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

/* ---- request handlers: each returns 0 or -errno ---- */

/*
 * A connection's requests are served in order, but the receive of the next
 * one overlaps the write of the one before: a WRITE is handed to the
 * connection's writer thread, and the next request is read into the other
 * buffer meanwhile.  Anything else waits for the writer first, so every
 * request still sees all earlier ones done.  What this can win back is the
 * time the disk stood idle while a megabyte came in over the socket (about
 * 0.6 s of every 5 per thread, measured); bench/fs-compare could not tell
 * the gain apart from its noise (docs/performance.md, fifth round).  Only
 * the writer sends while it is busy, so the socket has one sender at a
 * time.
 */
struct writer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started;
	bool busy;           /* a write is handed over and not answered yet */
	bool stop;
	bool broken;         /* its answer could not be sent: drop the peer */
	uint64_t reqid;
	size_t blen;
	struct sfs_obj_write_req q;
	const uint8_t *data;
};

struct conn {
	int fd;
	struct sfs_peer peer;
	uint8_t *bufs[2];    /* SFS_MAX_BULK bytes each, page-aligned for direct I/O */
	uint8_t *bulk;       /* the one the next request is received into */
	struct writer w;
};

/* Direct I/O: a write of at least this much, aligned to DIO_ALIGN in
 * offset and length, goes from our buffer straight to the disk (O_DIRECT)
 * instead of through the page cache.  Writing into the page cache was most
 * of this server's CPU time (the copy into fresh pages, delayed allocation,
 * then writeback and freeing the pages), and the CPU is what the whole file
 * system shares; the disk takes large direct writes faster than the page
 * cache can be filled and flushed.  Smaller or unaligned writes (and OSTs on
 * file systems without O_DIRECT, such as some tmpfs) stay buffered.  Both
 * kinds may mix on one object: the kernel writes back and drops cached
 * pages of the range before a direct write. */
#define DIO_MIN   (64u * 1024)
#define DIO_ALIGN 4096u

static bool want_direct(uint64_t off, size_t len)
{
	return len >= DIO_MIN && off % DIO_ALIGN == 0 && len % DIO_ALIGN == 0;
}

/* Switch O_DIRECT on or off on fd; false if the file system refuses it. */
static bool set_direct(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return false;
	int nfl = on ? fl | O_DIRECT : fl & ~O_DIRECT;
	return nfl == fl || fcntl(fd, F_SETFL, nfl) == 0;
}

/* The OST's file system takes O_DIRECT opens but not the I/O, or refuses
 * the flag: stay buffered on this OST from now on, starting with fd. */
static void direct_refused(struct ost *o, int fd)
{
	atomic_store(&o->no_direct, true);
	set_direct(fd, false);
}

/* pwrite all of buf at off; 0 or -errno. */
static int write_all(int fd, const uint8_t *buf, size_t len, uint64_t off, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = pwrite(fd, buf + *done, len - *done, (off_t)(off + *done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		*done += (size_t)n;
	}
	return 0;
}

static int do_write(const uint8_t *data, const struct sfs_obj_write_req *q, size_t blen, struct sfs_obj_write_rep *r)
{
	struct ost *o = find_ost(q->ost);
	if (!o)
		return -ESTALE;
	if (q->offset > (1ULL << 60))
		return -EFBIG;
	int fd = obj_open(o, q->objid, O_WRONLY | O_CREAT);
	if (fd < 0)
		return fd;
	throttle(blen);
	size_t done = 0;
	int rc = 0;
	struct stat st;
	if (opts.capacity > 0) {
		pthread_mutex_lock(&o->cap_lock);
		if (fstat(fd, &st))
			rc = -errno;
		else if (o->used + write_growth(&st, q->offset, blen) > opts.capacity)
			rc = -ENOSPC;
		if (rc) {
			pthread_mutex_unlock(&o->cap_lock);
			close(fd);
			return rc;
		}
	}
	bool direct = want_direct(q->offset, blen) && !atomic_load(&o->no_direct) && set_direct(fd, true);
	if (direct) {
		rc = write_all(fd, data, blen, q->offset, &done);
		if (rc == -EINVAL && done == 0) {
			direct_refused(o, fd);
			direct = false;
		}
	}
	if (!direct)
		rc = write_all(fd, data, blen, q->offset, &done);
	if (opts.capacity > 0) {
		cap_account(o, fd, st.st_blocks);
		pthread_mutex_unlock(&o->cap_lock);
	}
	if (!rc && q->sync && fdatasync(fd))
		rc = -errno;
	/* Start writing a buffered range back now, without waiting for it:
	 * otherwise dirty pages pile up (the kernel starts at 10% of memory)
	 * and a client's fsync or close after a long write waits for all of
	 * them. */
	if (!rc && !direct && !q->sync && done)
		sync_file_range(fd, (off_t)q->offset, (off_t)done, SYNC_FILE_RANGE_WRITE);
	close(fd);
	if (rc)
		return rc;
	r->written = (uint32_t)done;
	return 0;
}

/*
 * Read count bytes at off (4 KiB-aligned) of fd with O_DIRECT into buf
 * (SFS_MAX_BULK bytes, page-aligned), zeros past what the object holds:
 * 0, 1 when this file system refuses direct I/O (then nothing is read and
 * the caller goes through the page cache), or -errno.
 *
 * Large reads bypass the page cache for the same reason large writes do:
 * a page cache page is memory the kernel must find, fill and later
 * reclaim, and on the virtual machines measured here the first touch of
 * each such page cost more than the copy from our reused buffer to the
 * socket (docs/performance.md, fifth round).  What the OSS wrote with
 * O_DIRECT was never in its page cache anyway; dirty cached pages of the
 * range (small buffered writes) are written back by the kernel before a
 * direct read, so nothing stale is read.
 */
static int read_direct(struct ost *o, int fd, uint8_t *buf, uint64_t off, size_t count)
{
	size_t want = (count + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN, got = 0;
	if (!set_direct(fd, true)) {
		direct_refused(o, fd);
		return 1;
	}
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && got == 0) {
			direct_refused(o, fd);
			return 1;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got < count) /* the object shrank meanwhile */
		memset(buf + got, 0, count - got);
	return 0;
}

/*
 * READ: the reply's header and payload, then the object's bytes.  A large
 * aligned read (64 KiB or more at a 4 KiB boundary) is read from the disk
 * into our buffer with O_DIRECT and sent from there (read_direct); others
 * are answered from the page cache with sendfile, from the cached pages
 * straight to the socket (copying them into a buffer of ours with a
 * buffered pread was most of this server's CPU on reads).  The reply
 * promises `count` bytes (what the object holds in the range when the
 * request is served); should the object shrink meanwhile, the rest is sent
 * as zeros, which is what a read racing a truncate may see.  0 once the
 * reply is sent, 1 when it was not (the caller answers the error in *err),
 * or -errno: the socket is bad.
 */
static int serve_read(struct conn *c, const struct sfs_hdr *h, const struct sfs_obj_read_req *q, int *err)
{
	struct ost *o = find_ost(q->ost);
	*err = 0;
	if (!o) {
		*err = -ESTALE;
		return 1;
	}
	if (q->len > SFS_MAX_IO || q->offset > (1ULL << 60)) {
		*err = -EINVAL;
		return 1;
	}
	int fd = obj_open(o, q->objid, O_RDONLY);
	uint64_t count = 0;
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st)) {
			*err = -errno;
			close(fd);
			return 1;
		}
		if ((uint64_t)st.st_size > q->offset)
			count = (uint64_t)st.st_size - q->offset;
		if (count > q->len)
			count = q->len;
	} else if (fd != -ENOENT) { /* never written: a hole, 0 bytes */
		*err = fd;
		return 1;
	}
	/* A large aligned read comes from the disk straight into our buffer
	 * (see read_direct), not through the page cache. */
	bool have = false;
	if (count >= DIO_MIN && q->offset % DIO_ALIGN == 0 && !atomic_load(&o->no_direct)) {
		int drc = read_direct(o, fd, c->bulk, q->offset, (size_t)count);
		if (drc < 0) {
			*err = drc;
			close(fd);
			return 1;
		}
		have = drc == 0;
	}
	throttle((size_t)count);
	struct sfs_count_rep r = { .count = (uint32_t)count };
	uint8_t p[SFS_MAX_PAYLOAD], hb[SFS_HDR_LEN];
	int plen = sfs_encode(SFS_CLTOOS_READ, true, &r, p, sizeof(p));
	if (plen < 0) {
		if (fd >= 0)
			close(fd);
		*err = plen;
		return 1;
	}
	struct sfs_hdr rh = { .version = SFS_VERSION, .flags = SFS_FLAG_REPLY, .op = SFS_CLTOOS_READ,
			      .reqid = h->reqid, .plen = (uint32_t)plen, .blen = (uint32_t)count };
	sfs_hdr_encode(&rh, hb);
	struct iovec iov[2] = { { hb, sizeof(hb) }, { p, (size_t)plen } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t left = sizeof(hb) + (size_t)plen;
	int rc = 0;
	while (left) { /* a frame head is a few dozen bytes: one send almost always */
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | (count ? MSG_MORE : 0));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EPIPE;
			break;
		}
		left -= (size_t)n;
		net_iov_advance(&mh.msg_iov, &mh.msg_iovlen, (size_t)n);
	}
	if (have) {
		if (!rc)
			rc = net_write_full(c->fd, c->bulk, (size_t)count);
		close(fd);
		return rc;
	}
	off_t pos = (off_t)q->offset;
	uint64_t sent = 0;
	while (!rc && sent < count) {
		ssize_t n = sendfile(c->fd, fd, &pos, (size_t)(count - sent));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EINVAL && errno != ENOSYS) {
			rc = -errno;
			break;
		}
		if (n <= 0)
			break; /* the object shrank, or cannot be sent from: below */
		sent += (uint64_t)n;
	}
	if (!rc && sent < count) {
		/* Whatever pread still finds, zeros past it. */
		size_t want = (size_t)(count - sent), got = 0;
		while (got < want) {
			ssize_t n = pread(fd, c->bulk + got, want - got, (off_t)(q->offset + sent + got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		memset(c->bulk + got, 0, want - got);
		rc = net_write_full(c->fd, c->bulk, want);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static int do_punch(const struct sfs_obj_punch_req *q)
{
	struct ost *o = find_ost(q->ost);
	if (!o)
		return -ESTALE;
	int fd = obj_open(o, q->objid, O_WRONLY);
	if (fd == -ENOENT)
		return 0; /* a missing object reads as zeros at any size */
	if (fd < 0)
		return fd;
	struct stat st;
	bool counted = opts.capacity > 0;
	if (counted) {
		pthread_mutex_lock(&o->cap_lock);
		counted = !fstat(fd, &st);
	}
	int rc = ftruncate(fd, (off_t)q->size) ? -errno : 0;
	if (counted)
		cap_account(o, fd, st.st_blocks);
	if (opts.capacity > 0)
		pthread_mutex_unlock(&o->cap_lock);
	close(fd);
	return rc;
}

static int do_sync(const struct sfs_obj_req *q)
{
	struct ost *o = find_ost(q->ost);
	if (!o)
		return -ESTALE;
	int fd = obj_open(o, q->objid, O_RDONLY);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	int rc = fdatasync(fd) ? -errno : 0;
	close(fd);
	/* The object may be new: make its directory entry durable too. */
	if (!rc && fsync(o->subdir_fd[q->objid & 0xff]))
		rc = -errno;
	return rc;
}

static int obj_destroy(struct ost *o, uint64_t objid)
{
	char name[32];
	struct stat st;
	int rc = 0;
	obj_name(objid, name, sizeof(name));
	if (opts.capacity > 0)
		pthread_mutex_lock(&o->cap_lock);
	bool had = opts.capacity > 0 && !fstatat(o->subdir_fd[objid & 0xff], name, &st, 0);
	if (unlinkat(o->subdir_fd[objid & 0xff], name, 0))
		rc = errno == ENOENT ? 0 : -errno;
	else if (had)
		o->used -= (int64_t)st.st_blocks * 512;
	if (opts.capacity > 0)
		pthread_mutex_unlock(&o->cap_lock);
	return rc;
}

static int do_stat(const struct sfs_obj_req *q, struct sfs_obj_stat_rep *r)
{
	struct ost *o = find_ost(q->ost);
	if (!o)
		return -ESTALE;
	char name[32];
	struct stat st;
	obj_name(q->objid, name, sizeof(name));
	if (fstatat(o->subdir_fd[q->objid & 0xff], name, &st, 0)) {
		if (errno == ENOENT)
			return 0;
		return -errno;
	}
	r->size = (uint64_t)st.st_size;
	r->blocks = (uint64_t)st.st_blocks;
	return 0;
}

/* Log a request that failed, unless it is a missing object or OST (which
 * the client expects and handles). */
static void log_failed(const struct conn *c, uint16_t op, int rc)
{
	if (rc && rc != -ENOENT && rc != -ESTALE)
		log_warn("%s for '%s' failed: %s", sfs_op_name(op), c->peer.name, strerror(-rc));
}

static void *writer_main(void *arg)
{
	struct conn *c = arg;
	struct writer *w = &c->w;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->busy && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->busy)
			break;
		pthread_mutex_unlock(&w->lock);
		struct sfs_obj_write_rep r = { 0 };
		int rc = do_write(w->data, &w->q, w->blen, &r);
		log_failed(c, SFS_CLTOOS_WRITE, rc);
		bool sent = !sfs_send_msg(c->fd, SFS_CLTOOS_WRITE, true, w->reqid, sfs_status_from_errno(rc), &r, NULL, 0);
		pthread_mutex_lock(&w->lock);
		w->busy = false;
		if (!sent)
			w->broken = true;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Wait until the writer has answered what it was given; false if that
 * answer could not be sent (the connection is lost). */
static bool writer_idle(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->busy)
		pthread_cond_wait(&w->cond, &w->lock);
	bool ok = !w->broken;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

/* Hand the write just received (in c->bulk) to the writer and receive the
 * next request into the other buffer.  False if there is no writer thread
 * (the caller writes it itself). */
static bool writer_take(struct conn *c, uint64_t reqid, const struct sfs_obj_write_req *q, size_t blen)
{
	struct writer *w = &c->w;
	if (!w->started) {
		if (pthread_create(&w->thread, NULL, writer_main, c))
			return false;
		w->started = true;
	}
	pthread_mutex_lock(&w->lock);
	w->reqid = reqid;
	w->q = *q;
	w->blen = blen;
	w->data = c->bulk;
	w->busy = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	c->bulk = c->bulk == c->bufs[0] ? c->bufs[1] : c->bufs[0];
	return true;
}

static void writer_stop(struct writer *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	union sfs_msg *in = malloc(sizeof(*in)), *out = malloc(sizeof(*out));
	uint8_t p[SFS_MAX_PAYLOAD];
	pthread_mutex_init(&c->w.lock, NULL);
	pthread_cond_init(&c->w.cond, NULL);
	c->bufs[0] = aligned_alloc(DIO_ALIGN, SFS_MAX_BULK);
	c->bufs[1] = aligned_alloc(DIO_ALIGN, SFS_MAX_BULK);
	c->bulk = c->bufs[0];
	if (!in || !out || !c->bufs[0] || !c->bufs[1])
		goto done;
	if (sfs_serve_hello(c->fd, opts.munge_socket, fsname, 0, 0, &c->peer))
		goto done;
	log_debug("'%s' connected (uid %u)", c->peer.name, c->peer.uid);
	for (;;) {
		struct sfs_hdr h;
		int rc = sfs_recv_hdr(c->fd, &h);
		if (rc == -EPIPE)
			break;
		if (rc) {
			log_warn("dropping '%s': %s", c->peer.name,
				 rc == -EPROTO ? "malformed frame header" : strerror(-rc));
			break;
		}
		if ((h.flags & SFS_FLAG_REPLY) || h.op < SFS_CLTOOS_WRITE || h.op > SFS_CLTOOS_STATFS) {
			log_warn("dropping '%s': unexpected %s %s", c->peer.name, sfs_op_name(h.op),
				 (h.flags & SFS_FLAG_REPLY) ? "reply" : "request");
			break;
		}
		if ((rc = net_read_full(c->fd, p, h.plen)) || (h.blen && (rc = net_read_full(c->fd, c->bulk, h.blen))))
			break;
		if (sfs_decode(h.op, false, p, h.plen, in)) {
			log_warn("dropping '%s': malformed %s request", c->peer.name, sfs_op_name(h.op));
			break;
		}
		/* The write before this one is done and answered first. */
		if (!writer_idle(&c->w))
			break;
		if (h.op == SFS_CLTOOS_WRITE && writer_take(c, h.reqid, &in->obj_write_req, h.blen))
			continue;
		memset(out, 0, sizeof(*out));
		const void *rbulk = NULL;
		size_t rblen = 0;
		switch (h.op) {
		case SFS_CLTOOS_WRITE:
			rc = do_write(c->bulk, &in->obj_write_req, h.blen, &out->obj_write_rep);
			break;
		case SFS_CLTOOS_READ: {
			int err;
			rc = serve_read(c, &h, &in->obj_read_req, &err);
			if (rc < 0)
				goto done; /* the socket broke mid-reply */
			if (rc == 0)
				continue; /* answered */
			rc = err;
			break;
		}
		case SFS_CLTOOS_PUNCH:
			rc = do_punch(&in->obj_punch_req);
			break;
		case SFS_CLTOOS_SYNC:
			rc = do_sync(&in->obj_req);
			break;
		case SFS_CLTOOS_DESTROY: {
			struct ost *o = find_ost(in->obj_req.ost);
			rc = o ? obj_destroy(o, in->obj_req.objid) : -ESTALE;
			break;
		}
		case SFS_CLTOOS_STAT:
			rc = do_stat(&in->obj_req, &out->obj_stat_rep);
			break;
		case SFS_CLTOOS_STATFS: {
			struct ost *o = find_ost(in->ost_req.ost);
			rc = o ? ost_statfs(o, &out->ost_statfs_rep.total, &out->ost_statfs_rep.free) : -ESTALE;
			break;
		}
		default:
			rc = -ENOSYS;
		}
		log_failed(c, h.op, rc);
		if (sfs_send_msg(c->fd, h.op, true, h.reqid, sfs_status_from_errno(rc), out, rbulk, rblen))
			break;
	}
done:
	writer_stop(&c->w);
	close(c->fd);
	pthread_mutex_destroy(&c->w.lock);
	pthread_cond_destroy(&c->w.cond);
	free(c->bufs[0]);
	free(c->bufs[1]);
	free(in);
	free(out);
	free(c);
	return NULL;
}

/* ---- the link to the MDS: register, heartbeat, destroy ---- */

static char *mds_host;
static int mds_port;
static struct sfs_conn *mds;
static const char *adv_addr;

static int ost_register(struct ost *o)
{
	struct sfs_register_req q = { .port = (uint32_t)advertised_port };
	struct sfs_register_rep r;
	snprintf(q.uuid, sizeof(q.uuid), "%s", o->uuid);
	snprintf(q.addr, sizeof(q.addr), "%s", adv_addr);
	ost_statfs(o, &q.total, &q.free);
	int rc = sfs_rpc(mds, SFS_OSTOMD_REGISTER, &q, &r);
	if (rc)
		return rc;
	pthread_mutex_lock(&ost_lock);
	bool changed = o->index != r.ost;
	if (changed)
		log_info("OST '%s' (%s) is index %u", o->path, o->uuid, r.ost);
	o->index = r.ost;
	pthread_mutex_unlock(&ost_lock);
	if (changed) {
		char p[4200], v[16];
		int n = snprintf(v, sizeof(v), "%u\n", r.ost);
		snprintf(p, sizeof(p), "%s/ost_index", o->path);
		int wrc = util_write_file_atomic(p, v, (size_t)n, 0644);
		if (wrc)
			log_warn("cannot write '%s': %s; after a restart this OST answers only once registered again",
				 p, strerror(-wrc));
	}
	return 0;
}

static void heartbeat(struct ost *o)
{
	struct sfs_heartbeat_req q = { .ost = o->index, .ack = o->acked };
	struct sfs_count_rep r;
	ost_statfs(o, &q.total, &q.free);
	uint8_t *bulk = malloc(64 * 1024);
	if (!bulk)
		return;
	struct sfs_call call = { .op = SFS_OSTOMD_HEARTBEAT, .req = &q, .rep = &r,
				 .bulk_in = bulk, .bulk_in_cap = 64 * 1024 };
	int rc = sfs_call_run(mds, &call);
	if (rc) {
		if (rc == -ESTALE) /* the MDS forgot us (new file system?): register again */
			o->index = SFS_NO_OST;
		free(bulk);
		return;
	}
	size_t pos = 0;
	for (uint32_t i = 0; i < r.count; i++) {
		struct sfs_destroy_item d;
		if (sfs_destroy_decode(&d, bulk, call.bulk_in_len, &pos)) {
			log_warn("malformed destroy list from the MDS; ignoring it");
			break;
		}
		if (obj_destroy(o, d.objid) == 0 && d.seq > o->acked)
			o->acked = d.seq;
	}
	free(bulk);
}

static volatile sig_atomic_t stopping;

static void *mds_main(void *arg)
{
	uint64_t gen = 0;
	while (!stopping) {
		uint64_t g = sfs_conn_generation(mds);
		for (int i = 0; i < nosts; i++) {
			/* After an MDS restart, register again: it may have lost our address. */
			if (osts[i].index == SFS_NO_OST || g != gen) {
				if (ost_register(&osts[i]))
					continue;
			}
			heartbeat(&osts[i]);
		}
		gen = g;
		struct timespec ts = { opts.heartbeat_ms / 1000, (opts.heartbeat_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void on_signal(int sig)
{
	stopping = 1;
}

int main(int argc, char **argv)
{
	err_set_progname("sfs-oss");
	int idx = cfg_parse_args(&oss_prog, &opts, argc, argv);
	if (idx != argc)
		die("unexpected argument '%s'; see sfs-oss --help", argv[idx]);
	int lvl = log_level_parse(opts.log_level);
	if (lvl < 0)
		die("unknown log level '%s'; use error, warn, info or debug", opts.log_level);
	log_init("sfs-oss", (enum log_level)lvl);
	if (opts.log_file && log_open_file(opts.log_file))
		die("cannot open log file '%s'", opts.log_file);
	if (!opts.dir || !opts.mds)
		die("--dir and --mds are required; see sfs-oss --help");
	if (net_split_hostport(opts.mds, &mds_host, &mds_port, SFS_DEFAULT_PORT))
		die("bad --mds '%s'; expected HOST[:PORT]", opts.mds);
	char *save = NULL, *dirs = strdup(opts.dir);
	for (char *d = strtok_r(dirs, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		if (nosts == MAX_OSTS)
			die("too many OST directories (at most %d)", MAX_OSTS);
		osts[nosts].path = strdup(d);
		pthread_mutex_init(&osts[nosts].cap_lock, NULL);
		atomic_store(&osts[nosts].no_direct, !opts.direct_io);
		if (ost_open(&osts[nosts]) || (opts.capacity > 0 && ost_count_used(&osts[nosts])))
			exit(1);
		if (opts.capacity > 0)
			log_info("OST '%s' holds %lld of its %lld bytes", d, (long long)osts[nosts].used,
				 (long long)opts.capacity);
		nosts++;
	}
	free(dirs);
	if (!nosts)
		die("--dir names no OST directory");
	signal(SIGPIPE, SIG_IGN);

	int lfd = net_listen_tcp(opts.listen, (int)opts.port, 128);
	if (lfd < 0)
		die("cannot listen on '%s:%lld': %s; is the port in use?", opts.listen, (long long)opts.port, strerror(-lfd));
	advertised_port = net_local_port(lfd);
	adv_addr = opts.advertise ? opts.advertise : opts.listen;
	if (!strcmp(adv_addr, "0.0.0.0") || !strcmp(adv_addr, "*") || !*adv_addr)
		die("listening on every address needs --advertise ADDR (the address clients should use)");

	char errbuf[256];
	struct sfs_conn_opts co = { .host = mds_host, .port = mds_port, .munge_socket = opts.munge_socket,
				    .role = SFS_ROLE_OSS, .timeout_ms = 5000 };
	mds = sfs_conn_open(&co, true, errbuf, sizeof(errbuf));
	if (!mds)
		die("cannot reach the MDS at '%s': %s", opts.mds, errbuf);
	if (opts.pid_file && util_write_pidfile(opts.pid_file))
		die("cannot write pid file '%s'", opts.pid_file);
	if (opts.port_file) {
		char s[16];
		int n = snprintf(s, sizeof(s), "%d\n", advertised_port);
		int rc = util_write_file_atomic(opts.port_file, s, (size_t)n, 0644);
		if (rc)
			die("cannot write port file '%s': %s", opts.port_file, strerror(-rc));
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pthread_t mt;
	if (pthread_create(&mt, NULL, mds_main, NULL))
		die("cannot start the MDS link thread");
	log_info("serving %d OST(s) on %s:%d, MDS %s:%d, bandwidth cap %lld B/s", nosts, adv_addr,
		 advertised_port, mds_host, mds_port, (long long)opts.bandwidth);
	while (!stopping) {
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			log_error("accept failed: %s", strerror(errno));
			continue;
		}
		net_tune_tcp(cfd);
		struct conn *c = calloc(1, sizeof(*c));
		pthread_t t;
		if (!c) {
			close(cfd);
			continue;
		}
		c->fd = cfd;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, conn_main, c)) {
			close(cfd);
			free(c);
		}
		pthread_attr_destroy(&at);
	}
	log_info("stopping on signal");
	return 0;
}
