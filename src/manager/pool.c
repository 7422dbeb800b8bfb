/*
 * pool.c: host pools (pool.h): the datastore tables, the REST routes, the
 * bookkeeping around the ssh provider's create and destroy, and the thread
 * that checks hosts over ssh.
 *
 * Host rows change state only under db_lock, in one statement or one locked
 * sequence, so the worker (take/release), the checker and the HTTP threads
 * (add/remove/clear) never hand one host to two nodes.  Ssh itself always
 * runs outside the lock.
 */
#include "manager/pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "common/log.h"
#include "common/util.h"
#include "manager/db.h"
#include "manager/manager.h"
#include "manager/run.h"
#include "manager/state.h"

#define DEFAULT_INSTALL_DIR "/opt/stratus"
#define MAX_KEY_LEN (64 << 10)


static const char *const schema[] = {
	"CREATE TABLE IF NOT EXISTS pools ("
	"  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, install_dir TEXT NOT NULL,"
	"  manager_address TEXT NOT NULL DEFAULT '', probe_interval_ms INTEGER NOT NULL,"
	"  fail_after_ms INTEGER NOT NULL, connect_timeout_s INTEGER NOT NULL, created INTEGER NOT NULL)",
	"CREATE TABLE IF NOT EXISTS pool_hosts ("
	"  id INTEGER PRIMARY KEY, pool_id INTEGER NOT NULL REFERENCES pools(id), name TEXT NOT NULL UNIQUE,"
	"  address TEXT NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL, user TEXT NOT NULL,"
	"  cores INTEGER NOT NULL, memory_mb INTEGER NOT NULL, disks TEXT NOT NULL DEFAULT '',"
	"  machine_type TEXT NOT NULL DEFAULT '', found_cores INTEGER, found_memory_mb INTEGER,"
	"  os TEXT, kernel TEXT, arch TEXT, host_key TEXT,"
	"  state TEXT NOT NULL, reason TEXT, node_id INTEGER, reachable INTEGER NOT NULL DEFAULT 1,"
	"  last_ok INTEGER NOT NULL DEFAULT 0, last_probe INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
	"  created INTEGER NOT NULL)",
	"CREATE INDEX IF NOT EXISTS pool_hosts_node ON pool_hosts (node_id)",
};

/* ---------------------------------------------------------------- helpers */

static json_t *error_json(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *error_json(int status, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("pools: %d: %s", status, msg);
	return json_pack("{s:s,s:i}", "error", msg, "status", status);
}

#define FAIL(st, ...) do { *out = error_json(st, __VA_ARGS__); return st; } while (0)

static void host_dir(struct mgr *m, const char *host, char *out, size_t len)
{
	mgr_path(m, out, len, "pools/hosts/%s", host);
}

/* The manager's own address on the route to ip (what the host sees us as). */
static int route_source(const char *ip, int port, char *out, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) }, me;
	socklen_t ml = sizeof(me);
	if (inet_pton(AF_INET, ip, &to.sin_addr) != 1)
		return -EINVAL;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 || getsockname(fd, (struct sockaddr *)&me, &ml) < 0)
		rc = -errno;
	close(fd);
	if (!rc && !inet_ntop(AF_INET, &me.sin_addr, out, (socklen_t)len))
		rc = -EINVAL;
	return rc;
}

/* Fill pt from a row of pool_hosts joined with pools (see HOST_SQL). */
#define HOST_SQL "SELECT h.id, h.name, h.address, h.ip, h.port, h.user, h.state, h.node_id, h.last_ok, " \
	"h.reachable, p.name AS pool, p.install_dir, p.manager_address, p.probe_interval_ms, p.fail_after_ms, " \
	"p.connect_timeout_s FROM pool_hosts h JOIN pools p ON p.id = h.pool_id "

static const char *jstr_or(json_t *o, const char *k, const char *def)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : def;
}

static void target_fill(struct mgr *m, json_t *row, struct pool_target *pt)
{
	char dir[PATH_MAX];
	memset(pt, 0, sizeof(*pt));
	pt->host_id = json_integer_value(json_object_get(row, "id"));
	snprintf(pt->host, sizeof(pt->host), "%s", jstr_or(row, "name", ""));
	snprintf(pt->address, sizeof(pt->address), "%s", jstr_or(row, "address", ""));
	snprintf(pt->ip, sizeof(pt->ip), "%s", jstr_or(row, "ip", ""));
	snprintf(pt->user, sizeof(pt->user), "%s", jstr_or(row, "user", "root"));
	snprintf(pt->install, sizeof(pt->install), "%s", jstr_or(row, "install_dir", DEFAULT_INSTALL_DIR));
	host_dir(m, pt->host, dir, sizeof(dir));
	snprintf(pt->key, sizeof(pt->key), "%s/id_key", dir);
	snprintf(pt->known, sizeof(pt->known), "%s/known_hosts", dir);
	const char *ma = jstr_or(row, "manager_address", "");
	int port = (int)json_integer_value(json_object_get(row, "port"));
	if (*ma)
		snprintf(pt->mgr_addr, sizeof(pt->mgr_addr), "%s", ma);
	else if (route_source(pt->ip, port, pt->mgr_addr, sizeof(pt->mgr_addr)))
		pt->mgr_addr[0] = '\0';
	pt->t = (struct ssh_target){
		.host = pt->host, .address = pt->address, .port = port, .user = pt->user,
		.key_file = pt->key, .known_hosts = pt->known, .install_dir = pt->install,
		.manager_addr = pt->mgr_addr, .specs = pt->specs,
		.connect_timeout_s = (int)json_integer_value(json_object_get(row, "connect_timeout_s")),
	};
}

/* "PROJECT/SPEC ..." of a node's cluster-init, template order. */
static void node_specs(struct mgr *m, int64_t node_id, char *out, size_t len)
{
	out[0] = '\0';
	json_t *v = node_view_for_agent(m, node_id);
	size_t i, used = 0;
	json_t *x;
	json_array_foreach(json_object_get(v, "cluster_init"), i, x) {
		const char *p = json_string_value(json_object_get(x, "project"));
		const char *s = json_string_value(json_object_get(x, "spec"));
		if (!p || !s || !valid_name(p) || !valid_name(s))
			continue;
		int n = snprintf(out + used, len - used, "%s%s/%s", used ? " " : "", p, s);
		if (n < 0 || (size_t)n >= len - used) {
			out[used] = '\0';
			break;
		}
		used += (size_t)n;
	}
	json_decref(v);
}

