/*
 * retry.c: a node whose acquisition or cluster-init fails is started again
 * by itself, with back-off, instead of being left down (DESIGN.md, "Guards
 * the anchors lack").
 *
 * Each failure of a node of a started cluster schedules one more attempt
 * (5 s, 10 s, 20 s... up to a cap, stratusd's --retry-* or the cluster's
 * RetryMax / RetryDelay / RetryDelayMax attributes) until the cluster's
 * maximum is reached; then the node stays Failed for `stratus retry`.  A
 * series ends when the node is Ready, terminated, or retried by hand.  The
 * series lives in the datastore (node_retry), so it survives a restart of
 * stratusd; every step is a "retry" event in the node's timeline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "manager/db.h"
#include "manager/manager.h"
#include "manager/state.h"

#define RETRY_MAX_ATTEMPTS 100

int64_t retry_backoff_ms(int64_t base, int64_t cap, int attempt)
{
	int64_t d = base > 0 ? base : 1;
	for (int i = 0; i < attempt && d < cap; i++)
		d *= 2;
	return d < cap ? d : cap;
}

/* An attribute of the cluster by name without case, or NULL (borrowed). */
static json_t *attr(json_t *attrs, const char *key)
{
	const char *k;
	json_t *v;
	json_object_foreach(attrs, k, v)
		if (!strcasecmp(k, key))
			return v;
	return NULL;
}

/* A duration attribute: an integer (seconds) or a string with a unit ("500ms", "2m"). */
static void duration_attr(json_t *attrs, const char *key, int64_t *out)
{
	json_t *v = attr(attrs, key);
	int64_t ms = -1;
	if (!v)
		return;
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 86400)
		ms = json_integer_value(v) * 1000;
	else if (json_is_string(v) && cfg_parse_duration_ms(json_string_value(v), &ms))
		ms = -1;
	if (ms < 100 || ms > 86400000) {
		log_warn("cluster attribute %s: give a time from 100ms to 24h (seconds, or with a unit: "
			 "500ms, 10s, 5m); using %lld ms", key, (long long)*out);
		return;
	}
	*out = ms;
}

void retry_policy_of(const struct mgr_opts *o, json_t *attrs, struct retry_policy *p)
{
	p->max = (int)o->retry_max;
	p->delay_ms = o->retry_delay;
	p->delay_max_ms = o->retry_delay_max;
	json_t *v = attr(attrs, "RetryMax");
	if (v) {
		long long n = -1;
		if (json_is_integer(v))
			n = json_integer_value(v);
		else if (json_is_string(v)) {
			char *end;
			n = strtoll(json_string_value(v), &end, 10);
			if (end == json_string_value(v) || *end)
				n = -1;
		}
		if (n < 0 || n > RETRY_MAX_ATTEMPTS)
			log_warn("cluster attribute RetryMax: give a number from 0 to %d; using %d",
				 RETRY_MAX_ATTEMPTS, p->max);
		else
			p->max = (int)n;
	}
	duration_attr(attrs, "RetryDelay", &p->delay_ms);
	duration_attr(attrs, "RetryDelayMax", &p->delay_max_ms);
	if (p->delay_max_ms < p->delay_ms)
		p->delay_max_ms = p->delay_ms;
}

static void say_ms(int64_t ms, char *out, size_t len)
{
	if (ms % 1000)
		snprintf(out, len, "%lld ms", (long long)ms);
	else
		snprintf(out, len, "%lld s", (long long)(ms / 1000));
}

void retry_forget(struct mgr *m, int64_t nid)
{
	db_exec(m->db, "DELETE FROM node_retry WHERE node_id = ?", "i", nid);
}

