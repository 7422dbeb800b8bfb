/*
 * cluster.c: what the API asks of clusters and nodes: records, names,
 * addresses, the state machine's bookkeeping, hosts files, and the queueing
 * of provider work (worker.c does it).  Runs on HTTP threads: nothing here
 * waits on a provider.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "lang/filter.h"
#include "manager/auth.h"
#include "manager/db.h"
#include "manager/manager.h"
#include "manager/pool.h"
#include "manager/values.h"
#include "manager/run.h"
#include "manager/state.h"

void op_err_set(struct op_err *e, int status, const char *fmt, ...)
{
	va_list ap;
	free(e->msg);
	e->status = status;
	va_start(ap, fmt);
	if (vasprintf(&e->msg, fmt, ap) < 0)
		e->msg = NULL;
	va_end(ap);
}

void mgr_event(struct mgr *m, const char *cluster, const char *node, const char *kind,
	       const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("event %s%s%s%s%s: %s", kind, cluster ? " " : "", cluster ? cluster : "",
		 node ? " " : "", node ? node : "", msg);
	db_exec(m->db, "INSERT INTO events (time, cluster, node, kind, message) VALUES (?, ?, ?, ?, ?)",
		"issss", util_wall_ms(), cluster, node, kind, msg);
}

void mgr_path(struct mgr *m, char *out, size_t len, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(out, len, "%s/%s", m->o.state_dir, rel);
}

uint32_t mgr_subnet(struct mgr *m, int k)
{
	return m->net_base + ((uint32_t)k << 8);
}

void mgr_bridge_name(struct mgr *m, int k, char *out, size_t len)
{
	/* "sb" + 6 hex + "-" + up to 3 digits: at most 12 characters (IFNAMSIZ 16). */
	snprintf(out, len, "sb%s-%d", m->instance, k);
}

static void ip_text(uint32_t a, char *out, size_t len)
{
	struct in_addr in = { htonl(a) };
	inet_ntop(AF_INET, &in, out, (socklen_t)len);
}

/* Does any route of this host already cover the /24 at base (not our own bridge)? */
static bool subnet_in_use(const char *own_bridge, uint32_t base)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[512];
	bool used = false;
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		char ifn[64];
		unsigned dst, gw, flags, mask;
		if (sscanf(line, "%63s %x %x %x %*s %*s %*s %x", ifn, &dst, &gw, &flags, &mask) != 5)
			continue;
		if (!strcmp(ifn, own_bridge) || mask == 0)
			continue; /* the default route covers everything: ignore it */
		uint32_t d = ntohl(dst), mk = ntohl(mask);
		if ((base & mk) == (d & mk) || ((base | 0xff) & mk) == (d & mk) || (d & 0xffffff00u) == base)
			used = true;
	}
	fclose(f);
	return used;
}

int cluster_create(struct mgr *m, const char *name, const char *tmpl, json_t *params, struct op_err *e)
{
	char *text = NULL, *err = NULL, *def_s = NULL, *params_s = NULL;
	json_t *def = NULL;
	int rc = -EINVAL;

	if (!valid_name(name) || strlen(name) > 40) {
		op_err_set(e, 400, "the cluster name '%s' must be 1 to 40 letters, digits, '.', '_' or '-'", name);
		return -EINVAL;
	}
	if (db_get_text(m->db, &text, "SELECT text FROM templates WHERE name = ?", "s", tmpl)) {
		op_err_set(e, 404, "no template named '%s'; import it with 'stratus import_template -f FILE'", tmpl);
		return -ENOENT;
	}
	if ((rc = tmpl_resolve(text, name, params, &def, &err))) {
		op_err_set(e, rc == -ENOSYS ? 501 : 400, "template '%s': %s", tmpl, err ? err : "does not resolve");
		goto out;
	}
	def_s = json_dumps(def, JSON_COMPACT);
	params_s = json_dumps(params ? params : json_object(), JSON_COMPACT);
	db_lock(m->db);
	/* The network of the cluster named by the template's Network attribute
	 * (a compute cluster beside the storage cluster it mounts, as the seed's
	 * "same subnet as your Lustre cluster"), else the lowest /24 of the range
	 * that no other cluster and no host route uses. */
	int k;
	const char *net_of = json_string_value(json_object_get(json_object_get(def, "attributes"), "Network"));
	if (net_of && *net_of && strcmp(net_of, "none")) {
		int64_t sk = -1;
		if (db_get_int(m->db, &sk, "SELECT subnet_index FROM clusters WHERE name = ?", "s", net_of)) {
			db_unlock(m->db);
			op_err_set(e, 404, "template '%s' puts the cluster on the network of cluster '%s', which "
				   "does not exist; create that cluster first", tmpl, net_of);
			rc = -ENOENT;
			goto out;
		}
		k = (int)sk;
	} else for (k = 0; k < m->net_subnets; k++) {
		int64_t x;
		char br[32];
		if (db_get_int(m->db, &x, "SELECT id FROM clusters WHERE subnet_index = ?", "i", (int64_t)k) == 0)
			continue;
		mgr_bridge_name(m, k, br, sizeof(br));
		if (!subnet_in_use(br, mgr_subnet(m, k)))
			break;
	}
	if (k == m->net_subnets) {
		db_unlock(m->db);
		op_err_set(e, 409, "no free /24 left in the network range '%s'; delete a cluster or widen --network",
			   m->o.network);
		rc = -ENOSPC;
		goto out;
	}
	rc = db_exec(m->db, "INSERT INTO clusters (name, template, template_text, parameters, definition, "
		     "state, subnet_index, created) VALUES (?, ?, ?, ?, ?, 'Off', ?, ?)", "sssssii",
		     name, tmpl, text, params_s, def_s, (int64_t)k, util_wall_ms());
	db_unlock(m->db);
	if (rc == -EEXIST) {
		op_err_set(e, 409, "a cluster named '%s' exists already", name);
		goto out;
	}
	if (rc < 0) {
		op_err_set(e, 500, "cannot store cluster '%s'", name);
		goto out;
	}
	char net[32];
	ip_text(mgr_subnet(m, k), net, sizeof(net));
	mgr_event(m, name, NULL, "cluster", "cluster created from template '%s' on network %s/24", tmpl, net);
	/* Its MUNGE key now, so that a cluster naming it finds it at once. */
	rc = values_make_secrets(m, name, e);
out:
	free(text);
	free(err);
	free(def_s);
	free(params_s);
	json_decref(def);
	return rc;
}