/* The pool a node's template names (malloc'd), or NULL. */
static char *node_pool_name(struct mgr *m, int64_t node_id)
{
	json_t *r = db_query_one(m->db, "SELECT n.template, c.definition AS definition_json FROM nodes n "
				 "JOIN clusters c ON c.id = n.cluster_id WHERE n.id = ?", "i", node_id);
	char *out = NULL;
	if (!r)
		return NULL;
	const char *tname = jstr_or(r, "template", "");
	size_t i;
	json_t *dn;
	json_array_foreach(json_object_get(json_object_get(r, "definition"), "nodes"), i, dn) {
		if (strcmp(jstr_or(dn, "name", ""), tname))
			continue;
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(dn, "attributes"), k, v)
			if (!strcasecmp(k, "Pool") && json_is_string(v) && *json_string_value(v))
				out = strdup(json_string_value(v));
		json_t *c = json_object_get(json_object_get(dn, "configuration"), "stratus.pool");
		if (!out && json_is_string(c) && *json_string_value(c))
			out = strdup(json_string_value(c));
	}
	json_decref(r);
	/* "none" (a template parameter's default): the local provider. */
	if (out && !strcmp(out, "none")) {
		free(out);
		out = NULL;
	}
	return out;
}

static char *node_name_of(struct mgr *m, int64_t node_id, char **cluster)
{
	char *n = NULL;
	db_get_text(m->db, &n, "SELECT name FROM nodes WHERE id = ?", "i", node_id);
	if (cluster)
		db_get_text(m->db, cluster, "SELECT c.name FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
			    "WHERE n.id = ?", "i", node_id);
	return n;
}

/* ---------------------------------------------------------------- worker hooks */

void pool_node_spec(struct mgr *m, int64_t node_id, struct node_spec *spec, struct pool_target *pt)
{
	json_t *row = db_query_one(m->db, HOST_SQL "WHERE h.node_id = ?", "i", node_id);
	if (!row)
		return;
	target_fill(m, row, pt);
	node_specs(m, node_id, pt->specs, sizeof(pt->specs));
	spec->ssh = &pt->t;
	json_decref(row);
}

int pool_take(struct mgr *m, int64_t node_id, struct node_spec *spec, struct pool_target *pt, char **why)
{
	char *pool = node_pool_name(m, node_id), *cluster = NULL;
	char *node = NULL;
	int rc = 0;
	*why = NULL;
	spec->ssh = NULL;
	if (!pool)
		return 0;
	node = node_name_of(m, node_id, &cluster);
	db_lock(m->db);
	int64_t pid = 0;
	if (db_get_int(m->db, &pid, "SELECT id FROM pools WHERE name = ?", "s", pool)) {
		db_unlock(m->db);
		if (asprintf(why, "the node's template names pool '%s', which does not exist; make it with "
			     "'stratus pool create %s' and add hosts with 'stratus host add %s ...'", pool, pool, pool) < 0)
			*why = NULL;
		mgr_event(m, cluster, node, "pool", "%s", *why ? *why : "no such pool");
		rc = -ENOENT;
		goto out;
	}
	json_t *held = db_query_one(m->db, HOST_SQL "WHERE h.node_id = ?", "i", node_id);
	if (held && strcmp(jstr_or(held, "state", ""), "busy")) {
		/* Its host went bad (lost, or could not be cleaned): leave it quarantined, take another. */
		db_exec(m->db, "UPDATE pool_hosts SET node_id = NULL WHERE id = ?", "i",
			json_integer_value(json_object_get(held, "id")));
		mgr_event(m, cluster, node, "pool", "leaving host '%s' (%s); taking another from pool '%s'",
			  jstr_or(held, "name", ""), jstr_or(held, "state", ""), pool);
		json_decref(held);
		held = NULL;
	}
	int64_t now = util_wall_ms();
	if (!held) {
		held = db_query_one(m->db, HOST_SQL "WHERE h.pool_id = ? AND h.state = 'free' AND h.reachable = 1 "
				    "ORDER BY h.id LIMIT 1", "i", pid);
		if (!held) {
			int64_t total = 0, busy = 0, unclean = 0, down = 0;
			db_get_int(m->db, &total, "SELECT COUNT(*) FROM pool_hosts WHERE pool_id = ?", "i", pid);
			db_get_int(m->db, &busy, "SELECT COUNT(*) FROM pool_hosts WHERE pool_id = ? AND state = 'busy'", "i", pid);
			db_get_int(m->db, &unclean, "SELECT COUNT(*) FROM pool_hosts WHERE pool_id = ? AND state = 'unclean'", "i", pid);
			db_get_int(m->db, &down, "SELECT COUNT(*) FROM pool_hosts WHERE pool_id = ? AND state = 'free' "
				   "AND reachable = 0", "i", pid);
			db_unlock(m->db);
			if (asprintf(why, "pool '%s' has no free host (%lld host(s): %lld busy, %lld unclean, %lld not "
				     "answering); add one with 'stratus host add %s NAME ADDRESS --key FILE', or clear "
				     "an unclean one with 'stratus host clear NAME'", pool, (long long)total,
				     (long long)busy, (long long)unclean, (long long)down, pool) < 0)
				*why = NULL;
			mgr_event(m, cluster, node, "pool", "%s", *why ? *why : "empty pool");
			rc = -ENOSPC;
			goto out;
		}
		db_exec(m->db, "UPDATE pool_hosts SET state = 'busy', node_id = ?, reason = NULL, last_ok = ? "
			"WHERE id = ?", "iii", node_id, now, json_integer_value(json_object_get(held, "id")));
	} else {
		db_exec(m->db, "UPDATE pool_hosts SET last_ok = ? WHERE id = ?", "ii", now,
			json_integer_value(json_object_get(held, "id")));
	}
	db_exec(m->db, "UPDATE nodes SET ip = ? WHERE id = ?", "si", jstr_or(held, "ip", ""), node_id);
	db_unlock(m->db);
	target_fill(m, held, pt);
	node_specs(m, node_id, pt->specs, sizeof(pt->specs));
	spec->ssh = &pt->t;
	spec->ip = pt->ip;
	json_decref(held);
	if (!pt->mgr_addr[0]) {
		if (asprintf(why, "cannot tell the manager's address on the way to host '%s' (%s); set it with "
			     "'stratus pool create %s --manager-address ADDR'", pt->host, pt->ip, pool) < 0)
			*why = NULL;
		rc = -EHOSTUNREACH;
		goto out;
	}
	mgr_event(m, cluster, node, "pool", "node takes host '%s' (%s) of pool '%s'", pt->host, pt->ip, pool);
	hosts_refresh(m);
out:
	free(pool);
	free(node);
	free(cluster);
	return rc;
}

