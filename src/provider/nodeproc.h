/*
 * nodeproc.h: running programs inside a local node and finding what runs there.
 *
 * A local node is a network namespace (pinned by /run/netns/NAME) plus one
 * long-lived holder process that has joined it and owns the node's UTS and
 * mount namespaces.  Everything started in the node enters the holder's
 * three namespaces with setns(2).  The manager that calls this is
 * multi-threaded and setns(CLONE_NEWNS) refuses a multi-threaded caller, so
 * every entry happens in a freshly forked (single-threaded) child.
 *
 * Children are detached through an intermediate process whose own exit status
 * nobody needs: results (pid, exit status, errno of a failed step) come back
 * over a pipe.  So a manager that reaps every child with waitpid(-1) (it is a
 * child subreaper) cannot steal a result from us.
 *
 * Internal to libprovider.  Functions return 0 or -errno.
 */
#ifndef STRATUS_PROVIDER_NODEPROC_H
#define STRATUS_PROVIDER_NODEPROC_H

#include <stdbool.h>
#include <sys/types.h>

/* The identity of a namespace: nsfs device and inode. */
struct ns_id {
	dev_t dev;
	ino_t ino;
};

/* Identity of the namespace at PATH (/run/netns/X, /proc/PID/ns/net).  0 or -errno;
 * -ENOTNAM when PATH is no namespace here (a netns file whose bind mount lives
 * in another mount namespace). */
int ns_id_of(const char *path, struct ns_id *out);
int ns_id_of_pid(pid_t pid, const char *kind, struct ns_id *out);
bool ns_id_equal(const struct ns_id *a, const struct ns_id *b);

enum spawn_mode {
	SPAWN_WAIT,   /* run, wait, give back the exit status; stdio inherited unless out_path */
	SPAWN_DAEMON, /* start detached (own session), give back its pid */
};

struct spawn_req {
	pid_t holder;          /* enter this process's net, uts and mnt namespaces; 0: stay on the host */
	const char *netns_path;/* or only join this network namespace (holder 0), e.g. for the holder itself */
	char *const *argv;     /* argv[0] is looked up in PATH of envp (or the default PATH) */
	const char *path;      /* or run this file, argv[0] being only the name ps shows */
	char *const *envp;     /* NULL: a clean node environment (PATH, HOME=/root, LANG=C.UTF-8) */
	const char *cwd;       /* NULL: "/" */
	const char *out_path;  /* stdout and stderr appended here; NULL: see out_fd */
	int out_fd;            /* > 0 and no out_path: stdout and stderr go here (not owned);
				  neither: inherited (WAIT) or /dev/null (DAEMON) */
	enum spawn_mode mode;
};

/*
 * Run req->argv as described.  On success *result is the exit status
 * (WAIT: 0-255, or 128+signal) or the pid (DAEMON).  A step that failed in
 * the child (setns, chdir, exec...) comes back as -errno with *err set.
 */
int node_spawn(const struct spawn_req *req, int *result, char **err);

/*
 * Make the holder of a node: a process that joins the network namespace at
 * netns_path, unshares UTS and mount namespaces (all mounts slaves of the
 * host's), sets the hostname, bind-mounts hosts_file over /etc/hosts and
 * tmp_dir over /tmp (and root_ssh_dir, if not NULL, over /root/.ssh), then
 * execs `sleep infinity` with nothing else open.
 * *pid is the holder's pid.
 */
int node_make_holder(const char *netns_path, const char *hostname, const char *hosts_file,
		     const char *tmp_dir, const char *root_ssh_dir, pid_t *pid, char **err);

/*
 * Every process (other than the caller) whose network namespace is *net or
 * whose mount namespace is *mnt (either may be NULL).  *pids is malloc'd.
 * Returns the count or -errno.  Zombies are left out: they hold nothing.
 */
int node_find_pids(const struct ns_id *net, const struct ns_id *mnt, pid_t **pids);

/*
 * Detach the mount at PATH inside the holder's mount namespace
 * (umount2 MNT_DETACH, done by the system call itself: umount(8) would stat
 * the path first, and a hung FUSE daemon would hang us too).  0 or -errno.
 */
int node_umount_detach(pid_t holder, const char *path);

/* Undo mountinfo's octal escapes (\040 for a space...) in place. */
void mountinfo_unescape(char *s);

/* Is pid a zombie or gone? */
bool pid_gone(pid_t pid);

#endif
