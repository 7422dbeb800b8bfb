/*
 * values.c: values a cluster's nodes publish for each other, and the
 * cluster's secrets, kept by the manager so that nodes on different machines
 * share no folder (values.h says who may read what).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/random.h>

#include "common/log.h"
#include "common/util.h"
#include "manager/db.h"
#include "manager/manager.h"
#include "manager/run.h"
#include "manager/values.h"

#define MUNGE_KEY_LEN 1024
#define VALUE_MAX (64 << 10)
#define KEY_MAX 128

/* ---- secrets ---- */

static void key_path(struct mgr *m, const char *cluster, char *out, size_t len)
{
	mgr_path(m, out, len, "clusters/%s/secrets/munge.key", cluster);
}

int values_make_secrets(struct mgr *m, const char *cluster, struct op_err *e)
{
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned char key[MUNGE_KEY_LEN];
	key_path(m, cluster, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return 0;
	mgr_path(m, dir, sizeof(dir), "clusters/%s/secrets", cluster);
	int rc = util_mkdirs(dir, 0700);
	if (rc) {
		op_err_set(e, 500, "cannot create '%s': %s", dir, strerror(-rc));
		return rc;
	}
	for (size_t got = 0; got < sizeof(key);) {
		ssize_t n = getrandom(key + got, sizeof(key) - got, 0);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			op_err_set(e, 500, "cannot make the MUNGE key of cluster '%s': getrandom: %s", cluster,
				   strerror(-rc));
			return rc;
		}
		if (n > 0)
			got += (size_t)n;
	}
	rc = util_write_file_atomic(path, key, sizeof(key), 0600);
	explicit_bzero(key, sizeof(key));
	if (rc) {
		op_err_set(e, 500, "cannot write the MUNGE key of cluster '%s' to '%s': %s", cluster, path,
			   strerror(-rc));
		return rc;
	}
	mgr_event(m, cluster, NULL, "cluster", "made the cluster's MUNGE key (kept by the manager, handed to its nodes)");
	return 0;
}

