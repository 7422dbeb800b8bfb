/*
 * stratusd.c: the cluster manager daemon: settings, start-up in a fixed
 * order (state directory, datastore, certificate, listening socket,
 * reconciliation, worker, HTTPS server), the reaper of orphaned children,
 * and `stratusd --init-admin USER` to make the first user.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <microhttpd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/net.h"
#include "common/util.h"
#include "manager/auth.h"
#include "manager/db.h"
#include "manager/manager.h"
#include "manager/pool.h"
#include "manager/run.h"
#include "manager/tls.h"

static const struct cfg_opt opts[] = {
	CFG_STR("config", 'c', struct mgr_opts, config, NULL, "read settings from this file (key = value lines)"),
	CFG_STR("state-dir", 'd', struct mgr_opts, state_dir, "/var/lib/stratus", "where the datastore, lockers, certificates and node directories live (not under /tmp: nodes have their own /tmp)"),
	CFG_STR("listen", 'l', struct mgr_opts, listen, "0.0.0.0", "address to listen on (nodes reach it through their gateway)"),
	CFG_INT("port", 'p', struct mgr_opts, port, "8443", 0, 65535, "HTTPS port (0: any free port, see --port-file)"),
	CFG_STR("port-file", 0, struct mgr_opts, port_file, NULL, "write the port we listen on to this file once listening"),
	CFG_STR("tls-cert", 0, struct mgr_opts, tls_cert, NULL, "your own certificate (PEM); default: a self-signed one made in STATE-DIR/tls"),
	CFG_STR("tls-key", 0, struct mgr_opts, tls_key, NULL, "the key of --tls-cert (PEM)"),
	CFG_STR("network", 'n', struct mgr_opts, network, "10.77.0.0/16", "address range for cluster networks: one /24 (and one bridge) per cluster"),
	CFG_STR("web-dir", 0, struct mgr_opts, web_dir, NULL, "folder of the web GUI served at / (default: ../share/stratus/web or the source tree's web/)"),
	CFG_STR("agent", 0, struct mgr_opts, agent_path, NULL, "the stratus-node program started in each node (default: beside stratusd)"),
	CFG_STR("provider", 0, struct mgr_opts, provider, "local", "how nodes are made: local (Linux namespaces on this host) or none"),
	CFG_STR("log-file", 0, struct mgr_opts, log_file, NULL, "append the log here instead of stderr"),
	CFG_STR("log-level", 0, struct mgr_opts, log_level, "info", "error, warn, info or debug"),
	CFG_STR("init-admin", 0, struct mgr_opts, init_admin, NULL, "create (or reset the password of) user NAME, password from stdin or --password-file, then exit"),
	CFG_STR("password-file", 0, struct mgr_opts, password_file, NULL, "with --init-admin: read the password from this file's first line"),
	CFG_SIZE("max-body", 0, struct mgr_opts, max_body, "4m", 4096, 1LL << 30, "largest JSON request body"),
	CFG_SIZE("max-upload", 0, struct mgr_opts, max_upload, "256m", 4096, 16LL << 30, "largest project upload"),
	CFG_INT("threads", 't', struct mgr_opts, threads, "4", 1, 64, "HTTPS threads"),
	CFG_DURATION("heartbeat-timeout", 0, struct mgr_opts, heartbeat_timeout, "0", 0, 86400000, "mark Ready nodes whose agent is silent this long as Failed (0: never)"),
	CFG_INT("workers", 0, struct mgr_opts, workers, "4", 1, 64, "threads that make and destroy nodes (nodes of one add_node are made together)"),
	CFG_INT("retry-max", 0, struct mgr_opts, retry_max, "3", 0, 100, "automatic retries of a Failed node before it is left for 'stratus retry' (0: none); a cluster's RetryMax attribute overrides it"),
	CFG_DURATION("retry-delay", 0, struct mgr_opts, retry_delay, "5s", 100, 86400000, "wait before the first automatic retry; each next one waits twice as long"),
	CFG_DURATION("retry-delay-max", 0, struct mgr_opts, retry_delay_max, "5m", 100, 86400000, "the longest wait between automatic retries"),
	CFG_DURATION("token-ttl", 0, struct mgr_opts, token_ttl, "720h", 0, 31622400000LL, "how long a user's API token is good for (0: until revoked with 'stratus logout')"),
	CFG_STR("node-data-dir", 0, struct mgr_opts, node_data_dir, MGR_NODE_DATA_DEFAULT, "delete_cluster removes the node data (a node's stratus.data_dir: DATA/nodes/NODE, DATA/clusters/CLUSTER) only where DATA is this folder or below it"),
	CFG_END
};
static const struct cfg_program prog = {
	"stratusd", "[options]",
	"The Stratus cluster manager: clusters from templates, nodes, lockers and projects, "
	"behind a REST/JSON API over HTTPS (docs/api.md).  Make the first user with "
	"'stratusd --init-admin NAME', then run 'stratus initialize'.",
	opts,
};

static int read_password(const char *file, char *out, size_t len)
{
	FILE *f = file ? fopen(file, "re") : stdin;
	if (!f)
		return -errno;
	if (!fgets(out, (int)len, f)) {
		if (file)
			fclose(f);
		return -ENODATA;
	}
	if (file)
		fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] ? 0 : -ENODATA;
}

static int parse_network(struct mgr *m)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", m->o.network);
	char *slash = strchr(buf, '/');
	struct in_addr a;
	long pl = 24;
	if (slash) {
		*slash = '\0';
		char *end;
		pl = strtol(slash + 1, &end, 10);
		if (*end)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, &a) != 1 || pl < 8 || pl > 24)
		return -EINVAL;
	m->net_prefix = (int)pl;
	m->net_base = ntohl(a.s_addr) & (~0u << (32 - pl));
	long n = 1L << (24 - pl);
	m->net_subnets = n > 256 ? 256 : (int)n;
	return 0;
}

static void default_paths(struct mgr *m)
{
	char exe[PATH_MAX], dir[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", exe);
	char *d = dirname(dir);
	if (!m->o.agent_path) {
		snprintf(cand, sizeof(cand), "%s/stratus-node", d);
		if (access(cand, X_OK) == 0)
			m->o.agent_path = strdup(cand);
		else
			log_warn("no agent program at '%s': nodes will start without stratus-node; give --agent", cand);
	}
	if (!m->o.web_dir) {
		/* Installed: PREFIX/bin -> PREFIX/share/stratus/web; built: build/bin -> web/. */
		for (int i = 0; i < 2 && !m->o.web_dir; i++) {
			char p[PATH_MAX + 64], r[PATH_MAX];
			snprintf(p, sizeof(p), "%s/%s", d, i == 0 ? "../share/stratus/web" : "../../web");
			if (realpath(p, r) && access(r, R_OK) == 0)
				m->o.web_dir = strdup(r);
		}
		if (!m->o.web_dir)
			m->o.web_dir = strdup("/usr/local/share/stratus/web");
	}
}