/* The cluster's definition node called tname, or NULL (borrowed from def). */
static json_t *def_node(json_t *def, const char *tname)
{
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(def, "nodes"), i, n)
		if (!strcmp(json_string_value(json_object_get(n, "name")) ?: "", tname))
			return n;
	return NULL;
}

static json_t *cluster_row(struct mgr *m, const char *name)
{
	return db_query_one(m->db, "SELECT id, name, template, state, subnet_index, "
			    "definition AS definition_json, parameters AS parameters_json FROM clusters "
			    "WHERE name = ?", "s", name);
}

/* Lowest free host number (10..250) of the cluster's /24.  -ENOSPC when full. */
static int free_host(struct mgr *m, int64_t cid, int k, char *ip, size_t len)
{
	/* Every node on the network, whichever cluster it belongs to (clusters may share one). */
	json_t *used = db_query_json(m->db, "SELECT n.ip FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
				     "WHERE c.subnet_index = (SELECT subnet_index FROM clusters WHERE id = ?)", "i", cid);
	for (int h = 10; h <= 250; h++) {
		char cand[32];
		ip_text(mgr_subnet(m, k) + (uint32_t)h, cand, sizeof(cand));
		bool taken = false;
		size_t i;
		json_t *r;
		json_array_foreach(used, i, r)
			if (!strcmp(json_string_value(json_object_get(r, "ip")) ?: "", cand))
				taken = true;
		if (!taken) {
			snprintf(ip, len, "%s", cand);
			json_decref(used);
			return 0;
		}
	}
	json_decref(used);
	return -ENOSPC;
}

/* Insert a node record (state Off).  Caller holds db_lock.  Returns its id or -errno. */
int64_t node_insert(struct mgr *m, json_t *c, const char *tname, bool is_array, int idx,
			   char *name, size_t nlen, struct op_err *e)
{
	char ip[32];
	int64_t cid = json_integer_value(json_object_get(c, "id"));
	const char *cname = json_string_value(json_object_get(c, "name"));
	int k = (int)json_integer_value(json_object_get(c, "subnet_index"));
	if (is_array)
		snprintf(name, nlen, "%s-%s-%d", cname, tname, idx);
	else
		snprintf(name, nlen, "%s-%s", cname, tname);
	if (free_host(m, cid, k, ip, sizeof(ip))) {
		op_err_set(e, 409, "cluster '%s' has no free address left for node '%s' (241 nodes at most)", cname, name);
		return -ENOSPC;
	}
	int64_t now = util_wall_ms();
	int rc = db_exec(m->db, "INSERT INTO nodes (cluster_id, name, template, is_array, idx, state, "
			 "target_state, ip, created, state_changed) VALUES (?, ?, ?, ?, ?, 'Off', 'Off', ?, ?, ?)",
			 "issiisii", cid, name, tname, (int64_t)is_array, (int64_t)idx, ip, now, now);
	if (rc < 0) {
		op_err_set(e, 409, "cannot add node '%s': a node of that name exists", name);
		return rc;
	}
	return db_last_id(m->db);
}

