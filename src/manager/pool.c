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

#include "common/log.h"
#include "common/util.h"
#include "manager/db.h"
#include "manager/manager.h"
#include "manager/run.h"
#include "manager/state.h"

#define DEFAULT_INSTALL_DIR "/opt/stratus"
#define MAX_KEY_LEN (64 << 10)

struct pool_ctl {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	bool running;
};

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

static void fail_node_for_host(struct mgr *m, int64_t node_id, const char *why)
{
	struct op_err e = { 0 };
	if (node_set_state(m, node_id, NS_FAILED, ACTOR_MANAGER, why, &e))
		log_warn("cannot mark node %lld Failed: %s", (long long)node_id, e.msg ? e.msg : "?");
	free(e.msg);
}

static void probe_one(struct mgr *m, json_t *row)
{
	struct pool_target pt;
	char *err = NULL, *block = NULL, *state = NULL, *cluster = NULL;
	bool up = false;
	int64_t now = util_wall_ms();
	target_fill(m, row, &pt);
	int64_t node_id = json_integer_value(json_object_get(row, "node_id"));
	bool busy = !strcmp(jstr_or(row, "state", ""), "busy") && node_id > 0;
	if (busy) {
		db_get_text(m->db, &state, "SELECT state FROM nodes WHERE id = ?", "i", node_id);
		/* A node being made or taken down is the worker's; its hosts file is the cluster's. */
		if (!state || (strcmp(state, "Preparing") && strcmp(state, "Ready"))) {
			free(state);
			return;
		}
		db_get_text(m->db, &cluster, "SELECT c.name FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
			    "WHERE n.id = ?", "i", node_id);
		char hosts[PATH_MAX];
		mgr_path(m, hosts, sizeof(hosts), "clusters/%s/hosts", cluster ? cluster : "");
		char *e2 = NULL;
		if (ssh_hosts_block(hosts, pt.mgr_addr, &block, &e2))
			log_warn("host '%s': %s", pt.host, e2 ? e2 : "no hosts block");
		free(e2);
	}
	int rc = ssh_host_probe(&pt.t, block, &up, &err);
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
	free(state);
	free(cluster);
}

static void *probe_main(void *arg)
{
	struct mgr *m = arg;
	struct pool_ctl *c = m->pools;
	log_set_context("pools");
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->mu);
		json_t *due = db_query_json(m->db, HOST_SQL "WHERE h.state IN ('free', 'busy') AND "
					    "h.last_probe + p.probe_interval_ms <= ? ORDER BY h.last_probe LIMIT 64",
					    "i", util_wall_ms());
		size_t i;
		json_t *row;
		json_array_foreach(due, i, row) {
			probe_one(m, row);
			pthread_mutex_lock(&c->mu);
			bool stop = c->stop;
			pthread_mutex_unlock(&c->mu);
			if (stop)
				break;
		}
		json_decref(due);
		pthread_mutex_lock(&c->mu);
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
	m->pools = c;
	if ((rc = -pthread_create(&c->th, NULL, probe_main, m))) {
		m->pools = NULL;
		free(c);
		return rc;
	}
	c->running = true;
	return 0;
}

void pool_stop(struct mgr *m)
{
	struct pool_ctl *c = m->pools;
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->running)
		pthread_join(c->th, NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
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
	struct ssh_target t = {
		.host = name, .address = addr, .port = (int)port, .user = user, .key_file = keyp,
		.known_hosts = knownp, .install_dir = jstr_or(prow, "install_dir", DEFAULT_INSTALL_DIR),
		.connect_timeout_s = (int)json_integer_value(json_object_get(prow, "connect_timeout_s")),
	};
	struct ssh_facts f;
	rc = ssh_host_check(&t, true, &f, &err);
	json_decref(prow);
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
		     "isssisiissiisssssiiii", pid, name, addr, ip, port, user, cores ? cores : f.cores,
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
	json_t *h = db_query_one(m->db, HOST_VIEW "WHERE h.name = ?", "s", name);
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
	*out = db_query_one(m->db, HOST_VIEW "WHERE h.name = ?", "s", name);
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
			json_object_set_new(p, "host_list", db_query_json(m->db, HOST_VIEW "WHERE p.name = ? ORDER BY h.name",
									  "s", seg[1]));
			*out = p;
			return 200;
		}
		if (nseg == 2 && del)
			return r_pool_delete(m, seg[1], out);
		if (nseg == 3 && !strcmp(seg[2], "hosts") && get) {
			int64_t pid;
			if (db_get_int(m->db, &pid, "SELECT id FROM pools WHERE name = ?", "s", seg[1]))
				FAIL(404, "no pool named '%s'; see 'stratus pool list'", seg[1]);
			*out = json_pack("{s:o}", "hosts", db_query_json(m->db, HOST_VIEW "WHERE p.name = ? ORDER BY h.name",
									  "s", seg[1]));
			return 200;
		}
		if (nseg == 3 && !strcmp(seg[2], "hosts") && post)
			return r_host_add(m, seg[1], body, out);
	}
	if (!strcmp(seg[0], "hosts")) {
		if (nseg == 1 && get) {
			*out = json_pack("{s:o}", "hosts", db_query_json(m->db, HOST_VIEW "ORDER BY p.name, h.name", NULL));
			return 200;
		}
		if (nseg == 2 && get) {
			json_t *h = db_query_one(m->db, HOST_VIEW "WHERE h.name = ?", "s", seg[1]);
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
