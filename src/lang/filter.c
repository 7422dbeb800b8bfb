/*
 * filter.c: CycleCloud's filter expressions (see filter.h): a hand-written
 * lexer and recursive-descent parser into a flat node pool, and an
 * evaluator over jansson objects.
 *
 * The expression comes from a user or a template, so every limit is checked
 * before use: its length, the nesting depth (the parser recurses) and the
 * number of nodes.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "lang/filter.h"

#define NAME_MAX_LEN 256

enum tok {
	T_END, T_NAME, T_STR, T_NUM, T_TRUE, T_FALSE, T_LP, T_RP, T_LB, T_RB,
	T_COMMA, T_NOT, T_AND, T_OR, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_IN,
};

enum fkind { F_OR, F_AND, F_NOT, F_CMP, F_IN, F_NAME, F_LIT };

struct fnode {
	enum fkind kind;
	enum tok op;       /* F_CMP: a comparison of ops[] */
	int a, b;          /* children; F_IN: a = value, b = first list item */
	int next;          /* next item of an `in` list, -1 at the end */
	json_t *lit;       /* F_LIT */
	char *name;        /* F_NAME */
};

struct filter {
	struct fnode *nodes;
	size_t n;
	int root;
	char **names;      /* distinct attribute names as written */
	size_t n_names;
};

struct parser {
	const char *s;
	size_t len;
	size_t pos;        /* read position */
	/* the current token */
	enum tok tok;
	size_t tstart, tlen;
	char *tstr;        /* T_STR: unescaped text; T_NAME: the name */
	json_t *tnum;      /* T_NUM */
	int depth;
	struct filter *f;
	/* error */
	int rc;
	size_t ecol;       /* 0-based byte offset */
	char *emsg;
};

static void perr(struct parser *p, size_t at, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr(struct parser *p, size_t at, int rc, const char *fmt, ...)
{
	if (p->rc)
		return;
	p->rc = rc;
	p->ecol = at;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&p->emsg, fmt, ap) < 0)
		p->emsg = NULL;
	va_end(ap);
}

/* Outcomes of comparing two values, for struct op's `holds`. */
#define CMP_LT 1
#define CMP_EQ 2
#define CMP_GT 4

enum op_class { OP_PUNCT, OP_NOT, OP_LOGIC, OP_CMP };

/*
 * Every operator and punctuation mark, as written.  The lexer reads symbols
 * from here in this order (the two-character ones first, so "<=" is not "<"
 * then "="), messages print them from here, the parser takes its binary
 * levels (prec, kind) and comparisons from here, and compare() what each
 * comparison holds true.  A symbol with a hint is no operator: the lexer
 * stops there with the hint.
 */
static const struct op {
	const char *text;
	enum tok tok;
	enum op_class cls;
	int prec;              /* OP_LOGIC: 1 binds loosest */
	enum fkind kind;       /* OP_LOGIC: the node it makes */
	unsigned holds;        /* OP_CMP: the outcomes (CMP_*) for which it is true */
	bool ordered;          /* OP_CMP: needs an order (booleans have none) */
	const char *hint;
} ops[] = {
	{ "==", T_EQ, OP_CMP, .holds = CMP_EQ },
	{ "!=", T_NE, OP_CMP, .holds = CMP_LT | CMP_GT },
	{ "<=", T_LE, OP_CMP, .holds = CMP_LT | CMP_EQ, .ordered = true },
	{ ">=", T_GE, OP_CMP, .holds = CMP_GT | CMP_EQ, .ordered = true },
	{ "&&", T_AND, OP_LOGIC, .prec = 2, .kind = F_AND },
	{ "||", T_OR, OP_LOGIC, .prec = 1, .kind = F_OR },
	{ "<", T_LT, OP_CMP, .holds = CMP_LT, .ordered = true },
	{ ">", T_GT, OP_CMP, .holds = CMP_GT, .ordered = true },
	{ "!", T_NOT, OP_NOT },
	{ "(", T_LP, OP_PUNCT },
	{ ")", T_RP, OP_PUNCT },
	{ "{", T_LB, OP_PUNCT },
	{ "}", T_RB, OP_PUNCT },
	{ ",", T_COMMA, OP_PUNCT },
	{ "in", T_IN, OP_CMP },  /* a word: the lexer finds it among the names */
	{ "=", T_END, OP_PUNCT, .hint = "unexpected '='; to compare, write '=='" },
	{ "&", T_END, OP_PUNCT, .hint = "unexpected '&'; write '&&' for and" },
	{ "|", T_END, OP_PUNCT, .hint = "unexpected '|'; write '||' for or" },
};
#define LOGIC_LOOSEST 1
#define LOGIC_TIGHTEST 2

