/*
 * local.c: the local provider: each node is a set of Linux namespaces on
 * this host (see docs/nodes.md and ../shared/notes/local-nodes.md).
 *
 * A cluster network is a bridge with a fixed MAC (derived from its name, so
 * that ARP entries stay right as nodes come and go) holding the gateway
 * address.  A node is: a network namespace "st-<name>-<id>" pinned under
 * /run/netns, a veth "stv<id>" from the bridge to the node's eth0, and one
 * holder process that owns the node's UTS and mount namespaces (hostname,
 * private /tmp, the node's /etc/hosts).  sshd and the agent run inside by
 * entering the holder's namespaces.  <id> is random, so two managers or two
 * tests never pick the same names.
 *
 * Everything here only touches what it made: names are checked against the
 * patterns above before anything is deleted, and a node whose namespaces turn
 * out to be the host's own is refused rather than emptied.
 */
#include "provider/provider.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "provider/nodeproc.h"

#define NETNS_DIR "/run/netns"
#define SSHD_PATH "/usr/sbin/sshd"
/* How long processes of a node get to go after SIGTERM, then after SIGKILL. */
#define TERM_GRACE_MS 3000
#define KILL_GRACE_MS 3000
#define SSHD_START_MS 5000

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

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- names and checks ---- */

static bool all_chars(const char *s, const char *extra)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(extra, c))))
			return false;
	}
	return true;
}

static bool valid_ifname(const char *s)
{
	return s && *s && strlen(s) < IFNAMSIZ && all_chars(s, "_.-");
}

/* A hostname label: letters, digits and '-', not starting or ending with '-'. */
static bool valid_nodename(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= 63 && all_chars(s, "-") && s[0] != '-' && s[n - 1] != '-';
}

/* Names this provider makes: only those are ever deleted. */
static bool our_netns(const char *s)
{
	return s && !strncmp(s, "st-", 3) && strlen(s) < 64 && all_chars(s, "_.-");
}

static bool our_veth(const char *s)
{
	return valid_ifname(s) && !strncmp(s, "stv", 3);
}

static bool valid_ipv4(const char *s, struct in_addr *a)
{
	struct in_addr tmp;
	return s && inet_pton(AF_INET, s, a ? a : &tmp) == 1;
}

static bool link_exists(const char *ifname)
{
	char path[64];
	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	return access(path, F_OK) == 0;
}

static bool is_bridge(const char *ifname)
{
	char path[80];
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", ifname);
	return access(path, F_OK) == 0;
}

/*
 * A path the node must see as the host does.  The node mounts its own /tmp,
 * so anything under the host's /tmp is invisible inside it: refuse early with
 * a message that says so, instead of a node whose agent cannot read its config.
 */
static int check_node_path(const char *what, const char *path, bool must_exist, char **err)
{
	if (!path || path[0] != '/') {
		set_err(err, "%s '%s' is not an absolute path; give the full path", what, path ? path : "");
		return -EINVAL;
	}
	if (!strcmp(path, "/tmp") || !strncmp(path, "/tmp/", 5)) {
		set_err(err, "%s '%s' is under /tmp, which every node replaces with its own; "
			"keep node state elsewhere (e.g. /var/lib/stratus)", what, path);
		return -EINVAL;
	}
	if (strchr(path, '\n')) {
		set_err(err, "%s '%s' holds a newline; use a plain path", what, path);
		return -EINVAL;
	}
	if (must_exist && access(path, F_OK) < 0) {
		int rc = neg_errno();
		set_err(err, "cannot use %s '%s': %s", what, path, strerror(-rc));
		return rc;
	}
	return 0;
}

/* A locally administered unicast MAC that depends only on the bridge's name. */
static void bridge_mac(const char *bridge, char out[18])
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)bridge; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	snprintf(out, 18, "02:%02x:%02x:%02x:%02x:%02x", (unsigned)(h >> 32) & 0xff,
		 (unsigned)(h >> 24) & 0xff, (unsigned)(h >> 16) & 0xff, (unsigned)(h >> 8) & 0xff,
		 (unsigned)h & 0xff);
}

