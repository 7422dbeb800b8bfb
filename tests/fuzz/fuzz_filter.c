/*
 * fuzz_filter.c: libFuzzer target for filter expressions: arbitrary bytes
 * (made a C string) to filter_parse(), and whatever parses is matched and
 * evaluated against a node-like object.  Build with `make fuzz`; run
 * build/fuzz/bin/fuzz_filter.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lang/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *node;
	if (!node)
		node = json_pack("{sssssssisfs{s{ss}}sb}", "Name", "c-execute-1", "Template",
		                 "execute", "State", "Ready", "MaxCount", 4, "Load", 0.5,
		                 "Configuration", "slurm", "role", "execute", "Spot", 0);
	char *expr = malloc(size + 1);
	if (!expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = 0;
	struct filter *f = NULL;
	char *err = NULL;
	int col;
	if (filter_parse_col(expr, &f, &err, &col) == 0) {
		json_t *v = NULL;
		(void)filter_match_json(f, node);
		if (filter_eval(f, node, &v) == 0)
			json_decref(v);
		for (size_t i = 0; filter_name(f, i); i++)
			;
		filter_free(f);
	} else {
		free(err);
	}
	free(expr);
	return 0;
}