/* The table's entry of token t, or NULL. */
static const struct op *op_of(enum tok t)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].tok == t && !ops[i].hint)
			return &ops[i];
	return NULL;
}

static bool is_cmp(enum tok t)
{
	const struct op *o = op_of(t);
	return o && o->cls == OP_CMP;
}

static const char *tok_text(enum tok t)
{
	const struct op *o = op_of(t);
	return o ? o->text : "?";
}

/* Describe the current token for "unexpected ..." messages. */
static void tok_describe(struct parser *p, char *out, size_t n)
{
	if (p->tok == T_END) {
		snprintf(out, n, "the end of the expression");
		return;
	}
	size_t l = p->tlen > 24 ? 24 : p->tlen;
	snprintf(out, n, "'%.*s%s'", (int)l, p->s + p->tstart, p->tlen > 24 ? "..." : "");
}

static bool is_name_start(int c)
{
	return isalpha(c) || c == '_';
}

static bool is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* Read the next token into p->tok.  On a lexical error p->rc is set and
 * the token is T_END. */
static void next(struct parser *p)
{
	free(p->tstr);
	p->tstr = NULL;
	json_decref(p->tnum);
	p->tnum = NULL;
	while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
		p->pos++;
	p->tstart = p->pos;
	p->tok = T_END;
	p->tlen = 0;
	if (p->rc || p->pos >= p->len)
		return;
	const char *s = p->s;
	size_t i = p->pos;
	unsigned char c = (unsigned char)s[i];
	char c1 = i + 1 < p->len ? s[i + 1] : 0;
	size_t l = 1;
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		size_t n = strlen(ops[k].text);
		if (isalpha((unsigned char)ops[k].text[0]) || p->len - i < n || memcmp(s + i, ops[k].text, n))
			continue;
		if (ops[k].hint) {
			perr(p, i, -EINVAL, "%s", ops[k].hint);
			return;
		}
		p->tok = ops[k].tok;
		p->tlen = n;
		p->pos = i + n;
		return;
	}
	switch (c) {
	case '"': {
		struct buf b = BUF_INIT(FILTER_MAX_LEN);
		size_t j = i + 1;
		for (;;) {
			if (j >= p->len) {
				buf_release(&b);
				perr(p, i, -EINVAL, "unterminated string: add a closing '\"'");
				return;
			}
			char ch = s[j];
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (j + 1 >= p->len) {
					buf_release(&b);
					perr(p, i, -EINVAL, "unterminated string: add a closing '\"'");
					return;
				}
				char e = s[j + 1];
				switch (e) {
				case '"': ch = '"'; break;
				case '\\': ch = '\\'; break;
				case 'n': ch = '\n'; break;
				case 't': ch = '\t'; break;
				default:
					buf_release(&b);
					perr(p, j, -EINVAL, "unknown escape '\\%c' in a string; use \\\" \\\\ \\n or \\t",
					     isprint((unsigned char)e) ? e : '?');
					return;
				}
				j++;
			}
			if (buf_append(&b, &ch, 1) < 0) {
				buf_release(&b);
				perr(p, i, -ENOMEM, "out of memory");
				return;
			}
			j++;
		}
		size_t n;
		p->tstr = buf_detach(&b, &n);
		if (!p->tstr && !(p->tstr = strdup(""))) {
			perr(p, i, -ENOMEM, "out of memory");
			return;
		}
		p->tok = T_STR;
		l = j + 1 - i;
		break;
	}
	default:
		if (isdigit(c) || (c == '-' && isdigit((unsigned char)c1)) ||
		    (c == '.' && isdigit((unsigned char)c1))) {
			size_t j = i + 1;
			bool real = c == '.';
			while (j < p->len && (isdigit((unsigned char)s[j]) || s[j] == '.')) {
				if (s[j] == '.')
					real = true;
				j++;
			}
			if (j < p->len && is_name_char((unsigned char)s[j]) && s[j] != '-') {
				perr(p, j, -EINVAL, "unexpected '%c' in a number", s[j]);
				return;
			}
			l = j - i;
			char num[64];
			if (l >= sizeof(num)) {
				perr(p, i, -EINVAL, "number too long");
				return;
			}
			memcpy(num, s + i, l);
			num[l] = 0;
			char *end;
			errno = 0;
			if (!real) {
				long long v = strtoll(num, &end, 10);
				if (errno || *end) {
					perr(p, i, -EINVAL, "'%s' is out of range for an integer", num);
					return;
				}
				p->tnum = json_integer(v);
			} else {
				double v = strtod(num, &end);
				if (errno || *end || !isfinite(v)) {
					perr(p, i, -EINVAL, "'%s' is not a number", num);
					return;
				}
				p->tnum = json_real(v);
			}
			if (!p->tnum) {
				perr(p, i, -ENOMEM, "out of memory");
				return;
			}
			p->tok = T_NUM;
			break;
		}
		if (is_name_start(c)) {
			size_t j = i + 1;
			while (j < p->len && is_name_char((unsigned char)s[j]))
				j++;
			l = j - i;
			if (l > NAME_MAX_LEN) {
				perr(p, i, -EINVAL, "attribute name longer than %d bytes", NAME_MAX_LEN);
				return;
			}
			if (l == 4 && !strncasecmp(s + i, "true", 4))
				p->tok = T_TRUE;
			else if (l == 5 && !strncasecmp(s + i, "false", 5))
				p->tok = T_FALSE;
			else if (l == 2 && !strncasecmp(s + i, "in", 2))
				p->tok = T_IN;
			else {
				p->tstr = strndup(s + i, l);
				if (!p->tstr) {
					perr(p, i, -ENOMEM, "out of memory");
					return;
				}
				p->tok = T_NAME;
			}
			break;
		}
		if (c == '\'')
			perr(p, i, -EINVAL, "unexpected \"'\": strings go in double quotes");
		else if (isprint(c))
			perr(p, i, -EINVAL, "unexpected '%c'", c);
		else
			perr(p, i, -EINVAL, "unexpected byte 0x%02x", c);
		return;
	}
	p->tlen = l;
	p->pos = i + l;
}