static char *base64(const unsigned char *p, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		*o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? abc[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* The cluster's MUNGE key as base64 (malloc'd; the caller wipes it), or NULL. */
static char *key_b64(struct mgr *m, const char *cluster)
{
	char path[PATH_MAX], *raw = NULL;
	size_t len = 0;
	key_path(m, cluster, path, sizeof(path));
	if (util_read_file(path, 65536, &raw, &len) < 0)
		return NULL;
	char *b = base64((unsigned char *)raw, len);
	explicit_bzero(raw, len);
	free(raw);
	return b;
}

static void put_secret(json_t *out, json_t *conf, const char *key, char *b64)
{
	if (b64 && !json_object_get(conf, key))
		json_object_set_new(out, key, json_string(b64));
	if (b64) {
		explicit_bzero(b64, strlen(b64));
		free(b64);
	}
}

char *values_node_secrets(struct mgr *m, int64_t nid)
{
	json_t *v = node_view_for_agent(m, nid);
	if (!v)
		return NULL;
	const char *own = json_string_value(json_object_get(json_object_get(v, "cluster"), "name"));
	json_t *conf = json_object_get(v, "configuration"), *out = json_object(), *x;
	const char *k;
	put_secret(out, conf, "munge.key", key_b64(m, own ? own : ""));
	/* PREFIX.cluster = OTHER: the node's cluster names OTHER (a compute
	 * cluster its storage cluster), so the node may hold OTHER's key. */
	json_object_foreach(conf, k, x) {
		const char *dot = strrchr(k, '.');
		const char *other = json_string_value(x);
		if (!dot || strcmp(dot + 1, "cluster") || !other || !*other || (own && !strcmp(other, own)) ||
		    !valid_name(other) || (size_t)(dot - k) > KEY_MAX)
			continue;
		int64_t have = 0;
		if (db_get_int(m->db, &have, "SELECT COUNT(*) FROM clusters WHERE name = ?", "s", other) || !have)
			continue; /* "none", or not made yet: its nodes' scripts say what they wait for */
		char name[KEY_MAX + 16];
		snprintf(name, sizeof(name), "%.*s.munge_key", (int)(dot - k), k);
		put_secret(out, conf, name, key_b64(m, other));
	}
	char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	/* jansson keeps its own copies: wipe them before they go back to the heap. */
	json_object_foreach(out, k, x)
		if (json_is_string(x))
			explicit_bzero((char *)json_string_value(x), json_string_length(x));
	json_decref(out);
	json_decref(v);
	return text;
}

/* ---- published values ---- */

static bool valid_key(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > KEY_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int fail(json_t **out, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(json_t **out, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*out = json_pack("{s:s,s:i}", "error", msg, "status", status);
	return status;
}

int values_node_api(struct mgr *m, int64_t nid, const char *method, const char *key, const char *cluster,
		    json_t *body, json_t **out)
{
	*out = NULL;
	if (!valid_key(key))
		return fail(out, 400, "a value's key is 1 to %d letters, digits, '.', '_' or '-' (not starting with '.')",
			    KEY_MAX);
	json_t *me = db_query_one(m->db, "SELECT n.name, c.id AS cid, c.name AS cluster, "
				  "c.parameters AS parameters_json, c.definition AS definition_json "
				  "FROM nodes n JOIN clusters c ON c.id = n.cluster_id WHERE n.id = ?", "i", nid);
	if (!me)
		return fail(out, 404, "this node's record is gone");
	const char *own = json_string_value(json_object_get(me, "cluster"));
	const char *node = json_string_value(json_object_get(me, "name"));
	int64_t cid = json_integer_value(json_object_get(me, "cid"));
	int status;
	if (!strcmp(method, "PUT") || !strcmp(method, "POST")) {
		json_t *v = json_object_get(body, "value");
		if (cluster && *cluster && strcmp(cluster, own)) {
			status = fail(out, 403, "a node publishes values for its own cluster '%s' only, not '%s'", own,
				      cluster);
		} else if (!json_is_string(v)) {
			status = fail(out, 400, "give {\"value\": \"text\"}");
		} else if (json_string_length(v) > VALUE_MAX) {
			status = fail(out, 413, "a value holds at most %d bytes", VALUE_MAX);
		} else {
			const char *text = json_string_value(v);
			char *old = NULL;
			db_get_text(m->db, &old, "SELECT value FROM cluster_values WHERE cluster_id = ? AND key = ?",
				    "is", cid, key);
			int rc = db_exec(m->db, "INSERT INTO cluster_values (cluster_id, key, value, node_id, node, updated) "
					 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cluster_id, key) DO UPDATE SET "
					 "value = excluded.value, node_id = excluded.node_id, node = excluded.node, "
					 "updated = excluded.updated", "issisi", cid, key, text, nid, node, util_wall_ms());
			if (rc < 0) {
				status = fail(out, 500, "cannot store value '%s'", key);
			} else {
				if (!old || strcmp(old, text))
					mgr_event(m, own, node, "value", "published %s = %.200s%s", key, text,
						  strlen(text) > 200 ? "..." : "");
				*out = json_pack("{s:s,s:s,s:s}", "cluster", own, "key", key, "value", text);
				status = 200;
			}
			free(old);
		}
		json_decref(me);
		return status;
	}
	if (strcmp(method, "GET")) {
		json_decref(me);
		return fail(out, 405, "a value takes GET and PUT");
	}
	const char *want = cluster && *cluster ? cluster : own;
	int64_t wid = cid;
	if (strcmp(want, own)) {
		char via[512];
		if (!valid_name(want) || db_get_int(m->db, &wid, "SELECT id FROM clusters WHERE name = ?", "s", want)) {
			status = fail(out, 404, "no cluster named '%s'", want);
		} else if (!guard_refers(json_object_get(me, "parameters"), json_object_get(me, "definition"), want,
					 via, sizeof(via))) {
			status = fail(out, 403, "cluster '%s' does not name cluster '%s' (a *Cluster parameter or a "
				      "*.cluster configuration), so its nodes may not read its values", own, want);
		} else {
			status = 0;
		}
		if (status) {
			json_decref(me);
			return status;
		}
	}
	json_t *row = db_query_one(m->db, "SELECT key, value, node, updated FROM cluster_values "
				   "WHERE cluster_id = ? AND key = ?", "is", wid, key);
	if (!row) {
		status = fail(out, 404, "cluster '%s' has no value '%s' (yet)", want, key);
	} else {
		json_object_set_new(row, "cluster", json_string(want));
		*out = row;
		status = 200;
	}
	json_decref(me);
	return status;
}

json_t *values_list(struct mgr *m, const char *cluster)
{
	json_t *v = db_query_json(m->db, "SELECT v.key, v.value, v.node, v.updated FROM cluster_values v "
				  "JOIN clusters c ON c.id = v.cluster_id WHERE c.name = ? ORDER BY v.key", "s", cluster);
	return json_pack("{s:o}", "values", v ? v : json_array());
}

void values_forget_node(struct mgr *m, int64_t nid)
{
	db_exec(m->db, "DELETE FROM cluster_values WHERE node_id = ?", "i", nid);
}

void values_forget_cluster(struct mgr *m, int64_t cluster_id)
{
	db_exec(m->db, "DELETE FROM cluster_values WHERE cluster_id = ?", "i", cluster_id);
}
