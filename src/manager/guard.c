/*
 * guard.c: what stratusd refuses without --force because a cluster would not
 * survive it (DESIGN.md, "Guards the anchors lack"): terminating or deleting
 * a cluster that a running cluster depends on (a storage cluster that a
 * compute cluster mounts, a cluster whose network another shares), and
 * terminating a node outside a node array (the scheduler, head or metadata
 * node), with a message that names who would be hurt.
 *
 * A cluster D depends on cluster S when D is Started and its settings name S:
 *   - a parameter whose name ends in "Cluster" (the slurm template's
 *     StorageCluster) has the value S;
 *   - a node's configuration key whose last part is "cluster" or ends in
 *     "_cluster" (the slurm template's stratusfs.cluster) has the value S;
 *   - its template's Network attribute is S (D's nodes are on S's bridge).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "manager/db.h"
#include "manager/manager.h"

static bool ends_with_nocase(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a >= b && !strcasecmp(s + a - b, sfx);
}

/* A configuration key that names a cluster: "stratusfs.cluster", "x.storage_cluster". */
static bool names_cluster_key(const char *key)
{
	const char *last = strrchr(key, '.');
	last = last ? last + 1 : key;
	return !strcasecmp(last, "cluster") || ends_with_nocase(last, "_cluster");
}

static bool is_name(json_t *v, const char *name)
{
	return json_is_string(v) && !strcmp(json_string_value(v), name);
}

bool guard_refers(json_t *params, json_t *def, const char *name, char *via, size_t len)
{
	const char *k;
	json_t *v;
	size_t i;
	json_t *n;
	json_object_foreach(params, k, v)
		if (ends_with_nocase(k, "Cluster") && is_name(v, name)) {
			snprintf(via, len, "its parameter %s is '%s'", k, name);
			return true;
		}
	json_array_foreach(json_object_get(def, "nodes"), i, n)
		json_object_foreach(json_object_get(n, "configuration"), k, v)
			if (names_cluster_key(k) && is_name(v, name)) {
				snprintf(via, len, "the configuration %s of its node '%s' is '%s'", k,
					 json_string_value(json_object_get(n, "name")) ?: "?", name);
				return true;
			}
	json_object_foreach(json_object_get(def, "attributes"), k, v)
		if (!strcasecmp(k, "Network") && is_name(v, name)) {
			snprintf(via, len, "its nodes are on the network of '%s' (template attribute Network)", name);
			return true;
		}
	return false;
}

json_t *guard_dependents(struct mgr *m, const char *name)
{
	json_t *out = json_array();
	json_t *cls = db_query_json(m->db, "SELECT name, parameters AS parameters_json, definition AS definition_json "
				    "FROM clusters WHERE state = 'Started' AND name <> ? ORDER BY name", "s", name);
	size_t i;
	json_t *c;
	json_array_foreach(cls, i, c) {
		char via[512];
		if (guard_refers(json_object_get(c, "parameters"), json_object_get(c, "definition"), name, via,
				 sizeof(via)))
			json_array_append_new(out, json_pack("{s:O,s:s}", "cluster", json_object_get(c, "name"),
							     "via", via));
	}
	json_decref(cls);
	return out;
}

/* "cluster 'a' (its parameter ...), cluster 'b' (...)" into b. */
static void list_dependents(json_t *deps, struct buf *b)
{
	size_t i;
	json_t *d;
	json_array_foreach(deps, i, d)
		buf_printf(b, "%scluster '%s' (%s)", i ? ", " : "", json_string_value(json_object_get(d, "cluster")),
			   json_string_value(json_object_get(d, "via")));
}

int guard_cluster(struct mgr *m, const char *name, const char *verb, bool force, struct op_err *e)
{
	json_t *deps = guard_dependents(m, name);
	size_t n = json_array_size(deps);
	if (!n) {
		json_decref(deps);
		return 0;
	}
	struct buf b = BUF_INIT(16384);
	list_dependents(deps, &b);
	if (force) {
		mgr_event(m, name, NULL, "guard", "%s forced while %s depend%s on it: %s", verb,
			  n == 1 ? "a running cluster" : "running clusters", n == 1 ? "s" : "", b.data ? b.data : "");
		buf_release(&b);
		json_decref(deps);
		return 0;
	}
	op_err_set(e, 409, "refusing to %s cluster '%s': %s depend%s on it: %s; terminate %s first, or pass "
		   "--force if you mean it", verb, name, n == 1 ? "a running cluster" : "running clusters",
		   n == 1 ? "s" : "", b.data ? b.data : "", n == 1 ? "that cluster" : "those clusters");
	buf_release(&b);
	json_decref(deps);
	return -EBUSY;
}

void guard_node_why(struct mgr *m, const char *cluster, const char *tname, char *out, size_t len)
{
	json_t *c = db_query_one(m->db, "SELECT definition AS definition_json FROM clusters WHERE name = ?", "s",
				 cluster);
	const char *role = NULL, *role_key = NULL;
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(json_object_get(c, "definition"), "nodes"), i, n) {
		if (strcmp(json_string_value(json_object_get(n, "name")) ?: "", tname))
			continue;
		const char *k;
		json_t *v;
		/* A role the template gives it: slurm.role = scheduler, stratusfs.role = mds. */
		json_object_foreach(json_object_get(n, "configuration"), k, v)
			if ((!strcasecmp(k, "role") || ends_with_nocase(k, ".role")) && json_is_string(v)) {
				role_key = k;
				role = json_string_value(v);
			}
	}
	struct buf b = BUF_INIT(8192);
	if (role)
		buf_printf(&b, "it is not in a node array: it is the cluster's %s node (%s = %s)", role, role_key, role);
	else
		buf_printf(&b, "it is not in a node array (it may be the cluster's scheduler, head or metadata node)");
	json_t *deps = guard_dependents(m, cluster);
	if (json_array_size(deps)) {
		buf_printf(&b, ", and ");
		list_dependents(deps, &b);
		buf_printf(&b, " depend%s on this cluster", json_array_size(deps) == 1 ? "s" : "");
	}
	snprintf(out, len, "%s", b.data ? b.data : "");
	buf_release(&b);
	json_decref(deps);
	json_decref(c);
}
