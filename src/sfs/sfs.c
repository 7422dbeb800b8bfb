/*
 * sfs: the StratusFS admin tool, after Lustre's lfs.
 *
 *   sfs setstripe [-c N] [-S SIZE] [-i IDX] PATH   layout of a new file / a directory's default
 *   sfs getstripe PATH...                          a file's layout and objects
 *   sfs df [-h] [PATH]                             space per OST and in all
 *   sfs osts [PATH]                                the OSTs and their state
 *   sfs migrate [--ost IDX] [-c N] PATH...         move files' objects (off an OST)
 *   sfs ost deactivate|activate|remove IDX PATH    no new objects on an OST / again / forget it
 *   sfs local up DIR --oss N [--mount MNT] ...     a throwaway file system on this host
 *   sfs local add-oss DIR [--oss-bandwidth RATE]   one more OSS for it
 *   sfs local down DIR                             stop all of it
 *
 * Layout commands talk to the mounted client through extended attributes
 * (user.sfs.layout, user.sfs.osts); migrate talks to the servers itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/net.h"
#include "common/util.h"
#include "libsfs/sfs_fs.h"

#define XA_LAYOUT "user.sfs.layout"

static void usage(void)
{
	printf("usage: sfs COMMAND [options] ...\n\n"
	       "  setstripe [-c N] [-S SIZE] [-i IDX] PATH   set the layout of a new file or a directory's default\n"
	       "  getstripe PATH...                          show layouts (stripe count, size, OST and object of each stripe)\n"
	       "  df [-h] [PATH]                             space of each OST and of the file system\n"
	       "  osts [PATH]                                list the OSTs\n"
	       "  migrate [--ost IDX] [-c N] [-S SIZE] PATH... move files' objects (off OST IDX); directories recursively\n"
	       "  ost deactivate|activate|remove IDX PATH    stop placing new objects on an OST, undo it, or remove\n"
	       "                                             a drained OST from the file system\n"
	       "  local up DIR --oss N [--mount MNT] ...     start a throwaway file system on this host\n"
	       "  local add-oss DIR                          start one more OSS for it\n"
	       "  local down DIR                             stop what 'local up' started\n\n"
	       "Each command takes --help.\n");
}

/* ---- finding the mount ---- */

/* The first sfs mount in /proc/mounts, for commands without PATH. */
static char *default_mount(void)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[4096];
	char *found = NULL;
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char src[1024], dir[2048], type[64];
		if (sscanf(line, "%1023s %2047s %63s", src, dir, type) == 3 && !strcmp(type, "fuse.sfs")) {
			found = strdup(dir);
			break;
		}
	}
	fclose(f);
	return found;
}

static int get_text(const char *path, const char *name, char *out, size_t cap)
{
	ssize_t n = getxattr(path, name, out, cap - 1);
	if (n < 0)
		return -errno;
	out[n] = 0;
	return 0;
}

/* ---- setstripe / getstripe ---- */

struct stripe_opts {
	int64_t count, size, index;
};
static const struct cfg_opt stripe_table[] = {
	CFG_INT("stripe-count", 'c', struct stripe_opts, count, "0", -1, SFS_MAX_STRIPES, "number of OSTs to stripe over (-1: all, 0: the default)"),
	CFG_SIZE("stripe-size", 'S', struct stripe_opts, size, "0", 0, SFS_MAX_STRIPE_SIZE, "bytes per stripe unit, a multiple of 64k (0: the default)"),
	CFG_INT("stripe-index", 'i', struct stripe_opts, index, "-1", -1, 65535, "OST of the first stripe (-1: the allocator's choice)"),
	CFG_END
};
static const struct cfg_program setstripe_prog = {
	"sfs setstripe", "[-c N] [-S SIZE] [-i IDX] PATH",
	"Create PATH as an empty file with this layout, give an existing empty file a new layout, "
	"or set a directory's default layout for files made in it later.", stripe_table
};

static int cmd_setstripe(int argc, char **argv)
{
	struct stripe_opts o;
	int i = cfg_parse_args(&setstripe_prog, &o, argc, argv);
	if (i != argc - 1)
		return error("expected one PATH; see sfs setstripe --help");
	const char *path = argv[i];
	if (o.size % SFS_MIN_STRIPE_SIZE)
		return error("stripe size %lld is not a multiple of 64k", (long long)o.size);
	struct stat st;
	if (stat(path, &st)) {
		if (errno != ENOENT)
			return error("cannot stat '%s': %s", path, strerror(errno));
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			return error("cannot create '%s': %s", path, strerror(errno));
		close(fd);
	}
	char v[128];
	int n = snprintf(v, sizeof(v), "stripe_count=%lld stripe_size=%lld stripe_offset=%lld", (long long)o.count,
			 (long long)o.size, (long long)o.index);
	if (setxattr(path, XA_LAYOUT, v, (size_t)n, 0)) {
		if (errno == EBUSY)
			return error("cannot change the layout of '%s': it has data; use 'sfs migrate'", path);
		if (errno == ENOTSUP || errno == ENODATA)
			return error("'%s' is not on a StratusFS mount", path);
		return error("cannot set the layout of '%s': %s", path, strerror(errno));
	}
	return 0;
}

