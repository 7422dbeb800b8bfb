/*
 * filter.h: CycleCloud's filter expressions (`--filter` of show_nodes,
 * terminate_node, remove_node), also used for ${...} in templates
 * (docs/filters.md is the user reference).
 *
 *   Template == "execute" && State != "Ready"
 *   Name in {"demo-execute-1", "demo-execute-2"}
 *   !(MaxCount >= 4) || Configuration.slurm.role == "scheduler"
 *
 * Values: attribute names (letters, digits, '_', '.', '-' after the first;
 * matched against object keys without case; a dotted name that is not a key
 * walks nested objects), strings in double quotes (escapes \" \\ \n \t),
 * integers and decimals (optionally negative), true, false.
 * Operators, loosest first: ||, &&, !, comparisons (== != < <= > >= and
 * `in {v, ...}`), parentheses.
 * Comparisons: numbers numerically (a string that is a number compares as one
 * against a number), strings by bytes (case matters), booleans by == and !=.
 * A missing attribute makes every comparison false except != (true); values of
 * different kinds likewise.  A value alone is true when it is true, a non-zero
 * number, a non-empty string, array or object.
 *
 * The library never logs; errors come back in *err.
 */
#ifndef STRATUS_LANG_FILTER_H
#define STRATUS_LANG_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define FILTER_MAX_LEN    4096  /* bytes of expression */
#define FILTER_MAX_DEPTH  64    /* nesting of parentheses and ! */
#define FILTER_MAX_NODES  1024  /* operators and values in one expression */

struct filter;

/*
 * Parse EXPR (NUL-terminated).  Returns 0 and *out (free with filter_free),
 * -EINVAL for a syntax error, -E2BIG past a FILTER_MAX_* limit, -ENOMEM.
 * On failure *err (caller frees) is three lines: the message with a 1-based
 * column, the expression, and a caret under that column:
 *   column 10: expected a value after '=='
 *     State == && x
 *              ^
 * If col is not NULL it receives that column (0 when not about a column).
 */
int filter_parse(const char *expr, struct filter **out, char **err);
int filter_parse_col(const char *expr, struct filter **out, char **err, int *col);

/* Does OBJ (a JSON object; anything else has no attributes) match? */
bool filter_match_json(const struct filter *f, const json_t *obj);

/*
 * The value of the expression over OBJ: a comparison gives a boolean, a lone
 * attribute its value (a new reference), a literal itself.  Returns 0 and
 * *out (caller json_decref's; NULL when a lone attribute is missing), or
 * -ENOMEM.
 */
int filter_eval(const struct filter *f, const json_t *obj, json_t **out);

/* The attribute names the expression uses, one by one (i from 0), as
 * written; NULL past the last.  Borrowed from f. */
const char *filter_name(const struct filter *f, size_t i);

/* Free a filter.  NULL is fine. */
void filter_free(struct filter *f);

#endif