static int node_new(struct parser *p, enum fkind kind)
{
	struct filter *f = p->f;
	if (f->n >= FILTER_MAX_NODES) {
		perr(p, p->tstart, -E2BIG, "expression too long: more than %d terms", FILTER_MAX_NODES);
		return -1;
	}
	if (f->n % 64 == 0) {
		struct fnode *nn = realloc(f->nodes, (f->n + 64) * sizeof(*nn));
		if (!nn) {
			perr(p, p->tstart, -ENOMEM, "out of memory");
			return -1;
		}
		f->nodes = nn;
	}
	struct fnode *n = &f->nodes[f->n];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->a = n->b = n->next = -1;
	return (int)f->n++;
}

static int add_name(struct parser *p, const char *name)
{
	struct filter *f = p->f;
	for (size_t i = 0; i < f->n_names; i++)
		if (!strcasecmp(f->names[i], name))
			return 0;
	char **nn = realloc(f->names, (f->n_names + 1) * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	f->names = nn;
	if (!(f->names[f->n_names] = strdup(name)))
		return -ENOMEM;
	f->n_names++;
	return 0;
}

static int parse_expr(struct parser *p, const char *after);

/* A value: name, string, number, boolean, or ( expression ).  `after`
 * names the operator before it, for "expected a value after ..." */
static int parse_primary(struct parser *p, const char *after)
{
	int n;
	switch (p->tok) {
	case T_NAME:
		if ((n = node_new(p, F_NAME)) < 0)
			return -1;
		p->f->nodes[n].name = p->tstr;
		p->tstr = NULL;
		if (add_name(p, p->f->nodes[n].name) < 0) {
			perr(p, p->tstart, -ENOMEM, "out of memory");
			return -1;
		}
		next(p);
		return n;
	case T_STR:
	case T_NUM:
	case T_TRUE:
	case T_FALSE:
		if ((n = node_new(p, F_LIT)) < 0)
			return -1;
		if (p->tok == T_STR)
			p->f->nodes[n].lit = json_string(p->tstr);
		else if (p->tok == T_NUM)
			p->f->nodes[n].lit = json_incref(p->tnum);
		else
			p->f->nodes[n].lit = json_boolean(p->tok == T_TRUE);
		if (!p->f->nodes[n].lit) {
			/* json_string refuses invalid UTF-8 */
			perr(p, p->tstart, -EINVAL, "string is not valid UTF-8");
			return -1;
		}
		next(p);
		return n;
	case T_LP: {
		size_t open = p->tstart;
		if (++p->depth > FILTER_MAX_DEPTH) {
			perr(p, open, -E2BIG, "expression nested deeper than %d", FILTER_MAX_DEPTH);
			return -1;
		}
		next(p);
		n = parse_expr(p, "(");
		if (n < 0)
			return -1;
		if (p->tok != T_RP) {
			char d[48];
			tok_describe(p, d, sizeof(d));
			perr(p, p->tstart, -EINVAL, "expected ')' to close the '(' at column %zu, not %s",
			     open + 1, d);
			return -1;
		}
		p->depth--;
		next(p);
		return n;
	}
	default:
		if (p->rc)
			return -1;
		if (after) {
			char d[48];
			tok_describe(p, d, sizeof(d));
			perr(p, p->tstart, -EINVAL, "expected a value after '%s', not %s", after, d);
		} else if (p->tok == T_END) {
			perr(p, p->tstart, -EINVAL, "expected an expression, e.g. State == \"Ready\"");
		} else {
			char d[48];
			tok_describe(p, d, sizeof(d));
			perr(p, p->tstart, -EINVAL, "expected a value, not %s", d);
		}
		return -1;
	}
}

static int parse_cmp(struct parser *p, const char *after)
{
	int l = parse_primary(p, after);
	if (l < 0)
		return -1;
	enum tok op = p->tok;
	if (is_cmp(op) && op != T_IN) {
		next(p);
		int r = parse_primary(p, tok_text(op));
		if (r < 0)
			return -1;
		int n = node_new(p, F_CMP);
		if (n < 0)
			return -1;
		p->f->nodes[n].op = op;
		p->f->nodes[n].a = l;
		p->f->nodes[n].b = r;
		l = n;
	} else if (op == T_IN) {
		next(p);
		if (p->tok != T_LB) {
			char d[48];
			tok_describe(p, d, sizeof(d));
			perr(p, p->tstart, -EINVAL, "expected '{' after 'in', not %s (write: in {\"a\", \"b\"})", d);
			return -1;
		}
		size_t open = p->tstart;
		next(p);
		int n = node_new(p, F_IN);
		if (n < 0)
			return -1;
		p->f->nodes[n].a = l;
		int last = -1;
		if (p->tok != T_RB) {
			for (;;) {
				int v = parse_primary(p, last < 0 ? "{" : ",");
				if (v < 0)
					return -1;
				if (last < 0)
					p->f->nodes[n].b = v;
				else
					p->f->nodes[last].next = v;
				last = v;
				if (p->tok == T_COMMA) {
					next(p);
					continue;
				}
				if (p->tok == T_RB)
					break;
				if (p->rc)
					return -1;
				char d[48];
				tok_describe(p, d, sizeof(d));
				perr(p, p->tstart, -EINVAL,
				     "expected ',' or '}' to close the list opened at column %zu, not %s",
				     open + 1, d);
				return -1;
			}
		}
		next(p);
		l = n;
	}
	/* a comparison's result compared again (a == b == c) is an error */
	op = p->tok;
	if (is_cmp(op)) {
		perr(p, p->tstart, -EINVAL, "unexpected '%s' after a comparison; use '&&' or parentheses",
		     tok_text(op));
		return -1;
	}
	return l;
}

static int parse_not(struct parser *p, const char *after)
{
	if (p->tok != T_NOT)
		return parse_cmp(p, after);
	if (++p->depth > FILTER_MAX_DEPTH) {
		perr(p, p->tstart, -E2BIG, "expression nested deeper than %d", FILTER_MAX_DEPTH);
		return -1;
	}
	next(p);
	int a = parse_not(p, "!");
	if (a < 0)
		return -1;
	p->depth--;
	int n = node_new(p, F_NOT);
	if (n < 0)
		return -1;
	p->f->nodes[n].a = a;
	return n;
}

/* The binary operators of precedence prec and tighter ("a || b && c" is
 * "a || (b && c)"), left to right. */
static int parse_logic(struct parser *p, int prec, const char *after)
{
	if (prec > LOGIC_TIGHTEST)
		return parse_not(p, after);
	int l = parse_logic(p, prec + 1, after);
	const struct op *o;
	while (l >= 0 && (o = op_of(p->tok)) && o->cls == OP_LOGIC && o->prec == prec) {
		next(p);
		int r = parse_logic(p, prec + 1, o->text);
		if (r < 0)
			return -1;
		int n = node_new(p, o->kind);
		if (n < 0)
			return -1;
		p->f->nodes[n].a = l;
		p->f->nodes[n].b = r;
		l = n;
	}
	return l;
}

static int parse_expr(struct parser *p, const char *after)
{
	return parse_logic(p, LOGIC_LOOSEST, after);
}

void filter_free(struct filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		json_decref(f->nodes[i].lit);
		free(f->nodes[i].name);
	}
	free(f->nodes);
	for (size_t i = 0; i < f->n_names; i++)
		free(f->names[i]);
	free(f->names);
	free(f);
}