/* ---- running host commands (ip, ssh-keygen) ---- */

/*
 * Run argv on the host, wait, and fail with its own words (its stderr) when
 * it exits non-zero.  Output is caught in a memfd so a chatty command cannot
 * block on a full pipe.
 */
static int run_host(const char *const argv[], char **err)
{
	int mfd = memfd_create("stratus-cmd", MFD_CLOEXEC);
	if (mfd < 0) {
		int rc = neg_errno();
		set_err(err, "cannot make a memfd to run '%s': %s", argv[0], strerror(-rc));
		return rc;
	}
	/* exec(2) takes char *const[] for history's sake; it does not write them. */
	struct spawn_req req = { .argv = (char *const *)argv, .mode = SPAWN_WAIT, .out_fd = mfd };
	int status = 0;
	int rc = node_spawn(&req, &status, err);
	if (!rc && status != 0) {
		char out[512];
		ssize_t n = pread(mfd, out, sizeof(out) - 1, 0);
		out[n > 0 ? n : 0] = '\0';
		size_t len = strlen(out);
		while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
			out[--len] = '\0';
		struct buf cmd = BUF_INIT(1024);
		for (int i = 0; argv[i]; i++)
			buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
		set_err(err, "'%s' failed (exit %d): %s", cmd.data ? cmd.data : argv[0], status,
			len ? out : "no message");
		buf_release(&cmd);
		rc = -EIO;
	}
	close(mfd);
	return rc;
}

#define RUN(err, ...) run_host((const char *const[]){ __VA_ARGS__, NULL }, err)

/* ---- cluster networks ---- */

static bool iface_has_addr(const char *ifname, struct in_addr addr)
{
	struct ifaddrs *ifa, *p;
	bool found = false;
	if (getifaddrs(&ifa) < 0)
		return false;
	for (p = ifa; p; p = p->ifa_next)
		if (p->ifa_addr && p->ifa_addr->sa_family == AF_INET && !strcmp(p->ifa_name, ifname) &&
		    ((struct sockaddr_in *)p->ifa_addr)->sin_addr.s_addr == addr.s_addr)
			found = true;
	freeifaddrs(ifa);
	return found;
}

/*
 * Is net/prefix already routed through another interface?  Then making it
 * here would steal (or lose) someone else's traffic: refuse, naming it.
 */
static int check_subnet_free(const char *bridge, struct in_addr net, int prefix, char **err)
{
	FILE *f = fopen("/proc/net/route", "re");
	if (!f)
		return 0;
	uint32_t mask = prefix ? htonl(~0U << (32 - prefix)) : 0;
	char line[256];
	int rc = 0;
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char ifname[IFNAMSIZ + 1];
		unsigned dest, gw, flags, rmask;
		if (sscanf(line, "%16s %x %x %x %*d %*d %*d %x", ifname, &dest, &gw, &flags, &rmask) != 5)
			continue;
		if (rmask == 0 || !strcmp(ifname, bridge))
			continue; /* a default route overlaps everything and is no owner */
		uint32_t m = __builtin_popcount(rmask) < __builtin_popcount(mask) ? rmask : mask;
		if ((dest & m) == (net.s_addr & m)) {
			struct in_addr d = { dest };
			char ds[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &d, ds, sizeof(ds));
			set_err(err, "cannot make cluster network on '%s': its subnet overlaps %s/%d, "
				"already routed through '%s'; pick another subnet for the cluster",
				bridge, ds, __builtin_popcount(rmask), ifname);
			rc = -EADDRINUSE;
			break;
		}
	}
	fclose(f);
	return rc;
}