void retry_note(struct mgr *m, int64_t nid, int to, const char *reason)
{
	if (to == NS_TERMINATING || to == NS_OFF) {
		retry_forget(m, nid);
		return;
	}
	if (to != NS_FAILED && to != NS_READY)
		return;
	json_t *n = db_query_one(m->db, "SELECT n.name, c.name AS cluster, c.state AS cstate, "
				 "c.definition AS definition_json, COALESCE(r.attempt, -1) AS attempt "
				 "FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
				 "LEFT JOIN node_retry r ON r.node_id = n.id WHERE n.id = ?", "i", nid);
	if (!n)
		return;
	const char *name = json_string_value(json_object_get(n, "name"));
	const char *cluster = json_string_value(json_object_get(n, "cluster"));
	int attempt = (int)json_integer_value(json_object_get(n, "attempt"));
	if (to == NS_READY) {
		if (attempt > 0)
			mgr_event(m, cluster, name, "retry", "Ready after %d automatic retr%s", attempt,
				  attempt == 1 ? "y" : "ies");
		if (attempt >= 0)
			retry_forget(m, nid);
		goto out;
	}
	/* Failed.  A cluster that is terminating or off is not brought back. */
	if (strcmp(json_string_value(json_object_get(n, "cstate")) ?: "", "Started"))
		goto out;
	struct retry_policy p;
	retry_policy_of(&m->o, json_object_get(json_object_get(n, "definition"), "attributes"), &p);
	if (attempt < 0)
		attempt = 0;
	if (p.max == 0)
		goto out;
	if (attempt >= p.max) {
		db_exec(m->db, "INSERT INTO node_retry (node_id, attempt, due, reason) VALUES (?, ?, 0, ?) "
			"ON CONFLICT (node_id) DO UPDATE SET due = 0, reason = excluded.reason", "iis",
			nid, (int64_t)attempt, reason);
		mgr_event(m, cluster, name, "retry", "no automatic retry left (%d of %d made); fix the cause, "
			  "then run 'stratus retry %s'", attempt, p.max, cluster);
		goto out;
	}
	int64_t wait = retry_backoff_ms(p.delay_ms, p.delay_max_ms, attempt);
	char w[32];
	say_ms(wait, w, sizeof(w));
	db_exec(m->db, "INSERT INTO node_retry (node_id, attempt, due, reason) VALUES (?, ?, ?, ?) "
		"ON CONFLICT (node_id) DO UPDATE SET due = excluded.due, reason = excluded.reason", "iiis",
		nid, (int64_t)attempt, util_wall_ms() + wait, reason);
	mgr_event(m, cluster, name, "retry", "automatic retry %d of %d in %s, after: %s", attempt + 1, p.max, w,
		  reason && *reason ? reason : "no reason given");
out:
	json_decref(n);
}

void retry_tick(struct evloop *loop, void *arg)
{
	struct mgr *m = arg;
	json_t *due = db_query_json(m->db, "SELECT r.node_id, r.attempt, n.name, c.name AS cluster, "
				    "c.definition AS definition_json FROM node_retry r "
				    "JOIN nodes n ON n.id = r.node_id JOIN clusters c ON c.id = n.cluster_id "
				    "WHERE r.due > 0 AND r.due <= ? AND n.state = 'Failed' AND c.state = 'Started' "
				    "ORDER BY r.due LIMIT 256", "i", util_wall_ms());
	size_t i;
	json_t *r;
	json_array_foreach(due, i, r) {
		int64_t id = json_integer_value(json_object_get(r, "node_id"));
		int attempt = (int)json_integer_value(json_object_get(r, "attempt")) + 1;
		struct retry_policy p;
		retry_policy_of(&m->o, json_object_get(json_object_get(r, "definition"), "attributes"), &p);
		/* Counted before the node moves, so that a failure that comes back at
		 * once schedules the next attempt, not this one again. */
		db_exec(m->db, "UPDATE node_retry SET attempt = ?, due = 0 WHERE node_id = ?", "ii",
			(int64_t)attempt, id);
		int how = node_restart(m, id);
		mgr_event(m, json_string_value(json_object_get(r, "cluster")), json_string_value(json_object_get(r, "name")),
			  "retry", "automatic retry %d of %d: %s", attempt, p.max > attempt ? p.max : attempt,
			  how == 1 ? "re-running cluster-init in place" : "making the node again");
	}
	json_decref(due);
}

json_t *retry_view(struct mgr *m, int64_t nid)
{
	json_t *r = db_query_one(m->db, "SELECT r.attempt, r.due, COALESCE(r.reason, '') AS reason, "
				 "c.definition AS definition_json FROM node_retry r JOIN nodes n ON n.id = r.node_id "
				 "JOIN clusters c ON c.id = n.cluster_id WHERE r.node_id = ?", "i", nid);
	if (!r)
		return json_null();
	struct retry_policy p;
	retry_policy_of(&m->o, json_object_get(json_object_get(r, "definition"), "attributes"), &p);
	json_object_del(r, "definition");
	json_object_set_new(r, "max", json_integer(p.max));
	return r;
}