/*
 * We are a child subreaper: daemons started in nodes that lose their parent
 * become our children.  Reap zombies of ours seen twice, a second apart, so
 * that a thread waiting for its own child (run_argv) always gets it first.
 */
struct reaper {
	pid_t seen[256];
	int nseen;
};

static void reap_tick(struct evloop *loop, void *arg)
{
	struct reaper *r = arg;
	pid_t now[256];
	int nnow = 0;
	pid_t me = getpid();
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300], line[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t n = fread(line, 1, sizeof(line) - 1, f);
		fclose(f);
		line[n] = '\0';
		char *rp = strrchr(line, ')');
		char st;
		int ppid;
		if (!rp || sscanf(rp + 1, " %c %d", &st, &ppid) != 2 || ppid != me || st != 'Z')
			continue;
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		for (int i = 0; i < r->nseen; i++)
			if (r->seen[i] == pid) {
				int status;
				if (waitpid(pid, &status, WNOHANG) == pid)
					log_debug("reaped orphan %d", (int)pid);
				pid = 0;
				break;
			}
		if (pid && nnow < (int)ARRAY_SIZE(now))
			now[nnow++] = pid;
	}
	if (d)
		closedir(d);
	memcpy(r->seen, now, sizeof(pid_t) * (size_t)nnow);
	r->nseen = nnow;
}

struct hb_ctx {
	struct mgr *m;
};

