/*
 * autoscale.c: what a cluster's own nodes may ask of the manager to grow and
 * shrink its node arrays (POST /api/v1/node/resume and /node/suspend, asked
 * by the scheduler's autoscaler with its node token), and the array slots
 * those requests name.
 *
 * Slurm must know every node it may ever get, with its address, before the
 * node exists (slurm.conf lists them).  So when a cluster whose template says
 * `Autoscale = true` starts, each node array gets records for slots 1 to
 * MaxCount with reserved addresses (every node's /etc/hosts lists them and
 * `stratus-node search` returns them), Off until asked for.  Resume acquires
 * Off or Failed slots (a Failed one is made again: the retry); suspend
 * terminates them back to Off, keeping the record.  Each request is an event
 * with the asker's reason.  The answer lists the nodes that are on their way
 * (resume) or going (suspend); a node still Terminating is not, and is asked
 * for again.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "manager/db.h"
#include "manager/manager.h"
#include "manager/state.h"

#define MAX_NAMES 1000
#define MAX_REASON 1024

/* A template attribute that is true (true, "true", "True", 1). */
static bool attr_true(json_t *attrs, const char *key)
{
	const char *k;
	json_t *v;
	json_object_foreach(attrs, k, v) {
		if (strcasecmp(k, key))
			continue;
		if (json_is_boolean(v))
			return json_is_true(v);
		if (json_is_integer(v))
			return json_integer_value(v) != 0;
		if (json_is_string(v))
			return !strcasecmp(json_string_value(v), "true") || !strcmp(json_string_value(v), "1");
	}
	return false;
}

int autoscale_add_slots(struct mgr *m, json_t *cluster_row, struct op_err *e)
{
	json_t *def = json_object_get(cluster_row, "definition");
	int64_t cid = json_integer_value(json_object_get(cluster_row, "id"));
	bool cluster_auto = attr_true(json_object_get(def, "attributes"), "Autoscale");
	size_t i;
	json_t *dn;
	json_array_foreach(json_object_get(def, "nodes"), i, dn) {
		if (!json_is_true(json_object_get(dn, "array")))
			continue;
		if (!cluster_auto && !attr_true(json_object_get(dn, "attributes"), "Autoscale"))
			continue;
		const char *tname = json_string_value(json_object_get(dn, "name"));
		int64_t maxc = json_integer_value(json_object_get(dn, "max_count")), maxidx = 0;
		db_get_int(m->db, &maxidx, "SELECT COALESCE(MAX(idx), 0) FROM nodes WHERE cluster_id = ? AND template = ?",
			   "is", cid, tname);
		for (int64_t j = maxidx + 1; j <= maxc; j++) {
			char name[256];
			int64_t id = node_insert(m, cluster_row, tname, true, (int)j, name, sizeof(name), e);
			if (id < 0)
				return (int)id;
			/* A slot: Off until asked for.  (A record whose state_changed is its
			 * creation time is one of the InitialCount that start with the cluster.) */
			db_exec(m->db, "UPDATE nodes SET state_changed = created - 1 WHERE id = ?", "i", id);
		}
	}
	return 0;
}

int autoscale_request(struct mgr *m, int64_t caller, json_t *names, const char *reason, bool resume,
		      json_t **done, struct op_err *e)
{
	char *cluster = NULL, *who = NULL;
	json_t *all = NULL;
	int rc;
	size_t i, j;
	json_t *want, *n;

	*done = NULL;
	if (!json_is_array(names) || !json_array_size(names) || json_array_size(names) > MAX_NAMES) {
		op_err_set(e, 400, "give 'nodes': an array of 1 to %d node names", MAX_NAMES);
		return -EINVAL;
	}
	if (reason && strlen(reason) > MAX_REASON) {
		op_err_set(e, 413, "'reason' is longer than %d bytes", MAX_REASON);
		return -EINVAL;
	}
	db_get_text(m->db, &cluster, "SELECT c.name FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
		    "WHERE n.id = ?", "i", caller);
	db_get_text(m->db, &who, "SELECT name FROM nodes WHERE id = ?", "i", caller);
	if (!cluster || !who) {
		op_err_set(e, 404, "this node's record is gone");
		rc = -ENOENT;
		goto out;
	}
	if ((rc = cluster_nodes(m, cluster, NULL, &all, e)))
		goto out;
	/* Only array nodes of the asker's own cluster, all checked before any is touched. */
	json_array_foreach(names, i, want) {
		const char *w = json_string_value(want);
		bool ok = false;
		json_array_foreach(all, j, n)
			if (w && !strcmp(w, json_string_value(json_object_get(n, "name"))) &&
			    json_integer_value(json_object_get(n, "is_array")))
				ok = true;
		if (!ok) {
			op_err_set(e, 403, "'%s' is not a node array node of cluster '%s'; a node may only %s "
				   "its own cluster's array nodes", w ? w : "(not a string)", cluster,
				   resume ? "resume" : "suspend");
			rc = -EPERM;
			goto out;
		}
	}
	if (!resume) {
		rc = cluster_terminate_nodes(m, cluster, names, NULL, false, false, done, e);
		json_array_foreach(rc ? NULL : *done, i, n)
			mgr_event(m, cluster, json_string_value(n), "scale", "suspend asked by %s: %s", who,
				  reason && *reason ? reason : "no reason given");
		goto out;
	}
	*done = json_array();
	json_array_foreach(names, i, want) {
		json_array_foreach(all, j, n) {
			if (strcmp(json_string_value(want), json_string_value(json_object_get(n, "name"))))
				continue;
			int from = state_parse(json_string_value(json_object_get(n, "state")));
			int64_t id = json_integer_value(json_object_get(n, "id"));
			struct op_err e2 = { 0 };
			/* Asked again while it comes up or runs: nothing to do, but it is on
			 * its way.  A node still Terminating is left out of *done, so that
			 * the asker asks again once it is Off. */
			if (from == NS_ACQUIRING || from == NS_PREPARING || from == NS_READY) {
				json_array_append(*done, want);
			} else if ((from == NS_OFF || from == NS_FAILED) &&
				   node_set_state(m, id, NS_ACQUIRING, ACTOR_MANAGER, NULL, &e2) == 0) {
				worker_acquire(m, id);
				json_array_append(*done, want);
				mgr_event(m, cluster, json_string_value(want), "scale", "resume%s asked by %s: %s",
					  from == NS_FAILED ? " (retry of a Failed node)" : "", who,
					  reason && *reason ? reason : "no reason given");
			}
			free(e2.msg);
		}
	}
	rc = 0;
out:
	if (rc) {
		json_decref(*done);
		*done = NULL;
	}
	json_decref(all);
	free(cluster);
	free(who);
	return rc;
}
