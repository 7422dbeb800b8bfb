/*
 * fuzz_template.c: libFuzzer target for the template language: arbitrary
 * bytes to tmpl_parse(), and whatever parses goes on through instantiation
 * and both JSON views, so that every path a user's template can reach is
 * covered.  Build with `make fuzz`; run build/fuzz/bin/fuzz_template.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lang/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmpl *t = NULL, *r = NULL;
	char *err = NULL;
	if (tmpl_parse((const char *)data, size, "fuzz.txt", &t, &err) < 0) {
		free(err);
		return 0;
	}
	json_decref(tmpl_params_json(t));
	json_decref(tmpl_to_json(t));
	/* with defaults only, then with every parameter given as a string and
	 * as a number, to reach the conversions and range checks */
	for (int round = 0; round < 3; round++) {
		json_t *p = NULL;
		if (round) {
			p = json_object();
			for (size_t i = 0; i < t->n_params; i++)
				json_object_set_new(p, t->params[i].name,
				                    round == 1 ? json_string("1") : json_integer(-3));
		}
		if (tmpl_instantiate(t, round ? "fuzz" : NULL, p, &r, &err) == 0) {
			json_decref(tmpl_to_json(r));
			json_decref(tmpl_params_json(r));
			tmpl_free(r);
		} else {
			free(err);
		}
		json_decref(p);
	}
	tmpl_free(t);
	return 0;
}
