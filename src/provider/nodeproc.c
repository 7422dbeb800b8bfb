/*
 * nodeproc.c: entering a local node's namespaces to run programs there, and
 * finding every process a node holds (see nodeproc.h).
 *
 * The forked children only make system calls on data prepared before the
 * fork (paths, argv, environment): the caller is a multi-threaded daemon and
 * another thread may hold the malloc lock at fork time.
 */
#include "provider/nodeproc.h"

#include "common/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* coreutils' sleep, which takes "infinity"; /bin is /usr/bin on Debian 12. */
#define SLEEP_PATH "/bin/sleep"

/* What a child reports over the result pipe; fixed size, so one write is atomic. */
struct spawn_msg {
	int kind;  /* MSG_* */
	int step;  /* STEP_*, for MSG_ERR */
	int val;   /* pid, wait status or errno */
};

enum { MSG_PID = 1, MSG_STATUS, MSG_ERR };

enum {
	STEP_SETNS_NET = 1, STEP_SETNS_UTS, STEP_SETNS_MNT, STEP_UNSHARE, STEP_SLAVE,
	STEP_HOSTNAME, STEP_BIND_HOSTS, STEP_BIND_TMP, STEP_BIND_SSH, STEP_CHDIR, STEP_SETSID,
	STEP_FORK, STEP_STDIO, STEP_EXEC,
};

static const char *step_name(int step)
{
	switch (step) {
	case STEP_SETNS_NET: return "joining the node's network namespace";
	case STEP_SETNS_UTS: return "joining the node's UTS namespace";
	case STEP_SETNS_MNT: return "joining the node's mount namespace";
	case STEP_UNSHARE: return "making the node's UTS and mount namespaces";
	case STEP_SLAVE: return "making the node's mounts slaves of the host's";
	case STEP_HOSTNAME: return "setting the node's hostname";
	case STEP_BIND_HOSTS: return "bind-mounting the node's hosts file over /etc/hosts";
	case STEP_BIND_TMP: return "bind-mounting the node's private /tmp";
	case STEP_BIND_SSH: return "bind-mounting the node's private /root/.ssh";
	case STEP_CHDIR: return "changing to the working directory";
	case STEP_SETSID: return "starting a new session";
	case STEP_FORK: return "forking";
	case STEP_STDIO: return "setting up standard input and output";
	case STEP_EXEC: return "executing the program";
	}
	return "an unknown step";
}

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char **err, const char *fmt, ...)
{
	if (!err)
		return;
	free(*err);
	*err = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

int ns_id_of(const char *path, struct ns_id *out)
{
	struct stat st;
	struct statfs sf;
	if (stat(path, &st) < 0 || statfs(path, &sf) < 0)
		return -errno;
	/* /run/netns/X is an empty file until `ip netns add` binds the namespace on
	 * it, and that bind is seen only in the mount namespace that made it. */
	if (sf.f_type != NSFS_MAGIC)
		return -ENOTNAM;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
}

int ns_id_of_pid(pid_t pid, const char *kind, struct ns_id *out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, kind);
	return ns_id_of(path, out);
}

bool ns_id_equal(const struct ns_id *a, const struct ns_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* Read /proc/PID/stat's state letter; 0 when the process is gone. */
static char pid_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: the state follows the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return 0;
	return p[2];
}

bool pid_gone(pid_t pid)
{
	char s = pid_state(pid);
	return s == 0 || s == 'Z' || s == 'X';
}

int node_find_pids(const struct ns_id *net, const struct ns_id *mnt, pid_t **pids)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	size_t n = 0, cap = 16;
	pid_t *v = malloc(cap * sizeof(*v));
	if (!v) {
		closedir(d);
		return -ENOMEM;
	}
	pid_t self = getpid();
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		struct ns_id id;
		bool in = false;
		if (net && !ns_id_of_pid((pid_t)pid, "net", &id) && ns_id_equal(&id, net))
			in = true;
		if (!in && mnt && !ns_id_of_pid((pid_t)pid, "mnt", &id) && ns_id_equal(&id, mnt))
			in = true;
		if (!in || pid_gone((pid_t)pid))
			continue;
		if (n == cap) {
			pid_t *nv = realloc(v, cap * 2 * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		v[n++] = (pid_t)pid;
	}
	closedir(d);
	*pids = v;
	return (int)n;
}

