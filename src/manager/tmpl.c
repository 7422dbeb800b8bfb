/*
 * tmpl.c: templates through liblang (src/lang/template.h): the check at
 * import, and the resolution into the cluster definition stratusd stores
 * when a cluster is created (the form the rest of the manager reads).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lang/template.h"
#include "manager/manager.h"

int tmpl_check(const char *text, char **name, char **err)
{
	struct tmpl *t = NULL;
	*err = NULL;
	*name = NULL;
	int rc = tmpl_parse(text, strlen(text), "template", &t, err);
	if (rc)
		return rc;
	*name = strdup(t->template_name ? t->template_name : (t->name ? t->name : ""));
	tmpl_free(t);
	return *name ? 0 : -ENOMEM;
}

static json_int_t int_attr(json_t *attrs, const char *key, json_int_t def)
{
	const char *k;
	json_t *v;
	json_object_foreach(attrs, k, v) {
		if (strcasecmp(k, key))
			continue;
		if (json_is_integer(v))
			return json_integer_value(v);
		if (json_is_string(v)) {
			char *end;
			long long x = strtoll(json_string_value(v), &end, 10);
			if (!*end)
				return x;
		}
	}
	return def;
}

int tmpl_resolve(const char *text, const char *cluster, json_t *params, json_t **def, char **err)
{
	struct tmpl *t = NULL, *inst = NULL;
	json_t *full = NULL, *nodes = NULL;
	int rc;
	*err = NULL;
	*def = NULL;
	if ((rc = tmpl_parse(text, strlen(text), "template", &t, err)))
		goto out;
	if ((rc = tmpl_instantiate(t, cluster, params, &inst, err)))
		goto out;
	full = tmpl_to_json(inst);
	nodes = json_array();
	if (!full || !nodes) {
		rc = -ENOMEM;
		goto out;
	}
	size_t i, j;
	json_t *n, *ci;
	json_array_foreach(json_object_get(full, "nodes"), i, n) {
		if (json_is_true(json_object_get(n, "abstract")))
			continue;
		json_t *attrs = json_object_get(n, "attributes");
		bool is_array = json_is_true(json_object_get(n, "array"));
		json_t *inits = json_array();
		json_array_foreach(json_object_get(n, "cluster_init"), j, ci)
			json_array_append_new(inits, json_pack("{s:O,s:O,s:O}",
				"project", json_object_get(ci, "project"), "spec", json_object_get(ci, "name"),
				"version", json_object_get(ci, "version") ?: json_null()));
		json_t *conf = json_object_get(n, "configuration");
		json_array_append_new(nodes, json_pack("{s:O,s:b,s:I,s:I,s:O,s:o,s:O}",
			"name", json_object_get(n, "name"), "array", is_array,
			"max_count", int_attr(attrs, "MaxCount", 0),
			"initial_count", is_array ? int_attr(attrs, "InitialCount", 0) : 1,
			"configuration", conf ? conf : json_object(), "cluster_init", inits,
			"attributes", attrs ? attrs : json_object()));
	}
	*def = json_pack("{s:o,s:O,s:O}", "nodes", nodes, "parameters",
			 json_object_get(full, "parameters") ?: json_object(),
			 "attributes", json_object_get(full, "attributes") ?: json_object());
	nodes = NULL;
	rc = *def ? 0 : -ENOMEM;
out:
	json_decref(nodes);
	json_decref(full);
	tmpl_free(inst);
	tmpl_free(t);
	return rc;
}