static int local_network_up(const char *bridge, const char *gateway, int prefix_len, char **err)
{
	struct in_addr gw;
	char cidr[32], mac[18];
	int rc;

	if (!valid_ifname(bridge)) {
		set_err(err, "bad bridge name '%s': use 1 to 15 letters, digits, '-', '_' or '.'",
			bridge ? bridge : "");
		return -EINVAL;
	}
	if (!valid_ipv4(gateway, &gw) || prefix_len < 8 || prefix_len > 30) {
		set_err(err, "bad cluster network '%s/%d' for bridge '%s': give an IPv4 address "
			"and a prefix length from 8 to 30", gateway ? gateway : "", prefix_len, bridge);
		return -EINVAL;
	}
	snprintf(cidr, sizeof(cidr), "%s/%d", gateway, prefix_len);
	if (link_exists(bridge)) {
		/* Made before (e.g. by the manager before a restart): keep it. */
		if (!is_bridge(bridge)) {
			set_err(err, "cannot make bridge '%s': an interface of that name exists and is "
				"not a bridge; pick another name", bridge);
			return -EEXIST;
		}
		if (iface_has_addr(bridge, gw))
			return RUN(err, "ip", "link", "set", "dev", bridge, "up");
		if ((rc = RUN(err, "ip", "addr", "add", cidr, "dev", bridge)))
			return rc;
		return RUN(err, "ip", "link", "set", "dev", bridge, "up");
	}
	struct in_addr net = gw;
	net.s_addr &= htonl(~0U << (32 - prefix_len));
	if ((rc = check_subnet_free(bridge, net, prefix_len, err)))
		return rc;
	bridge_mac(bridge, mac);
	if ((rc = RUN(err, "ip", "link", "add", "name", bridge, "type", "bridge")))
		return rc;
	if ((rc = RUN(err, "ip", "link", "set", "dev", bridge, "address", mac)) ||
	    (rc = RUN(err, "ip", "addr", "add", cidr, "dev", bridge)) ||
	    (rc = RUN(err, "ip", "link", "set", "dev", bridge, "up"))) {
		RUN(NULL, "ip", "link", "del", "dev", bridge);
		return rc;
	}
	return 0;
}

static int local_network_down(const char *bridge, char **err)
{
	if (!valid_ifname(bridge)) {
		set_err(err, "bad bridge name '%s'", bridge ? bridge : "");
		return -EINVAL;
	}
	if (!link_exists(bridge))
		return 0;
	if (!is_bridge(bridge)) {
		set_err(err, "will not delete '%s': it is not a bridge", bridge);
		return -EINVAL;
	}
	char path[80];
	snprintf(path, sizeof(path), "/sys/class/net/%s/brif", bridge);
	int ports = 0;
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				ports++;
		closedir(d);
	}
	if (ports) {
		set_err(err, "will not delete bridge '%s': %d node link%s still attached; "
			"destroy the cluster's nodes first", bridge, ports, ports == 1 ? " is" : "s are");
		return -EBUSY;
	}
	return RUN(err, "ip", "link", "del", "dev", bridge);
}

/* ---- a node's processes ---- */

/* Identities of a node's namespaces; *holder_ok when the holder is really ours. */
struct node_ids {
	int net_rc;               /* of looking the netns up: 0, -ENOENT (gone), -ENOTNAM */
	bool has_net;
	struct ns_id net;
	bool holder_ok;
	struct ns_id mnt, uts;
};

static void node_ids_get(const struct node_handle *h, struct node_ids *ids)
{
	char path[128];
	memset(ids, 0, sizeof(*ids));
	if (!our_netns(h->netns))
		return;
	snprintf(path, sizeof(path), NETNS_DIR "/%s", h->netns);
	ids->net_rc = ns_id_of(path, &ids->net);
	ids->has_net = ids->net_rc == 0;
	if (!ids->has_net || h->holder_pid <= 0)
		return;
	/* PID reuse: the pid must still be a live process in exactly this netns,
	 * with UTS and mount namespaces of its own (not the caller's). */
	struct ns_id hn, self_mnt, self_uts;
	if (ns_id_of_pid(h->holder_pid, "net", &hn) || !ns_id_equal(&hn, &ids->net) ||
	    ns_id_of_pid(h->holder_pid, "mnt", &ids->mnt) ||
	    ns_id_of_pid(h->holder_pid, "uts", &ids->uts) ||
	    ns_id_of("/proc/self/ns/mnt", &self_mnt) || ns_id_of("/proc/self/ns/uts", &self_uts) ||
	    ns_id_equal(&ids->mnt, &self_mnt) || ns_id_equal(&ids->uts, &self_uts) ||
	    pid_gone(h->holder_pid))
		return;
	ids->holder_ok = true;
}