static int cmd_getstripe(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		printf("usage: sfs getstripe PATH...\nShow the layout of files (stripe count, size, and the OST index and object id of each stripe) or a directory's default layout.\n");
		return argc < 2 ? 2 : 0;
	}
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		char text[65536];
		int r = get_text(argv[i], XA_LAYOUT, text, sizeof(text));
		if (r) {
			rc = error("cannot get the layout of '%s': %s", argv[i],
				   r == -ENOTSUP || r == -ENODATA ? "not on a StratusFS mount" : strerror(-r));
			continue;
		}
		unsigned count = 0, size = 0;
		int dcount = 0, off = -1;
		uint64_t gen = 0;
		printf("%s\n", argv[i]);
		if (sscanf(text, "stripe_count=%u stripe_size=%u gen=%" SCNu64, &count, &size, &gen) == 3) {
			char *line = strchr(text, '\n');
			unsigned first = 0;
			uint64_t obj;
			unsigned idx;
			if (line && sscanf(line + 1, "%u %u %" SCNu64, &idx, &first, &obj) != 3)
				first = 0;
			printf("lmm_stripe_count:  %u\nlmm_stripe_size:   %u\nlmm_layout_gen:    %" PRIu64 "\n"
			       "lmm_stripe_offset: %u\n\tobdidx\t\t objid\n", count, size, gen, first);
			while (line && *++line) {
				unsigned ost;
				if (sscanf(line, "%u %u %" SCNu64, &idx, &ost, &obj) == 3)
					printf("\t%6u\t%14" PRIu64 "\n", ost, obj);
				line = strchr(line, '\n');
			}
		} else if (sscanf(text, "stripe_count=%d stripe_size=%u stripe_offset=%d", &dcount, &size, &off) == 3) {
			printf("stripe_count:  %d stripe_size:   %u stripe_offset: %d\n", dcount, size, off);
		} else {
			printf("%s", text);
		}
	}
	return rc;
}

/* ---- df / osts ---- */

struct ostline {
	unsigned idx, port;
	char uuid[65], addr[300], state[16];
	uint64_t total, free;
};

static int read_osts(const char *path, struct ostline **out, int *n)
{
	char *text = malloc(65536);
	if (!text)
		return -ENOMEM;
	int rc = get_text(path, "user.sfs.osts", text, 65536);
	if (rc) {
		free(text);
		return rc;
	}
	int cap = 16, k = 0;
	struct ostline *v = malloc(sizeof(*v) * (size_t)cap);
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && v; l = strtok_r(NULL, "\n", &save)) {
		if (k == cap) {
			cap *= 2;
			struct ostline *nv = realloc(v, sizeof(*v) * (size_t)cap);
			if (!nv)
				break;
			v = nv;
		}
		char hp[300];
		if (sscanf(l, "%u %64s %299s %" SCNu64 " %" SCNu64 " %15s", &v[k].idx, v[k].uuid, hp, &v[k].total,
			   &v[k].free, v[k].state) == 6) {
			snprintf(v[k].addr, sizeof(v[k].addr), "%s", hp);
			k++;
		}
	}
	free(text);
	*out = v;
	*n = k;
	return v ? 0 : -ENOMEM;
}

static void human(uint64_t b, bool h, char *out, size_t len)
{
	if (!h) {
		snprintf(out, len, "%" PRIu64, b / 1024);
		return;
	}
	const char *u = "KMGTP";
	double v = (double)b / 1024;
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, len, "%.1f%c", v, u[i]);
}

static int cmd_df(int argc, char **argv, bool osts_only)
{
	bool h = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h"))
			h = true;
		else if (!strcmp(argv[i], "--help")) {
			printf(osts_only ? "usage: sfs osts [PATH]\nList the OSTs of the file system mounted at PATH.\n"
					 : "usage: sfs df [-h] [PATH]\nShow the space of each OST and of the file system (1K blocks, or -h for units).\n");
			return 0;
		} else
			path = argv[i];
	}
	char *def = NULL;
	if (!path && !(path = def = default_mount()))
		return error("no StratusFS mount found; give a PATH inside one");
	struct ostline *v;
	int n;
	int rc = read_osts(path, &v, &n);
	if (rc) {
		free(def);
		return error("cannot list the OSTs of '%s': %s", path,
			     rc == -ENOTSUP || rc == -ENODATA ? "not on a StratusFS mount" : strerror(-rc));
	}
	if (osts_only) {
		printf("OBDS:\n");
		for (int i = 0; i < n; i++)
			printf("%u: %s %s %s\n", v[i].idx, v[i].uuid, v[i].addr, v[i].state);
	} else {
		uint64_t tt = 0, tf = 0;
		printf("%-20s %14s %14s %14s %5s %s\n", "UUID", h ? "bytes" : "1K-blocks", "Used", "Available", "Use%", "Mounted on");
		for (int i = 0; i < n; i++) {
			char a[32], b[32], c[32], name[48];
			uint64_t used = v[i].total > v[i].free ? v[i].total - v[i].free : 0;
			human(v[i].total, h, a, sizeof(a));
			human(used, h, b, sizeof(b));
			human(v[i].free, h, c, sizeof(c));
			snprintf(name, sizeof(name), "OST%04x", v[i].idx);
			printf("%-20s %14s %14s %14s %4d%% %s[OST:%u]%s\n", name, a, b, c,
			       v[i].total ? (int)(used * 100 / v[i].total) : 0, path, v[i].idx,
			       strcmp(v[i].state, "up") ? (strcmp(v[i].state, "inactive") ? " (down)" : " (inactive)") : "");
			tt += v[i].total;
			tf += v[i].free;
		}
		char a[32], b[32], c[32];
		human(tt, h, a, sizeof(a));
		human(tt - tf, h, b, sizeof(b));
		human(tf, h, c, sizeof(c));
		printf("\n%-20s %14s %14s %14s %4d%% %s\n", "filesystem_summary:", a, b, c,
		       tt ? (int)((tt - tf) * 100 / tt) : 0, path);
	}
	free(v);
	free(def);
	return 0;
}