/* The environment a node's programs start with: nothing of the manager's. */
static char *const node_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"LANG=C.UTF-8",
	"USER=root",
	"LOGNAME=root",
	"SHELL=/bin/bash",
	NULL
};

struct holder_setup {
	const char *hostname;
	const char *hosts_file;
	const char *tmp_dir;
	const char *root_ssh_dir;
};

static void child_report(int fd, int kind, int step, int val)
{
	struct spawn_msg m = { kind, step, val };
	ssize_t w;
	do
		w = write(fd, &m, sizeof(m));
	while (w < 0 && errno == EINTR);
}

/* Close every descriptor from 3 up but those in keep.  Runs in a forked child
 * of a multi-threaded caller: system calls and stack only (no qsort, no malloc). */
static void close_all_but(int *keep, int nkeep)
{
	for (int i = 1; i < nkeep; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned lo = 3;
	for (int i = 0; i < nkeep; i++) {
		if (keep[i] < 3 || (unsigned)keep[i] < lo)
			continue;
		if ((unsigned)keep[i] > lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	close_range(lo, ~0U, 0);
}

/* Give the program a clean signal state: the manager blocks and ignores some. */
static void reset_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
}

/*
 * One line of mountinfo: should a new node let go of this mount?  Mounts the
 * node got as private copies of the host's (no "master:" tag once everything
 * is a slave) never follow the host's unmounts, so the node would pin them:
 * a FUSE daemon would never see its unmount (the host's `fusermount -u`
 * returns, the daemon lives on), a device would stay busy.  Let go of
 * private FUSE mounts anywhere and of private mounts under /tmp (hidden by
 * the node's own /tmp anyway).  Mounts made shared on the host (/lustre) are
 * slaves here and stay.  Parses in place; *mp is set to the unescaped path.
 */
static bool mount_to_drop(char *line, char **mp)
{
	char *save = NULL, *tok, *point = NULL;
	bool slave = false;
	int field = 0;
	for (tok = strtok_r(line, " ", &save); tok && strcmp(tok, "-"); tok = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 5)
			point = tok;
		else if (field > 6 && !strncmp(tok, "master:", 7))
			slave = true;
	}
	char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
	if (!point || !fstype || slave)
		return false;
	mountinfo_unescape(point);
	*mp = point;
	return !strncmp(fstype, "fuse", 4) || !strncmp(point, "/tmp/", 5);
}

/* Detach the mounts mount_to_drop() names.  Runs in the forked holder: stack only. */
static void detach_private_mounts(void)
{
	char buf[32768];
	/* Unmounting while reading mountinfo may skip lines: read again until a pass drops nothing. */
	for (int pass = 0; pass < 8; pass++) {
		int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		size_t have = 0;
		bool dropped = false, skipping = false;
		for (;;) {
			ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			have += (size_t)n;
			buf[have] = '\0';
			char *line = buf, *nl;
			while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
				*nl = '\0';
				char *mp = NULL;
				if (!skipping && mount_to_drop(line, &mp) && umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
					dropped = true;
				skipping = false;
				line = nl + 1;
			}
			have -= (size_t)(line - buf);
			memmove(buf, line, have);
			if (have == sizeof(buf) - 1) { /* a line longer than the buffer: skip it */
				have = 0;
				skipping = true;
			}
		}
		close(fd);
		if (!dropped)
			return;
	}
}

/* The first child: enter or make the namespaces, then fork the program.  Never returns. */
static void __attribute__((noreturn))
spawn_child(const struct spawn_req *req, const struct holder_setup *hs, int fd_net, int fd_uts,
	    int fd_mnt, int fd_out, int fd_null, int wfd)
{
	int keep[] = { fd_net, fd_uts, fd_mnt, fd_out, fd_null, wfd };
	close_all_but(keep, (int)(sizeof(keep) / sizeof(keep[0])));

	if (fd_net >= 0 && setns(fd_net, CLONE_NEWNET) < 0)
		goto fail_net;
	if (fd_uts >= 0 && setns(fd_uts, CLONE_NEWUTS) < 0) {
		child_report(wfd, MSG_ERR, STEP_SETNS_UTS, errno);
		_exit(1);
	}
	if (fd_mnt >= 0 && setns(fd_mnt, CLONE_NEWNS) < 0) {
		child_report(wfd, MSG_ERR, STEP_SETNS_MNT, errno);
		_exit(1);
	}
	if (hs) {
		int step = 0;
		if (unshare(CLONE_NEWUTS | CLONE_NEWNS) < 0)
			step = STEP_UNSHARE;
		else if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
			step = STEP_SLAVE;
		else if (sethostname(hs->hostname, strlen(hs->hostname)) < 0)
			step = STEP_HOSTNAME;
		if (!step) {
			/* Best effort: a mount we cannot drop is only pinned longer. */
			detach_private_mounts();
			if (hs->hosts_file && mount(hs->hosts_file, "/etc/hosts", NULL, MS_BIND, NULL) < 0)
				step = STEP_BIND_HOSTS;
			else if (hs->tmp_dir && mount(hs->tmp_dir, "/tmp", NULL, MS_BIND, NULL) < 0)
				step = STEP_BIND_TMP;
			else if (hs->root_ssh_dir && mount(hs->root_ssh_dir, "/root/.ssh", NULL, MS_BIND, NULL) < 0)
				step = STEP_BIND_SSH;
		}
		if (step) {
			child_report(wfd, MSG_ERR, step, errno);
			_exit(1);
		}
	}
	if (chdir(req->cwd ? req->cwd : "/") < 0) {
		child_report(wfd, MSG_ERR, STEP_CHDIR, errno);
		_exit(1);
	}
	if (req->mode == SPAWN_DAEMON && setsid() < 0) {
		child_report(wfd, MSG_ERR, STEP_SETSID, errno);
		_exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		child_report(wfd, MSG_ERR, STEP_FORK, errno);
		_exit(1);
	}
	if (pid == 0) {
		reset_signals();
		int out = fd_out >= 0 ? fd_out : (req->mode == SPAWN_DAEMON ? fd_null : -1);
		if (dup2(fd_null, 0) < 0 || (out >= 0 && (dup2(out, 1) < 0 || dup2(out, 2) < 0))) {
			child_report(wfd, MSG_ERR, STEP_STDIO, errno);
			_exit(127);
		}
		/* Nothing of ours survives the exec but stdio; wfd closes on success. */
		close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
		environ = (char **)(req->envp ? req->envp : node_env);
		if (req->path)
			execv(req->path, req->argv);
		else
			execvp(req->argv[0], req->argv);
		child_report(wfd, MSG_ERR, STEP_EXEC, errno);
		_exit(127);
	}
	child_report(wfd, MSG_PID, 0, pid);
	if (req->mode == SPAWN_WAIT) {
		int st;
		while (waitpid(pid, &st, 0) < 0) {
			if (errno != EINTR) {
				st = 127 << 8;
				break;
			}
		}
		child_report(wfd, MSG_STATUS, 0, st);
	}
	_exit(0);

fail_net:
	child_report(wfd, MSG_ERR, STEP_SETNS_NET, errno);
	_exit(1);
}

static int spawn(const struct spawn_req *req, const struct holder_setup *hs, int *result, char **err)
{
	int fd_net = -1, fd_uts = -1, fd_mnt = -1, fd_out = -1, fd_null = -1;
	int pfd[2] = { -1, -1 };
	int rc = 0;
	char path[96];

	if (req->holder > 0) {
		static const char *const kinds[] = { "net", "uts", "mnt" };
		int *fds[] = { &fd_net, &fd_uts, &fd_mnt };
		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)req->holder, kinds[i]);
			*fds[i] = open(path, O_RDONLY | O_CLOEXEC);
			if (*fds[i] < 0) {
				rc = neg_errno();
				set_err(err, "cannot open '%s': %s; is the node's holder process %d still running?",
					path, strerror(-rc), (int)req->holder);
				goto out;
			}
		}
	} else if (req->netns_path) {
		fd_net = open(req->netns_path, O_RDONLY | O_CLOEXEC);
		if (fd_net < 0) {
			rc = neg_errno();
			set_err(err, "cannot open network namespace '%s': %s", req->netns_path, strerror(-rc));
			goto out;
		}
	}
	fd_null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd_null < 0) {
		rc = neg_errno();
		set_err(err, "cannot open '/dev/null': %s", strerror(-rc));
		goto out;
	}
	if (req->out_path) {
		fd_out = open(req->out_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd_out < 0) {
			rc = neg_errno();
			set_err(err, "cannot open log file '%s': %s", req->out_path, strerror(-rc));
			goto out;
		}
	} else if (req->out_fd > 0) {
		fd_out = fcntl(req->out_fd, F_DUPFD_CLOEXEC, 3);
		if (fd_out < 0) {
			rc = neg_errno();
			set_err(err, "cannot duplicate an output descriptor: %s", strerror(-rc));
			goto out;
		}
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = neg_errno();
		set_err(err, "cannot make a pipe: %s", strerror(-rc));
		goto out;
	}
	pid_t child = fork();
	if (child < 0) {
		rc = neg_errno();
		set_err(err, "cannot fork to start '%s': %s", req->argv[0], strerror(-rc));
		goto out;
	}
	if (child == 0)
		spawn_child(req, hs, fd_net, fd_uts, fd_mnt, fd_out, fd_null, pfd[1]);
	close(pfd[1]);
	pfd[1] = -1;

	bool got_pid = false, got_status = false;
	struct spawn_msg m;
	for (;;) {
		ssize_t n = read(pfd[0], &m, sizeof(m));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m))
			break;
		if (m.kind == MSG_PID) {
			got_pid = true;
			if (req->mode == SPAWN_DAEMON)
				*result = m.val;
		} else if (m.kind == MSG_STATUS) {
			got_status = true;
			*result = WIFEXITED(m.val) ? WEXITSTATUS(m.val) : 128 + WTERMSIG(m.val);
		} else if (m.kind == MSG_ERR && !rc) {
			rc = m.val > 0 ? -m.val : -EIO;
			set_err(err, "cannot start '%s' in the node: %s failed: %s", req->argv[0],
				step_name(m.step), strerror(-rc));
		}
	}
	/* Our own child; a subreaping manager may have reaped it already (ECHILD). */
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	if (!rc && (!got_pid || (req->mode == SPAWN_WAIT && !got_status))) {
		rc = -EIO;
		set_err(err, "cannot start '%s' in the node: the starter process died without a word",
			req->argv[0]);
	}
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	int fds[] = { fd_net, fd_uts, fd_mnt, fd_out, fd_null };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