static bool local_alive(const struct node_spec *spec, const struct node_handle *h)
{
	struct node_ids ids;
	node_ids_get(h, &ids);
	return ids.holder_ok;
}

/*
 * Unmount the FUSE file systems mounted inside the node (mount points read
 * from the holder's mountinfo), lazily, before their daemons are killed: a
 * process blocked on a dead FUSE mount would not die.
 */
static void unmount_node_fuse(pid_t holder)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)holder);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint options [optional...] - fstype source ... */
		char *save = NULL, *mp = NULL, *tok;
		int field = 0;
		for (tok = strtok_r(line, " ", &save); tok && strcmp(tok, "-"); tok = strtok_r(NULL, " ", &save))
			if (++field == 5)
				mp = tok;
		char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
		if (!mp || !fstype || strncmp(fstype, "fuse", 4))
			continue;
		mountinfo_unescape(mp);
		int rc = node_umount_detach(holder, mp);
		if (rc)
			log_warn("cannot detach FUSE mount '%s' in a node: %s", mp, strerror(-rc));
	}
	free(line);
	fclose(f);
}

/* Pids signalled so far, to reap those that are the caller's children. */
struct pid_set {
	pid_t *v;
	size_t n, cap;
};

static void pid_set_add(struct pid_set *s, pid_t p)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == p)
			return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		pid_t *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return; /* only reaping suffers; the caller reaps with waitpid(-1) anyway */
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = p;
}

/* Reap the zombies among them that are ours (a subreaping manager's); ECHILD is fine. */
static void pid_set_reap(struct pid_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		waitpid(s->v[i], NULL, WNOHANG);
}

/* Signal every process in the node and wait until none is left or the time is up. */
static int kill_node_pids(const struct node_ids *ids, int sig, int grace_ms, struct pid_set *seen)
{
	int64_t end = util_mono_ms() + grace_ms;
	bool sent = false;
	for (;;) {
		pid_t *pids = NULL;
		int n = node_find_pids(ids->has_net ? &ids->net : NULL, ids->holder_ok ? &ids->mnt : NULL, &pids);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			if (!sent)
				kill(pids[i], sig);
			pid_set_add(seen, pids[i]);
		}
		free(pids);
		pid_set_reap(seen);
		sent = true;
		if (n == 0)
			return 0;
		if (util_mono_ms() >= end)
			return n;
		sleep_ms(20);
	}
}