int node_set_state(struct mgr *m, int64_t nid, int to, int actor, const char *reason, struct op_err *e)
{
	const char *why = NULL;
	if (reason && !*reason)
		reason = NULL; /* agents send "" with Preparing and Ready */
	db_lock(m->db);
	json_t *n = db_query_one(m->db, "SELECT n.name, n.state, c.name AS cluster FROM nodes n "
				 "JOIN clusters c ON c.id = n.cluster_id WHERE n.id = ?", "i", nid);
	if (!n) {
		db_unlock(m->db);
		op_err_set(e, 404, "no such node");
		return -ENOENT;
	}
	const char *name = json_string_value(json_object_get(n, "name"));
	const char *cluster = json_string_value(json_object_get(n, "cluster"));
	int from = state_parse(json_string_value(json_object_get(n, "state")));
	int rc = state_check(from, to, actor, &why);
	if (rc) {
		db_unlock(m->db);
		op_err_set(e, 409, "node '%s' cannot go from %s to %s: %s", name, state_name(from),
			   state_name(to), why ? why : "not allowed");
		json_decref(n);
		return rc;
	}
	/* A node kept by a failed stop script is still meant to go. */
	const char *target = to == NS_TERMINATING || to == NS_OFF || actor == ACTOR_STOP ? "Off" : "Ready";
	db_exec(m->db, "UPDATE nodes SET state = ?, target_state = ?, reason = ?, state_changed = ? WHERE id = ?",
		"sssii", state_name(to), target, to == NS_FAILED || to == NS_OFF ? reason : NULL,
		util_wall_ms(), nid);
	db_unlock(m->db);
	if (to == NS_OFF)
		values_forget_node(m, nid); /* its MDS or /shared address is no more */
	if (from != to || reason)
		mgr_event(m, cluster, name, "state", "%s -> %s%s%s", state_name(from), state_name(to),
			  reason ? ": " : "", reason ? reason : "");
	json_decref(n);
	/* Never retried by itself: a retry would bring it back, not take it away. */
	if (actor == ACTOR_STOP)
		retry_forget(m, nid);
	else
		retry_note(m, nid, to, reason);
	return 0;
}

static int ensure_ssh_key(struct mgr *m, const char *cluster, struct op_err *e)
{
	char dir[PATH_MAX], key[PATH_MAX + 16], comment[128];
	mgr_path(m, dir, sizeof(dir), "clusters/%s/ssh", cluster);
	snprintf(key, sizeof(key), "%s/id_ed25519", dir);
	if (access(key, F_OK) == 0)
		return 0;
	int rc = util_mkdirs(dir, 0700);
	if (rc) {
		op_err_set(e, 500, "cannot create '%s': %s", dir, strerror(-rc));
		return rc;
	}
	snprintf(comment, sizeof(comment), "stratus-%s", cluster);
	char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key, NULL };
	char *etext = NULL;
	rc = run_argv(argv, NULL, NULL, &etext);
	if (rc != 0) {
		op_err_set(e, 500, "cannot make the SSH key of cluster '%s': ssh-keygen: %s; is openssh-client installed?",
			   cluster, etext ? etext : "failed");
		free(etext);
		return -EIO;
	}
	free(etext);
	return 0;
}

static void acquire(struct mgr *m, int64_t nid)
{
	struct op_err e = { 0 };
	if (node_set_state(m, nid, NS_ACQUIRING, ACTOR_MANAGER, NULL, &e) == 0)
		worker_acquire(m, nid);
	free(e.msg);
}

int cluster_start(struct mgr *m, const char *name, struct op_err *e)
{
	json_t *c = cluster_row(m, name);
	char nname[256];
	if (!c) {
		op_err_set(e, 404, "no cluster named '%s'", name);
		return -ENOENT;
	}
	const char *st = json_string_value(json_object_get(c, "state"));
	if (!strcmp(st, "Terminating")) {
		op_err_set(e, 409, "cluster '%s' is terminating; wait until it is Off, then start it", name);
		json_decref(c);
		return -EBUSY;
	}
	int rc = ensure_ssh_key(m, name, e);
	if (!rc)
		rc = values_make_secrets(m, name, e); /* a cluster made before clusters had secrets */
	if (rc) {
		json_decref(c);
		return rc;
	}
	int64_t cid = json_integer_value(json_object_get(c, "id"));
	json_t *def = json_object_get(c, "definition");
	db_lock(m->db);
	db_exec(m->db, "UPDATE clusters SET state = 'Started' WHERE id = ?", "i", cid);
	/* Every [[node]] once, and each [[nodearray]]'s InitialCount. */
	size_t i;
	json_t *dn;
	json_array_foreach(json_object_get(def, "nodes"), i, dn) {
		const char *tname = json_string_value(json_object_get(dn, "name"));
		bool is_array = json_is_true(json_object_get(dn, "array"));
		int64_t have = 0;
		db_get_int(m->db, &have, "SELECT COUNT(*) FROM nodes WHERE cluster_id = ? AND template = ?",
			   "is", cid, tname);
		int want = is_array ? (int)json_integer_value(json_object_get(dn, "initial_count")) : 1;
		for (int j = (int)have; j < want; j++)
			if (node_insert(m, c, tname, is_array, j + 1, nname, sizeof(nname), e) < 0) {
				db_unlock(m->db);
				json_decref(c);
				return -ENOSPC;
			}
	}
	/* Autoscaling arrays: every slot up to MaxCount, Off (autoscale.c). */
	if (autoscale_add_slots(m, c, e)) {
		db_unlock(m->db);
		json_decref(c);
		return -ENOSPC;
	}
	json_t *todo = db_query_json(m->db, "SELECT id FROM nodes WHERE cluster_id = ? AND state = 'Off' "
				     "AND (is_array = 0 OR target_state <> 'Off' OR state_changed = created)",
				     "i", cid);
	db_unlock(m->db);
	mgr_event(m, name, NULL, "cluster", "cluster started");
	hosts_refresh(m);
	json_array_foreach(todo, i, dn)
		acquire(m, json_integer_value(json_object_get(dn, "id")));
	json_decref(todo);
	json_decref(c);
	return 0;
}