/* ---- migrate ---- */

struct migrate_opts {
	int64_t ost;
	int64_t count;
	int64_t size;
	char *munge_socket;
	int64_t timeout_ms;
};
static const struct cfg_opt migrate_table[] = {
	CFG_INT("ost", 0, struct migrate_opts, ost, "-1", -1, 65535, "move only files with a stripe on this OST, and never onto it"),
	CFG_INT("stripe-count", 'c', struct migrate_opts, count, "0", -1, SFS_MAX_STRIPES, "new stripe count (0: keep)"),
	CFG_SIZE("stripe-size", 'S', struct migrate_opts, size, "0", 0, SFS_MAX_STRIPE_SIZE, "new stripe size (0: keep)"),
	CFG_STR("munge-socket", 0, struct migrate_opts, munge_socket, NULL, "munged socket (default: MUNGE's own)"),
	CFG_DURATION("timeout", 0, struct migrate_opts, timeout_ms, "100s", 100, 86400000, "how long to wait for a server"),
	CFG_END
};
static const struct cfg_program migrate_prog = {
	"sfs migrate", "[--ost IDX] [-c N] [-S SIZE] PATH...",
	"Copy files' data to newly allocated objects and switch their layout atomically; with --ost, "
	"every file under PATH with a stripe on that OST is moved off it, so the OST can be removed. "
	"Files must not be written while they are migrated.", migrate_table
};

static struct sfs_fs *mig_fs;
static struct migrate_opts mig;
static int mig_moved, mig_failed;

static int migrate_file(const char *path, const struct stat *st)
{
	struct sfs_ino_req gq = { .ino = st->st_ino };
	struct sfs_getlayout_rep *gr = malloc(sizeof(*gr));
	struct sfs_alloclayout_req aq = { .avoid_ost = mig.ost < 0 ? SFS_NO_OST : (uint32_t)mig.ost };
	struct sfs_layout_rep *ar = malloc(sizeof(*ar));
	struct sfs_swaplayout_req *sq = malloc(sizeof(*sq));
	char *buf = malloc(SFS_MAX_IO);
	int rc = -ENOMEM;
	if (!gr || !ar || !sq || !buf)
		goto out;
	gq.cred.uid = geteuid();
	gq.cred.gid = getegid();
	aq.cred = gq.cred;
	if ((rc = sfs_rpc(sfs_fs_mds(mig_fs), SFS_CLTOMD_GETLAYOUT, &gq, gr)))
		goto out;
	const struct sfs_layout *old = &gr->layout;
	bool on_ost = mig.ost < 0;
	for (uint32_t i = 0; i < old->count; i++)
		if (old->stripes[i].ost == (uint32_t)mig.ost)
			on_ost = true;
	if (!on_ost) {
		rc = 0;
		goto out;
	}
	aq.sreq.count = mig.count ? (int32_t)mig.count : (int32_t)old->count;
	aq.sreq.size = mig.size ? (uint32_t)mig.size : old->stripe_size;
	aq.sreq.start = -1;
	if ((rc = sfs_rpc(sfs_fs_mds(mig_fs), SFS_CLTOMD_ALLOCLAYOUT, &aq, ar)))
		goto out;
	uint64_t size = (uint64_t)st->st_size;
	for (uint64_t off = 0; off < size && !rc; off += SFS_MAX_IO) {
		size_t n = size - off > SFS_MAX_IO ? SFS_MAX_IO : (size_t)(size - off);
		rc = sfs_fs_read(mig_fs, old, buf, n, off);
		/* Holes stay holes: an all-zero block is not written. */
		bool zero = true;
		for (size_t k = 0; !rc && k < n && zero; k++)
			zero = buf[k] == 0;
		if (!rc && !zero)
			rc = sfs_fs_write(mig_fs, &ar->layout, buf, n, off, false);
	}
	if (!rc)
		rc = sfs_fs_sync(mig_fs, &ar->layout);
	if (rc)
		goto out;
	sq->cred = gq.cred;
	sq->ino = st->st_ino;
	sq->old_gen = old->gen;
	sq->layout = ar->layout;
	rc = sfs_rpc(sfs_fs_mds(mig_fs), SFS_CLTOMD_SWAPLAYOUT, sq, NULL);
	if (!rc)
		mig_moved++;
out:
	if (rc) {
		mig_failed++;
		error("cannot migrate '%s': %s%s", path, strerror(-rc),
		      rc == -EAGAIN ? " (its layout changed meanwhile; run again)" : "");
	}
	free(gr);
	free(ar);
	free(sq);
	free(buf);
	return rc;
}