static void heartbeat_tick(struct evloop *loop, void *arg)
{
	struct mgr *m = arg;
	if (!m->o.heartbeat_timeout)
		return;
	int64_t limit = util_wall_ms() - m->o.heartbeat_timeout;
	json_t *late = db_query_json(m->db, "SELECT id, name FROM nodes WHERE state = 'Ready' AND "
				     "last_heartbeat > 0 AND last_heartbeat < ?", "i", limit);
	size_t i;
	json_t *n;
	json_array_foreach(late, i, n) {
		struct op_err e = { 0 };
		node_set_state(m, json_integer_value(json_object_get(n, "id")), 4 /* NS_FAILED */, 0,
			       "the node's agent stopped sending heartbeats", &e);
		free(e.msg);
	}
	json_decref(late);
}

static void on_stop(struct evloop *loop, void *arg)
{
	log_info("stopping");
	evloop_stop(loop);
}

int main(int argc, char **argv)
{
	struct mgr m;
	char path[PATH_MAX], *err = NULL;
	struct reaper reaper = { 0 };
	int rc;

	memset(&m, 0, sizeof(m));
	err_set_progname("stratusd");
	log_init("stratusd", LOG_INFO);
	int idx = cfg_parse_args(&prog, &m.o, argc, argv);
	if (idx < argc) {
		fprintf(stderr, "stratusd: error: unexpected argument '%s'; see 'stratusd --help'\n", argv[idx]);
		return 2;
	}
	int lvl = log_level_parse(m.o.log_level);
	if (lvl < 0) {
		fprintf(stderr, "stratusd: error: unknown log level '%s'; use error, warn, info or debug\n", m.o.log_level);
		return 2;
	}
	log_set_level((enum log_level)lvl);
	if (parse_network(&m)) {
		fprintf(stderr, "stratusd: error: bad --network '%s'; give an IPv4 range such as 10.77.0.0/16 (prefix 8 to 24)\n",
			m.o.network);
		return 2;
	}
	if (m.o.state_dir[0] != '/')
		die("the state directory '%s' must be an absolute path", m.o.state_dir);
	if ((rc = util_mkdirs(m.o.state_dir, 0700)))
		die("cannot create the state directory '%s': %s", m.o.state_dir, strerror(-rc));
	const char *subdirs[] = { "tmp", "lockers", "clusters", "nodes", "tls" };
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		mgr_path(&m, path, sizeof(path), "%s", subdirs[i]);
		if ((rc = util_mkdirs(path, 0700)))
			die("cannot create '%s': %s", path, strerror(-rc));
	}
	/* Node directories must be readable inside nodes (they are, as root). */
	mgr_path(&m, path, sizeof(path), "stratus.db");
	if ((rc = db_open(path, &m.db, &err)))
		die("%s", err ? err : "cannot open the datastore");

	if (m.o.init_admin) {
		char pw[AUTH_MAX_PASSWORD + 2];
		if (!valid_name(m.o.init_admin))
			die("the user name '%s' may hold only letters, digits, '.', '_' and '-'", m.o.init_admin);
		if ((rc = read_password(m.o.password_file, pw, sizeof(pw))))
			die("cannot read the password of '%s' from %s: %s", m.o.init_admin,
			    m.o.password_file ? m.o.password_file : "stdin", rc == -ENODATA ? "it is empty" : strerror(-rc));
		rc = auth_user_set(m.db, m.o.init_admin, pw, 1);
		explicit_bzero(pw, sizeof(pw));
		if (rc)
			die("cannot store user '%s': %s", m.o.init_admin, strerror(-rc));
		printf("user '%s' is ready; now run 'stratus initialize'\n", m.o.init_admin);
		db_close(m.db);
		cfg_release(&prog, &m.o);
		return 0;
	}
	if (m.o.log_file && (rc = log_open_file(m.o.log_file)))
		die("cannot open the log file '%s': %s", m.o.log_file, strerror(-rc));

	/* What we start, and what it starts and abandons, stays ours to reap. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("cannot become a child subreaper: %s", strerror(errno));

	char *inst = NULL;
	if (db_meta_get(m.db, "instance", &inst)) {
		unsigned char r[3];
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			die("cannot get random bytes: %s", strerror(errno));
		char hex[8];
		snprintf(hex, sizeof(hex), "%02x%02x%02x", r[0], r[1], r[2]);
		db_meta_set(m.db, "instance", hex);
		inst = strdup(hex);
	}
	snprintf(m.instance, sizeof(m.instance), "%.6s", inst ? inst : "000000");
	free(inst);
	int64_t nl = 0;
	db_get_int(m.db, &nl, "SELECT COUNT(*) FROM lockers", NULL);
	if (nl == 0) {
		mgr_path(&m, path, sizeof(path), "lockers/default");
		util_mkdirs(path, 0700);
		db_exec(m.db, "INSERT INTO lockers (name, path, created) VALUES ('default', ?, ?)", "si", path,
			util_wall_ms());
	}

	default_paths(&m);
	if (!strcmp(m.o.provider, "local"))
		m.prov = &provider_mixed; /* local namespaces, and pool hosts over ssh (pool.c) */
	else if (strcmp(m.o.provider, "none"))
		die("unknown provider '%s'; use local or none", m.o.provider);

	if (m.o.tls_cert || m.o.tls_key) {
		if (!m.o.tls_cert || !m.o.tls_key)
			die("give both --tls-cert and --tls-key, or neither for a self-signed certificate");
		snprintf(m.cert_path, sizeof(m.cert_path), "%s", m.o.tls_cert);
		snprintf(m.key_path, sizeof(m.key_path), "%s", m.o.tls_key);
	} else {
		uint32_t gws[256];
		for (int k = 0; k < m.net_subnets; k++)
			gws[k] = mgr_subnet(&m, k) + 1;
		mgr_path(&m, path, sizeof(path), "tls");
		if ((rc = tls_ensure_self_signed(path, gws, m.net_subnets, &err)))
			die("%s", err ? err : "cannot make a certificate");
		mgr_path(&m, m.cert_path, sizeof(m.cert_path), "tls/cert.pem");
		mgr_path(&m, m.key_path, sizeof(m.key_path), "tls/key.pem");
	}

	char fpr[80];
	if (tls_fingerprint(m.cert_path, fpr, sizeof(fpr)) == 0)
		log_info("certificate '%s', fingerprint %s (what 'stratus initialize' shows)", m.cert_path, fpr);
	int fd = net_listen_tcp(m.o.listen, (int)m.o.port, 128);
	if (fd < 0)
		die("cannot listen on %s:%lld: %s; is another stratusd running? try --port 0",
		    m.o.listen, (long long)m.o.port, strerror(-fd));
	m.port = net_local_port(fd);

	pthread_mutex_init(&m.qmu, NULL);
	pthread_cond_init(&m.qcv, NULL);
	pthread_mutex_init(&m.hostsmu, NULL);
	struct evloop *loop = evloop_new();
	if (!loop)
		die("cannot make the event loop: %s", strerror(errno));
	/* Signals are blocked for every thread made after this. */
	evloop_add_signal(loop, SIGTERM, on_stop, NULL);
	evloop_add_signal(loop, SIGINT, on_stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (m.prov && (rc = pool_start(&m)))
		die("cannot start the host pools: %s", strerror(-rc));
	mgr_reconcile(&m);
	if ((rc = worker_start(&m)))
		die("cannot start the worker thread: %s", strerror(-rc));
	struct MHD_Daemon *d = api_start(&m, fd, &err);
	if (!d)
		die("%s", err ? err : "cannot start the HTTPS server");
	if (m.o.port_file) {
		char p[16];
		int n = snprintf(p, sizeof(p), "%d\n", m.port);
		if ((rc = util_write_file_atomic(m.o.port_file, p, (size_t)n, 0644)))
			die("cannot write the port file '%s': %s", m.o.port_file, strerror(-rc));
	}
	log_info("listening on https://%s:%d (state in '%s', provider %s, network %s, web '%s')",
		 m.o.listen, m.port, m.o.state_dir, m.prov ? m.prov->name : "none", m.o.network, m.o.web_dir);

	evloop_add_timer(loop, 1000, 1, reap_tick, &reaper);
	evloop_add_timer(loop, 5000, 1, heartbeat_tick, &m);
	evloop_add_timer(loop, 500, 1, retry_tick, &m);
	evloop_run(loop);

	MHD_stop_daemon(d);
	worker_stop(&m);
	pool_stop(&m);
	evloop_free(loop);
	db_close(m.db);
	cfg_release(&prog, &m.o);
	/* Nodes keep running: a restarted stratusd reconciles with them. */
	return 0;
}