int cluster_terminate(struct mgr *m, const char *name, bool force, struct op_err *e)
{
	json_t *c = cluster_row(m, name);
	if (!c) {
		op_err_set(e, 404, "no cluster named '%s'", name);
		return -ENOENT;
	}
	if (!strcmp(json_string_value(json_object_get(c, "state")), "Started") &&
	    guard_cluster(m, name, "terminate", force, e)) {
		json_decref(c);
		return -EBUSY;
	}
	int64_t cid = json_integer_value(json_object_get(c, "id"));
	db_exec(m->db, "UPDATE clusters SET state = 'Terminating' WHERE id = ?", "i", cid);
	json_t *live = db_query_json(m->db, "SELECT id FROM nodes WHERE cluster_id = ? AND state NOT IN "
				     "('Off', 'Terminating')", "i", cid);
	mgr_event(m, name, NULL, "cluster", "cluster terminating (%zu nodes)", json_array_size(live));
	size_t i;
	json_t *r;
	json_array_foreach(live, i, r) {
		struct op_err e2 = { 0 };
		int64_t id = json_integer_value(json_object_get(r, "id"));
		if (node_set_state(m, id, NS_TERMINATING, ACTOR_MANAGER, NULL, &e2) == 0)
			worker_destroy_flags(m, id, false, WORKER_STOP_CLUSTER | (force ? WORKER_STOP_FORCE : 0));
		free(e2.msg);
	}
	worker_cluster_down(m, cid);
	json_decref(live);
	json_decref(c);
	return 0;
}

/*
 * Remove ROOT/REL and everything below it, if it is really there: the real
 * path of ROOT/REL must be the real path of ROOT, "/", REL, so that neither
 * a symlink on the way nor a ".." in a name leads out of ROOT.  Nothing
 * there is no error.  WHAT names it in the log.
 */
static void remove_below(const char *root, const char *rel, const char *what)
{
	char rroot[PATH_MAX], path[PATH_MAX], want[PATH_MAX], got[PATH_MAX];
	if (!realpath(root, rroot))
		return;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >= sizeof(path) ||
	    (size_t)snprintf(want, sizeof(want), "%s/%s", rroot, rel) >= sizeof(want))
		return;
	if (!realpath(path, got)) {
		if (errno != ENOENT)
			log_warn("not removing %s '%s': %s", what, path, strerror(errno));
		return;
	}
	if (strcmp(got, want)) {
		log_warn("not removing %s '%s': it leads to '%s', not to a folder of its own in '%s'",
			 what, path, got, rroot);
		return;
	}
	char *argv[] = { "rm", "-rf", "--one-file-system", "--", got, NULL };
	char *err = NULL;
	if (run_argv(argv, NULL, NULL, &err))
		log_warn("cannot remove %s '%s': %s", what, got, err ? err : "rm failed");
	free(err);
}

/* Is DIR (resolved) ROOT (resolved) or below it?  The real path of DIR into out. */
static bool dir_within(const char *dir, const char *root, char out[PATH_MAX])
{
	char rroot[PATH_MAX];
	if (!realpath(root, rroot) || !realpath(dir, out))
		return false;
	size_t n = strlen(rroot);
	return !strcmp(out, rroot) || (strcmp(rroot, "/") && !strncmp(out, rroot, n) && out[n] == '/');
}

/*
 * After a cluster's records are gone: what its nodes left on this host.
 * NODES: {name, template, holder_pid, netns} of every node, DEF the
 * cluster's definition.  STATE/nodes/NODE (agent files, host keys) goes;
 * node data (DATA/nodes/NODE, DATA/clusters/CLUSTER, DATA a node's
 * stratus.data_dir) goes where DATA lies within --node-data-dir.  A node
 * that still has a holder or a namespace keeps everything of its own.
 */