static void migrate_path(const char *path)
{
	struct stat st;
	if (lstat(path, &st)) {
		error("cannot stat '%s': %s", path, strerror(errno));
		mig_failed++;
		return;
	}
	if (S_ISREG(st.st_mode)) {
		migrate_file(path, &st);
		return;
	}
	if (!S_ISDIR(st.st_mode))
		return;
	DIR *d = opendir(path);
	if (!d) {
		error("cannot read directory '%s': %s", path, strerror(errno));
		mig_failed++;
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t len = strlen(path) + strlen(e->d_name) + 2;
		char *sub = malloc(len);
		if (!sub)
			break;
		snprintf(sub, len, "%s/%s", path, e->d_name);
		migrate_path(sub);
		free(sub);
	}
	closedir(d);
}

/* An admin connection to the file system that PATH is on (NULL: said why). */
static struct sfs_fs *open_admin(const char *path, const char *munge_socket, int64_t timeout_ms)
{
	char spec[600];
	if (get_text(path, "user.sfs.mds", spec, sizeof(spec))) {
		error("'%s' is not on a StratusFS mount", path);
		return NULL;
	}
	spec[strcspn(spec, "\n")] = 0;
	char *cs = strstr(spec, ":/");
	if (!cs) {
		error("cannot parse the server of '%s' ('%s')", path, spec);
		return NULL;
	}
	*cs = 0;
	char *host;
	int port;
	if (net_split_hostport(spec, &host, &port, SFS_DEFAULT_PORT)) {
		error("cannot parse the server '%s'", spec);
		return NULL;
	}
	char errbuf[512];
	const char *ms = munge_socket ? munge_socket : getenv("SFS_MUNGE_SOCKET");
	struct sfs_fs_opts fo = { .mds_host = host, .mds_port = port, .munge_socket = ms, .timeout_ms = timeout_ms,
				  .conns_per_ost = 2, .role = SFS_ROLE_ADMIN };
	struct sfs_fs *fs = sfs_fs_open(&fo, errbuf, sizeof(errbuf));
	free(host);
	if (!fs)
		error("cannot reach the MDS: %s", errbuf);
	return fs;
}

static int cmd_migrate(int argc, char **argv)
{
	int i = cfg_parse_args(&migrate_prog, &mig, argc, argv);
	if (i >= argc)
		return error("expected PATH; see sfs migrate --help");
	mig_fs = open_admin(argv[i], mig.munge_socket, mig.timeout_ms);
	if (!mig_fs)
		return -EIO;
	for (; i < argc; i++)
		migrate_path(argv[i]);
	sfs_fs_close(mig_fs);
	printf("migrated %d file(s), %d failed\n", mig_moved, mig_failed);
	return mig_failed ? 1 : 0;
}

/* ---- ost: an OST's state in the file system ---- */

static int cmd_ost(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		printf("usage: sfs ost deactivate|activate|remove IDX PATH\n"
		       "deactivate: no new objects go to OST IDX (before draining it with 'sfs migrate --ost IDX');\n"
		       "activate: undo that; remove: forget a drained OST (refused while a file has an object on it).\n"
		       "PATH is anywhere on the mounted file system; run as root.  SFS_MUNGE_SOCKET picks the munged.\n");
		return 0;
	}
	if (argc != 4)
		return error("usage: sfs ost deactivate|activate|remove IDX PATH");
	struct sfs_oststate_req q = { 0 };
	if (!strcmp(argv[1], "deactivate"))
		q.state = SFS_OST_SET_INACTIVE;
	else if (!strcmp(argv[1], "activate"))
		q.state = SFS_OST_SET_ACTIVE;
	else if (!strcmp(argv[1], "remove"))
		q.state = SFS_OST_SET_REMOVE;
	else
		return error("unknown action '%s'; give deactivate, activate or remove", argv[1]);
	char *end;
	errno = 0;
	long idx = strtol(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || idx < 0 || idx >= (long)SFS_NO_OST)
		return error("'%s' is not an OST index (see 'sfs osts')", argv[2]);
	q.ost = (uint32_t)idx;
	struct sfs_fs *fs = open_admin(argv[3], NULL, 30000);
	if (!fs)
		return -EIO;
	int rc = sfs_rpc(sfs_fs_mds(fs), SFS_CLTOMD_OSTSTATE, &q, NULL);
	sfs_fs_close(fs);
	if (rc == -EBUSY)
		return error("cannot remove OST %ld: a file still has an object on it; drain it first with "
			     "'sfs migrate --ost %ld %s'", idx, idx, argv[3]);
	if (rc == -ENOENT)
		return error("the file system has no OST %ld (see 'sfs osts %s')", idx, argv[3]);
	if (rc == -EPERM)
		return error("the MDS refused to change OST %ld: run as root", idx);
	if (rc)
		return error("cannot %s OST %ld: %s", argv[1], idx, strerror(-rc));
	printf("OST %ld %s\n", idx, q.state == SFS_OST_SET_REMOVE ? "removed" :
	       q.state == SFS_OST_SET_INACTIVE ? "inactive: no new objects go there" : "active");
	return 0;
}