int node_spawn(const struct spawn_req *req, int *result, char **err)
{
	return spawn(req, NULL, result, err);
}

int node_make_holder(const char *netns_path, const char *hostname, const char *hosts_file,
		     const char *tmp_dir, const char *root_ssh_dir, pid_t *pid, char **err)
{
	/* `sleep infinity` is the whole holder: it keeps the namespaces and dies on SIGTERM. */
	/* Named so that `ps` says whose it is: "stratus-holder NODE infinity". */
	char name[96];
	snprintf(name, sizeof(name), "stratus-holder %s", hostname);
	char *const argv[] = { name, "infinity", NULL };
	struct holder_setup hs = { hostname, hosts_file, tmp_dir, root_ssh_dir };
	struct spawn_req req = {
		.netns_path = netns_path, .argv = argv, .path = SLEEP_PATH, .mode = SPAWN_DAEMON,
	};
	int p = 0;
	int rc = spawn(&req, &hs, &p, err);
	if (!rc)
		*pid = p;
	return rc;
}

int node_umount_detach(pid_t holder, const char *path)
{
	char nspath[64];
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/mnt", (int)holder);
	int fd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	pid_t pid = fork();
	if (pid < 0) {
		int rc = neg_errno();
		close(fd);
		return rc;
	}
	if (pid == 0) {
		if (setns(fd, CLONE_NEWNS) < 0)
			_exit(errno & 0xff);
		_exit(umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? (errno & 0xff) : 0);
	}
	close(fd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 0; /* reaped by a subreaping caller: the result is lost, not the work */
	}
	return WIFEXITED(st) && WEXITSTATUS(st) ? -WEXITSTATUS(st) : 0;
}

void mountinfo_unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}