static void cluster_remove_files(struct mgr *m, const char *name, json_t *nodes, json_t *def)
{
	char rel[PATH_MAX], data[PATH_MAX];
	json_t *dirs = json_object(); /* real data dirs -> true when a node there is not terminated */
	json_t *outside = json_object(); /* data dirs outside --node-data-dir, said once */
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n) {
		const char *node = json_string_value(json_object_get(n, "name"));
		json_t *conf = json_object_get(def_node(def, json_string_value(json_object_get(n, "template")) ?: ""),
					       "configuration");
		const char *dd = json_string_value(json_object_get(conf, "stratus.data_dir"));
		bool live = json_integer_value(json_object_get(n, "holder_pid")) > 0 ||
			    *(json_string_value(json_object_get(n, "netns")) ?: "");
		if (!dd || !*dd)
			dd = MGR_NODE_DATA_DEFAULT;
		bool in = dir_within(dd, m->o.node_data_dir, data);
		if (!in && !json_object_get(outside, dd) && access(dd, F_OK) == 0) {
			log_warn("not removing the node data of cluster '%s' in '%s': it is outside --node-data-dir '%s'",
				 name, dd, m->o.node_data_dir);
			json_object_set_new(outside, dd, json_true());
		}
		if (live) {
			log_warn("not removing the files of node '%s': it still has a holder or a namespace", node);
			if (in)
				json_object_set_new(dirs, data, json_true());
			continue;
		}
		snprintf(rel, sizeof(rel), "nodes/%s", node);
		remove_below(m->o.state_dir, rel, "the node folder");
		if (!in)
			continue;
		remove_below(data, rel, "the node data");
		if (!json_object_get(dirs, data))
			json_object_set_new(dirs, data, json_false());
	}
	const char *d;
	json_t *live;
	snprintf(rel, sizeof(rel), "clusters/%s", name);
	json_object_foreach(dirs, d, live)
		if (!json_is_true(live))
			remove_below(d, rel, "the cluster data");
	remove_below(m->o.state_dir, rel, "the cluster folder");
	json_decref(dirs);
	json_decref(outside);
}

int cluster_delete(struct mgr *m, const char *name, bool force, struct op_err *e)
{
	json_t *c = cluster_row(m, name);
	if (!c) {
		op_err_set(e, 404, "no cluster named '%s'", name);
		return -ENOENT;
	}
	if (guard_cluster(m, name, "delete", force, e)) {
		json_decref(c);
		return -EBUSY;
	}
	int64_t cid = json_integer_value(json_object_get(c, "id")), live = 0;
	db_get_int(m->db, &live, "SELECT COUNT(*) FROM nodes WHERE cluster_id = ? AND state <> 'Off'", "i", cid);
	if (live || strcmp(json_string_value(json_object_get(c, "state")), "Off")) {
		op_err_set(e, 409, "cluster '%s' still has %lld nodes that are not Off; run "
			   "'stratus terminate_cluster %s' and wait until it is Off", name, (long long)live, name);
		json_decref(c);
		return -EBUSY;
	}
	db_lock(m->db);
	db_begin(m->db);
	json_t *nodes = db_query_json(m->db, "SELECT name, template, holder_pid, netns FROM nodes "
				      "WHERE cluster_id = ?", "i", cid);
	db_exec(m->db, "DELETE FROM tokens WHERE kind = 'node' AND node_id IN (SELECT id FROM nodes WHERE cluster_id = ?)", "i", cid);
	db_exec(m->db, "DELETE FROM script_logs WHERE node_id IN (SELECT id FROM nodes WHERE cluster_id = ?)", "i", cid);
	db_exec(m->db, "DELETE FROM nodes WHERE cluster_id = ?", "i", cid);
	db_exec(m->db, "DELETE FROM clusters WHERE id = ?", "i", cid);
	values_forget_cluster(m, cid);
	db_commit(m->db);
	db_unlock(m->db);
	cluster_remove_files(m, name, nodes, json_object_get(c, "definition"));
	json_decref(nodes);
	mgr_event(m, name, NULL, "cluster", "cluster deleted");
	hosts_refresh(m);
	json_decref(c);
	return 0;
}