/* ---- sfs local ---- */

struct local_opts {
	int64_t oss;
	char *mount;
	int64_t stripe_count;
	int64_t stripe_size;
	int64_t oss_bandwidth;
	char *listen;
	int64_t port;
	char *munge_socket;
	char *fsname;
	int64_t timeout_ms;
	char *mount_options;
};
static const struct cfg_opt local_table[] = {
	CFG_INT("oss", 'n', struct local_opts, oss, "1", 0, 64, "number of OSSs (one OST each)"),
	CFG_STR("mount", 'm', struct local_opts, mount, NULL, "mount the file system here"),
	CFG_INT("stripe-count", 'c', struct local_opts, stripe_count, "1", -1, SFS_MAX_STRIPES, "default stripe count (-1: all OSTs)"),
	CFG_SIZE("stripe-size", 'S', struct local_opts, stripe_size, "1m", SFS_MIN_STRIPE_SIZE, SFS_MAX_STRIPE_SIZE, "default stripe size"),
	CFG_SIZE("oss-bandwidth", 'b', struct local_opts, oss_bandwidth, "0", 0, INT64_MAX, "cap each OSS at this many bytes/s (0: none)"),
	CFG_STR("listen", 'l', struct local_opts, listen, "127.0.0.1", "address the servers listen on (e.g. this node's address in a namespace)"),
	CFG_INT("port", 'p', struct local_opts, port, "0", 0, 65535, "MDS port (0: any free port)"),
	CFG_STR("munge-socket", 0, struct local_opts, munge_socket, NULL, "use this munged (default: start one with a new key in DIR)"),
	CFG_STR("fsname", 0, struct local_opts, fsname, "sfs", "file system name"),
	CFG_DURATION("timeout", 't', struct local_opts, timeout_ms, "20s", 1000, 600000, "how long to wait for the servers to come up"),
	CFG_STR("mount-options", 'o', struct local_opts, mount_options, NULL, "extra sfs-mount options (e.g. timeout=10s)"),
	CFG_END
};
static const struct cfg_program local_up_prog = {
	"sfs local up", "DIR [options]",
	"Start a whole throwaway StratusFS on this host: munged (unless --munge-socket), sfs-mds and N sfs-oss "
	"with their state, logs and PIDs under DIR, and optionally a mount.  Prints the MDS address and "
	"returns once the file system is usable.  'sfs local down DIR' stops exactly that.", local_table
};

static char bindir[4096];

static void find_bindir(void)
{
	ssize_t n = readlink("/proc/self/exe", bindir, sizeof(bindir) - 1);
	if (n <= 0) {
		bindir[0] = 0;
		return;
	}
	bindir[n] = 0;
	char *s = strrchr(bindir, '/');
	if (s)
		*s = 0;
}

/* In a child about to exec a daemon: stdin from /dev/null, output to LOG,
 * so that the daemon never holds our caller's pipes open. */
static void quiet_stdio(const char *log)
{
	int in = open("/dev/null", O_RDONLY);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (in >= 0)
		dup2(in, 0);
	if (out >= 0) {
		dup2(out, 1);
		dup2(out, 2);
	}
}