int pool_release(struct mgr *m, int64_t node_id, int rc, char **err)
{
	char *cluster = NULL, *node = NULL;
	json_t *h = db_query_one(m->db, "SELECT h.id, h.name, p.name AS pool FROM pool_hosts h JOIN pools p "
				 "ON p.id = h.pool_id WHERE h.node_id = ?", "i", node_id);
	if (!h)
		return rc;
	node = node_name_of(m, node_id, &cluster);
	int64_t hid = json_integer_value(json_object_get(h, "id"));
	const char *hn = jstr_or(h, "name", ""), *pool = jstr_or(h, "pool", "");
	if (rc == 0) {
		db_exec(m->db, "UPDATE pool_hosts SET state = 'free', node_id = NULL, reason = NULL WHERE id = ?", "i", hid);
		mgr_event(m, cluster, node, "pool", "host '%s' is clean and back in pool '%s'", hn, pool);
	} else {
		char reason[2048];
		snprintf(reason, sizeof(reason), "could not be cleaned after node '%s': %s; fix it, then run "
			 "'stratus host clear %s'", node ? node : "?", err && *err ? *err : strerror(-rc), hn);
		db_exec(m->db, "UPDATE pool_hosts SET state = 'unclean', node_id = NULL, reason = ? WHERE id = ?",
			"si", reason, hid);
		mgr_event(m, cluster, node, "pool", "host '%s' of pool '%s' %s", hn, pool, reason);
		if (err) {
			free(*err);
			*err = NULL;
		}
		rc = 0;
	}
	json_decref(h);
	free(cluster);
	free(node);
	return rc;
}

/* ---------------------------------------------------------------- checking hosts */

/*
 * The checker: one dispatcher thread decides which hosts need ssh now (a
 * periodic probe is due, or the cluster's hosts file changed since the last
 * push to a busy host) and PROBE_THREADS probers run those ssh sessions, so
 * that a silent host (up to the connect timeout and more) delays neither the
 * others' probes nor their failure detection.  A host has at most one ssh
 * session of the checker at a time (its mark's inflight).
 *
 * Pushes: hosts_refresh() bumps hosts_gen when a hosts file changed
 * (pool_hosts_changed); each host remembers the generation it last got, for
 * the node it runs.  A push reaches a host once its agent is started (before
 * that, acquire writes /etc/hosts itself from what it staged, which may be
 * older: the push after it brings it up to date), so a node made while
 * another is made learns the other's address within a second or so, long
 * before the other's cluster-init ends and its daemons register.
 */
#define PROBE_THREADS 8
#define PUSH_RETRY_MS 1000

struct host_mark {
	int64_t host_id;
	int64_t node_id;      /* the node pushed_gen is for (another node: start again) */
	uint64_t pushed_gen;  /* hosts_gen the host's /etc/hosts is known to hold */
	int64_t retry_ms;     /* no push attempt before (the agent was not started yet) */
	bool inflight;        /* a prober has it */
	bool seen;            /* still in the table (dispatcher bookkeeping) */
};

struct probe_job {
	struct probe_job *next;
	json_t *row;          /* HOST_SQL row plus node_state */
	bool push_only;       /* not a periodic probe: bring /etc/hosts up to date only */
	uint64_t gen;         /* hosts_gen when queued (the file read after it is at least as new) */
};

struct pool_ctl {
	pthread_t th, probers[PROBE_THREADS];
	int nprobers;
	pthread_mutex_t mu;
	pthread_cond_t cv;    /* the dispatcher: hosts changed, a push fell behind, stop */
	pthread_cond_t jcv;   /* the probers: a job, stop */
	bool stop;
	bool running;
	bool kick;            /* wake the dispatcher now (set under mu) */
	uint64_t hosts_gen;
	struct host_mark *marks;
	size_t nmarks, capmarks;
	struct probe_job *qhead, *qtail;
};