static int local_destroy(const struct node_spec *spec, const struct node_handle *h, char **err)
{
	const char *what = spec && spec->name ? spec->name : h->netns;
	if ((h->netns[0] && !our_netns(h->netns)) || (h->veth[0] && !our_veth(h->veth))) {
		set_err(err, "will not destroy node '%s': namespace '%s' or link '%s' was not made "
			"by the local provider", what, h->netns, h->veth);
		return -EINVAL;
	}
	struct node_ids ids;
	node_ids_get(h, &ids);
	if (ids.net_rc == -ENOTNAM) {
		set_err(err, "cannot destroy node '%s' from here: '" NETNS_DIR "/%s' is not a network "
			"namespace in this mount namespace (was the node made from another one?); "
			"destroy it from where it was made", what, h->netns);
		return -ENOTNAM;
	}

	/* Never empty the host: a pinned namespace that is the caller's own is a bug elsewhere. */
	struct ns_id self_net;
	if (ids.has_net && !ns_id_of("/proc/self/ns/net", &self_net) && ns_id_equal(&ids.net, &self_net)) {
		set_err(err, "will not destroy node '%s': its namespace '%s' is the host's own", what, h->netns);
		return -EINVAL;
	}
	if (ids.holder_ok)
		unmount_node_fuse(h->holder_pid);
	if (ids.has_net || ids.holder_ok) {
		struct pid_set seen = { 0 };
		int left = kill_node_pids(&ids, SIGTERM, TERM_GRACE_MS, &seen);
		if (left > 0)
			left = kill_node_pids(&ids, SIGKILL, KILL_GRACE_MS, &seen);
		free(seen.v);
		if (left) {
			set_err(err, "cannot stop node '%s': %d process%s still running in it after "
				"SIGKILL (stuck in the kernel?); try again", what, left < 0 ? 0 : left,
				left == 1 ? " is" : "es are");
			return left < 0 ? left : -EBUSY;
		}
	}
	int rc = 0;
	if (h->netns[0]) {
		char path[128];
		snprintf(path, sizeof(path), NETNS_DIR "/%s", h->netns);
		if (access(path, F_OK) == 0 && (rc = RUN(err, "ip", "netns", "del", h->netns)))
			return rc;
	}
	/* Deleting the namespace deletes the veth pair with it; this is for a node
	 * that failed half way, before its veth got a peer in the namespace. */
	if (!h->veth[0])
		return 0;
	/* The kernel removes the pair a moment after the namespace goes. */
	for (int i = 0; i < 50 && link_exists(h->veth); i++)
		sleep_ms(10);
	if (link_exists(h->veth)) {
		char *e = NULL;
		rc = RUN(&e, "ip", "link", "del", "dev", h->veth);
		if (rc && link_exists(h->veth)) {
			set_err(err, "%s", e ? e : "cannot delete the node's link");
			free(e);
			return rc;
		}
		free(e);
	}
	return 0;
}

/* ---- making a node ---- */

static int write_text(const char *path, const char *text, mode_t mode, char **err)
{
	int rc = util_write_file_atomic(path, text, strlen(text), mode);
	if (rc)
		set_err(err, "cannot write '%s': %s", path, strerror(-rc));
	return rc;
}

static int start_sshd(const struct node_spec *spec, const struct node_handle *h, char **err)
{
	char key[4096], conf[4096], pidf[4096], logf[4096];
	int rc;

	if ((rc = util_mkdirs(spec->host_key_dir, 0700))) {
		set_err(err, "cannot make host key directory '%s': %s", spec->host_key_dir, strerror(-rc));
		return rc;
	}
	snprintf(key, sizeof(key), "%s/ssh_host_ed25519_key", spec->host_key_dir);
	if (access(key, F_OK) < 0) {
		char comment[128];
		snprintf(comment, sizeof(comment), "root@%s", spec->name);
		if ((rc = RUN(err, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key)))
			return rc;
	}
	/* sshd's privilege separation directory; the node sees the host's /run. */
	if (mkdir("/run/sshd", 0755) < 0 && errno != EEXIST) {
		rc = neg_errno();
		set_err(err, "cannot make '/run/sshd' for sshd: %s", strerror(-rc));
		return rc;
	}
	snprintf(conf, sizeof(conf), "%s/sshd_config", spec->state_dir);
	snprintf(pidf, sizeof(pidf), "%s/sshd.pid", spec->state_dir);
	snprintf(logf, sizeof(logf), "%s/sshd.log", spec->state_dir);
	struct buf c = BUF_INIT(1 << 16);
	buf_printf(&c,
		   "# sshd of node %s, written by stratusd's local provider\n"
		   "ListenAddress %s:22\n"
		   "HostKey %s\n"
		   "PidFile %s\n"
		   /* The manager's key, and the node's own ~/.ssh/authorized_keys, where
		    * cluster-init puts the cluster's key (ssh between nodes, mpiexec). */
		   "AuthorizedKeysFile %s .ssh/authorized_keys\n"
		   "PermitRootLogin prohibit-password\n"
		   "PubkeyAuthentication yes\n"
		   "PasswordAuthentication no\n"
		   "KbdInteractiveAuthentication no\n"
		   "UsePAM no\n"
		   "UseDNS no\n"
		   "PrintMotd no\n"
		   /* The keys live in the manager's state directory, whose modes sshd's
		    * home-directory checks were not written for. */
		   "StrictModes no\n"
		   "AcceptEnv LANG LC_*\n"
		   "Subsystem sftp internal-sftp\n",
		   spec->name, spec->ip, key, pidf, spec->authorized_keys);
	rc = c.data ? write_text(conf, c.data, 0600, err) : -ENOMEM;
	buf_release(&c);
	if (rc)
		return rc;
	unlink(pidf);
	char *argv[] = { SSHD_PATH, "-D", "-f", conf, "-E", logf, NULL };
	struct spawn_req req = { .holder = h->holder_pid, .argv = argv, .mode = SPAWN_DAEMON,
				 .out_path = logf };
	int pid = 0;
	if ((rc = node_spawn(&req, &pid, err)))
		return rc;
	/* sshd writes its pid file once it listens: that is the readiness signal. */
	int64_t end = util_mono_ms() + SSHD_START_MS;
	while (access(pidf, F_OK) < 0) {
		if (pid_gone(pid)) {
			set_err(err, "sshd of node '%s' exited at start; see '%s'", spec->name, logf);
			return -EIO;
		}
		if (util_mono_ms() >= end) {
			set_err(err, "sshd of node '%s' did not start listening on %s:22 within %d ms; see '%s'",
				spec->name, spec->ip, SSHD_START_MS, logf);
			return -ETIMEDOUT;
		}
		sleep_ms(10);
	}
	return 0;
}