/* Start a daemon detached from us (own session, output to LOG). */
static pid_t spawn(char **argv, const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		setsid();
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		char prog[4200];
		snprintf(prog, sizeof(prog), "%s/%s", bindir, argv[0]);
		if (access(prog, X_OK) == 0)
			execv(prog, argv);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_file(const char *path, int64_t ms)
{
	int64_t end = util_mono_ms() + ms;
	struct stat st;
	while (util_mono_ms() < end) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return 0;
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

static int read_int_file(const char *path, long *v)
{
	char *t;
	size_t len;
	if (util_read_file(path, 64, &t, &len))
		return -ENOENT;
	char *end;
	*v = strtol(t, &end, 10);
	int ok = end != t;
	free(t);
	return ok ? 0 : -EINVAL;
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return util_write_file_atomic(p, text, strlen(text), 0644);
}

static int read_text(const char *dir, const char *name, char *out, size_t cap)
{
	char p[4200], *t;
	size_t len;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (util_read_file(p, cap - 1, &t, &len))
		return -ENOENT;
	snprintf(out, cap, "%s", t);
	out[strcspn(out, "\n")] = 0;
	free(t);
	return 0;
}

/* Wait until the MDS lists `want` OSTs as up. */
static int wait_osts(const char *host, int port, const char *msock, int want, int64_t ms)
{
	char errbuf[512];
	int64_t end = util_mono_ms() + ms;
	struct sfs_fs_opts fo = { .mds_host = host, .mds_port = port, .munge_socket = msock, .timeout_ms = 5000,
				  .conns_per_ost = 1, .role = SFS_ROLE_ADMIN };
	struct sfs_fs *fs = NULL;
	while (!fs && util_mono_ms() < end) {
		fs = sfs_fs_open(&fo, errbuf, sizeof(errbuf));
		if (!fs) {
			struct timespec ts = { 0, 50 * 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	if (!fs)
		return error("the MDS at '%s:%d' does not answer: %s", host, port, errbuf);
	int rc = -ETIMEDOUT;
	while (util_mono_ms() < end) {
		struct sfs_ostinfo *v;
		uint32_t n;
		int up = 0;
		if (sfs_fs_ostlist(fs, &v, &n) == 0) {
			for (uint32_t i = 0; i < n; i++)
				up += v[i].up;
			free(v);
		}
		if (up >= want) {
			rc = 0;
			break;
		}
		struct timespec ts = { 0, 50 * 1000000 };
		nanosleep(&ts, NULL);
	}
	sfs_fs_close(fs);
	if (rc)
		error("only some of the %d OSTs registered with the MDS in time; see the logs in the directory", want);
	return rc;
}

static int start_oss(const char *dir, int i, const char *listen, const char *mds, const char *msock, int64_t bw)
{
	char ostdir[4200], log[4200], pidf[4200], bws[32];
	snprintf(ostdir, sizeof(ostdir), "%s/ost%d", dir, i);
	snprintf(log, sizeof(log), "%s/oss%d.log", dir, i);
	snprintf(pidf, sizeof(pidf), "%s/oss%d.pid", dir, i);
	snprintf(bws, sizeof(bws), "%lld", (long long)bw);
	char *av[] = { "sfs-oss", "--dir", ostdir, "--mds", (char *)mds, "--listen", (char *)listen,
		       "--munge-socket", (char *)msock, "--bandwidth", bws, "--pid-file", pidf, NULL };
	pid_t p = spawn(av, log);
	if (p < 0)
		return error("cannot start sfs-oss %d: %s", i, strerror((int)-p));
	return wait_file(pidf, 10000) ? error("sfs-oss %d did not start; see '%s'", i, log) : 0;
}

static int local_up_opts(struct local_opts *op, int argc, char **argv)
{
	struct local_opts o = *op;
	int i = cfg_parse_args(&local_up_prog, &o, argc, argv);
	*op = o;
	const char *dir = NULL;
	for (; i < argc; i++) {
		if (dir)
			return error("unexpected argument '%s'; options go before DIR... or use --key=value", argv[i]);
		dir = argv[i];
	}
	if (!dir)
		return error("expected DIR; see sfs local up --help");
	/* Allow options after DIR too (sfs local up DIR --oss 3). */
	char absdir[4096];
	if (util_mkdirs(dir, 0755))
		return error("cannot create '%s'", dir);
	if (!realpath(dir, absdir))
		return error("cannot resolve '%s': %s", dir, strerror(errno));
	char p[4200], msock[4200];
	snprintf(p, sizeof(p), "%s/mds.pid", absdir);
	long old;
	if (read_int_file(p, &old) == 0 && kill((pid_t)old, 0) == 0)
		return error("a file system already runs from '%s' (MDS pid %ld); run 'sfs local down %s' first", absdir, old, absdir);
	if (o.munge_socket) {
		snprintf(msock, sizeof(msock), "%s", o.munge_socket);
	} else {
		char key[4200];
		snprintf(key, sizeof(key), "%s/munge.key", absdir);
		snprintf(msock, sizeof(msock), "%s/munge.sock", absdir);
		struct stat st;
		if (stat(key, &st)) {
			uint8_t k[1024];
			int fd = open("/dev/urandom", O_RDONLY);
			if (fd < 0 || read(fd, k, sizeof(k)) != (ssize_t)sizeof(k))
				return error("cannot read /dev/urandom for a MUNGE key");
			close(fd);
			if (util_write_file_atomic(key, k, sizeof(k), 0400))
				return error("cannot write '%s'", key);
		}
		char pidf[4200], log[4200], seed[4200], sockarg[4300], keyarg[4300], pidarg[4300], logarg[4300], seedarg[4300];
		snprintf(pidf, sizeof(pidf), "%s/munged.pid", absdir);
		snprintf(log, sizeof(log), "%s/munged.log", absdir);
		snprintf(seed, sizeof(seed), "%s/munge.seed", absdir);
		snprintf(sockarg, sizeof(sockarg), "--socket=%s", msock);
		snprintf(keyarg, sizeof(keyarg), "--key-file=%s", key);
		snprintf(pidarg, sizeof(pidarg), "--pid-file=%s", pidf);
		snprintf(logarg, sizeof(logarg), "--log-file=%s", log);
		snprintf(seedarg, sizeof(seedarg), "--seed-file=%s", seed);
		unlink(pidf);
		char *av[] = { "munged", "--force", sockarg, keyarg, pidarg, logarg, seedarg, NULL };
		pid_t pid = fork();
		if (pid == 0) {
			setsid();
			quiet_stdio(log);
			execvp("munged", av);
			execv("/usr/sbin/munged", av);
			_exit(127);
		}
		int st2 = 0;
		if (pid < 0 || waitpid(pid, &st2, 0) < 0 || !WIFEXITED(st2) || WEXITSTATUS(st2))
			return error("cannot start munged; see '%s'", log);
		if (wait_file(pidf, 5000))
			return error("munged did not write '%s'", pidf);
	}
	write_text(absdir, "munge.socket", msock);
	find_bindir();
	char mdsdir[4200], log[4200], pidf[4200], portf[4200], cs[32], ss[32], port[16];
	snprintf(mdsdir, sizeof(mdsdir), "%s/mds", absdir);
	snprintf(log, sizeof(log), "%s/mds.log", absdir);
	snprintf(pidf, sizeof(pidf), "%s/mds.pid", absdir);
	snprintf(portf, sizeof(portf), "%s/mds.port", absdir);
	snprintf(cs, sizeof(cs), "%lld", (long long)o.stripe_count);
	snprintf(ss, sizeof(ss), "%lld", (long long)o.stripe_size);
	snprintf(port, sizeof(port), "%lld", (long long)o.port);
	unlink(portf);
	unlink(pidf);
	char *mav[] = { "sfs-mds", "--dir", mdsdir, "--listen", o.listen, "--port", port, "--port-file", portf,
			"--munge-socket", msock, "--stripe-count", cs, "--stripe-size", ss, "--fsname", o.fsname,
			"--pid-file", pidf, NULL };
	if (spawn(mav, log) < 0 || wait_file(portf, o.timeout_ms))
		return error("sfs-mds did not start; see '%s'", log);
	long mport;
	if (read_int_file(portf, &mport))
		return error("cannot read '%s'", portf);
	char mds[300];
	snprintf(mds, sizeof(mds), "%s:%ld", o.listen, mport);
	write_text(absdir, "mds.addr", mds);
	char nb[32];
	snprintf(nb, sizeof(nb), "%lld", (long long)o.oss_bandwidth);
	write_text(absdir, "oss.bandwidth", nb);
	snprintf(nb, sizeof(nb), "%lld", (long long)o.oss);
	write_text(absdir, "oss.count", nb);
	write_text(absdir, "listen", o.listen);
	for (int k = 0; k < o.oss; k++)
		if (start_oss(absdir, k, o.listen, mds, msock, o.oss_bandwidth))
			return 1;
	if (wait_osts(o.listen, (int)mport, msock, (int)o.oss, o.timeout_ms))
		return 1;
	printf("mds %s\nsource %s:/%s\nmunge_socket %s\n", mds, mds, o.fsname, msock);
	if (o.mount) {
		char src[400], opts[16384], mlog[4200], mpid[4200], mnt[4096];
		if (util_mkdirs(o.mount, 0755) || !realpath(o.mount, mnt))
			return error("cannot create mount point '%s'", o.mount);
		snprintf(src, sizeof(src), "%s:/%s", mds, o.fsname);
		snprintf(mlog, sizeof(mlog), "%s/mount.log", absdir);
		snprintf(mpid, sizeof(mpid), "%s/mount.pid", absdir);
		snprintf(opts, sizeof(opts), "munge_socket=%s,log_file=%s,pid_file=%s%s%s", msock, mlog, mpid,
			 o.mount_options ? "," : "", o.mount_options ? o.mount_options : "");
		char *av[] = { "sfs-mount", src, mnt, "-o", opts, NULL };
		pid_t pid = fork();
		if (pid == 0) {
			char prog[4200];
			quiet_stdio(mlog);
			snprintf(prog, sizeof(prog), "%s/sfs-mount", bindir);
			execv(prog, av);
			execvp("sfs-mount", av);
			_exit(127);
		}
		int st2 = 0;
		if (pid < 0 || waitpid(pid, &st2, 0) < 0 || !WIFEXITED(st2) || WEXITSTATUS(st2))
			return error("cannot mount on '%s'; see '%s'", mnt, mlog);
		write_text(absdir, "mount.point", mnt);
		printf("mount %s\n", mnt);
	}
	return 0;
}

static int local_add_oss(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		printf("usage: sfs local add-oss DIR [--oss-bandwidth RATE]\nStart one more OSS for the file system of 'sfs local up DIR'.\n");
		return argc < 2 ? 2 : 0;
	}
	const char *dir = argv[1];
	char mds[300], msock[4200], listen[256], cnt[32], bw[32];
	if (read_text(dir, "mds.addr", mds, sizeof(mds)) || read_text(dir, "munge.socket", msock, sizeof(msock)) ||
	    read_text(dir, "listen", listen, sizeof(listen)) || read_text(dir, "oss.count", cnt, sizeof(cnt)))
		return error("'%s' holds no file system of 'sfs local up'", dir);
	if (read_text(dir, "oss.bandwidth", bw, sizeof(bw)))
		snprintf(bw, sizeof(bw), "0");
	int64_t rate = strtoll(bw, NULL, 10);
	for (int i = 2; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--oss-bandwidth") && cfg_parse_size(argv[i + 1], &rate))
			return error("bad --oss-bandwidth '%s'", argv[i + 1]);
	long n = strtol(cnt, NULL, 10);
	find_bindir();
	if (start_oss(dir, (int)n, listen, mds, msock, rate))
		return 1;
	char next[32];
	snprintf(next, sizeof(next), "%ld", n + 1);
	write_text(dir, "oss.count", next);
	char *host;
	int port;
	if (net_split_hostport(mds, &host, &port, SFS_DEFAULT_PORT))
		return error("bad MDS address '%s'", mds);
	int rc = wait_osts(host, port, msock, (int)n + 1, 20000);
	free(host);
	if (rc)
		return 1;
	printf("oss %ld started\n", n);
	return 0;
}

static void stop_pidfile(const char *dir, const char *name)
{
	char p[4200];
	long pid;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (read_int_file(p, &pid) || pid <= 1)
		return;
	if (kill((pid_t)pid, SIGTERM) == 0) {
		for (int i = 0; i < 100 && kill((pid_t)pid, 0) == 0; i++) {
			char st[64];
			snprintf(st, sizeof(st), "/proc/%ld/stat", pid);
			char *t;
			size_t len;
			/* A zombie (not our child) counts as gone. */
			if (util_read_file(st, 1024, &t, &len) == 0) {
				char *rp = strrchr(t, ')');
				bool z = rp && rp[1] && rp[2] == 'Z';
				free(t);
				if (z)
					break;
			}
			struct timespec ts = { 0, 50 * 1000000 };
			nanosleep(&ts, NULL);
		}
		if (kill((pid_t)pid, 0) == 0)
			kill((pid_t)pid, SIGKILL);
	}
	unlink(p);
}

/* The options' strings are released whatever happened (leak checkers). */
static int local_up(int argc, char **argv)
{
	struct local_opts o;
	memset(&o, 0, sizeof(o));
	int rc = local_up_opts(&o, argc, argv);
	cfg_release(&local_up_prog, &o);
	return rc;
}

static int local_down(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		printf("usage: sfs local down DIR\nUnmount and stop what 'sfs local up DIR' started (by the PIDs recorded in DIR).\n");
		return argc < 2 ? 2 : 0;
	}
	const char *dir = argv[1];
	char mnt[4096];
	if (read_text(dir, "mount.point", mnt, sizeof(mnt)) == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			int nul = open("/dev/null", O_WRONLY);
			if (nul >= 0) {
				dup2(nul, 1);
				dup2(nul, 2);
			}
			execlp("fusermount3", "fusermount3", "-u", "-z", mnt, (char *)NULL);
			_exit(127);
		}
		int st;
		waitpid(pid, &st, 0);
		char p[4200];
		snprintf(p, sizeof(p), "%s/mount.point", dir);
		unlink(p);
	}
	stop_pidfile(dir, "mount.pid");
	DIR *d = opendir(dir);
	if (!d)
		return error("cannot read '%s': %s", dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "oss", 3) && strstr(e->d_name, ".pid"))
			stop_pidfile(dir, e->d_name);
	closedir(d);
	stop_pidfile(dir, "mds.pid");
	stop_pidfile(dir, "munged.pid");
	return 0;
}

int main(int argc, char **argv)
{
	err_set_progname("sfs");
	log_init("sfs", LOG_WARN);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage();
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "setstripe"))
		return cmd_setstripe(argc - 1, argv + 1) ? 1 : 0;
	if (!strcmp(cmd, "getstripe"))
		return cmd_getstripe(argc - 1, argv + 1) ? 1 : 0;
	if (!strcmp(cmd, "df"))
		return cmd_df(argc - 1, argv + 1, false) ? 1 : 0;
	if (!strcmp(cmd, "osts"))
		return cmd_df(argc - 1, argv + 1, true) ? 1 : 0;
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(argc - 1, argv + 1) ? 1 : 0;
	if (!strcmp(cmd, "ost"))
		return cmd_ost(argc - 1, argv + 1) ? 1 : 0;
	if (!strcmp(cmd, "local") && argc >= 3) {
		if (!strcmp(argv[2], "up")) {
			/* Accept `sfs local up DIR --oss 3`: move DIR after the options. */
			char **av = calloc((size_t)argc, sizeof(*av));
			int n = 0;
			char *dir = NULL;
			av[n++] = "sfs local up";
			for (int i = 3; i < argc; i++) {
				if (argv[i][0] != '-' && !dir && (i == 3 || argv[i - 1][0] != '-' || strchr(argv[i - 1], '=') ||
								 !strcmp(argv[i - 1], "--help"))) {
					dir = argv[i];
					continue;
				}
				av[n++] = argv[i];
			}
			if (dir)
				av[n++] = dir;
			int rc = local_up(n, av);
			free(av);
			return rc ? 1 : 0;
		}
		if (!strcmp(argv[2], "down"))
			return local_down(argc - 2, argv + 2) ? 1 : 0;
		if (!strcmp(argv[2], "add-oss"))
			return local_add_oss(argc - 2, argv + 2) ? 1 : 0;
	}
	error("unknown command '%s'; see sfs --help", cmd);
	return 2;
}