void pool_hosts_changed(struct mgr *m)
{
	struct pool_ctl *c = m->pools;
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->hosts_gen++;
	c->kick = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* The mark of a host (made if new); NULL only when out of memory.  Under mu. */
static struct host_mark *mark_get(struct pool_ctl *c, int64_t host_id)
{
	for (size_t i = 0; i < c->nmarks; i++)
		if (c->marks[i].host_id == host_id)
			return &c->marks[i];
	if (c->nmarks == c->capmarks) {
		size_t cap = c->capmarks ? 2 * c->capmarks : 16;
		struct host_mark *n = realloc(c->marks, cap * sizeof(*n));
		if (!n)
			return NULL;
		c->marks = n;
		c->capmarks = cap;
	}
	struct host_mark *k = &c->marks[c->nmarks++];
	*k = (struct host_mark){ .host_id = host_id };
	return k;
}

static void fail_node_for_host(struct mgr *m, int64_t node_id, const char *why)
{
	struct op_err e = { 0 };
	if (node_set_state(m, node_id, NS_FAILED, ACTOR_MANAGER, why, &e))
		log_warn("cannot mark node %lld Failed: %s", (long long)node_id, e.msg ? e.msg : "?");
	free(e.msg);
}

static bool node_state_live(const char *s)
{
	return s && (!strcmp(s, "Acquiring") || !strcmp(s, "Preparing") || !strcmp(s, "Ready"));
}

/*
 * One ssh session to a host: bring its /etc/hosts block up to date (busy
 * hosts) and, unless push_only, check it: answers, agent running, or, after
 * fail_after_ms of silence, its node Failed and the host quarantined.
 * Returns true when the host's /etc/hosts now holds the block just read.
 */
static bool probe_one(struct mgr *m, json_t *row, bool push_only)
{
	struct pool_target pt;
	char *err = NULL, *block = NULL, *cluster = NULL;
	bool up = false, pushed = false;
	int64_t now = util_wall_ms();
	target_fill(m, row, &pt);
	int64_t node_id = json_integer_value(json_object_get(row, "node_id"));
	bool busy = !strcmp(jstr_or(row, "state", ""), "busy") && node_id > 0;
	if (busy) {
		const char *state = jstr_or(row, "node_state", "");
		/* A node being taken down is the worker's; one being made only gets its
		 * hosts block (the worker decides whether its making failed). */
		if (!node_state_live(state))
			return false;
		if (!strcmp(state, "Acquiring"))
			push_only = true;
		db_get_text(m->db, &cluster, "SELECT c.name FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
			    "WHERE n.id = ?", "i", node_id);
		char hosts[PATH_MAX];
		mgr_path(m, hosts, sizeof(hosts), "clusters/%s/hosts", cluster ? cluster : "");
		char *e2 = NULL;
		if (ssh_hosts_block(hosts, pt.mgr_addr, &block, &e2))
			log_warn("host '%s': %s", pt.host, e2 ? e2 : "no hosts block");
		free(e2);
	} else if (push_only) {
		return false;
	}
	int rc = ssh_host_probe(&pt.t, block, &up, &pushed, &err);
	if (push_only) {
		/* Failures are the periodic probe's to judge. */
		if (rc == 0)
			db_exec(m->db, "UPDATE pool_hosts SET last_ok = ?, reachable = 1, last_error = NULL WHERE id = ?",
				"ii", now, pt.host_id);
		goto out;
	}
	db_exec(m->db, "UPDATE pool_hosts SET last_probe = ? WHERE id = ?", "ii", now, pt.host_id);
	if (rc == 0) {
		db_exec(m->db, "UPDATE pool_hosts SET last_ok = ?, reachable = 1, last_error = NULL WHERE id = ?",
			"ii", now, pt.host_id);
		if (busy && !up) {
			char why[1024];
			snprintf(why, sizeof(why), "the agent on host '%s' (%s) is not running; see %s/agent.log there",
				 pt.host, pt.address, pt.install);
			fail_node_for_host(m, node_id, why);
		}
		goto out;
	}
	db_exec(m->db, "UPDATE pool_hosts SET reachable = 0, last_error = ? WHERE id = ?", "si",
		err ? err : strerror(-rc), pt.host_id);
	int64_t last_ok = json_integer_value(json_object_get(row, "last_ok"));
	int64_t fail_after = json_integer_value(json_object_get(row, "fail_after_ms"));
	bool key = rc == -EKEYREJECTED;
	/* last_ok as it is now: a push may have reached the host since the row was read. */
	db_get_int(m->db, &last_ok, "SELECT last_ok FROM pool_hosts WHERE id = ?", "i", pt.host_id);
	now = util_wall_ms();
	if (busy && (key || now - last_ok >= fail_after)) {
		char why[2048], *node = NULL;
		snprintf(why, sizeof(why), "host '%s' (%s) has not answered over ssh for %lld s: %s", pt.host,
			 pt.address, (long long)((now - last_ok) / 1000), err ? err : strerror(-rc));
		if (key)
			snprintf(why, sizeof(why), "%s", err ? err : "the host key changed");
		fail_node_for_host(m, node_id, why);
		char reason[2400];
		db_get_text(m->db, &node, "SELECT name FROM nodes WHERE id = ?", "i", node_id);
		snprintf(reason, sizeof(reason), "lost while it ran node '%s': %s; check the host, then run "
			 "'stratus host clear %s'", node ? node : "?", why, pt.host);
		db_exec(m->db, "UPDATE pool_hosts SET state = 'unclean', reason = ? WHERE id = ?", "si", reason, pt.host_id);
		mgr_event(m, cluster, node, "pool", "host '%s' %s", pt.host, reason);
		free(node);
	} else if (!busy && key) {
		char reason[2048];
		snprintf(reason, sizeof(reason), "%s", err ? err : "the host key changed");
		db_exec(m->db, "UPDATE pool_hosts SET state = 'unclean', reason = ? WHERE id = ?", "si", reason, pt.host_id);
		mgr_event(m, NULL, NULL, "pool", "host '%s': %s", pt.host, reason);
	}
out:
	free(err);
	free(block);
	free(cluster);
	return rc == 0 && pushed;
}

static void *prober_main(void *arg)
{
	struct mgr *m = arg;
	struct pool_ctl *c = m->pools;
	log_set_context("pools");
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->stop && !c->qhead)
			pthread_cond_wait(&c->jcv, &c->mu);
		if (c->stop)
			break;
		struct probe_job *j = c->qhead;
		c->qhead = j->next;
		if (!c->qhead)
			c->qtail = NULL;
		pthread_mutex_unlock(&c->mu);

		int64_t host_id = json_integer_value(json_object_get(j->row, "id"));
		int64_t node_id = json_integer_value(json_object_get(j->row, "node_id"));
		bool want_push = !strcmp(jstr_or(j->row, "state", ""), "busy") && node_id > 0;
		bool pushed = probe_one(m, j->row, j->push_only);

		pthread_mutex_lock(&c->mu);
		struct host_mark *k = mark_get(c, host_id);
		if (k) {
			k->inflight = false;
			if (pushed && k->node_id == node_id && j->gen > k->pushed_gen)
				k->pushed_gen = j->gen;
			else if (want_push && !pushed)
				k->retry_ms = util_mono_ms() + PUSH_RETRY_MS;
			/* The hosts files changed while this host was busy with us: push
			 * again now rather than at the dispatcher's next round. */
			if (pushed && k->node_id == node_id && k->pushed_gen < c->hosts_gen) {
				c->kick = true;
				pthread_cond_broadcast(&c->cv);
			}
		}
		json_decref(j->row);
		free(j);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Hosts to check, with the state of the node each runs. */
#define CHECK_SQL "SELECT h.id, h.name, h.address, h.ip, h.port, h.user, h.state, h.node_id, h.last_ok, " \
	"h.last_probe, h.reachable, p.name AS pool, p.install_dir, p.manager_address, p.probe_interval_ms, " \
	"p.fail_after_ms, p.connect_timeout_s, COALESCE(n.state, '') AS node_state FROM pool_hosts h " \
	"JOIN pools p ON p.id = h.pool_id LEFT JOIN nodes n ON n.id = h.node_id " \
	"WHERE h.state IN ('free', 'busy') ORDER BY h.last_probe"

/* Queue what is due now.  Under mu, which it drops around the query. */
static void dispatch(struct mgr *m, struct pool_ctl *c)
{
	pthread_mutex_unlock(&c->mu);
	json_t *rows = db_query_json(m->db, CHECK_SQL, NULL);
	int64_t wall = util_wall_ms();
	pthread_mutex_lock(&c->mu);
	int64_t mono = util_mono_ms();
	uint64_t gen = c->hosts_gen;
	size_t i;
	json_t *row;
	for (size_t k = 0; k < c->nmarks; k++)
		c->marks[k].seen = false;
	json_array_foreach(rows, i, row) {
		int64_t id = json_integer_value(json_object_get(row, "id"));
		int64_t node_id = json_integer_value(json_object_get(row, "node_id"));
		struct host_mark *k = mark_get(c, id);
		if (!k)
			break;
		k->seen = true;
		if (k->inflight)
			continue;
		if (k->node_id != node_id) {
			k->node_id = node_id;
			k->pushed_gen = 0;
			k->retry_ms = 0;
		}
		int64_t last = json_integer_value(json_object_get(row, "last_probe"));
		int64_t every = json_integer_value(json_object_get(row, "probe_interval_ms"));
		bool busy = !strcmp(jstr_or(row, "state", ""), "busy") && node_id > 0;
		/* A busy host whose node is being taken down (or Failed, Off) is the
		 * worker's: no probe, no push. */
		if (busy && !node_state_live(jstr_or(row, "node_state", "")))
			continue;
		bool due = last + every <= wall;
		bool push = busy && k->pushed_gen < gen && mono >= k->retry_ms;
		if (!due && !push)
			continue;
		struct probe_job *j = calloc(1, sizeof(*j));
		if (!j)
			break;
		j->row = json_incref(row);
		j->push_only = !due;
		j->gen = gen;
		if (c->qtail)
			c->qtail->next = j;
		else
			c->qhead = j;
		c->qtail = j;
		k->inflight = true;
		pthread_cond_signal(&c->jcv);
	}
	/* Forget hosts removed from the table (their ids are not reused by a running prober). */
	size_t w = 0;
	for (size_t k = 0; k < c->nmarks; k++)
		if (c->marks[k].seen || c->marks[k].inflight)
			c->marks[w++] = c->marks[k];
	c->nmarks = w;
	json_decref(rows);
}

static void *probe_main(void *arg)
{
	struct mgr *m = arg;
	struct pool_ctl *c = m->pools;
	log_set_context("pools");
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		if (!c->kick) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 500000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		}
		c->kick = false;
		if (c->stop)
			break;
		dispatch(m, c);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int pool_start(struct mgr *m)
{
	char dir[PATH_MAX];
	for (size_t i = 0; i < ARRAY_SIZE(schema); i++)
		if (db_exec(m->db, schema[i], NULL) < 0)
			return -EIO;
	mgr_path(m, dir, sizeof(dir), "pools/hosts");
	int rc = util_mkdirs(dir, 0700);
	if (rc)
		return rc;
	struct pool_ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->jcv, NULL);
	c->hosts_gen = 1; /* every busy host gets one push after a restart */
	m->pools = c;
	for (int i = 0; i < PROBE_THREADS; i++) {
		if ((rc = -pthread_create(&c->probers[i], NULL, prober_main, m)))
			break;
		c->nprobers++;
	}
	if (!rc && !(rc = -pthread_create(&c->th, NULL, probe_main, m))) {
		c->running = true;
		return 0;
	}
	pool_stop(m);
	return rc;
}