int cluster_add_nodes(struct mgr *m, const char *cluster, const char *tname, int count,
		      json_t **names, struct op_err *e)
{
	json_t *c = cluster_row(m, cluster);
	char nname[256];
	if (!c) {
		op_err_set(e, 404, "no cluster named '%s'", cluster);
		return -ENOENT;
	}
	int rc = -EINVAL;
	json_t *dn = def_node(json_object_get(c, "definition"), tname);
	if (strcmp(json_string_value(json_object_get(c, "state")), "Started")) {
		op_err_set(e, 409, "cluster '%s' is not started; run 'stratus start_cluster %s' first", cluster, cluster);
		goto out;
	}
	if (!dn || !json_is_true(json_object_get(dn, "array"))) {
		op_err_set(e, 400, "cluster '%s' has no node array named '%s'%s", cluster, tname,
			   dn ? " (it is a single node, not a node array)" : "");
		goto out;
	}
	int64_t cid = json_integer_value(json_object_get(c, "id")), have = 0, maxidx = 0;
	int64_t maxc = json_integer_value(json_object_get(dn, "max_count"));
	db_lock(m->db);
	db_get_int(m->db, &have, "SELECT COUNT(*) FROM nodes WHERE cluster_id = ? AND template = ?", "is", cid, tname);
	db_get_int(m->db, &maxidx, "SELECT COALESCE(MAX(idx), 0) FROM nodes WHERE cluster_id = ? AND template = ?",
		   "is", cid, tname);
	if (maxc > 0 && have + count > maxc) {
		db_unlock(m->db);
		op_err_set(e, 409, "node array '%s' has %lld nodes and MaxCount %lld: %d more would exceed it",
			   tname, (long long)have, (long long)maxc, count);
		rc = -ENOSPC;
		goto out;
	}
	json_t *ids = json_array();
	*names = json_array();
	for (int i = 0; i < count; i++) {
		int64_t id = node_insert(m, c, tname, true, (int)maxidx + 1 + i, nname, sizeof(nname), e);
		if (id < 0)
			break;
		json_array_append_new(ids, json_integer(id));
		json_array_append_new(*names, json_string(nname));
	}
	db_unlock(m->db);
	mgr_event(m, cluster, NULL, "scale", "add_node: %zu node(s) of '%s' requested", json_array_size(ids), tname);
	hosts_refresh(m);
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
		acquire(m, json_integer_value(v));
	rc = json_array_size(ids) == (size_t)count ? 0 : -ENOSPC;
	json_decref(ids);
	if (rc) {
		json_decref(*names);
		*names = NULL;
	}
out:
	json_decref(c);
	return rc;
}

static json_t *node_attrs(struct mgr *m, int64_t cid)
{
	return db_query_json(m->db, "SELECT id, name, template, is_array, state, target_state, "
			     "COALESCE(reason, '') AS reason, ip, name AS hostname, created, state_changed, "
			     "last_heartbeat FROM nodes WHERE cluster_id = ? ORDER BY is_array, template, idx",
			     "i", cid);
}

int cluster_nodes(struct mgr *m, const char *cluster, const char *filter, json_t **out, struct op_err *e)
{
	int64_t cid = 0;
	if (db_get_int(m->db, &cid, "SELECT id FROM clusters WHERE name = ?", "s", cluster)) {
		op_err_set(e, 404, "no cluster named '%s'", cluster);
		return -ENOENT;
	}
	json_t *all = node_attrs(m, cid);
	if (!filter || !*filter) {
		*out = all;
		return 0;
	}
	if (strlen(filter) > 4096) {
		json_decref(all);
		op_err_set(e, 400, "the filter is longer than 4096 characters");
		return -EINVAL;
	}
	struct filter *f = NULL;
	char *err = NULL;
	if (filter_parse(filter, &f, &err)) {
		op_err_set(e, 400, "bad filter: %s", err ? err : filter);
		free(err);
		json_decref(all);
		return -EINVAL;
	}
	json_t *sel = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(all, i, n) {
		/* CycleCloud's attribute names beside ours (matched without case). */
		json_t *a = json_copy(n);
		json_object_set(a, "TargetState", json_object_get(n, "target_state"));
		json_object_set(a, "PrivateIp", json_object_get(n, "ip"));
		json_object_set_new(a, "Cluster", json_string(cluster));
		json_object_set_new(a, "NodeArray", json_is_true(json_object_get(n, "is_array")) ||
				    json_integer_value(json_object_get(n, "is_array")) ?
				    json_incref(json_object_get(n, "template")) : json_null());
		if (filter_match_json(f, a))
			json_array_append(sel, n);
		json_decref(a);
	}
	filter_free(f);
	json_decref(all);
	*out = sel;
	return 0;
}

/* The nodes named in NAMES or matching FILTER (exactly one of them given). */
static int select_nodes(struct mgr *m, const char *cluster, json_t *names, const char *filter,
			json_t **out, struct op_err *e)
{
	if ((!names || !json_array_size(names)) && (!filter || !*filter)) {
		op_err_set(e, 400, "name the nodes or give --filter");
		return -EINVAL;
	}
	json_t *all = NULL;
	int rc = cluster_nodes(m, cluster, filter, &all, e);
	if (rc)
		return rc;
	if (names && json_array_size(names)) {
		json_t *sel = json_array();
		size_t i, j;
		json_t *want, *n;
		json_array_foreach(names, i, want) {
			bool found = false;
			json_array_foreach(all, j, n)
				if (!strcmp(json_string_value(json_object_get(n, "name")), json_string_value(want))) {
					json_array_append(sel, n);
					found = true;
				}
			if (!found) {
				op_err_set(e, 404, "cluster '%s' has no node '%s'%s; see 'stratus show_nodes %s'",
					   cluster, json_string_value(want), filter ? " matching the filter" : "", cluster);
				json_decref(sel);
				json_decref(all);
				return -ENOENT;
			}
		}
		json_decref(all);
		all = sel;
	}
	*out = all;
	return 0;
}

