/*
 * fuzz_api_params.c: libFuzzer target for what stratusd does with the body
 * of POST /api/v1/clusters: JSON parsing, then resolving a template with the
 * caller's "parameters" (src/manager/tmpl.c over liblang), and a filter
 * (GET .../nodes?filter=) over the resolved nodes.  Hostile input must give
 * an error, never a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "lang/filter.h"
#include "manager/manager.h"

static const char *tmpl =
	"[cluster fuzz]\n"
	"    [[node defaults]]\n"
	"        [[[cluster-init p:base:1.0.0]]]\n"
	"    [[node head]]\n"
	"        [[[configuration]]]\n"
	"        role = $Role\n"
	"    [[nodearray execute]]\n"
	"    MaxCount = $MaxNodes\n"
	"[parameters S]\n"
	"    [[parameters T]]\n"
	"        [[[parameter MaxNodes]]]\n"
	"        ParameterType = Integer\n"
	"        DefaultValue = 4\n"
	"        [[[parameter Role]]]\n"
	"        DefaultValue = head\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* First line: a filter; the rest: the request body. */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t flen = nl ? (size_t)(nl - data) : 0;
	char *filter = strndup((const char *)data, flen);
	json_t *body = json_loadb((const char *)data + (nl ? flen + 1 : 0), size - (nl ? flen + 1 : 0),
				  JSON_REJECT_DUPLICATES, NULL);
	json_t *params = json_is_object(body) ? json_object_get(body, "parameters") : NULL;
	json_t *def = NULL;
	char *err = NULL;
	if (!params || json_is_object(params)) {
		if (tmpl_resolve(tmpl, "fuzz", params, &def, &err) == 0) {
			struct filter *f = NULL;
			char *ferr = NULL;
			if (filter && filter_parse(filter, &f, &ferr) == 0) {
				size_t i;
				json_t *n;
				json_array_foreach(json_object_get(def, "nodes"), i, n)
					(void)filter_match_json(f, n);
				filter_free(f);
			}
			free(ferr);
		}
	}
	free(err);
	json_decref(def);
	json_decref(body);
	free(filter);
	return 0;
}