void pool_stop(struct mgr *m)
{
	struct pool_ctl *c = m->pools;
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cv);
	pthread_cond_broadcast(&c->jcv);
	pthread_mutex_unlock(&c->mu);
	if (c->running)
		pthread_join(c->th, NULL);
	for (int i = 0; i < c->nprobers; i++)
		pthread_join(c->probers[i], NULL);
	while (c->qhead) {
		struct probe_job *j = c->qhead;
		c->qhead = j->next;
		json_decref(j->row);
		free(j);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->jcv);
	free(c->marks);
	free(c);
	m->pools = NULL;
}

/* ---------------------------------------------------------------- routes */

static json_t *pool_rows(struct mgr *m, const char *name)
{
	const char *sql =
		"SELECT p.name, p.install_dir, p.manager_address, p.probe_interval_ms, p.fail_after_ms, "
		"p.connect_timeout_s, p.created, "
		"(SELECT COUNT(*) FROM pool_hosts h WHERE h.pool_id = p.id) AS hosts, "
		"(SELECT COUNT(*) FROM pool_hosts h WHERE h.pool_id = p.id AND h.state = 'free') AS free, "
		"(SELECT COUNT(*) FROM pool_hosts h WHERE h.pool_id = p.id AND h.state = 'busy') AS busy, "
		"(SELECT COUNT(*) FROM pool_hosts h WHERE h.pool_id = p.id AND h.state = 'unclean') AS unclean "
		"FROM pools p";
	char q[1024];
	if (!name) {
		snprintf(q, sizeof(q), "%s ORDER BY p.name", sql);
		return db_query_json(m->db, q, NULL);
	}
	snprintf(q, sizeof(q), "%s WHERE p.name = ?", sql);
	return db_query_one(m->db, q, "s", name);
}

/* Host records as the API shows them: never the key. */
#define HOST_VIEW "SELECT h.name, p.name AS pool, h.address, h.ip, h.port, h.user, h.cores, h.memory_mb, " \
	"h.disks, h.machine_type, h.found_cores, h.found_memory_mb, h.os, h.kernel, h.arch, h.host_key, " \
	"h.state, COALESCE(h.reason, '') AS reason, COALESCE(n.name, '') AS node, h.reachable, h.last_ok, " \
	"h.last_probe, COALESCE(h.last_error, '') AS last_error, h.created FROM pool_hosts h " \
	"JOIN pools p ON p.id = h.pool_id LEFT JOIN nodes n ON n.id = h.node_id "

/*
 * The host key's fingerprint as ssh-keygen -l and ssh print it
 * ("SHA256:" + unpadded base64 of the SHA-256 of the key blob), for the
 * operator to compare with the host's own (ssh-keygen -lf /etc/ssh/...pub).
 */