int cluster_terminate_nodes(struct mgr *m, const char *cluster, json_t *names, const char *filter,
			    bool force, bool remove, json_t **done, struct op_err *e)
{
	json_t *sel = NULL;
	int rc = select_nodes(m, cluster, names, filter, &sel, e);
	if (rc)
		return rc;
	size_t i;
	json_t *n;
	/* The seed's gotcha: a scheduler terminated by a filter ruins the cluster. */
	json_array_foreach(sel, i, n) {
		bool live = strcmp(json_string_value(json_object_get(n, "state")), "Off") != 0;
		if (!force && live && !json_integer_value(json_object_get(n, "is_array"))) {
			char why[2048];
			guard_node_why(m, cluster, json_string_value(json_object_get(n, "template")), why, sizeof(why));
			op_err_set(e, 409, "refusing to %s node '%s': %s; the cluster may not survive without it; "
				   "pass --force if you mean it", remove ? "remove" : "terminate",
				   json_string_value(json_object_get(n, "name")), why);
			json_decref(sel);
			return -EPERM;
		}
	}
	*done = json_array();
	json_array_foreach(sel, i, n) {
		int64_t id = json_integer_value(json_object_get(n, "id"));
		const char *st = json_string_value(json_object_get(n, "state"));
		const char *name = json_string_value(json_object_get(n, "name"));
		struct op_err e2 = { 0 };
		if (!strcmp(st, "Off")) {
			if (remove) {
				worker_destroy(m, id, true);
				json_array_append_new(*done, json_string(name));
			}
		} else if (!strcmp(st, "Terminating") ||
			   node_set_state(m, id, NS_TERMINATING, ACTOR_MANAGER, NULL, &e2) == 0) {
			worker_destroy_flags(m, id, remove, force ? WORKER_STOP_FORCE : 0);
			json_array_append_new(*done, json_string(name));
		}
		free(e2.msg);
	}
	if (json_array_size(*done))
		mgr_event(m, cluster, NULL, "scale", "%s: %zu node(s)%s", remove ? "remove_node" : "terminate_node",
			  json_array_size(*done), force ? " (forced)" : "");
	json_decref(sel);
	return 0;
}

int cluster_retry(struct mgr *m, const char *cluster, json_t *names, json_t **done, struct op_err *e)
{
	json_t *c = cluster_row(m, cluster), *sel = NULL;
	if (!c) {
		op_err_set(e, 404, "no cluster named '%s'", cluster);
		return -ENOENT;
	}
	if (strcmp(json_string_value(json_object_get(c, "state")), "Started")) {
		op_err_set(e, 409, "cluster '%s' is not started", cluster);
		json_decref(c);
		return -EINVAL;
	}
	json_decref(c);
	int rc = names && json_array_size(names) ? select_nodes(m, cluster, names, NULL, &sel, e)
						 : cluster_nodes(m, cluster, NULL, &sel, e);
	if (rc)
		return rc;
	*done = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(sel, i, n) {
		if (strcmp(json_string_value(json_object_get(n, "state")), "Failed"))
			continue;
		int64_t id = json_integer_value(json_object_get(n, "id"));
		/* By hand: a new series of automatic retries if this one fails too. */
		retry_forget(m, id);
		if (node_restart(m, id) == 1)
			mgr_event(m, cluster, json_string_value(json_object_get(n, "name")), "retry",
				  "re-running cluster-init in place");
		json_array_append(*done, json_object_get(n, "name"));
	}
	json_decref(sel);
	return 0;
}

int node_restart(struct mgr *m, int64_t id)
{
	db_exec(m->db, "UPDATE nodes SET retries = retries + 1 WHERE id = ?", "i", id);
	/* A node that still runs, with an agent that still talks to us, re-runs
	 * its cluster-init in place (its agent sees Preparing at its next
	 * heartbeat); one that is gone or silent is made again. */
	json_t *h = db_query_one(m->db, "SELECT holder_pid, netns, veth, last_heartbeat FROM nodes WHERE id = ?",
				 "i", id);
	struct node_handle nh = { 0 };
	nh.holder_pid = (pid_t)json_integer_value(json_object_get(h, "holder_pid"));
	snprintf(nh.netns, sizeof(nh.netns), "%s", json_string_value(json_object_get(h, "netns")) ?: "");
	snprintf(nh.veth, sizeof(nh.veth), "%s", json_string_value(json_object_get(h, "veth")) ?: "");
	int64_t hb = json_integer_value(json_object_get(h, "last_heartbeat"));
	json_decref(h);
	bool silent = m->o.heartbeat_timeout > 0 && hb > 0 && hb < util_wall_ms() - m->o.heartbeat_timeout;
	struct op_err e = { 0 };
	int rc = 0;
	if (m->prov && nh.holder_pid > 0 && !silent && m->prov->alive(NULL, &nh) &&
	    node_set_state(m, id, NS_PREPARING, ACTOR_MANAGER, NULL, &e) == 0)
		rc = 1;
	else
		acquire(m, id);
	free(e.msg);
	return rc;
}

