/*
 * stuckfs: the smallest FUSE file system, spoken straight to /dev/fuse (no
 * libfuse), for testing that a node with a FUSE mount in it is destroyed
 * cleanly.  It mounts an empty directory at MOUNTPOINT; with --hang it
 * answers INIT and then nothing, like a daemon that is stuck, so that any
 * process touching the mount blocks in the kernel.
 *
 *   stuckfs MOUNTPOINT [--hang]     (as root; exits when unmounted or killed)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/err.h"

static char req[1 << 20 | 4096];

static void reply(int fd, uint64_t unique, int error, const void *body, size_t len)
{
	struct fuse_out_header h = { (uint32_t)(sizeof(h) + len), -error, unique };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, len } };
	if (writev(fd, iov, body ? 2 : 1) < 0 && errno != ENOENT)
		warning("cannot answer request %llu: %s", (unsigned long long)unique, strerror(errno));
}

static void root_attr(struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = FUSE_ROOT_ID;
	a->mode = S_IFDIR | 0755;
	a->nlink = 2;
	a->blksize = 4096;
}

int main(int argc, char **argv)
{
	err_set_progname("stuckfs");
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--hang")))
		die("usage: stuckfs MOUNTPOINT [--hang]");
	bool hang = argc == 3;
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("cannot open '/dev/fuse': %s; is the fuse module loaded?", strerror(errno));
	char opts[128];
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
	if (mount("stuckfs", argv[1], "fuse.stuckfs", MS_NOSUID | MS_NODEV, opts) < 0)
		die("cannot mount on '%s': %s", argv[1], strerror(errno));
	for (;;) {
		ssize_t n = read(fd, req, sizeof(req));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno == ENODEV)
			return 0; /* unmounted */
		if (n < (ssize_t)sizeof(struct fuse_in_header))
			die("cannot read from '/dev/fuse': %s", n < 0 ? strerror(errno) : "short request");
		struct fuse_in_header *in = (struct fuse_in_header *)req;
		if (in->opcode == FUSE_INIT) {
			struct fuse_init_in *ii = (struct fuse_init_in *)(in + 1);
			struct fuse_init_out o = { 0 };
			o.major = FUSE_KERNEL_VERSION;
			o.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ? ii->minor : FUSE_KERNEL_MINOR_VERSION;
			o.max_readahead = ii->max_readahead;
			o.max_write = 4096;
			reply(fd, in->unique, 0, &o, sizeof(o));
			continue;
		}
		if (hang || in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET)
			continue; /* stuck (or no answer wanted) */
		switch (in->opcode) {
		case FUSE_GETATTR: {
			struct fuse_attr_out o = { 0 };
			root_attr(&o.attr);
			reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_OPENDIR: {
			struct fuse_open_out o = { 0 };
			reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READDIR:
			reply(fd, in->unique, 0, NULL, 0); /* empty: end of directory */
			break;
		case FUSE_RELEASEDIR:
			reply(fd, in->unique, 0, NULL, 0);
			break;
		case FUSE_STATFS: {
			struct fuse_statfs_out o = { 0 };
			o.st.bsize = o.st.frsize = 4096;
			o.st.namelen = 255;
			reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP:
			reply(fd, in->unique, ENOENT, NULL, 0);
			break;
		default:
			reply(fd, in->unique, ENOSYS, NULL, 0);
		}
	}
}
