/*
 * template.c: the cluster template language (see template.h and
 * docs/templates.md): a line-oriented parser into struct tmpl, the checks
 * that make a bad template fail at import, and instantiation (parameter
 * values, node defaults, Extends).
 *
 * Templates are uploaded by users, so the text is hostile: every count and
 * size has a cap (TMPL_MAX_*), := literals recurse only TMPL_MAX_DEPTH deep,
 * Extends chains are cut at TMPL_MAX_EXTENDS, and all messages carry the file
 * and line so the user can fix the template.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "lang/filter.h"
#include "lang/lang_err.h"
#include "lang/template.h"

#define BUILTIN_CLUSTER_NAME "ClusterName"

/* ---- small helpers ---- */

static char *xstrndup(const char *s, size_t n)
{
	char *r = malloc(n + 1);
	if (r) {
		memcpy(r, s, n);
		r[n] = 0;
	}
	return r;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool utf8_valid(const unsigned char *s, size_t n, size_t *bad)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if (i + k >= n)
			goto bad;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += k + 1;
	}
	return true;
bad:
	*bad = i;
	return false;
}

static bool is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '-';
}

/* Node and cluster names: they become host names. */
static bool valid_node_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char((unsigned char)s[i]))
			return false;
	return true;
}

static bool valid_ref_name(const char *s, size_t n)
{
	if (n == 0 || n > TMPL_MAX_NAME || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

static bool valid_key(const char *s, size_t n)
{
	if (n == 0 || n > TMPL_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* ---- attributes ---- */

static void attr_release(struct tmpl_attr *a)
{
	free(a->key);
	free(a->text);
	free(a->ref);
	json_decref(a->value);
}

static void attrs_release(struct tmpl_attrs *l)
{
	for (size_t i = 0; i < l->n; i++)
		attr_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const struct tmpl_attr *tmpl_attr_find(const struct tmpl_attrs *a, const char *key)
{
	if (!a || !key)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		if (!strcasecmp(a->v[i].key, key))
			return &a->v[i];
	return NULL;
}

const json_t *tmpl_attr_value(const struct tmpl_attrs *a, const char *key)
{
	const struct tmpl_attr *at = tmpl_attr_find(a, key);
	return at ? at->value : NULL;
}

static struct tmpl_attr *attrs_find_mut(struct tmpl_attrs *a, const char *key)
{
	return (struct tmpl_attr *)tmpl_attr_find(a, key);
}

/* Append a slot (zeroed) to l.  NULL on out of memory or past the cap. */
static struct tmpl_attr *attrs_push(struct tmpl_attrs *l)
{
	if (l->n >= TMPL_MAX_ATTRS)
		return NULL;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		struct tmpl_attr *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		l->v = nv;
		l->cap = nc;
	}
	struct tmpl_attr *a = &l->v[l->n++];
	memset(a, 0, sizeof(*a));
	return a;
}

static int attr_copy(struct tmpl_attr *dst, const struct tmpl_attr *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->line = src->line;
	dst->kind = src->kind;
	dst->key = xstrdup(src->key);
	dst->text = xstrdup(src->text);
	dst->ref = xstrdup(src->ref);
	if (src->value)
		dst->value = json_deep_copy(src->value);
	if (!dst->key || !dst->text || (src->ref && !dst->ref) || (src->value && !dst->value)) {
		attr_release(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Set (replace or append) src into l: used for inheritance, so a key set
 * again keeps the position it first had. */
static int attrs_set(struct tmpl_attrs *l, const struct tmpl_attr *src)
{
	struct tmpl_attr *a = attrs_find_mut(l, src->key);
	struct tmpl_attr tmp;
	if (attr_copy(&tmp, src) < 0)
		return -ENOMEM;
	if (a) {
		/* keep the base's spelling of the key */
		free(tmp.key);
		tmp.key = a->key;
		a->key = NULL;
		attr_release(a);
		*a = tmp;
		return 0;
	}
	a = attrs_push(l);
	if (!a) {
		attr_release(&tmp);
		return l->n >= TMPL_MAX_ATTRS ? -E2BIG : -ENOMEM;
	}
	*a = tmp;
	return 0;
}

static int attrs_merge(struct tmpl_attrs *dst, const struct tmpl_attrs *src)
{
	if (dst->n == 0) {
		/* keys of one list are unique: copy without the (linear) lookups */
		for (size_t i = 0; i < src->n; i++) {
			struct tmpl_attr *a = attrs_push(dst);
			if (!a)
				return -ENOMEM;
			if (attr_copy(a, &src->v[i]) < 0) {
				dst->n--;
				return -ENOMEM;
			}
		}
		return 0;
	}
	for (size_t i = 0; i < src->n; i++) {
		int rc = attrs_set(dst, &src->v[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- nodes, parameters ---- */

static void init_release(struct tmpl_init *i)
{
	free(i->spec);
	free(i->project);
	free(i->name);
	free(i->version);
	attrs_release(&i->attrs);
}

static void sub_release(struct tmpl_sub *s)
{
	free(s->kind);
	free(s->name);
	attrs_release(&s->attrs);
}

static void node_release(struct tmpl_node *n)
{
	free(n->name);
	free(n->extends);
	attrs_release(&n->attrs);
	attrs_release(&n->config);
	for (size_t i = 0; i < n->n_inits; i++)
		init_release(&n->inits[i]);
	free(n->inits);
	for (size_t i = 0; i < n->n_subs; i++)
		sub_release(&n->subs[i]);
	free(n->subs);
	memset(n, 0, sizeof(*n));
}

static void param_release(struct tmpl_param *p)
{
	free(p->name);
	free(p->section);
	free(p->subsection);
	free(p->type_name);
	free(p->label);
	free(p->description);
	json_decref(p->default_value);
	json_decref(p->choices);
	json_decref(p->value);
	attrs_release(&p->attrs);
}

void tmpl_free(struct tmpl *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->template_name);
	free(t->filename);
	attrs_release(&t->attrs);
	if (t->defaults) {
		node_release(t->defaults);
		free(t->defaults);
	}
	for (size_t i = 0; i < t->n_nodes; i++)
		node_release(&t->nodes[i]);
	free(t->nodes);
	for (size_t i = 0; i < t->n_params; i++)
		param_release(&t->params[i]);
	free(t->params);
	for (size_t i = 0; i < t->n_psections; i++) {
		free(t->psections[i].name);
		free(t->psections[i].parent);
		attrs_release(&t->psections[i].attrs);
	}
	free(t->psections);
	free(t);
}

const struct tmpl_node *tmpl_node_find(const struct tmpl *t, const char *name)
{
	if (!t || !name)
		return NULL;
	for (size_t i = 0; i < t->n_nodes; i++)
		if (!strcmp(t->nodes[i].name, name))
			return &t->nodes[i];
	return NULL;
}

const struct tmpl_param *tmpl_param_find(const struct tmpl *t, const char *name)
{
	if (!t || !name)
		return NULL;
	for (size_t i = 0; i < t->n_params; i++)
		if (!strcmp(t->params[i].name, name))
			return &t->params[i];
	return NULL;
}

/* Grow an array of elem-sized items to hold one more; zero the new one. */
static void *grow(void *arr, size_t *n, size_t elem, size_t max)
{
	if (*n >= max)
		return NULL;
	char *na = realloc(arr, (*n + 1) * elem);
	if (!na)
		return NULL;
	memset(na + *n * elem, 0, elem);
	(*n)++;
	return na;
}

/* ---- the parser ---- */

enum target {
	TG_NONE,      /* before any section */
	TG_CLUSTER,   /* [cluster] attributes */
	TG_NODE,      /* [[node]] attributes */
	TG_CONFIG,    /* [[[configuration PREFIX]]] */
	TG_INIT,      /* [[[cluster-init]]] */
	TG_SUB,       /* [[[volume x]]] ... */
	TG_PSECTION,  /* [parameters] / [[parameters]] attributes */
	TG_PARAM,     /* [[[parameter]]] */
};

struct pstate {
	const char *text;
	size_t len;
	size_t pos;
	unsigned line;        /* line of the text being handled */
	const char *file;
	struct tmpl *t;
	size_t items;         /* against TMPL_MAX_ITEMS */
	/* where we are */
	int level1;           /* 0 none, 1 cluster, 2 parameters */
	enum target tg;
	long node;            /* -1: defaults; index into t->nodes */
	bool in_node;
	size_t idx;           /* init / sub / psection / param index */
	char *prefix;         /* TG_CONFIG: "PREFIX." or NULL */
	char *psec;           /* current [parameters X] name */
	char *psubsec;        /* current [[parameters Y]] name */
	/* error */
	int rc;
	char *err;
};

/* The first error of a parse, as "FILE:LINE: MSG" (lang_err.h). */
#define perr(ps, line, code, ...) lang_err(&(ps)->rc, &(ps)->err, (ps)->file, (line), (code), __VA_ARGS__)

static int oom(struct pstate *ps)
{
	return perr(ps, ps->line, -ENOMEM, "out of memory");
}

static struct tmpl_node *cur_node(struct pstate *ps)
{
	return ps->node < 0 ? ps->t->defaults : &ps->t->nodes[ps->node];
}

static struct tmpl_attrs *cur_attrs(struct pstate *ps)
{
	switch (ps->tg) {
	case TG_CLUSTER: return &ps->t->attrs;
	case TG_NODE: return &cur_node(ps)->attrs;
	case TG_CONFIG: return &cur_node(ps)->config;
	case TG_INIT: return &cur_node(ps)->inits[ps->idx].attrs;
	case TG_SUB: return &cur_node(ps)->subs[ps->idx].attrs;
	case TG_PSECTION: return &ps->t->psections[ps->idx].attrs;
	case TG_PARAM: return &ps->t->params[ps->idx].attrs;
	default: return NULL;
	}
}

static const char *section_desc(struct pstate *ps, char *buf, size_t n)
{
	switch (ps->tg) {
	case TG_CLUSTER: snprintf(buf, n, "cluster %s", ps->t->template_name); break;
	case TG_NODE: snprintf(buf, n, "%s %s", cur_node(ps)->is_array ? "nodearray" : "node",
	                       cur_node(ps)->name); break;
	case TG_CONFIG: snprintf(buf, n, "configuration%s%.*s", ps->prefix ? " " : "",
	                         ps->prefix ? (int)strlen(ps->prefix) - 1 : 0,
	                         ps->prefix ? ps->prefix : ""); break;
	case TG_INIT: snprintf(buf, n, "cluster-init %s", cur_node(ps)->inits[ps->idx].spec); break;
	case TG_SUB: snprintf(buf, n, "%s %s", cur_node(ps)->subs[ps->idx].kind,
	                      cur_node(ps)->subs[ps->idx].name); break;
	case TG_PSECTION: snprintf(buf, n, "parameters %s", ps->t->psections[ps->idx].name); break;
	case TG_PARAM: snprintf(buf, n, "parameter %s", ps->t->params[ps->idx].name); break;
	default: snprintf(buf, n, "?"); break;
	}
	return buf;
}

static int count_item(struct pstate *ps)
{
	if (++ps->items > TMPL_MAX_ITEMS)
		return perr(ps, ps->line, -E2BIG, "template has more than %d attributes and sections; "
		            "split it", TMPL_MAX_ITEMS);
	return 0;
}

/* ---- := literals: "s", 12, 1.5, true, undefined, {a, b}, [k=v; k=v] ---- */

struct lit {
	const char *s;
	size_t n, i;
};

static void lit_ws(struct lit *l)
{
	while (l->i < l->n && isspace((unsigned char)l->s[l->i]))
		l->i++;
}

static bool lit_word(struct lit *l, const char *w)
{
	size_t k = strlen(w);
	if (l->i + k > l->n || strncasecmp(l->s + l->i, w, k))
		return false;
	if (l->i + k < l->n && (isalnum((unsigned char)l->s[l->i + k]) || l->s[l->i + k] == '_'))
		return false;
	l->i += k;
	return true;
}

/* 1 and *out (NULL for undefined) when a literal was read, 0 when the text is
 * not a literal, -E2BIG too deep, -ENOMEM. */
static int lit_value(struct lit *l, int depth, json_t **out)
{
	*out = NULL;
	if (depth > TMPL_MAX_DEPTH)
		return -E2BIG;
	lit_ws(l);
	if (l->i >= l->n)
		return 0;
	char c = l->s[l->i];
	if (c == '"') {
		struct buf b = BUF_INIT(TMPL_MAX_LINE);
		size_t j = l->i + 1;
		for (;;) {
			if (j >= l->n) {
				buf_release(&b);
				return 0;
			}
			char ch = l->s[j];
			if (ch == '"')
				break;
			if (ch == '\\' && j + 1 < l->n) {
				ch = l->s[++j];
				if (ch == 'n')
					ch = '\n';
				else if (ch == 't')
					ch = '\t';
			}
			if (buf_append(&b, &ch, 1) < 0) {
				buf_release(&b);
				return -ENOMEM;
			}
			j++;
		}
		*out = json_stringn(b.data ? b.data : "", b.len);
		buf_release(&b);
		if (!*out)
			return 0; /* not UTF-8 (cannot happen: checked up front) */
		l->i = j + 1;
		return 1;
	}
	if (c == '{' || c == '[') {
		bool list = c == '{';
		char close = list ? '}' : ']';
		json_t *agg = list ? json_array() : json_object();
		if (!agg)
			return -ENOMEM;
		l->i++;
		lit_ws(l);
		if (l->i < l->n && l->s[l->i] == close) {
			l->i++;
			*out = agg;
			return 1;
		}
		for (;;) {
			char *key = NULL;
			if (!list) {
				lit_ws(l);
				size_t k0 = l->i;
				while (l->i < l->n && (isalnum((unsigned char)l->s[l->i]) ||
				                       l->s[l->i] == '_' || l->s[l->i] == '.'))
					l->i++;
				if (l->i == k0 || l->i - k0 > TMPL_MAX_NAME)
					goto notlit;
				key = xstrndup(l->s + k0, l->i - k0);
				if (!key) {
					json_decref(agg);
					return -ENOMEM;
				}
				lit_ws(l);
				if (l->i >= l->n || l->s[l->i] != '=') {
					free(key);
					goto notlit;
				}
				l->i++;
			}
			json_t *v;
			int rc = lit_value(l, depth + 1, &v);
			if (rc <= 0) {
				free(key);
				json_decref(agg);
				return rc;
			}
			if (!v)
				v = json_null();
			if ((list ? json_array_append_new(agg, v) : json_object_set_new(agg, key, v)) < 0) {
				free(key);
				json_decref(agg);
				return -ENOMEM;
			}
			free(key);
			lit_ws(l);
			if (l->i >= l->n)
				goto notlit;
			char d = l->s[l->i];
			if (d == close) {
				l->i++;
				*out = agg;
				return 1;
			}
			if (d == ',' || (!list && d == ';')) {
				l->i++;
				continue;
			}
			goto notlit;
		}
notlit:
		json_decref(agg);
		return 0;
	}
	if (lit_word(l, "true")) {
		*out = json_true();
		return 1;
	}
	if (lit_word(l, "false")) {
		*out = json_false();
		return 1;
	}
	if (lit_word(l, "undefined") || lit_word(l, "null"))
		return 1;
	if (isdigit((unsigned char)c) || c == '-') {
		size_t j = l->i + (c == '-');
		size_t d0 = j;
		bool real = false;
		while (j < l->n && (isdigit((unsigned char)l->s[j]) || l->s[j] == '.')) {
			real |= l->s[j] == '.';
			j++;
		}
		if (j == d0 || j - l->i > 40)
			return 0;
		if (j < l->n && (isalnum((unsigned char)l->s[j]) || l->s[j] == '_'))
			return 0;
		char num[48];
		memcpy(num, l->s + l->i, j - l->i);
		num[j - l->i] = 0;
		char *end;
		errno = 0;
		if (real) {
			double v = strtod(num, &end);
			if (errno || *end || !isfinite(v))
				return 0;
			*out = json_real(v);
		} else {
			long long v = strtoll(num, &end, 10);
			if (errno || *end)
				return 0;
			*out = json_integer(v);
		}
		if (!*out)
			return -ENOMEM;
		l->i = j;
		return 1;
	}
	return 0;
}

/* The value of `Key = text`: true/false (any case) as booleans, plain
 * integers (no sign but '-', no leading zero) as integers, all else strings. */
static json_t *infer_value(const char *s, size_t n)
{
	if (n == 0)
		return json_string("");
	if (n == 4 && !strncasecmp(s, "true", 4))
		return json_true();
	if (n == 5 && !strncasecmp(s, "false", 5))
		return json_false();
	size_t i = s[0] == '-' ? 1 : 0;
	bool digits = n > i && n - i <= 18;
	for (size_t j = i; digits && j < n; j++)
		digits = isdigit((unsigned char)s[j]);
	if (digits && (s[i] != '0' || n - i == 1) && !(i && s[i] == '0')) {
		char num[24];
		memcpy(num, s, n);
		num[n] = 0;
		return json_integer(strtoll(num, NULL, 10));
	}
	return json_stringn(s, n);
}

/* ---- lines ---- */

/* Next raw line: [*b, *e) without the newline; false at the end. */
static bool next_line(struct pstate *ps, const char **b, const char **e)
{
	if (ps->pos >= ps->len)
		return false;
	const char *s = ps->text + ps->pos;
	const char *nl = memchr(s, '\n', ps->len - ps->pos);
	const char *end = nl ? nl : ps->text + ps->len;
	ps->pos = nl ? (size_t)(nl - ps->text) + 1 : ps->len;
	ps->line++;
	*b = s;
	*e = end;
	return true;
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* Is the text at [b, e) a :=/= value that starts with ''' ? Then read up to
 * the closing ''' (maybe lines later) into *out. */
static int read_triple(struct pstate *ps, const char *b, const char *e, char **out, size_t *outlen)
{
	unsigned start = ps->line;
	struct buf v = BUF_INIT(TMPL_MAX_LINE);
	const char *p = b + 3;
	for (;;) {
		const char *close = NULL;
		for (const char *q = p; q + 3 <= e; q++)
			if (q[0] == '\'' && q[1] == '\'' && q[2] == '\'') {
				close = q;
				break;
			}
		if (close) {
			if (buf_append(&v, p, (size_t)(close - p)) < 0)
				goto big;
			const char *rest = close + 3, *re = e;
			trim(&rest, &re);
			if (rest < re) {
				buf_release(&v);
				return perr(ps, ps->line, -EINVAL, "unexpected text after the closing '''");
			}
			break;
		}
		if (buf_append(&v, p, (size_t)(e - p)) < 0 || buf_append(&v, "\n", 1) < 0)
			goto big;
		const char *lb, *le;
		if (!next_line(ps, &lb, &le)) {
			buf_release(&v);
			return perr(ps, start, -EINVAL, "expected ''' to close the text that starts here");
		}
		if (le > lb && le[-1] == '\r')
			le--;
		p = lb;
		e = le;
	}
	*outlen = v.len;
	*out = buf_detach(&v, NULL);
	if (!*out && !(*out = strdup("")))
		return oom(ps);
	return 0;
big:
	buf_release(&v);
	return perr(ps, start, -E2BIG, "text value longer than %d bytes", TMPL_MAX_LINE);
}

/* `Key = value` or `Key := value` at [b, e), trimmed. */
static int parse_attribute(struct pstate *ps, const char *b, const char *e)
{
	const char *eq = memchr(b, '=', (size_t)(e - b));
	if (!eq) {
		size_t l = (size_t)(e - b) > 40 ? 40 : (size_t)(e - b);
		return perr(ps, ps->line, -EINVAL, "expected 'Key = value' or a '[section]', not '%.*s%s'",
		            (int)l, b, (size_t)(e - b) > 40 ? "..." : "");
	}
	bool colon = eq > b && eq[-1] == ':';
	const char *kb = b, *ke = colon ? eq - 1 : eq;
	trim(&kb, &ke);
	if (!valid_key(kb, (size_t)(ke - kb))) {
		size_t l = (size_t)(ke - kb) > 40 ? 40 : (size_t)(ke - kb);
		if (ke == kb)
			return perr(ps, ps->line, -EINVAL, "expected an attribute name before '%s'",
			            colon ? ":=" : "=");
		return perr(ps, ps->line, -EINVAL, "'%.*s' is not an attribute name: use letters, "
		            "digits, '_', '.' and '-'", (int)l, kb);
	}
	struct tmpl_attrs *list = cur_attrs(ps);
	if (!list)
		return perr(ps, ps->line, -EINVAL, "attribute '%.*s' is outside any section; put it "
		            "under '[cluster NAME]' or a node", (int)(ke - kb), kb);
	char *key = xstrndup(kb, (size_t)(ke - kb));
	if (!key)
		return oom(ps);
	if (ps->prefix) {
		char *k2;
		if (asprintf(&k2, "%s%s", ps->prefix, key) < 0) {
			free(key);
			return oom(ps);
		}
		free(key);
		key = k2;
	}
	const struct tmpl_attr *dup = tmpl_attr_find(list, key);
	if (dup) {
		char d[200];
		int rc = perr(ps, ps->line, -EINVAL, "'%s' is set twice in section '%s' (first on line "
		              "%u); keep one", key, section_desc(ps, d, sizeof(d)), dup->line);
		free(key);
		return rc;
	}
	unsigned line = ps->line;
	const char *vb = eq + 1, *ve = e;
	trim(&vb, &ve);
	char *text = NULL;
	size_t tlen = 0;
	bool triple = ve - vb >= 3 && !memcmp(vb, "'''", 3);
	if (triple) {
		int rc = read_triple(ps, vb, ve, &text, &tlen);
		if (rc < 0) {
			free(key);
			return rc;
		}
	}
	if (count_item(ps) < 0) {
		free(key);
		free(text);
		return ps->rc;
	}
	struct tmpl_attr *a = attrs_push(list);
	if (!a) {
		free(key);
		free(text);
		if (list->n >= TMPL_MAX_ATTRS)
			return perr(ps, line, -E2BIG, "more than %d attributes in one section",
			            TMPL_MAX_ATTRS);
		return oom(ps);
	}
	a->key = key;
	a->line = line;
	a->kind = TMPL_V_LITERAL;
	if (triple) {
		a->text = text;
		if (!(a->value = json_stringn(text, tlen)))
			return oom(ps);
		return 0;
	}
	size_t vn = (size_t)(ve - vb);
	if (!(a->text = xstrndup(vb, vn)))
		return oom(ps);
	if (colon) {
		struct lit l = { vb, vn, 0 };
		json_t *v = NULL;
		int rc = lit_value(&l, 0, &v);
		if (rc == -E2BIG)
			return perr(ps, line, -E2BIG, "value of '%s' nested deeper than %d", key,
			            TMPL_MAX_DEPTH);
		if (rc < 0)
			return oom(ps);
		lit_ws(&l);
		if (rc == 1 && l.i == l.n) {
			a->value = v;
			return 0;
		}
		json_decref(v);
		/* an expression for the GUI (Conditions.Hidden := x && y): kept */
		a->kind = TMPL_V_RAW;
		if (!(a->value = json_stringn(vb, vn)))
			return oom(ps);
		return 0;
	}
	if (vn >= 2 && vb[0] == '"' && ve[-1] == '"') {
		struct buf s = BUF_INIT(TMPL_MAX_LINE);
		for (const char *q = vb + 1; q < ve - 1; q++) {
			char c = *q;
			if (c == '\\' && q + 1 < ve - 1 && (q[1] == '"' || q[1] == '\\'))
				c = *++q;
			if (buf_append(&s, &c, 1) < 0) {
				buf_release(&s);
				return oom(ps);
			}
		}
		a->value = json_stringn(s.data ? s.data : "", s.len);
		free(a->text);
		a->text = buf_detach(&s, NULL);
		if (!a->text)
			a->text = strdup("");
		if (!a->value || !a->text)
			return oom(ps);
		return 0;
	}
	if (vn >= 2 && vb[0] == '$' && vb[1] == '{') {
		if (ve[-1] != '}')
			return perr(ps, line, -EINVAL, "expected '}' to close '${' in the value of '%s'",
			            key);
		char *expr = xstrndup(vb + 2, vn - 3);
		if (!expr)
			return oom(ps);
		struct filter *f = NULL;
		char *ferr = NULL;
		int col = 0;
		int rc = filter_parse_col(expr, &f, &ferr, &col);
		filter_free(f);
		if (rc < 0) {
			/* the first line of the filter's message, with the column in
			 * the template line */
			const char *msg = ferr ? ferr : "out of memory";
			const char *sp = strchr(msg, ':');
			const char *nl = strchr(msg, '\n');
			if (sp && col > 0)
				msg = sp + 2;
			int ml = nl ? (int)(nl - msg) : (int)strlen(msg);
			perr(ps, line, rc, "in '${...}' of '%s', column %d: %.*s", key, col, ml, msg);
			free(ferr);
			free(expr);
			return ps->rc;
		}
		free(a->text);
		a->text = expr;
		a->kind = TMPL_V_EXPR;
		return 0;
	}
	if (vn && vb[0] == '$') {
		if (!valid_ref_name(vb + 1, vn - 1))
			return perr(ps, line, -EINVAL, "'%.*s' is not a parameter reference: write "
			            "'$Name' alone as the value, '${expression}', or quote the text "
			            "(\"...\") if the '$' is meant", vn > 40 ? 40 : (int)vn, vb);
		a->kind = TMPL_V_REF;
		if (!(a->ref = xstrndup(vb + 1, vn - 1)))
			return oom(ps);
		return 0;
	}
	if (!(a->value = infer_value(vb, vn)))
		return oom(ps);
	return 0;
}

/* Split a section header's content into kind and name (name trimmed, inner
 * blanks squeezed to one). */
static int split_header(struct pstate *ps, const char *b, const char *e, char **kind, char **name)
{
	const char *k = b;
	while (k < e && !isspace((unsigned char)*k))
		k++;
	*kind = xstrndup(b, (size_t)(k - b));
	struct buf nb = BUF_INIT(TMPL_MAX_LINE);
	bool space = false;
	for (const char *q = k; q < e; q++) {
		if (isspace((unsigned char)*q)) {
			space = nb.len > 0;
			continue;
		}
		if ((space && buf_append(&nb, " ", 1) < 0) || buf_append(&nb, q, 1) < 0) {
			buf_release(&nb);
			free(*kind);
			*kind = NULL;
			return oom(ps);
		}
		space = false;
	}
	*name = buf_detach(&nb, NULL);
	if (!*name)
		*name = strdup("");
	if (!*kind || !*name) {
		free(*kind);
		free(*name);
		*kind = *name = NULL;
		return oom(ps);
	}
	return 0;
}

static int new_node(struct pstate *ps, const char *kind, const char *name)
{
	struct tmpl *t = ps->t;
	bool array = !strcmp(kind, "nodearray");
	if (ps->level1 != 1)
		return perr(ps, ps->line, -EINVAL, "'[[%s %s]]' must be inside a '[cluster NAME]' "
		            "section", kind, name);
	if (!*name)
		return perr(ps, ps->line, -EINVAL, "expected a name after '[[%s'", kind);
	if (!strcmp(name, "defaults")) {
		if (array)
			return perr(ps, ps->line, -EINVAL, "defaults are written '[[node defaults]]', "
			            "not '[[nodearray defaults]]'");
		if (t->defaults)
			return perr(ps, ps->line, -EINVAL, "'[[node defaults]]' appears twice (first on "
			            "line %u); merge them", t->defaults->line);
		if (!(t->defaults = calloc(1, sizeof(*t->defaults))) ||
		    !(t->defaults->name = strdup("defaults")))
			return oom(ps);
		t->defaults->line = ps->line;
		ps->node = -1;
		ps->tg = TG_NODE;
		ps->in_node = true;
		return 0;
	}
	if (!valid_node_name(name))
		return perr(ps, ps->line, -EINVAL, "'%.60s' is not a valid %s name: use up to 63 "
		            "letters, digits, '-' and '_', starting with a letter or digit", name, kind);
	const struct tmpl_node *dup = tmpl_node_find(t, name);
	if (dup)
		return perr(ps, ps->line, -EINVAL, "node '%s' is defined twice (first on line %u)",
		            name, dup->line);
	struct tmpl_node *nn = grow(t->nodes, &t->n_nodes, sizeof(*nn), TMPL_MAX_NODES);
	if (!nn) {
		if (t->n_nodes >= TMPL_MAX_NODES)
			return perr(ps, ps->line, -E2BIG, "more than %d nodes and node arrays",
			            TMPL_MAX_NODES);
		return oom(ps);
	}
	t->nodes = nn;
	struct tmpl_node *n = &t->nodes[t->n_nodes - 1];
	n->is_array = array;
	n->line = ps->line;
	if (!(n->name = strdup(name)))
		return oom(ps);
	ps->node = (long)t->n_nodes - 1;
	ps->tg = TG_NODE;
	ps->in_node = true;
	return 0;
}

/* project:spec[:version], each part [A-Za-z0-9._-], project may hold '/'. */
static int new_init(struct pstate *ps, const char *spec)
{
	struct tmpl_node *n = cur_node(ps);
	const char *c1 = strchr(spec, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	bool ok = c1 && c1 > spec && c1[1] && c1[1] != ':' && (!c2 || (c2[1] && !strchr(c2 + 1, ':')));
	for (const char *q = spec; ok && *q; q++) {
		unsigned char c = (unsigned char)*q;
		ok = isalnum(c) || c == '.' || c == '_' || c == '-' || c == ':' ||
		     (c == '/' && q < c1);
	}
	if (!ok || strlen(spec) > 200)
		return perr(ps, ps->line, -EINVAL, "'%.60s' is not a cluster-init spec: write "
		            "'[[[cluster-init PROJECT:SPEC:VERSION]]]', e.g. 'slurm:scheduler:1.0.0'",
		            spec);
	for (size_t i = 0; i < n->n_inits; i++)
		if (!strcmp(n->inits[i].spec, spec))
			return perr(ps, ps->line, -EINVAL, "cluster-init '%s' is listed twice for '%s' "
			            "(first on line %u)", spec, n->name, n->inits[i].line);
	struct tmpl_init *ni = grow(n->inits, &n->n_inits, sizeof(*ni), TMPL_MAX_ATTRS);
	if (!ni)
		return n->n_inits >= TMPL_MAX_ATTRS ?
		       perr(ps, ps->line, -E2BIG, "too many cluster-init specs") : oom(ps);
	n->inits = ni;
	struct tmpl_init *in = &n->inits[n->n_inits - 1];
	in->line = ps->line;
	in->spec = strdup(spec);
	in->project = xstrndup(spec, (size_t)(c1 - spec));
	in->name = c2 ? xstrndup(c1 + 1, (size_t)(c2 - c1 - 1)) : strdup(c1 + 1);
	in->version = c2 ? strdup(c2 + 1) : NULL;
	if (!in->spec || !in->project || !in->name || (c2 && !in->version))
		return oom(ps);
	ps->idx = n->n_inits - 1;
	ps->tg = TG_INIT;
	return 0;
}

static int new_sub(struct pstate *ps, const char *kind, const char *name)
{
	struct tmpl_node *n = cur_node(ps);
	for (const char *q = kind; *q; q++)
		if (!(isalnum((unsigned char)*q) || *q == '-' || *q == '_'))
			return perr(ps, ps->line, -EINVAL, "'%.40s' is not a section name", kind);
	for (size_t i = 0; i < n->n_subs; i++)
		if (!strcmp(n->subs[i].kind, kind) && !strcmp(n->subs[i].name, name))
			return perr(ps, ps->line, -EINVAL, "'[[[%s %s]]]' appears twice in '%s' (first "
			            "on line %u)", kind, name, n->name, n->subs[i].line);
	struct tmpl_sub *ns = grow(n->subs, &n->n_subs, sizeof(*ns), TMPL_MAX_ATTRS);
	if (!ns)
		return n->n_subs >= TMPL_MAX_ATTRS ?
		       perr(ps, ps->line, -E2BIG, "too many sections in one node") : oom(ps);
	n->subs = ns;
	struct tmpl_sub *s = &n->subs[n->n_subs - 1];
	s->line = ps->line;
	s->kind = strdup(kind);
	s->name = strdup(name);
	if (!s->kind || !s->name)
		return oom(ps);
	ps->idx = n->n_subs - 1;
	ps->tg = TG_SUB;
	return 0;
}

static int new_psection(struct pstate *ps, const char *name, const char *parent)
{
	struct tmpl *t = ps->t;
	struct tmpl_psection *np = grow(t->psections, &t->n_psections, sizeof(*np), TMPL_MAX_PARAMS);
	if (!np)
		return t->n_psections >= TMPL_MAX_PARAMS ?
		       perr(ps, ps->line, -E2BIG, "more than %d parameter sections", TMPL_MAX_PARAMS) :
		       oom(ps);
	t->psections = np;
	struct tmpl_psection *s = &t->psections[t->n_psections - 1];
	s->line = ps->line;
	s->name = strdup(name);
	s->parent = parent ? strdup(parent) : NULL;
	if (!s->name || (parent && !s->parent))
		return oom(ps);
	ps->idx = t->n_psections - 1;
	ps->tg = TG_PSECTION;
	return 0;
}

static int new_param(struct pstate *ps, const char *name)
{
	struct tmpl *t = ps->t;
	if (!*name)
		return perr(ps, ps->line, -EINVAL, "expected a name after 'parameter'");
	if (strlen(name) > TMPL_MAX_NAME)
		return perr(ps, ps->line, -EINVAL, "parameter name longer than %d bytes",
		            TMPL_MAX_NAME);
	const struct tmpl_param *dup = tmpl_param_find(t, name);
	if (dup)
		return perr(ps, ps->line, -EINVAL, "parameter '%s' is declared twice (first on line "
		            "%u)", name, dup->line);
	if (!strcmp(name, BUILTIN_CLUSTER_NAME))
		return perr(ps, ps->line, -EINVAL, "'%s' is built in (the cluster's name); choose "
		            "another parameter name", name);
	struct tmpl_param *np = grow(t->params, &t->n_params, sizeof(*np), TMPL_MAX_PARAMS);
	if (!np)
		return t->n_params >= TMPL_MAX_PARAMS ?
		       perr(ps, ps->line, -E2BIG, "more than %d parameters", TMPL_MAX_PARAMS) : oom(ps);
	t->params = np;
	struct tmpl_param *p = &t->params[t->n_params - 1];
	p->line = ps->line;
	p->name = strdup(name);
	p->section = strdup(ps->psec ? ps->psec : "");
	p->subsection = ps->psubsec ? strdup(ps->psubsec) : NULL;
	if (!p->name || !p->section || (ps->psubsec && !p->subsection))
		return oom(ps);
	ps->idx = t->n_params - 1;
	ps->tg = TG_PARAM;
	return 0;
}

static int parse_header(struct pstate *ps, const char *b, const char *e)
{
	int level = 0;
	while (b + level < e && b[level] == '[')
		level++;
	if (level > 3)
		return perr(ps, ps->line, -EINVAL, "too many '[': sections have 1 to 3");
	/* the closing brackets: find the first ']' */
	const char *cb = memchr(b, ']', (size_t)(e - b));
	const char *ib = b + level, *ie = cb ? cb : e;
	trim(&ib, &ie);
	char *kind = NULL, *name = NULL;
	if (split_header(ps, ib, ie, &kind, &name) < 0)
		return ps->rc;
	int closing = 0;
	if (cb)
		while (cb + closing < e && cb[closing] == ']')
			closing++;
	const char *rest = cb ? cb + closing : e, *re = e;
	trim(&rest, &re);
	if (!cb || closing != level || (rest < re && *rest != '#')) {
		char want[4] = "]]]";
		want[level] = 0;
		int rc = perr(ps, ps->line, -EINVAL, "expected '%s' to close section '%s%s%.60s'", want,
		              kind, *name ? " " : "", name);
		free(kind);
		free(name);
		return rc;
	}
	int rc = 0;
	free(ps->prefix);
	ps->prefix = NULL;
	if (!*kind) {
		rc = perr(ps, ps->line, -EINVAL, "empty section header; expected e.g. '[cluster NAME]'");
	} else if (count_item(ps) < 0) {
		rc = ps->rc;
	} else if (level == 1) {
		ps->in_node = false;
		free(ps->psubsec);
		ps->psubsec = NULL;
		if (!strcmp(kind, "cluster")) {
			if (ps->t->template_name)
				rc = perr(ps, ps->line, -EINVAL, "a second '[cluster]' section: a template "
				          "holds one cluster (the first is on line %u)", ps->t->line);
			else if (!valid_node_name(name))
				rc = perr(ps, ps->line, -EINVAL, "'%.60s' is not a valid cluster name: use "
				          "letters, digits, '-' and '_', starting with a letter or digit", name);
			else if (!(ps->t->template_name = strdup(name)) || !(ps->t->name = strdup(name)))
				rc = oom(ps);
			else {
				ps->t->line = ps->line;
				ps->level1 = 1;
				ps->tg = TG_CLUSTER;
			}
		} else if (!strcmp(kind, "parameters")) {
			free(ps->psec);
			if (!(ps->psec = strdup(name)))
				rc = oom(ps);
			else {
				ps->level1 = 2;
				rc = new_psection(ps, name, NULL);
			}
		} else {
			rc = perr(ps, ps->line, -EINVAL, "unknown section '[%.40s]'; expected '[cluster "
			          "NAME]' or '[parameters NAME]'", kind);
		}
	} else if (level == 2) {
		ps->in_node = false;
		if (!strcmp(kind, "node") || !strcmp(kind, "nodearray")) {
			rc = new_node(ps, kind, name);
		} else if (!strcmp(kind, "parameters")) {
			if (ps->level1 != 2)
				rc = perr(ps, ps->line, -EINVAL, "'[[parameters %.60s]]' must be inside a "
				          "'[parameters NAME]' section", name);
			else {
				free(ps->psubsec);
				if (!(ps->psubsec = strdup(name)))
					rc = oom(ps);
				else
					rc = new_psection(ps, name, ps->psec);
			}
		} else if (!strcmp(kind, "parameter")) {
			if (ps->level1 != 2)
				rc = perr(ps, ps->line, -EINVAL, "'[[parameter %.60s]]' must be inside a "
				          "'[parameters NAME]' section", name);
			else {
				free(ps->psubsec);
				ps->psubsec = NULL;
				rc = new_param(ps, name);
			}
		} else {
			rc = perr(ps, ps->line, -EINVAL, "unknown section '[[%.40s]]'; expected '[[node "
			          "NAME]]', '[[nodearray NAME]]' or '[[parameters NAME]]'", kind);
		}
	} else {
		if (!strcmp(kind, "parameter")) {
			if (ps->level1 != 2 || !ps->psubsec)
				rc = perr(ps, ps->line, -EINVAL, "'[[[parameter %.60s]]]' must be inside a "
				          "'[[parameters NAME]]' section", name);
			else
				rc = new_param(ps, name);
		} else if (!ps->in_node) {
			rc = perr(ps, ps->line, -EINVAL, "'[[[%.40s]]]' must be inside a '[[node NAME]]' "
			          "or '[[nodearray NAME]]' section", kind);
		} else if (!strcmp(kind, "configuration")) {
			if (*name && !valid_key(name, strlen(name)))
				rc = perr(ps, ps->line, -EINVAL, "'%.60s' is not a configuration prefix: use "
				          "letters, digits, '_', '.' and '-'", name);
			else if (*name && asprintf(&ps->prefix, "%s.", name) < 0) {
				ps->prefix = NULL;
				rc = oom(ps);
			} else
				ps->tg = TG_CONFIG;
		} else if (!strcmp(kind, "cluster-init")) {
			rc = new_init(ps, name);
		} else {
			rc = new_sub(ps, kind, name);
		}
	}
	free(kind);
	free(name);
	return rc;
}

/* ---- checks after parsing ---- */

static const char *ptype_name(enum tmpl_ptype t)
{
	switch (t) {
	case TMPL_PT_STRING: return "String";
	case TMPL_PT_INTEGER: return "Integer";
	case TMPL_PT_NUMBER: return "Number";
	case TMPL_PT_BOOLEAN: return "Boolean";
	case TMPL_PT_STRINGLIST: return "StringList";
	case TMPL_PT_RECORD: return "Record";
	}
	return "?";
}

static const char *attr_str(const struct tmpl_attrs *a, const char *key)
{
	const json_t *v = tmpl_attr_value(a, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool attr_true(const struct tmpl_attrs *a, const char *key)
{
	const json_t *v = tmpl_attr_value(a, key);
	return json_is_true(v);
}

/*
 * Convert V to parameter P's type.  Returns a new reference, or NULL with a
 * reason in why (static text) when it does not fit.
 */
static json_t *param_convert(const struct tmpl_param *p, const json_t *v, char *why, size_t wn)
{
	json_t *r = NULL;
	double d = 0;
	switch (p->type) {
	case TMPL_PT_STRING:
	case TMPL_PT_STRINGLIST:
		if (json_is_string(v))
			r = json_incref((json_t *)v);
		else if (json_is_integer(v))
			r = json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_boolean(v))
			r = json_string(json_is_true(v) ? "true" : "false");
		else {
			snprintf(why, wn, "must be text");
			return NULL;
		}
		break;
	case TMPL_PT_INTEGER:
		if (json_is_integer(v))
			r = json_incref((json_t *)v);
		else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
		         fabs(json_real_value(v)) < 9e15)
			r = json_integer((json_int_t)json_real_value(v));
		else if (json_is_string(v)) {
			const char *s = json_string_value(v);
			char *end;
			errno = 0;
			long long x = strtoll(s, &end, 10);
			if (*s && !isspace((unsigned char)*s) && !*end && !errno)
				r = json_integer(x);
		}
		if (!r) {
			snprintf(why, wn, "must be a whole number");
			return NULL;
		}
		break;
	case TMPL_PT_NUMBER:
		if (json_is_number(v))
			r = json_incref((json_t *)v);
		else if (json_is_string(v)) {
			const char *s = json_string_value(v);
			char *end;
			errno = 0;
			double x = strtod(s, &end);
			if (*s && !isspace((unsigned char)*s) && !*end && !errno && isfinite(x))
				r = strchr(s, '.') || strchr(s, 'e') || strchr(s, 'E') ?
				    json_real(x) : json_integer(strtoll(s, NULL, 10));
		}
		if (!r) {
			snprintf(why, wn, "must be a number");
			return NULL;
		}
		break;
	case TMPL_PT_BOOLEAN:
		if (json_is_boolean(v))
			r = json_incref((json_t *)v);
		else if (json_is_string(v) && !strcasecmp(json_string_value(v), "true"))
			r = json_true();
		else if (json_is_string(v) && !strcasecmp(json_string_value(v), "false"))
			r = json_false();
		else {
			snprintf(why, wn, "must be true or false");
			return NULL;
		}
		break;
	case TMPL_PT_RECORD:
		if (!json_is_object(v)) {
			snprintf(why, wn, "must be a record (a JSON object)");
			return NULL;
		}
		r = json_deep_copy(v);
		break;
	}
	if (!r) {
		snprintf(why, wn, "out of memory");
		return NULL;
	}
	if ((p->type == TMPL_PT_INTEGER || p->type == TMPL_PT_NUMBER) && (p->has_min || p->has_max)) {
		d = json_number_value(r);
		if ((p->has_min && d < p->min) || (p->has_max && d > p->max)) {
			if (p->has_min && p->has_max)
				snprintf(why, wn, "must be between %g and %g", p->min, p->max);
			else if (p->has_min)
				snprintf(why, wn, "must be at least %g", p->min);
			else
				snprintf(why, wn, "must be at most %g", p->max);
			json_decref(r);
			return NULL;
		}
	}
	if (p->type == TMPL_PT_STRINGLIST && p->choices && !p->free_form) {
		size_t i;
		json_t *c;
		json_array_foreach(p->choices, i, c) {
			if (json_equal(json_object_get(c, "value"), r))
				return r;
		}
		struct buf b = BUF_INIT(wn > 0 ? wn - 1 : 0);
		buf_puts(&b, "must be one of");
		json_array_foreach(p->choices, i, c) {
			const json_t *cv = json_object_get(c, "value");
			if (json_is_string(cv) &&
			    buf_printf(&b, "%s \"%s\"", i ? "," : "", json_string_value(cv)) < 0)
				break;
		}
		snprintf(why, wn, "%s", b.data ? b.data : "must be one of its choices");
		buf_release(&b);
		json_decref(r);
		return NULL;
	}
	return r;
}

/* Short text of a JSON value for messages. */
static void value_text(const json_t *v, char *out, size_t n)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!s) {
		snprintf(out, n, "?");
		return;
	}
	size_t l = strlen(s);
	if (l > 60)
		snprintf(out, n, "%.57s...", s);
	else
		snprintf(out, n, "%s", s);
	free(s);
}

/* Work out each parameter's type, default, choices and range. */
static int check_params(struct pstate *ps)
{
	struct tmpl *t = ps->t;
	for (size_t i = 0; i < t->n_params; i++) {
		struct tmpl_param *p = &t->params[i];
		for (size_t j = 0; j < p->attrs.n; j++)
			if (p->attrs.v[j].kind == TMPL_V_REF || p->attrs.v[j].kind == TMPL_V_EXPR)
				return perr(ps, p->attrs.v[j].line, -EINVAL, "'%s' of parameter '%s' "
				            "refers to a parameter; a parameter's attributes are fixed "
				            "text", p->attrs.v[j].key, p->name);
		const char *tn = attr_str(&p->attrs, "ParameterType");
		const char *plugin = attr_str(&p->attrs, "Config.Plugin");
		const char *widget = attr_str(&p->attrs, "Widget.Plugin");
		const struct tmpl_attr *ta = tmpl_attr_find(&p->attrs, "ParameterType");
		if (ta && !tn)
			return perr(ps, ta->line, -EINVAL, "ParameterType of '%s' must be a type name "
			            "such as String, Integer or Boolean", p->name);
		if (tn) {
			if (!strcasecmp(tn, "String") || !strcasecmp(tn, "Password") ||
			    !strncasecmp(tn, "Cloud.", 6) || !strncasecmp(tn, "Azure.", 6))
				p->type = TMPL_PT_STRING;
			else if (!strcasecmp(tn, "Integer") || !strcasecmp(tn, "Int"))
				p->type = TMPL_PT_INTEGER;
			else if (!strcasecmp(tn, "Number") || !strcasecmp(tn, "Double") ||
			         !strcasecmp(tn, "Float"))
				p->type = TMPL_PT_NUMBER;
			else if (!strcasecmp(tn, "Boolean") || !strcasecmp(tn, "Bool"))
				p->type = TMPL_PT_BOOLEAN;
			else if (!strcasecmp(tn, "StringList"))
				p->type = TMPL_PT_STRINGLIST;
			else if (!strcasecmp(tn, "Record"))
				p->type = TMPL_PT_RECORD;
			else
				return perr(ps, ta->line, -EINVAL, "unknown ParameterType '%.40s' of '%s'; "
				            "use String, Integer, Number, Boolean, StringList or Record", tn,
				            p->name);
		} else if (widget && !strcasecmp(widget, "pico.form.BooleanCheckBox")) {
			p->type = TMPL_PT_BOOLEAN;
		} else if (plugin && !strcasecmp(plugin, "pico.form.NumberTextBox")) {
			p->type = attr_true(&p->attrs, "Config.IntegerOnly") ? TMPL_PT_INTEGER :
			          TMPL_PT_NUMBER;
		} else if (plugin && !strcasecmp(plugin, "pico.form.Dropdown")) {
			p->type = TMPL_PT_STRINGLIST;
		} else {
			p->type = TMPL_PT_STRING;
		}
		if (!(p->type_name = strdup(tn ? tn : ptype_name(p->type))))
			return oom(ps);
		const char *s;
		if ((s = attr_str(&p->attrs, "Label")) && !(p->label = strdup(s)))
			return oom(ps);
		if ((s = attr_str(&p->attrs, "Description")) && !(p->description = strdup(s)))
			return oom(ps);
		const struct tmpl_attr *ra = tmpl_attr_find(&p->attrs, "Required");
		if (ra && !json_is_boolean(ra->value))
			return perr(ps, ra->line, -EINVAL, "Required of '%s' must be true or false",
			            p->name);
		p->required = ra && json_is_true(ra->value);
		p->free_form = attr_true(&p->attrs, "Config.FreeForm");
		const char *bounds[2] = { "Config.MinValue", "Config.MaxValue" };
		for (int k = 0; k < 2; k++) {
			const struct tmpl_attr *ba = tmpl_attr_find(&p->attrs, bounds[k]);
			if (!ba)
				continue;
			if (!json_is_number(ba->value))
				return perr(ps, ba->line, -EINVAL, "%s of '%s' must be a number", bounds[k],
				            p->name);
			if (k == 0) {
				p->has_min = true;
				p->min = json_number_value(ba->value);
			} else {
				p->has_max = true;
				p->max = json_number_value(ba->value);
			}
		}
		const struct tmpl_attr *ea = tmpl_attr_find(&p->attrs, "Config.Entries");
		if (ea) {
			if (!json_is_array(ea->value))
				return perr(ps, ea->line, -EINVAL, "Config.Entries of '%s' must be a list: "
				            "Config.Entries := {[Label=\"A\"; Value=\"a\"], [Value=\"b\"]}",
				            p->name);
			if (!(p->choices = json_array()))
				return oom(ps);
			size_t k;
			json_t *c;
			json_array_foreach(ea->value, k, c) {
				json_t *v = NULL, *l = NULL;
				if (json_is_object(c)) {
					const char *ck;
					json_t *cv;
					json_object_foreach(c, ck, cv) {
						if (!strcasecmp(ck, "Value"))
							v = cv;
						else if (!strcasecmp(ck, "Label"))
							l = cv;
					}
				} else if (json_is_string(c) || json_is_number(c)) {
					v = c;
				}
				if (!v)
					return perr(ps, ea->line, -EINVAL, "entry %zu of Config.Entries of '%s' "
					            "has no Value", k + 1, p->name);
				json_t *e = json_pack("{sOsO}", "label", l ? l : v, "value", v);
				if (!e || json_array_append_new(p->choices, e) < 0)
					return oom(ps);
			}
		}
		const struct tmpl_attr *da = tmpl_attr_find(&p->attrs, "DefaultValue");
		if (da && da->value) {
			char why[200];
			/* an empty text default of a non-text parameter means none */
			if (json_is_string(da->value) && !json_string_length(da->value) &&
			    p->type != TMPL_PT_STRING && p->type != TMPL_PT_STRINGLIST)
				continue;
			p->default_value = param_convert(p, da->value, why, sizeof(why));
			if (!p->default_value) {
				char vt[80];
				value_text(da->value, vt, sizeof(vt));
				return perr(ps, da->line, -EINVAL, "DefaultValue %s of parameter '%s' %s "
				            "(%s)", vt, p->name, why, p->type_name);
			}
		}
	}
	return 0;
}

static bool declared(const struct tmpl *t, const char *name)
{
	return !strcmp(name, BUILTIN_CLUSTER_NAME) || tmpl_param_find(t, name);
}

static int check_refs_in(struct pstate *ps, const struct tmpl_attrs *a)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct tmpl_attr *at = &a->v[i];
		if (at->kind == TMPL_V_REF && !declared(ps->t, at->ref))
			return perr(ps, at->line, -EINVAL, "'%s' refers to '$%s', which is not a "
			            "declared parameter; add '[[[parameter %s]]]' or fix the name",
			            at->key, at->ref, at->ref);
		if (at->kind == TMPL_V_EXPR) {
			struct filter *f = NULL;
			if (filter_parse(at->text, &f, NULL) < 0)
				return oom(ps);
			const char *nm;
			for (size_t k = 0; (nm = filter_name(f, k)); k++) {
				if (!declared(ps->t, nm)) {
					perr(ps, at->line, -EINVAL, "'%s' uses '%s' in '${...}', which is not "
					     "a declared parameter; add '[[[parameter %s]]]' or fix the name",
					     at->key, nm, nm);
					filter_free(f);
					return ps->rc;
				}
			}
			filter_free(f);
		}
	}
	return 0;
}

static int check_node_refs(struct pstate *ps, const struct tmpl_node *n)
{
	if (check_refs_in(ps, &n->attrs) < 0 || check_refs_in(ps, &n->config) < 0)
		return ps->rc;
	for (size_t i = 0; i < n->n_inits; i++)
		if (check_refs_in(ps, &n->inits[i].attrs) < 0)
			return ps->rc;
	for (size_t i = 0; i < n->n_subs; i++)
		if (check_refs_in(ps, &n->subs[i].attrs) < 0)
			return ps->rc;
	return 0;
}

/* Abstract and Extends, and that every Extends chain ends. */
static int check_nodes(struct pstate *ps)
{
	struct tmpl *t = ps->t;
	if (t->defaults) {
		const struct tmpl_attr *x = tmpl_attr_find(&t->defaults->attrs, "Extends");
		if (x)
			return perr(ps, x->line, -EINVAL, "'[[node defaults]]' cannot use Extends");
	}
	for (size_t i = 0; i < t->n_nodes; i++) {
		struct tmpl_node *n = &t->nodes[i];
		const struct tmpl_attr *ab = tmpl_attr_find(&n->attrs, "Abstract");
		if (ab) {
			if (!json_is_boolean(ab->value))
				return perr(ps, ab->line, -EINVAL, "Abstract of '%s' must be true or false",
				            n->name);
			n->abstract = json_is_true(ab->value);
		}
		const struct tmpl_attr *x = tmpl_attr_find(&n->attrs, "Extends");
		if (x) {
			if (x->kind != TMPL_V_LITERAL || !json_is_string(x->value))
				return perr(ps, x->line, -EINVAL, "Extends of '%s' must name a node",
				            n->name);
			const char *base = json_string_value(x->value);
			if (!tmpl_node_find(t, base))
				return perr(ps, x->line, -EINVAL, "'%s' extends '%.60s', which is not a node "
				            "of this template", n->name, base);
			if (!strcmp(base, n->name))
				return perr(ps, x->line, -EINVAL, "'%s' extends itself", n->name);
			if (!(n->extends = strdup(base)))
				return oom(ps);
		}
	}
	for (size_t i = 0; i < t->n_nodes; i++) {
		const struct tmpl_node *n = &t->nodes[i];
		int depth = 0;
		for (const struct tmpl_node *c = n; c && c->extends; c = tmpl_node_find(t, c->extends)) {
			if (++depth > TMPL_MAX_EXTENDS) {
				const struct tmpl_attr *x = tmpl_attr_find(&n->attrs, "Extends");
				return perr(ps, x ? x->line : n->line, -EINVAL, "the Extends chain of '%s' "
				            "is longer than %d or loops", n->name, TMPL_MAX_EXTENDS);
			}
		}
	}
	return 0;
}

int tmpl_parse(const char *text, size_t len, const char *filename,
               struct tmpl **out, char **err)
{
	*out = NULL;
	if (err)
		*err = NULL;
	struct pstate ps = { .text = text, .len = len, .file = filename ? filename : "template",
	                     .node = -2 };
	if (!(ps.t = calloc(1, sizeof(*ps.t))) || !(ps.t->filename = strdup(ps.file))) {
		free(ps.t);
		return -ENOMEM;
	}
	if (len > TMPL_MAX_TEXT) {
		perr(&ps, 0, -E2BIG, "template larger than %u bytes", TMPL_MAX_TEXT);
		goto done;
	}
	if (text == NULL && len) {
		perr(&ps, 0, -EINVAL, "no text");
		goto done;
	}
	/* NUL bytes and invalid UTF-8 first, with their line */
	const char *nul = len ? memchr(text, 0, len) : NULL;
	size_t bad = 0;
	if (nul || (len && !utf8_valid((const unsigned char *)text, len, &bad))) {
		size_t at = nul ? (size_t)(nul - text) : bad;
		unsigned line = 1;
		for (size_t i = 0; i < at; i++)
			line += text[i] == '\n';
		perr(&ps, line, -EINVAL, nul ? "NUL byte in the text: a template is plain text" :
		     "the text is not valid UTF-8; save the template as UTF-8");
		goto done;
	}
	const char *b, *e;
	while (!ps.rc && next_line(&ps, &b, &e)) {
		if ((size_t)(e - b) > TMPL_MAX_LINE) {
			perr(&ps, ps.line, -E2BIG, "line longer than %d bytes", TMPL_MAX_LINE);
			break;
		}
		trim(&b, &e);
		if (b == e || *b == '#')
			continue;
		if (*b == '[')
			parse_header(&ps, b, e);
		else
			parse_attribute(&ps, b, e);
	}
	if (ps.rc)
		goto done;
	if (!ps.t->template_name) {
		perr(&ps, 0, -EINVAL, "no '[cluster NAME]' section: a template describes one cluster");
		goto done;
	}
	if (check_params(&ps) < 0 || check_nodes(&ps) < 0)
		goto done;
	if (check_refs_in(&ps, &ps.t->attrs) < 0)
		goto done;
	if (ps.t->defaults && check_node_refs(&ps, ps.t->defaults) < 0)
		goto done;
	for (size_t i = 0; i < ps.t->n_nodes; i++)
		if (check_node_refs(&ps, &ps.t->nodes[i]) < 0)
			goto done;
done:
	free(ps.prefix);
	free(ps.psec);
	free(ps.psubsec);
	if (ps.rc) {
		tmpl_free(ps.t);
		if (err)
			*err = ps.err;
		else
			free(ps.err);
		return ps.rc;
	}
	*out = ps.t;
	return 0;
}

/* ---- instantiation ---- */

struct ictx {
	const struct tmpl *t;
	json_t *values;       /* name -> value, for ${...} (ClusterName included) */
	int rc;
	char *err;
};

/* The first error of an instantiation: "FILE:LINE: MSG" for what a line of
 * the template holds, just MSG for what the caller gave (line 0). */
#define ierr(c, line, code, ...) \
	lang_err(&(c)->rc, &(c)->err, (line) ? (c)->t->filename : NULL, (line), (code), __VA_ARGS__)

/* Resolve every reference of src into dst (a fresh list); undefined values
 * are left out. */
static int resolve_attrs(struct ictx *c, struct tmpl_attrs *dst, const struct tmpl_attrs *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct tmpl_attr *a = &src->v[i];
		json_t *v = NULL;
		if (a->kind == TMPL_V_REF) {
			json_t *pv = json_object_get(c->values, a->ref);
			if (pv && !(v = json_deep_copy(pv)))
				return ierr(c, 0, -ENOMEM, "out of memory");
		} else if (a->kind == TMPL_V_EXPR) {
			struct filter *f = NULL;
			if (filter_parse(a->text, &f, NULL) < 0 || filter_eval(f, c->values, &v) < 0) {
				filter_free(f);
				return ierr(c, 0, -ENOMEM, "out of memory");
			}
			filter_free(f);
		}
		/* an undefined value stays (value NULL) so that it overrides an
		 * inherited one; attrs_prune() drops it at the end */
		struct tmpl_attr *d = attrs_push(dst);
		if (!d) {
			json_decref(v);
			return ierr(c, 0, -ENOMEM, "out of memory");
		}
		if (attr_copy(d, a) < 0) {
			dst->n--;
			json_decref(v);
			return ierr(c, 0, -ENOMEM, "out of memory");
		}
		if (a->kind == TMPL_V_REF || a->kind == TMPL_V_EXPR) {
			json_decref(d->value);
			d->value = v;
		}
	}
	return 0;
}

static int merge_inits(struct ictx *c, struct tmpl_node *dst, const struct tmpl_node *src)
{
	for (size_t i = 0; i < src->n_inits; i++) {
		const struct tmpl_init *si = &src->inits[i];
		struct tmpl_init *di = NULL;
		for (size_t k = 0; k < dst->n_inits; k++)
			if (!strcmp(dst->inits[k].spec, si->spec))
				di = &dst->inits[k];
		if (!di) {
			struct tmpl_init *ni = grow(dst->inits, &dst->n_inits, sizeof(*ni), SIZE_MAX);
			if (!ni)
				return ierr(c, 0, -ENOMEM, "out of memory");
			dst->inits = ni;
			di = &dst->inits[dst->n_inits - 1];
			di->line = si->line;
			di->spec = xstrdup(si->spec);
			di->project = xstrdup(si->project);
			di->name = xstrdup(si->name);
			di->version = xstrdup(si->version);
			if (!di->spec || !di->project || !di->name || (si->version && !di->version))
				return ierr(c, 0, -ENOMEM, "out of memory");
		}
		struct tmpl_attrs tmp = { 0 };
		if (resolve_attrs(c, &tmp, &si->attrs) < 0 || attrs_merge(&di->attrs, &tmp) < 0) {
			attrs_release(&tmp);
			return ierr(c, 0, -ENOMEM, "out of memory");
		}
		attrs_release(&tmp);
	}
	return 0;
}

static int merge_subs(struct ictx *c, struct tmpl_node *dst, const struct tmpl_node *src)
{
	for (size_t i = 0; i < src->n_subs; i++) {
		const struct tmpl_sub *ss = &src->subs[i];
		struct tmpl_sub *ds = NULL;
		for (size_t k = 0; k < dst->n_subs; k++)
			if (!strcmp(dst->subs[k].kind, ss->kind) && !strcmp(dst->subs[k].name, ss->name))
				ds = &dst->subs[k];
		if (!ds) {
			struct tmpl_sub *ns = grow(dst->subs, &dst->n_subs, sizeof(*ns), SIZE_MAX);
			if (!ns)
				return ierr(c, 0, -ENOMEM, "out of memory");
			dst->subs = ns;
			ds = &dst->subs[dst->n_subs - 1];
			ds->line = ss->line;
			ds->kind = xstrdup(ss->kind);
			ds->name = xstrdup(ss->name);
			if (!ds->kind || !ds->name)
				return ierr(c, 0, -ENOMEM, "out of memory");
		}
		struct tmpl_attrs tmp = { 0 };
		if (resolve_attrs(c, &tmp, &ss->attrs) < 0 || attrs_merge(&ds->attrs, &tmp) < 0) {
			attrs_release(&tmp);
			return ierr(c, 0, -ENOMEM, "out of memory");
		}
		attrs_release(&tmp);
	}
	return 0;
}

/* Merge one layer (defaults, an ancestor, the node itself) into dst. */
static int merge_layer(struct ictx *c, struct tmpl_node *dst, const struct tmpl_node *src,
                       bool own)
{
	struct tmpl_attrs tmp = { 0 };
	if (resolve_attrs(c, &tmp, &src->attrs) < 0)
		goto fail;
	/* Abstract belongs to the node that says it, never inherited */
	if (!own) {
		struct tmpl_attr *ab = attrs_find_mut(&tmp, "Abstract");
		if (ab) {
			size_t at = (size_t)(ab - tmp.v);
			attr_release(ab);
			memmove(ab, ab + 1, (tmp.n - at - 1) * sizeof(*ab));
			tmp.n--;
		}
	}
	int mrc = attrs_merge(&dst->attrs, &tmp);
	if (mrc == -E2BIG) {
		ierr(c, src->line, -E2BIG, "'%s' has more than %d attributes with those it inherits",
		     dst->name, TMPL_MAX_ATTRS);
		goto fail;
	}
	if (mrc < 0)
		goto oom;
	attrs_release(&tmp);
	if (resolve_attrs(c, &tmp, &src->config) < 0)
		goto fail;
	mrc = attrs_merge(&dst->config, &tmp);
	if (mrc == -E2BIG) {
		ierr(c, src->line, -E2BIG, "'%s' has more than %d configuration entries with those "
		     "it inherits", dst->name, TMPL_MAX_ATTRS);
		goto fail;
	}
	if (mrc < 0)
		goto oom;
	attrs_release(&tmp);
	if (merge_inits(c, dst, src) < 0 || merge_subs(c, dst, src) < 0)
		return c->rc;
	return 0;
oom:
	ierr(c, 0, -ENOMEM, "out of memory");
fail:
	attrs_release(&tmp);
	return c->rc;
}

/* Drop the attributes whose value is undefined. */
static void attrs_prune(struct tmpl_attrs *l)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!l->v[i].value) {
			attr_release(&l->v[i]);
			continue;
		}
		l->v[k++] = l->v[i];
	}
	l->n = k;
}

static int build_node(struct ictx *c, struct tmpl_node *dst, const struct tmpl_node *n)
{
	const struct tmpl *t = c->t;
	const struct tmpl_node *chain[TMPL_MAX_EXTENDS + 1];
	int depth = 0;
	for (const struct tmpl_node *x = n; x && depth <= TMPL_MAX_EXTENDS;
	     x = x->extends ? tmpl_node_find(t, x->extends) : NULL)
		chain[depth++] = x;
	dst->line = n->line;
	dst->is_array = n->is_array;
	dst->abstract = n->abstract;
	if (!(dst->name = strdup(n->name)) || (n->extends && !(dst->extends = strdup(n->extends))))
		return ierr(c, 0, -ENOMEM, "out of memory");
	if (t->defaults && merge_layer(c, dst, t->defaults, false) < 0)
		return c->rc;
	for (int i = depth - 1; i >= 0; i--)
		if (merge_layer(c, dst, chain[i], i == 0) < 0)
			return c->rc;
	attrs_prune(&dst->attrs);
	attrs_prune(&dst->config);
	for (size_t i = 0; i < dst->n_inits; i++)
		attrs_prune(&dst->inits[i].attrs);
	for (size_t i = 0; i < dst->n_subs; i++)
		attrs_prune(&dst->subs[i].attrs);
	const struct tmpl_attr *mc = tmpl_attr_find(&dst->attrs, "MaxCount");
	if (mc) {
		const json_t *v = mc->value;
		json_int_t x = -1;
		if (json_is_integer(v))
			x = json_integer_value(v);
		else if (json_is_string(v)) {
			char *end;
			errno = 0;
			long long y = strtoll(json_string_value(v), &end, 10);
			if (json_string_length(v) && !*end && !errno)
				x = y;
		}
		if (x < 0) {
			char vt[80];
			value_text(v, vt, sizeof(vt));
			return ierr(c, mc->line, -EINVAL, "MaxCount of %s '%s' must be a whole number "
			            ">= 0, not %s", n->is_array ? "nodearray" : "node", n->name, vt);
		}
		struct tmpl_attr *m = attrs_find_mut(&dst->attrs, "MaxCount");
		json_decref(m->value);
		if (!(m->value = json_integer(x)))
			return ierr(c, 0, -ENOMEM, "out of memory");
	}
	return 0;
}

int tmpl_instantiate(const struct tmpl *t, const char *cluster_name,
                     const json_t *params, struct tmpl **out, char **err)
{
	*out = NULL;
	if (err)
		*err = NULL;
	struct ictx c = { .t = t };
	struct tmpl *r = NULL;
	if (params && !json_is_object(params)) {
		ierr(&c, 0, -EINVAL, "parameters must be a JSON object {\"Name\": value, ...}");
		goto done;
	}
	if (!cluster_name)
		cluster_name = t->template_name;
	if (!valid_node_name(cluster_name)) {
		ierr(&c, 0, -EINVAL, "'%.60s' is not a valid cluster name: use up to 63 letters, "
		     "digits, '-' and '_', starting with a letter or digit", cluster_name);
		goto done;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)params, k, v) {
		if (!tmpl_param_find(t, k)) {
			ierr(&c, 0, -EINVAL, "unknown parameter '%.80s': template '%s' (%s) declares no "
			     "such parameter", k, t->template_name, t->filename);
			goto done;
		}
	}
	if (!(r = calloc(1, sizeof(*r))) || !(c.values = json_object()) ||
	    json_object_set_new(c.values, BUILTIN_CLUSTER_NAME, json_string(cluster_name)) < 0) {
		ierr(&c, 0, -ENOMEM, "out of memory");
		goto done;
	}
	r->instantiated = true;
	r->line = t->line;
	if (!(r->name = strdup(cluster_name)) || !(r->template_name = strdup(t->template_name)) ||
	    !(r->filename = strdup(t->filename))) {
		ierr(&c, 0, -ENOMEM, "out of memory");
		goto done;
	}
	/* parameters: copies, with the value each takes */
	if (t->n_params && !(r->params = calloc(t->n_params, sizeof(*r->params)))) {
		ierr(&c, 0, -ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < t->n_params; i++) {
		const struct tmpl_param *p = &t->params[i];
		struct tmpl_param *q = &r->params[r->n_params++];
		*q = *p;
		q->name = strdup(p->name);
		q->section = xstrdup(p->section);
		q->subsection = xstrdup(p->subsection);
		q->type_name = xstrdup(p->type_name);
		q->label = xstrdup(p->label);
		q->description = xstrdup(p->description);
		q->default_value = p->default_value ? json_deep_copy(p->default_value) : NULL;
		q->choices = p->choices ? json_deep_copy(p->choices) : NULL;
		q->value = NULL;
		memset(&q->attrs, 0, sizeof(q->attrs));
		if (!q->name || !q->section || !q->type_name || (p->subsection && !q->subsection) ||
		    (p->label && !q->label) || (p->description && !q->description) ||
		    (p->default_value && !q->default_value) || (p->choices && !q->choices) ||
		    attrs_merge(&q->attrs, &p->attrs) < 0) {
			ierr(&c, 0, -ENOMEM, "out of memory");
			goto done;
		}
		json_t *given = params ? json_object_get(params, p->name) : NULL;
		if (given && json_is_null(given))
			given = NULL;
		if (given) {
			char why[200];
			q->value = param_convert(p, given, why, sizeof(why));
			if (!q->value) {
				char vt[80];
				value_text(given, vt, sizeof(vt));
				ierr(&c, p->line, -EINVAL, "parameter '%s' %s (%s), not %s", p->name, why,
				     p->type_name, vt);
				goto done;
			}
		} else if (p->default_value) {
			if (!(q->value = json_deep_copy(p->default_value))) {
				ierr(&c, 0, -ENOMEM, "out of memory");
				goto done;
			}
		} else if (p->required) {
			ierr(&c, p->line, -EINVAL, "parameter '%s'%s%s%s is required and has no default: "
			     "give it a value", p->name, p->label ? " (" : "", p->label ? p->label : "",
			     p->label ? ")" : "");
			goto done;
		}
		if (q->value && json_object_set(c.values, p->name, q->value) < 0) {
			ierr(&c, 0, -ENOMEM, "out of memory");
			goto done;
		}
	}
	if (resolve_attrs(&c, &r->attrs, &t->attrs) < 0)
		goto done;
	attrs_prune(&r->attrs);
	for (size_t i = 0; i < t->n_nodes; i++) {
		if (t->nodes[i].abstract)
			continue;
		struct tmpl_node *nn = grow(r->nodes, &r->n_nodes, sizeof(*nn), SIZE_MAX);
		if (!nn) {
			ierr(&c, 0, -ENOMEM, "out of memory");
			goto done;
		}
		r->nodes = nn;
		if (build_node(&c, &r->nodes[r->n_nodes - 1], &t->nodes[i]) < 0)
			goto done;
	}
	for (size_t i = 0; i < t->n_psections; i++) {
		const struct tmpl_psection *s = &t->psections[i];
		struct tmpl_psection *ns = grow(r->psections, &r->n_psections, sizeof(*ns), SIZE_MAX);
		if (!ns) {
			ierr(&c, 0, -ENOMEM, "out of memory");
			goto done;
		}
		r->psections = ns;
		ns = &r->psections[r->n_psections - 1];
		ns->line = s->line;
		ns->name = strdup(s->name);
		ns->parent = xstrdup(s->parent);
		if (!ns->name || (s->parent && !ns->parent) || attrs_merge(&ns->attrs, &s->attrs) < 0) {
			ierr(&c, 0, -ENOMEM, "out of memory");
			goto done;
		}
	}
done:
	json_decref(c.values);
	if (c.rc) {
		tmpl_free(r);
		if (err)
			*err = c.err;
		else
			free(c.err);
		return c.rc;
	}
	*out = r;
	return 0;
}

/* ---- JSON views ---- */

static json_t *attrs_json(const struct tmpl_attrs *a)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	for (size_t i = 0; i < a->n; i++) {
		const struct tmpl_attr *at = &a->v[i];
		json_t *v;
		if (at->kind == TMPL_V_REF || at->kind == TMPL_V_EXPR)
			v = at->value ? json_incref(at->value) :
			    at->kind == TMPL_V_REF ? json_sprintf("$%s", at->ref) :
			    json_sprintf("${%s}", at->text);
		else if (!at->value)
			continue;
		else
			v = json_incref(at->value);
		if (!v || json_object_set_new(o, at->key, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *node_json(const struct tmpl_node *n)
{
	json_t *inits = json_array(), *subs = json_array();
	json_t *o = json_pack("{sssbsbsosososo}", "name", n->name, "array", n->is_array,
	                      "abstract", n->abstract, "extends", str_or_null(n->extends),
	                      "attributes", attrs_json(&n->attrs),
	                      "configuration", attrs_json(&n->config),
	                      "cluster_init", inits ? json_incref(inits) : NULL);
	if (!o || !inits || !subs)
		goto fail;
	for (size_t i = 0; i < n->n_inits; i++) {
		const struct tmpl_init *in = &n->inits[i];
		json_t *e = json_pack("{sssssssosb}", "spec", in->spec, "project", in->project,
		                      "name", in->name, "version", str_or_null(in->version),
		                      "optional", json_is_true(tmpl_attr_value(&in->attrs, "Optional")));
		if (!e || json_array_append_new(inits, e) < 0)
			goto fail;
	}
	for (size_t i = 0; i < n->n_subs; i++) {
		const struct tmpl_sub *s = &n->subs[i];
		json_t *e = json_pack("{ssssso}", "kind", s->kind, "name", s->name,
		                      "attributes", attrs_json(&s->attrs));
		if (!e || json_array_append_new(subs, e) < 0)
			goto fail;
	}
	if (json_object_set(o, "sections", subs) < 0)
		goto fail;
	json_decref(inits);
	json_decref(subs);
	return o;
fail:
	json_decref(inits);
	json_decref(subs);
	json_decref(o);
	return NULL;
}

json_t *tmpl_to_json(const struct tmpl *t)
{
	if (!t)
		return NULL;
	json_t *nodes = json_array(), *params = json_object();
	json_t *o = json_pack("{sssssoso}", "name", t->name, "template", t->template_name,
	                      "attributes", attrs_json(&t->attrs),
	                      "nodes", nodes ? json_incref(nodes) : NULL);
	if (!o || !nodes || !params)
		goto fail;
	for (size_t i = 0; i < t->n_nodes; i++) {
		json_t *n = node_json(&t->nodes[i]);
		if (!n || json_array_append_new(nodes, n) < 0)
			goto fail;
	}
	for (size_t i = 0; i < t->n_params; i++) {
		const struct tmpl_param *p = &t->params[i];
		const json_t *v = t->instantiated ? p->value : p->default_value;
		if (v && json_object_set_new(params, p->name, json_deep_copy(v)) < 0)
			goto fail;
	}
	if (json_object_set(o, "parameters", params) < 0)
		goto fail;
	json_decref(nodes);
	json_decref(params);
	return o;
fail:
	json_decref(nodes);
	json_decref(params);
	json_decref(o);
	return NULL;
}

static json_t *num_or_null(bool has, double v)
{
	if (!has)
		return json_null();
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

json_t *tmpl_params_json(const struct tmpl *t)
{
	if (!t)
		return NULL;
	json_t *secs = json_array(), *ps = json_array();
	json_t *o = json_pack("{sOsO}", "sections", secs, "parameters", ps);
	if (!o)
		goto fail;
	for (size_t i = 0; i < t->n_psections; i++) {
		const struct tmpl_psection *s = &t->psections[i];
		const json_t *order = tmpl_attr_value(&s->attrs, "Order");
		json_t *e = json_pack("{sssosososO}", "name", s->name, "parent", str_or_null(s->parent),
		                      "label", str_or_null(attr_str(&s->attrs, "Label")),
		                      "description", str_or_null(attr_str(&s->attrs, "Description")),
		                      "order", order ? (json_t *)order : json_null());
		if (!e || json_array_append_new(secs, e) < 0)
			goto fail;
	}
	for (size_t i = 0; i < t->n_params; i++) {
		const struct tmpl_param *p = &t->params[i];
		json_t *e = json_pack("{sssssosssssosososbsOsbsosososo}",
		                      "name", p->name, "section", p->section ? p->section : "",
		                      "subsection", str_or_null(p->subsection),
		                      "type", ptype_name(p->type), "type_name", p->type_name,
		                      "label", str_or_null(p->label),
		                      "description", str_or_null(p->description),
		                      "default", p->default_value ? json_deep_copy(p->default_value) : json_null(),
		                      "required", p->required,
		                      "choices", p->choices ? p->choices : json_null(),
		                      "free_form", p->free_form,
		                      "min", num_or_null(p->has_min, p->min),
		                      "max", num_or_null(p->has_max, p->max),
		                      "attributes", attrs_json(&p->attrs),
		                      "value", t->instantiated && p->value ? json_deep_copy(p->value) : json_null());
		if (!e || json_array_append_new(ps, e) < 0)
			goto fail;
	}
	json_decref(secs);
	json_decref(ps);
	return o;
fail:
	json_decref(secs);
	json_decref(ps);
	json_decref(o);
	return NULL;
}