static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static bool key_fingerprint(const char *host_key, char *out, size_t len)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *b = host_key ? strchr(host_key, ' ') : NULL;
	unsigned char blob[4096], sum[32];
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	if (!b)
		return false;
	for (b++; *b && *b != '=' && *b != ' '; b++) {
		int v = b64_value((unsigned char)*b);
		if (v < 0 || n >= sizeof(blob))
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			blob[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (!n || gnutls_hash_fast(GNUTLS_DIG_SHA256, blob, n, sum) < 0 || len < 7 + 44)
		return false;
	size_t o = (size_t)snprintf(out, len, "SHA256:");
	acc = 0;
	bits = 0;
	for (size_t i = 0; i < sizeof(sum); i++) {
		acc = (acc << 8) | sum[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = digits[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = digits[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return true;
}

/* A host record as the API shows it: the fingerprint beside the key. */
static json_t *host_view(json_t *h)
{
	char fp[64];
	if (json_is_object(h))
		json_object_set_new(h, "host_key_fingerprint",
				    key_fingerprint(jstr_or(h, "host_key", ""), fp, sizeof(fp)) ? json_string(fp) : json_null());
	return h;
}

static json_t *host_views(json_t *arr)
{
	size_t i;
	json_t *h;
	json_array_foreach(arr, i, h)
		host_view(h);
	return arr;
}

/* An integer member (absent: def); false when present and not an integer in [lo, hi]. */
static bool int_member(json_t *body, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v = json_object_get(body, key);
	*out = def;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return *out >= lo && *out <= hi;
}

static bool str_member(json_t *body, const char *key, const char **out)
{
	json_t *v = json_object_get(body, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	*out = json_string_value(v);
	return true;
}

static bool valid_address(const char *s)
{
	if (!s || !*s || strlen(s) > 253 || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '-'))
			return false;
	return true;
}

static int r_pool_create(struct mgr *m, json_t *body, json_t **out)
{
	const char *name, *dir, *maddr;
	int64_t probe, fail_after, cto;
	if (!str_member(body, "name", &name) || !str_member(body, "install_dir", &dir) ||
	    !str_member(body, "manager_address", &maddr) ||
	    !int_member(body, "probe_interval_ms", 5000, 200, 3600000, &probe) ||
	    !int_member(body, "fail_after_ms", 30000, 500, 86400000, &fail_after) ||
	    !int_member(body, "connect_timeout_s", 10, 1, 300, &cto))
		FAIL(400, "give 'name', 'install_dir', 'manager_address' as strings and 'probe_interval_ms' "
		     "(200..3600000), 'fail_after_ms' (500..86400000), 'connect_timeout_s' (1..300) as integers");
	if (!valid_name(name))
		FAIL(400, "the pool name '%s' may hold only letters, digits, '.', '_' and '-'", name ? name : "");
	if (!dir)
		dir = DEFAULT_INSTALL_DIR;
	if (!ssh_valid_install_dir(dir))
		FAIL(400, "the install directory '%s' must be a folder of Stratus's own, such as /opt/stratus: "
		     "absolute, plain characters, two levels at least, not a system folder", dir);
	struct in_addr a;
	if (maddr && *maddr && inet_pton(AF_INET, maddr, &a) != 1)
		FAIL(400, "the manager address '%s' must be an IPv4 address the hosts reach this manager at", maddr);
	int rc = db_exec(m->db, "INSERT INTO pools (name, install_dir, manager_address, probe_interval_ms, "
			 "fail_after_ms, connect_timeout_s, created) VALUES (?, ?, ?, ?, ?, ?, ?)", "sssiiii",
			 name, dir, maddr ? maddr : "", probe, fail_after, cto, util_wall_ms());
	if (rc == -EEXIST)
		FAIL(409, "a pool named '%s' exists already", name);
	if (rc < 0)
		FAIL(500, "cannot store the pool '%s'", name);
	mgr_event(m, NULL, NULL, "pool", "pool '%s' created (install directory %s)", name, dir);
	*out = pool_rows(m, name);
	return 201;
}

static int r_pool_delete(struct mgr *m, const char *name, json_t **out)
{
	int64_t pid = 0, n = 0;
	if (db_get_int(m->db, &pid, "SELECT id FROM pools WHERE name = ?", "s", name))
		FAIL(404, "no pool named '%s'; see 'stratus pool list'", name);
	db_lock(m->db);
	db_get_int(m->db, &n, "SELECT COUNT(*) FROM pool_hosts WHERE pool_id = ?", "i", pid);
	if (n) {
		db_unlock(m->db);
		FAIL(409, "pool '%s' still has %lld host(s); remove them first with 'stratus host remove'", name, (long long)n);
	}
	db_exec(m->db, "DELETE FROM pools WHERE id = ?", "i", pid);
	db_unlock(m->db);
	mgr_event(m, NULL, NULL, "pool", "pool '%s' deleted", name);
	*out = NULL;
	return 204;
}

/* The known_hosts line ssh wrote at first contact: "TYPE BASE64". */
static char *recorded_key(const char *known)
{
	char *text = NULL, *out = NULL;
	if (util_read_file(known, 1 << 20, &text, NULL) < 0)
		return NULL;
	char host[512], type[64], key[1024];
	if (sscanf(text, "%511s %63s %1023s", host, type, key) == 3 && asprintf(&out, "%s %s", type, key) < 0)
		out = NULL;
	free(text);
	return out;
}

static int r_host_add(struct mgr *m, const char *pool, json_t *body, json_t **out)
{
	const char *name, *addr, *user, *key, *disks, *mtype;
	int64_t port, cores, mem, pid = 0;
	char dir[PATH_MAX], ip[64], keyp[PATH_MAX + 16], knownp[PATH_MAX + 16], *err = NULL;
	if (!str_member(body, "name", &name) || !str_member(body, "address", &addr) ||
	    !str_member(body, "user", &user) || !str_member(body, "private_key", &key) ||
	    !str_member(body, "disks", &disks) || !str_member(body, "machine_type", &mtype) ||
	    !int_member(body, "port", 22, 1, 65535, &port) || !int_member(body, "cores", 0, 0, 1 << 20, &cores) ||
	    !int_member(body, "memory_mb", 0, 0, 1LL << 32, &mem))
		FAIL(400, "give 'name', 'address', 'user', 'private_key', 'disks', 'machine_type' as strings and "
		     "'port' (1..65535), 'cores', 'memory_mb' as integers");
	if (db_get_int(m->db, &pid, "SELECT id FROM pools WHERE name = ?", "s", pool))
		FAIL(404, "no pool named '%s'; make it with 'stratus pool create %s'", pool, pool);
	if (!valid_name(name))
		FAIL(400, "the host name '%s' may hold only letters, digits, '.', '_' and '-'", name ? name : "");
	if (!valid_address(addr))
		FAIL(400, "the address '%s' of host '%s' must be an IP address or a host name", addr ? addr : "", name);
	if (!user)
		user = "root";
	if (!valid_name(user))
		FAIL(400, "the ssh user '%s' is not a plain user name", user);
	if (!key || strlen(key) > MAX_KEY_LEN || !strstr(key, "PRIVATE KEY-----"))
		FAIL(400, "give the ssh private key of host '%s' in 'private_key' (the text of an OpenSSH or PEM "
		     "private key file, without a passphrase)", name);
	if ((disks && strlen(disks) > 1024) || (mtype && strlen(mtype) > 128))
		FAIL(400, "'disks' is limited to 1024 characters and 'machine_type' to 128");
	int64_t exists = 0;
	if (!db_get_int(m->db, &exists, "SELECT id FROM pool_hosts WHERE name = ?", "s", name))
		FAIL(409, "a host named '%s' is registered already; remove it first to register it again", name);
	/* The address as an IPv4 address (a name is resolved once, here). */
	struct in_addr a;
	if (inet_pton(AF_INET, addr, &a) == 1) {
		snprintf(ip, sizeof(ip), "%s", addr);
	} else {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
		int g = getaddrinfo(addr, NULL, &hints, &res);
		if (g || !res)
			FAIL(400, "cannot resolve the address '%s' of host '%s': %s", addr, name, gai_strerror(g));
		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof(ip));
		freeaddrinfo(res);
	}
	host_dir(m, name, dir, sizeof(dir));
	char *rm[] = { "rm", "-rf", dir, NULL };
	run_argv(rm, NULL, NULL, NULL);
	int rc = util_mkdirs(dir, 0700);
	snprintf(keyp, sizeof(keyp), "%s/id_key", dir);
	snprintf(knownp, sizeof(knownp), "%s/known_hosts", dir);
	/* ssh wants the key to end with a newline. */
	size_t kl = strlen(key);
	char *k2 = malloc(kl + 2);
	if (!k2)
		FAIL(500, "out of memory");
	memcpy(k2, key, kl);
	if (kl && k2[kl - 1] != '\n')
		k2[kl++] = '\n';
	if (!rc)
		rc = util_write_file_atomic(keyp, k2, kl, 0600);
	explicit_bzero(k2, kl);
	free(k2);
	if (rc) {
		run_argv(rm, NULL, NULL, NULL);
		FAIL(500, "cannot store the key of host '%s' in '%s': %s", name, dir, strerror(-rc));
	}
	json_t *prow = db_query_one(m->db, "SELECT install_dir, connect_timeout_s FROM pools WHERE id = ?", "i", pid);
	char install[256];
	snprintf(install, sizeof(install), "%s", jstr_or(prow, "install_dir", DEFAULT_INSTALL_DIR));
	struct ssh_target t = {
		.host = name, .address = addr, .port = (int)port, .user = user, .key_file = keyp,
		.known_hosts = knownp, .install_dir = install,
		.connect_timeout_s = (int)json_integer_value(json_object_get(prow, "connect_timeout_s")),
	};
	json_decref(prow);
	struct ssh_facts f;
	rc = ssh_host_check(&t, true, &f, &err);
	if (!rc && !f.root) {
		rc = -EPERM;
		if (asprintf(&err, "user '%s' on host '%s' is not root and has no password-less sudo; Stratus "
			     "needs root there (hostname, /etc/hosts, daemons of cluster-init)", user, name) < 0)
			err = NULL;
	}
	if (rc) {
		run_argv(rm, NULL, NULL, NULL);
		int st = rc == -EPERM || rc == -EACCES ? 403 : 502;
		*out = error_json(st, "cannot register host '%s': %s", name, err ? err : strerror(-rc));
		free(err);
		return st;
	}
	char *hk = recorded_key(knownp);
	const char *state = f.leftover[0] ? "unclean" : "free";
	char reason[512] = "";
	if (f.leftover[0])
		snprintf(reason, sizeof(reason), "holds a Stratus install from before (%s) in %s; run 'stratus host "
			 "clear %s' to remove it", f.leftover, t.install_dir, name);
	int64_t now = util_wall_ms();
	rc = db_exec(m->db, "INSERT INTO pool_hosts (pool_id, name, address, ip, port, user, cores, memory_mb, disks, "
		     "machine_type, found_cores, found_memory_mb, os, kernel, arch, host_key, state, reason, "
		     "last_ok, last_probe, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		     "isssisiissiissssssiii", pid, name, addr, ip, port, user, cores ? cores : f.cores,
		     mem ? mem : f.memory_mb, disks ? disks : "", mtype ? mtype : "", f.cores, f.memory_mb, f.os,
		     f.kernel, f.arch, hk ? hk : "", state, reason[0] ? reason : NULL, now, now, now);
	free(hk);
	if (rc < 0) {
		run_argv(rm, NULL, NULL, NULL);
		FAIL(rc == -EEXIST ? 409 : 500, "cannot store host '%s'", name);
	}
	mgr_event(m, NULL, NULL, "pool", "host '%s' (%s) added to pool '%s': %lld cores, %lld MiB, %s, %s%s%s",
		  name, ip, pool, (long long)f.cores, (long long)f.memory_mb, f.os, f.arch,
		  reason[0] ? "; " : "", reason);
	json_t *h = host_view(db_query_one(m->db, HOST_VIEW "WHERE h.name = ?", "s", name));
	json_t *warn = json_array();
	if (cores > f.cores)
		json_array_append_new(warn, json_sprintf("host '%s' was declared with %lld cores but has %lld", name,
							 (long long)cores, (long long)f.cores));
	if (mem > f.memory_mb)
		json_array_append_new(warn, json_sprintf("host '%s' was declared with %lld MiB but has %lld MiB", name,
							 (long long)mem, (long long)f.memory_mb));
	json_object_set_new(h, "found", json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "cores", (json_int_t)f.cores,
						  "memory_mb", (json_int_t)f.memory_mb, "os", f.os, "kernel", f.kernel,
						  "arch", f.arch, "hostname", f.hostname));
	json_object_set_new(h, "warnings", warn);
	*out = h;
	return 201;
}

static int r_host_remove(struct mgr *m, const char *name, json_t **out)
{
	char dir[PATH_MAX];
	db_lock(m->db);
	json_t *h = db_query_one(m->db, HOST_VIEW "WHERE h.name = ?", "s", name);
	if (!h) {
		db_unlock(m->db);
		FAIL(404, "no host named '%s'; see 'stratus host list'", name);
	}
	if (!strcmp(jstr_or(h, "state", ""), "busy")) {
		db_unlock(m->db);
		*out = error_json(409, "host '%s' runs node '%s'; terminate that node first", name, jstr_or(h, "node", "?"));
		json_decref(h);
		return 409;
	}
	db_exec(m->db, "DELETE FROM pool_hosts WHERE name = ?", "s", name);
	db_unlock(m->db);
	host_dir(m, name, dir, sizeof(dir));
	char *rm[] = { "rm", "-rf", dir, NULL };
	run_argv(rm, NULL, NULL, NULL);
	mgr_event(m, NULL, NULL, "pool", "host '%s' removed from pool '%s'", name, jstr_or(h, "pool", ""));
	json_decref(h);
	*out = NULL;
	return 204;
}

static int r_host_clear(struct mgr *m, const char *name, json_t *body, json_t **out)
{
	json_t *row = db_query_one(m->db, HOST_SQL "WHERE h.name = ?", "s", name);
	json_t *f = json_object_get(body, "force");
	char *err = NULL, *log = NULL;
	if (!row)
		FAIL(404, "no host named '%s'; see 'stratus host list'", name);
	if (strcmp(jstr_or(row, "state", ""), "unclean")) {
		*out = error_json(409, "host '%s' is %s, not unclean: nothing to clear", name, jstr_or(row, "state", ""));
		json_decref(row);
		return 409;
	}
	struct pool_target pt;
	target_fill(m, row, &pt);
	json_decref(row);
	if (!json_is_true(f)) {
		int rc = ssh_host_clean(&pt.t, &log, &err);
		free(log);
		if (rc) {
			db_exec(m->db, "UPDATE pool_hosts SET reason = ? WHERE id = ?", "si",
				err ? err : strerror(-rc), pt.host_id);
			*out = error_json(rc == -EKEYREJECTED ? 409 : 502, "host '%s' stays unclean: %s; fix it and "
					  "clear it again, or clear it with --force if you cleaned it by hand", name,
					  err ? err : strerror(-rc));
			free(err);
			return rc == -EKEYREJECTED ? 409 : 502;
		}
	}
	int64_t now = util_wall_ms();
	db_exec(m->db, "UPDATE pool_hosts SET state = 'free', node_id = NULL, reason = NULL, reachable = 1, "
		"last_ok = ?, last_probe = ? WHERE id = ? AND state = 'unclean'", "iii", now, now, pt.host_id);
	mgr_event(m, NULL, NULL, "pool", "host '%s' cleared%s: back in its pool", name,
		  json_is_true(f) ? " by the operator (--force, not cleaned over ssh)" : " and cleaned over ssh");
	*out = host_view(db_query_one(m->db, HOST_VIEW "WHERE h.name = ?", "s", name));
	return 200;
}

int pool_api(struct mgr *m, const char *method, char **seg, int nseg, json_t *body, json_t **out)
{
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST"), del = !strcmp(method, "DELETE");
	*out = NULL;
	if (!m->pools)
		FAIL(503, "host pools are not available in this stratusd (provider '%s')",
		     m->prov ? m->prov->name : "none");
	if (!strcmp(seg[0], "pools")) {
		if (nseg == 1 && get) {
			*out = json_pack("{s:o}", "pools", pool_rows(m, NULL));
			return 200;
		}
		if (nseg == 1 && post)
			return r_pool_create(m, body, out);
		if (nseg == 2 && get) {
			json_t *p = pool_rows(m, seg[1]);
			if (!p)
				FAIL(404, "no pool named '%s'; see 'stratus pool list'", seg[1]);
			json_object_set_new(p, "host_list", host_views(db_query_json(m->db, HOST_VIEW "WHERE p.name = ? ORDER BY h.name",
									  "s", seg[1])));
			*out = p;
			return 200;
		}
		if (nseg == 2 && del)
			return r_pool_delete(m, seg[1], out);
		if (nseg == 3 && !strcmp(seg[2], "hosts") && get) {
			int64_t pid;
			if (db_get_int(m->db, &pid, "SELECT id FROM pools WHERE name = ?", "s", seg[1]))
				FAIL(404, "no pool named '%s'; see 'stratus pool list'", seg[1]);
			*out = json_pack("{s:o}", "hosts", host_views(db_query_json(m->db, HOST_VIEW "WHERE p.name = ? ORDER BY h.name",
									  "s", seg[1])));
			return 200;
		}
		if (nseg == 3 && !strcmp(seg[2], "hosts") && post)
			return r_host_add(m, seg[1], body, out);
	}
	if (!strcmp(seg[0], "hosts")) {
		if (nseg == 1 && get) {
			*out = json_pack("{s:o}", "hosts", host_views(db_query_json(m->db, HOST_VIEW "ORDER BY p.name, h.name", NULL)));
			return 200;
		}
		if (nseg == 2 && get) {
			json_t *h = host_view(db_query_one(m->db, HOST_VIEW "WHERE h.name = ?", "s", seg[1]));
			if (!h)
				FAIL(404, "no host named '%s'; see 'stratus host list'", seg[1]);
			*out = h;
			return 200;
		}
		if (nseg == 2 && del)
			return r_host_remove(m, seg[1], out);
		if (nseg == 3 && !strcmp(seg[2], "clear") && post)
			return r_host_clear(m, seg[1], body, out);
	}
	FAIL(404, "no such route '%s /api/v1/%s%s%s'", method, seg[0], nseg > 1 ? "/..." : "", "");
}