static bool has_newline(const char *s)
{
	return s && strpbrk(s, "\r\n");
}

static int start_agent(const struct node_spec *spec, const struct node_handle *h, char **err)
{
	char conf[4096], dir[4096], logf[4096], disk[4096];
	int rc;
	if (!spec->manager_url || !spec->token || !spec->ca_file || has_newline(spec->manager_url) ||
	    has_newline(spec->token) || has_newline(spec->ca_file)) {
		set_err(err, "cannot start the agent of node '%s': its manager url, token and CA file "
			"must all be set, each on one line", spec->name);
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s/agent", spec->state_dir);
	snprintf(conf, sizeof(conf), "%s/agent.conf", spec->state_dir);
	snprintf(logf, sizeof(logf), "%s/agent.log", spec->state_dir);
	snprintf(disk, sizeof(disk), "%s/disk", spec->state_dir);
	if ((rc = util_mkdirs(dir, 0700)) || (rc = util_mkdirs(disk, 0755))) {
		set_err(err, "cannot make the agent's directories under '%s': %s", spec->state_dir, strerror(-rc));
		return rc;
	}
	char secrets[4096];
	snprintf(secrets, sizeof(secrets), "%s/secrets.json", spec->state_dir);
	/* The node shares this host's files: its secrets stay a file of ours
	 * (mode 0600) that the agent reads in place; no network carries them. */
	if (spec->secrets && (rc = write_text(secrets, spec->secrets, 0600, err)))
		return rc;
	struct buf c = BUF_INIT(1 << 16);
	buf_printf(&c,
		   "# stratus-node of node %s, written by stratusd's local provider (secret: mode 0600)\n"
		   "url = %s\ntoken = %s\nca = %s\nname = %s\nstate_dir = %s\nlocal_disk = %s\n",
		   spec->name, spec->manager_url, spec->token, spec->ca_file, spec->name, dir, disk);
	if (spec->secrets)
		buf_printf(&c, "secrets = %s\n", secrets);
	rc = c.data ? write_text(conf, c.data, 0600, err) : -ENOMEM;
	buf_release(&c);
	if (rc)
		return rc;
	char *argv[] = { (char *)spec->agent_path, "run", "--config", conf, NULL };
	struct spawn_req req = { .holder = h->holder_pid, .argv = argv, .mode = SPAWN_DAEMON,
				 .out_path = logf, .cwd = spec->state_dir };
	int pid = 0;
	return node_spawn(&req, &pid, err);
}

static int copy_file(const char *from, const char *to, mode_t mode, char **err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = util_read_file(from, 1 << 20, &data, &len);
	if (rc) {
		set_err(err, "cannot read '%s': %s", from, strerror(-rc));
		return rc;
	}
	rc = util_write_file_atomic(to, data, len, mode);
	explicit_bzero(data, len);
	free(data);
	if (rc)
		set_err(err, "cannot write '%s': %s", to, strerror(-rc));
	return rc;
}

/*
 * The node's own /root/.ssh (STATE/ssh, bind-mounted by the holder): the
 * cluster's key as root's identity and a client config for the cluster's
 * nodes, so `ssh NODE` works between nodes as on a real cluster, and nothing
 * a node does with ssh touches the host's /root/.ssh.
 */
static int make_root_ssh(const struct node_spec *spec, char *dir, size_t len, char **err)
{
	char path[4096 + 32], pub[4096 + 8];
	int rc;
	snprintf(dir, len, "%s/ssh-root", spec->state_dir);
	if ((rc = util_mkdirs(dir, 0700)) || (rc = chmod(dir, 0700) < 0 ? neg_errno() : 0)) {
		set_err(err, "cannot make '%s': %s", dir, strerror(-rc));
		return rc;
	}
	/* The bind needs a mount point; a root without ~/.ssh gets the usual empty one. */
	if (mkdir("/root/.ssh", 0700) < 0 && errno != EEXIST) {
		rc = neg_errno();
		set_err(err, "cannot make '/root/.ssh' as the mount point of nodes' own: %s", strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/id_ed25519", dir);
	if ((rc = copy_file(spec->ssh_key, path, 0600, err)))
		return rc;
	snprintf(pub, sizeof(pub), "%s.pub", spec->ssh_key);
	snprintf(path, sizeof(path), "%s/id_ed25519.pub", dir);
	if (access(pub, F_OK) == 0 && (rc = copy_file(pub, path, 0644, err)))
		return rc;
	snprintf(path, sizeof(path), "%s/config", dir);
	/* Nodes are re-made with new host keys and have no outside network: a
	 * known_hosts prompt or mismatch would only break cluster-init and MPI. */
	return write_text(path,
			  "# written by stratusd's local provider: ssh between the cluster's nodes\n"
			  "Host *\n"
			  "    IdentityFile /root/.ssh/id_ed25519\n"
			  "    StrictHostKeyChecking no\n"
			  "    UserKnownHostsFile /dev/null\n"
			  "    LogLevel ERROR\n"
			  "    BatchMode yes\n", 0600, err);
}

static int check_spec(const struct node_spec *s, char **err)
{
	int rc;
	if (!valid_nodename(s->name)) {
		set_err(err, "bad node name '%s': use 1 to 63 letters, digits or '-' (a hostname)",
			s->name ? s->name : "");
		return -EINVAL;
	}
	if (!valid_ipv4(s->ip, NULL) || s->prefix_len < 8 || s->prefix_len > 30) {
		set_err(err, "bad address '%s/%d' for node '%s': give an IPv4 address and a prefix "
			"length from 8 to 30", s->ip ? s->ip : "", s->prefix_len, s->name);
		return -EINVAL;
	}
	if (!valid_ifname(s->bridge) || !is_bridge(s->bridge)) {
		set_err(err, "cannot attach node '%s' to bridge '%s': there is no such bridge; "
			"bring the cluster network up first", s->name, s->bridge ? s->bridge : "");
		return -ENODEV;
	}
	if ((rc = check_node_path("state directory", s->state_dir, false, err)) ||
	    (rc = check_node_path("hosts file", s->hosts_file, true, err)))
		return rc;
	if (s->authorized_keys &&
	    ((rc = check_node_path("authorized keys file", s->authorized_keys, true, err)) ||
	     (rc = check_node_path("host key directory", s->host_key_dir, false, err))))
		return rc;
	if (s->ssh_key && (rc = check_node_path("cluster ssh key", s->ssh_key, true, err)))
		return rc;
	if (s->agent_path && ((rc = check_node_path("agent program", s->agent_path, true, err)) ||
			      (rc = check_node_path("manager CA file", s->ca_file, true, err))))
		return rc;
	return 0;
}

static int local_create(const struct node_spec *spec, struct node_handle *h, char **err)
{
	char tmpdir[4096], nspath[128], sshdir[4096];
	uint32_t id;
	int rc;

	memset(h, 0, sizeof(*h));
	if ((rc = check_spec(spec, err)))
		return rc;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
		rc = neg_errno();
		set_err(err, "cannot get random bytes to name node '%s': %s", spec->name, strerror(-rc));
		return rc;
	}
	snprintf(h->netns, sizeof(h->netns), "st-%.40s-%08x", spec->name, id);
	snprintf(h->veth, sizeof(h->veth), "stv%08x", id);
	snprintf(nspath, sizeof(nspath), NETNS_DIR "/%s", h->netns);
	if (link_exists(h->veth) || access(nspath, F_OK) == 0) {
		set_err(err, "cannot make node '%s': link '%s' or namespace '%s' already exists; try again",
			spec->name, h->veth, h->netns);
		memset(h, 0, sizeof(*h));
		return -EEXIST;
	}

	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", spec->state_dir);
	if ((rc = util_mkdirs(tmpdir, 0755)) || chmod(tmpdir, 01777) < 0) {
		rc = rc ? rc : neg_errno();
		set_err(err, "cannot make node directory '%s': %s", tmpdir, strerror(-rc));
		memset(h, 0, sizeof(*h));
		return rc;
	}

	char cidr[64];
	snprintf(cidr, sizeof(cidr), "%s/%d", spec->ip, spec->prefix_len);
	if ((rc = RUN(err, "ip", "netns", "add", h->netns)))
		goto fail;
	if ((rc = RUN(err, "ip", "link", "add", "name", h->veth, "type", "veth", "peer", "name", "eth0",
		      "netns", h->netns)) ||
	    (rc = RUN(err, "ip", "link", "set", "dev", h->veth, "master", spec->bridge, "up")) ||
	    (rc = RUN(err, "ip", "-n", h->netns, "addr", "add", cidr, "dev", "eth0")) ||
	    (rc = RUN(err, "ip", "-n", h->netns, "link", "set", "dev", "eth0", "up")) ||
	    (rc = RUN(err, "ip", "-n", h->netns, "link", "set", "dev", "lo", "up")))
		goto fail;
	if (spec->ssh_key && (rc = make_root_ssh(spec, sshdir, sizeof(sshdir), err)))
		goto fail;
	if ((rc = node_make_holder(nspath, spec->name, spec->hosts_file, tmpdir,
				   spec->ssh_key ? sshdir : NULL, &h->holder_pid, err)))
		goto fail;
	if (!local_alive(spec, h)) {
		set_err(err, "the holder process of node '%s' died as it started", spec->name);
		rc = -ESRCH;
		goto fail;
	}
	if (spec->authorized_keys && (rc = start_sshd(spec, h, err)))
		goto fail;
	if (spec->agent_path && (rc = start_agent(spec, h, err)))
		goto fail;
	return 0;

fail:
	/* Undo what was made; the first error is the one to report. */
	local_destroy(spec, h, NULL);
	memset(h, 0, sizeof(*h));
	return rc;
}

static int local_exec(const struct node_handle *h, char *const argv[], char **err)
{
	if (!argv || !argv[0]) {
		set_err(err, "nothing to run in the node");
		return -EINVAL;
	}
	if (!local_alive(NULL, h)) {
		set_err(err, "cannot run '%s' in node '%s': the node is not running", argv[0], h->netns);
		return -ESRCH;
	}
	struct spawn_req req = { .holder = h->holder_pid, .argv = argv, .mode = SPAWN_WAIT, .cwd = "/root" };
	int status = 0;
	int rc = node_spawn(&req, &status, err);
	return rc ? rc : status;
}

const struct provider_ops provider_local = {
	.name = "local",
	.network_up = local_network_up,
	.network_down = local_network_down,
	.create = local_create,
	.destroy = local_destroy,
	.alive = local_alive,
	.exec = local_exec,
};