/* "column N: MSG\n  EXPR\n  ^" with control characters of EXPR shown as
 * blanks so that the caret lines up. */
static char *format_error(const char *expr, size_t len, size_t col, const char *msg)
{
	struct buf b = BUF_INIT(3 * FILTER_MAX_LEN + 512);
	bool show = len <= FILTER_MAX_LEN;
	if (buf_printf(&b, "column %zu: %s", col + 1, msg ? msg : "out of memory") < 0)
		goto fail;
	if (show) {
		if (buf_puts(&b, "\n  ") < 0)
			goto fail;
		for (size_t i = 0; i < len; i++) {
			char c = expr[i];
			if ((unsigned char)c < 0x20 || c == 0x7f)
				c = ' ';
			if (buf_append(&b, &c, 1) < 0)
				goto fail;
		}
		if (buf_puts(&b, "\n  ") < 0)
			goto fail;
		for (size_t i = 0; i < col && i < len; i++) {
			/* count UTF-8 lead bytes only, so the caret sits under the character */
			if (((unsigned char)expr[i] & 0xc0) != 0x80 && buf_puts(&b, " ") < 0)
				goto fail;
		}
		if (buf_puts(&b, "^") < 0)
			goto fail;
	}
	return buf_detach(&b, NULL);
fail:
	buf_release(&b);
	return msg ? strdup(msg) : NULL;
}

