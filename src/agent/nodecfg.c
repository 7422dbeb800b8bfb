/*
 * nodecfg.c: looking values up in the node document (GET /api/v1/node, cached
 * by the agent), as `stratus-node config KEY` does for cluster-init scripts:
 * the seed's `jetpack config slurm.role`.
 */
#include "agent/agent.h"

#include <stdlib.h>
#include <string.h>

static json_t *walk(json_t *doc, const char *key);

json_t *nodecfg_lookup(json_t *doc, const char *key)
{
	if (!json_is_object(doc) || !key || !*key)
		return NULL;
	/* Template configuration: keys are flat dotted strings. */
	json_t *v = json_object_get(json_object_get(doc, "configuration"), key);
	if (v)
		return v;
	/* Otherwise walk the document: "ip", "cluster.name", "cluster.parameters.X". */
	v = walk(doc, key);
	/* stratusd sends "cluster" as the name and the cluster's details in "cluster_info". */
	if (!v && !strncmp(key, "cluster.", 8) && json_is_string(json_object_get(doc, "cluster")))
		v = walk(json_object_get(doc, "cluster_info"), key + 8);
	return v;
}

static json_t *walk(json_t *doc, const char *key)
{
	json_t *cur = doc;
	const char *p = key;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!json_is_object(cur) || len == 0)
			return NULL;
		cur = json_object_getn(cur, p, len);
		p += len;
		if (*p == '.' && !*++p)
			return NULL; /* "a." names nothing */
	}
	return cur;
}

const char *nodecfg_cluster_name(json_t *doc)
{
	json_t *c = json_object_get(doc, "cluster");
	if (json_is_string(c))
		return json_string_value(c);
	if (!c)
		c = json_object_get(doc, "cluster_info");
	return json_string_value(json_object_get(c, "name"));
}

char *nodecfg_format(json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_null(v))
		return strdup("");
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}
