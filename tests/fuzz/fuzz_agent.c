/*
 * fuzz_agent.c: libFuzzer target for what stratus-node does with text it did
 * not write: the node document from the manager (JSON, looked up by
 * `stratus-node config`) and script output sent back as a JSON string.
 * The first line of the input is a configuration key, the rest the document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Whatever the bytes, the repaired text must be a string jansson accepts. */
	char *s = text_sanitize((const char *)data, size);
	if (s) {
		json_t *j = json_string(s);
		if (!j)
			abort();
		json_decref(j);
		free(s);
	}
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	size_t klen = (size_t)(nl - data);
	char *key = malloc(klen + 1);
	if (!key)
		return 0;
	memcpy(key, data, klen);
	key[klen] = '\0';
	json_t *doc = json_loadb((const char *)nl + 1, size - klen - 1, JSON_REJECT_DUPLICATES, NULL);
	if (doc) {
		char *v = nodecfg_format(nodecfg_lookup(doc, key));
		free(v);
		(void)nodecfg_cluster_name(doc);
		(void)agent_safe_name(key);
		json_decref(doc);
	}
	free(key);
	return 0;
}