int filter_parse_col(const char *expr, struct filter **out, char **err, int *col)
{
	*out = NULL;
	if (err)
		*err = NULL;
	if (col)
		*col = 0;
	if (!expr)
		return -EINVAL;
	size_t len = strnlen(expr, FILTER_MAX_LEN + 1);
	if (len > FILTER_MAX_LEN) {
		if (err && asprintf(err, "filter longer than %d bytes; shorten it", FILTER_MAX_LEN) < 0)
			*err = NULL;
		return -E2BIG;
	}
	struct parser p = { .s = expr, .len = len };
	p.f = calloc(1, sizeof(*p.f));
	if (!p.f)
		return -ENOMEM;
	next(&p);
	int root = p.rc ? -1 : parse_expr(&p, NULL);
	if (root >= 0 && p.tok != T_END) {
		char d[48];
		tok_describe(&p, d, sizeof(d));
		if (p.tok == T_RP)
			perr(&p, p.tstart, -EINVAL, "unexpected ')': no '(' to close");
		else
			perr(&p, p.tstart, -EINVAL, "unexpected %s; expected '&&', '||' or the end", d);
	}
	free(p.tstr);
	json_decref(p.tnum);
	if (p.rc) {
		if (err)
			*err = format_error(expr, len, p.ecol, p.emsg);
		if (col)
			*col = (int)p.ecol + 1;
		free(p.emsg);
		filter_free(p.f);
		return p.rc;
	}
	p.f->root = root;
	*out = p.f;
	return 0;
}

int filter_parse(const char *expr, struct filter **out, char **err)
{
	return filter_parse_col(expr, out, err, NULL);
}

/* ---- evaluation ---- */

/* The attribute NAME of OBJ, without case; a dotted name that is not a key
 * walks nested objects ("Configuration.slurm.role").  Borrowed or NULL. */
static json_t *lookup(const json_t *obj, const char *name, size_t len, int depth)
{
	if (!json_is_object(obj) || depth > 32)
		return NULL;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		if (strlen(k) == len && !strncasecmp(k, name, len))
			return v;
	}
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '.')
			continue;
		json_object_foreach((json_t *)obj, k, v) {
			if (strlen(k) == i && !strncasecmp(k, name, i) && json_is_object(v)) {
				json_t *r = lookup(v, name + i + 1, len - i - 1, depth + 1);
				if (r)
					return r;
			}
		}
	}
	return NULL;
}