json_t *node_view_for_agent(struct mgr *m, int64_t nid)
{
	json_t *n = db_query_one(m->db, "SELECT n.name, c.name AS cluster, n.template, n.name AS hostname, "
				 "n.ip, n.state, c.definition AS definition_json, c.parameters AS parameters_json, "
				 "c.template AS cluster_template FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
				 "WHERE n.id = ?", "i", nid);
	if (!n)
		return NULL;
	json_t *dn = def_node(json_object_get(n, "definition"), json_string_value(json_object_get(n, "template")));
	json_t *conf = json_object_get(dn, "configuration");
	json_object_set(n, "configuration", conf ? conf : json_object());
	json_t *ci = json_array();
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(dn, "cluster_init"), i, x) {
		const char *p = json_string_value(json_object_get(x, "project"));
		const char *v = json_string_value(json_object_get(x, "version"));
		char *latest = NULL;
		if (!v || !*v) {
			/* No version in the template: the latest upload of the project. */
			db_get_text(m->db, &latest, "SELECT version FROM projects WHERE name = ? ORDER BY uploaded DESC",
				    "s", p ? p : "");
			v = latest;
		}
		json_array_append_new(ci, json_pack("{s:s,s:s,s:O}", "project", p ? p : "", "version", v ? v : "",
						   "spec", json_object_get(x, "spec")));
		free(latest);
	}
	json_object_set_new(n, "cluster_init", ci);
	json_t *cl = json_pack("{s:O,s:O,s:O}", "name", json_object_get(n, "cluster"),
			       "template", json_object_get(n, "cluster_template"),
			       "parameters", json_object_get(n, "parameters"));
	/* "cluster" is an object (name, template, parameters), so that scripts can ask
	 * `stratus-node config cluster.parameters.X`. */
	json_object_set_new(n, "cluster", cl);
	json_object_del(n, "definition");
	json_object_del(n, "parameters");
	json_object_del(n, "cluster_template");
	return n;
}

void hosts_refresh(struct mgr *m)
{
	json_t *nodes = db_query_json(m->db, "SELECT name, ip FROM nodes ORDER BY id", NULL);
	json_t *cls = db_query_json(m->db, "SELECT name, subnet_index FROM clusters", NULL);
	size_t i, j;
	json_t *c, *n;
	bool changed = false;
	pthread_mutex_lock(&m->hostsmu);
	json_array_foreach(cls, i, c) {
		char path[PATH_MAX], gw[32];
		const char *cname = json_string_value(json_object_get(c, "name"));
		struct buf b = BUF_INIT(16 << 20);
		ip_text(mgr_subnet(m, (int)json_integer_value(json_object_get(c, "subnet_index"))) + 1, gw, sizeof(gw));
		buf_printf(&b, "# written by stratusd: every node of every cluster\n"
			   "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			   "%s\tstratus-manager\n", gw);
		json_array_foreach(nodes, j, n)
			buf_printf(&b, "%s\t%s\n", json_string_value(json_object_get(n, "ip")),
				   json_string_value(json_object_get(n, "name")));
		mgr_path(m, path, sizeof(path), "clusters/%s", cname);
		util_mkdirs(path, 0755);
		mgr_path(m, path, sizeof(path), "clusters/%s/hosts", cname);
		char *was = NULL;
		size_t wl = 0;
		bool same = b.data && util_read_file(path, 16 << 20, &was, &wl) >= 0 && wl == b.len &&
			    !memcmp(was, b.data, wl);
		free(was);
		if (same) {
			buf_release(&b);
			continue;
		}
		changed = true;
		/* Rewritten in place, not renamed: nodes bind-mount this very inode. */
		FILE *f = fopen(path, "r+e");
		if (!f)
			f = fopen(path, "we");
		if (f) {
			if (b.len)
				fwrite(b.data, 1, b.len, f);
			fflush(f);
			if (ftruncate(fileno(f), (off_t)b.len) < 0)
				log_warn("cannot truncate '%s': %s", path, strerror(errno));
			fclose(f);
		} else {
			log_warn("cannot write the hosts file '%s': %s", path, strerror(errno));
		}
		buf_release(&b);
	}
	pthread_mutex_unlock(&m->hostsmu);
	json_decref(nodes);
	json_decref(cls);
	/* Nodes on pool hosts have copies of it: push them now (pool.c). */
	if (changed)
		pool_hosts_changed(m);
}