static bool truthy(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_TRUE: return true;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return json_object_size(v) > 0;
	default: return false;
	}
}

static bool as_number(const json_t *v, double *d)
{
	if (json_is_number(v)) {
		*d = json_number_value(v);
		return true;
	}
	if (json_is_string(v) && json_string_length(v) > 0) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		double x = strtod(s, &end);
		if (errno || *end || isspace((unsigned char)*s) || !isfinite(x))
			return false;
		*d = x;
		return true;
	}
	return false;
}

/* Compare two values.  Returns false for anything that does not compare,
 * except that != is then true. */
static bool compare(const json_t *a, const json_t *b, enum tok op)
{
	int c;
	bool ordered = true;
	if (!a || !b)
		return op == T_NE;
	if (json_is_string(a) && json_is_string(b)) {
		c = strcmp(json_string_value(a), json_string_value(b));
	} else if (json_is_boolean(a) && json_is_boolean(b)) {
		c = json_is_true(a) == json_is_true(b) ? 0 : 1;
		ordered = false;
	} else {
		double x, y;
		if ((json_is_number(a) || json_is_number(b)) && as_number(a, &x) && as_number(b, &y))
			c = x < y ? -1 : x > y ? 1 : 0;
		else
			return op == T_NE;
	}
	const struct op *o = op_of(op);
	unsigned outcome = c < 0 ? CMP_LT : c > 0 ? CMP_GT : CMP_EQ;
	return o && o->cls == OP_CMP && (o->holds & outcome) && (ordered || !o->ordered);
}

/* The value of node i: borrowed (from obj or the filter) unless *owned. */
static json_t *value_of(const struct filter *f, int i, const json_t *obj, bool *owned);

static bool test(const struct filter *f, int i, const json_t *obj)
{
	const struct fnode *n = &f->nodes[i];
	switch (n->kind) {
	case F_OR: return test(f, n->a, obj) || test(f, n->b, obj);
	case F_AND: return test(f, n->a, obj) && test(f, n->b, obj);
	case F_NOT: return !test(f, n->a, obj);
	case F_CMP: {
		bool oa, ob;
		json_t *a = value_of(f, n->a, obj, &oa);
		json_t *b = value_of(f, n->b, obj, &ob);
		bool r = compare(a, b, n->op);
		if (oa)
			json_decref(a);
		if (ob)
			json_decref(b);
		return r;
	}
	case F_IN: {
		bool oa;
		json_t *a = value_of(f, n->a, obj, &oa);
		bool r = false;
		for (int j = n->b; j >= 0 && !r; j = f->nodes[j].next) {
			bool ob;
			json_t *b = value_of(f, j, obj, &ob);
			r = compare(a, b, T_EQ);
			if (ob)
				json_decref(b);
		}
		if (oa)
			json_decref(a);
		return r;
	}
	case F_NAME:
		return truthy(lookup(obj, n->name, strlen(n->name), 0));
	case F_LIT:
		return truthy(n->lit);
	}
	return false;
}

static json_t *value_of(const struct filter *f, int i, const json_t *obj, bool *owned)
{
	const struct fnode *n = &f->nodes[i];
	*owned = false;
	switch (n->kind) {
	case F_NAME:
		return lookup(obj, n->name, strlen(n->name), 0);
	case F_LIT:
		return n->lit;
	default:
		/* json_true/json_false are static singletons: no reference to own */
		return test(f, i, obj) ? json_true() : json_false();
	}
}

bool filter_match_json(const struct filter *f, const json_t *obj)
{
	if (!f || f->root < 0)
		return false;
	return test(f, f->root, obj);
}

int filter_eval(const struct filter *f, const json_t *obj, json_t **out)
{
	*out = NULL;
	if (!f || f->root < 0)
		return -EINVAL;
	bool owned;
	json_t *v = value_of(f, f->root, obj, &owned);
	if (!v)
		return 0;
	*out = owned ? v : json_deep_copy(v);
	return *out ? 0 : -ENOMEM;
}

const char *filter_name(const struct filter *f, size_t i)
{
	return f && i < f->n_names ? f->names[i] : NULL;
}
