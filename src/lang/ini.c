/*
 * ini.c: INI files (project.ini) and the project description in them
 * (see ini.h).  Projects are uploaded by users, so the text is capped in
 * size, line length and number of entries, and every error names the line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "lang/ini.h"
#include "lang/lang_err.h"

struct ipstate {
	const char *file;
	int rc;
	char *err;
};

/* The first error of a parse, as "FILE:LINE: MSG" (lang_err.h). */
#define ierr(s, line, code, ...) lang_err(&(s)->rc, &(s)->err, (s)->file, (line), (code), __VA_ARGS__)

static void trim(const char **b, const char **e)
{
	while (*b < *e && isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

void ini_free(struct ini *ini)
{
	if (!ini)
		return;
	for (size_t i = 0; i < ini->n_sections; i++) {
		struct ini_section *s = &ini->sections[i];
		for (size_t j = 0; j < s->n_entries; j++) {
			free(s->entries[j].key);
			free(s->entries[j].value);
		}
		free(s->entries);
		free(s->name);
	}
	free(ini->sections);
	free(ini);
}

const struct ini_section *ini_section(const struct ini *ini, const char *name)
{
	if (!ini || !name)
		return NULL;
	for (size_t i = 0; i < ini->n_sections; i++)
		if (!strcasecmp(ini->sections[i].name, name))
			return &ini->sections[i];
	return NULL;
}

static const struct ini_entry *section_entry(const struct ini_section *s, const char *key)
{
	for (size_t j = 0; s && j < s->n_entries; j++)
		if (!strcasecmp(s->entries[j].key, key))
			return &s->entries[j];
	return NULL;
}

const char *ini_get(const struct ini *ini, const char *section, const char *key)
{
	const struct ini_entry *e = section_entry(ini_section(ini, section), key);
	return e ? e->value : NULL;
}

/* [name] with inner blanks squeezed to one. */
static char *squeeze(const char *b, const char *e)
{
	struct buf nb = BUF_INIT(INI_MAX_LINE);
	bool space = false;
	for (const char *q = b; q < e; q++) {
		if (isspace((unsigned char)*q)) {
			space = nb.len > 0;
			continue;
		}
		if ((space && buf_append(&nb, " ", 1) < 0) || buf_append(&nb, q, 1) < 0) {
			buf_release(&nb);
			return NULL;
		}
		space = false;
	}
	char *r = buf_detach(&nb, NULL);
	return r ? r : strdup("");
}

int ini_parse(const char *text, size_t len, const char *filename, struct ini **out, char **err)
{
	*out = NULL;
	if (err)
		*err = NULL;
	struct ipstate s = { .file = filename ? filename : "ini file" };
	struct ini *ini = calloc(1, sizeof(*ini));
	size_t entries = 0;
	if (!ini)
		return -ENOMEM;
	if (len > INI_MAX_TEXT) {
		ierr(&s, 0, -E2BIG, "larger than %u bytes", INI_MAX_TEXT);
		goto done;
	}
	if (len && memchr(text, 0, len)) {
		ierr(&s, 0, -EINVAL, "NUL byte in the text: an ini file is plain text");
		goto done;
	}
	size_t pos = 0;
	unsigned line = 0;
	while (pos < len && !s.rc) {
		const char *b = text + pos;
		const char *nl = memchr(b, '\n', len - pos);
		const char *e = nl ? nl : text + len;
		pos = nl ? (size_t)(nl - text) + 1 : len;
		line++;
		if ((size_t)(e - b) > INI_MAX_LINE) {
			ierr(&s, line, -E2BIG, "line longer than %d bytes", INI_MAX_LINE);
			break;
		}
		trim(&b, &e);
		if (b == e || *b == '#' || *b == ';')
			continue;
		if (++entries > INI_MAX_ENTRIES) {
			ierr(&s, line, -E2BIG, "more than %d lines of settings", INI_MAX_ENTRIES);
			break;
		}
		if (*b == '[') {
			if (e[-1] != ']' || e - b < 3) {
				ierr(&s, line, -EINVAL, "expected ']' to close the section name, e.g. "
				     "'[project]'");
				break;
			}
			char *name = squeeze(b + 1, e - 1);
			if (!name) {
				ierr(&s, line, -ENOMEM, "out of memory");
				break;
			}
			if (!*name || strchr(name, '[') || strchr(name, ']')) {
				ierr(&s, line, -EINVAL, "'[%.60s]' is not a section name", name);
				free(name);
				break;
			}
			const struct ini_section *dup = ini_section(ini, name);
			if (dup) {
				ierr(&s, line, -EINVAL, "section '[%s]' appears twice (first on line %u); "
				     "merge them", name, dup->line);
				free(name);
				break;
			}
			struct ini_section *ns = realloc(ini->sections,
			                                 (ini->n_sections + 1) * sizeof(*ns));
			if (!ns) {
				free(name);
				ierr(&s, line, -ENOMEM, "out of memory");
				break;
			}
			ini->sections = ns;
			memset(&ns[ini->n_sections], 0, sizeof(*ns));
			ns[ini->n_sections].name = name;
			ns[ini->n_sections].line = line;
			ini->n_sections++;
			continue;
		}
		const char *eq = memchr(b, '=', (size_t)(e - b));
		if (!eq) {
			ierr(&s, line, -EINVAL, "expected 'key = value' or '[section]', not '%.*s%s'",
			     (int)(e - b > 40 ? 40 : e - b), b, e - b > 40 ? "..." : "");
			break;
		}
		if (!ini->n_sections) {
			ierr(&s, line, -EINVAL, "setting before any section; put it under '[project]'");
			break;
		}
		const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
		trim(&kb, &ke);
		trim(&vb, &ve);
		if (kb == ke) {
			ierr(&s, line, -EINVAL, "expected a key before '='");
			break;
		}
		for (const char *q = kb; q < ke; q++)
			if (!(isalnum((unsigned char)*q) || *q == '_' || *q == '.' || *q == '-')) {
				ierr(&s, line, -EINVAL, "'%.*s' is not a key: use letters, digits, '_', '.' "
				     "and '-'", (int)(ke - kb > 40 ? 40 : ke - kb), kb);
				break;
			}
		if (s.rc)
			break;
		if (ve - vb >= 2 && *vb == '"' && ve[-1] == '"') {
			vb++;
			ve--;
		}
		struct ini_section *sec = &ini->sections[ini->n_sections - 1];
		char *key = strndup(kb, (size_t)(ke - kb));
		char *val = strndup(vb, (size_t)(ve - vb));
		if (key && section_entry(sec, key)) {
			ierr(&s, line, -EINVAL, "'%s' is set twice in '[%s]' (first on line %u); keep one",
			     key, sec->name, section_entry(sec, key)->line);
			free(key);
			free(val);
			break;
		}
		struct ini_entry *ne = key && val ?
			realloc(sec->entries, (sec->n_entries + 1) * sizeof(*ne)) : NULL;
		if (!ne) {
			free(key);
			free(val);
			ierr(&s, line, -ENOMEM, "out of memory");
			break;
		}
		sec->entries = ne;
		ne[sec->n_entries].key = key;
		ne[sec->n_entries].value = val;
		ne[sec->n_entries].line = line;
		sec->n_entries++;
	}
done:
	if (s.rc) {
		ini_free(ini);
		if (err)
			*err = s.err;
		else
			free(s.err);
		return s.rc;
	}
	*out = ini;
	return 0;
}

void project_info_free(struct project_info *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->label);
	free(p->type);
	free(p->version);
	for (size_t i = 0; i < p->n_specs; i++)
		free(p->specs[i]);
	free(p->specs);
	free(p);
}

static bool valid_word(const char *v, size_t max)
{
	size_t n = strlen(v);
	if (n == 0 || n > max || !isalnum((unsigned char)v[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)v[i]) || v[i] == '_' || v[i] == '.' || v[i] == '-'))
			return false;
	return true;
}

int project_ini_parse(const char *text, size_t len, const char *filename,
                      struct project_info **out, char **err)
{
	*out = NULL;
	if (err)
		*err = NULL;
	struct ipstate s = { .file = filename ? filename : "project.ini" };
	struct ini *ini = NULL;
	struct project_info *p = NULL;
	int rc = ini_parse(text, len, s.file, &ini, err);
	if (rc < 0)
		return rc;
	const struct ini_section *ps = ini_section(ini, "project");
	if (!ps) {
		ierr(&s, 0, -EINVAL, "no '[project]' section; add one with 'name = ...' and "
		     "'version = ...'");
		goto done;
	}
	const struct ini_entry *name = section_entry(ps, "name");
	const struct ini_entry *version = section_entry(ps, "version");
	const struct ini_entry *type = section_entry(ps, "type");
	const struct ini_entry *label = section_entry(ps, "label");
	if (!name) {
		ierr(&s, ps->line, -EINVAL, "section '[project]' has no 'name'; add 'name = "
		     "myproject'");
		goto done;
	}
	if (!valid_word(name->value, 64)) {
		ierr(&s, name->line, -EINVAL, "project name '%.64s' is not valid: use up to 64 "
		     "letters, digits, '_', '.' and '-', starting with a letter or digit", name->value);
		goto done;
	}
	if (!version) {
		ierr(&s, ps->line, -EINVAL, "section '[project]' has no 'version'; add 'version = "
		     "1.0.0'");
		goto done;
	}
	if (!valid_word(version->value, 32) || !isdigit((unsigned char)version->value[0])) {
		ierr(&s, version->line, -EINVAL, "version '%.32s' is not valid: write digits and "
		     "dots, e.g. '1.0.0'", version->value);
		goto done;
	}
	if (type && strcasecmp(type->value, "application") && strcasecmp(type->value, "scheduler") &&
	    strcasecmp(type->value, "filesystem")) {
		ierr(&s, type->line, -EINVAL, "project type '%.32s' is not known: use application, "
		     "scheduler or filesystem", type->value);
		goto done;
	}
	if (!(p = calloc(1, sizeof(*p))) || !(p->name = strdup(name->value)) ||
	    !(p->version = strdup(version->value)) ||
	    !(p->type = strdup(type ? type->value : "application")) ||
	    !(p->label = strdup(label ? label->value : name->value))) {
		ierr(&s, 0, -ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; p->type[i]; i++)
		p->type[i] = (char)tolower((unsigned char)p->type[i]);
	for (size_t i = 0; i < ini->n_sections; i++) {
		const struct ini_section *sec = &ini->sections[i];
		if (strncasecmp(sec->name, "spec ", 5))
			continue;
		const char *sn = sec->name + 5;
		if (!valid_word(sn, 64)) {
			ierr(&s, sec->line, -EINVAL, "spec name '%.64s' is not valid: use letters, "
			     "digits, '_', '.' and '-'", sn);
			goto done;
		}
		char **ns = realloc(p->specs, (p->n_specs + 1) * sizeof(*ns));
		if (!ns || !(ns[p->n_specs] = strdup(sn))) {
			if (ns)
				p->specs = ns;
			ierr(&s, 0, -ENOMEM, "out of memory");
			goto done;
		}
		p->specs = ns;
		p->n_specs++;
	}
done:
	ini_free(ini);
	if (s.rc) {
		project_info_free(p);
		if (err)
			*err = s.err;
		else
			free(s.err);
		return s.rc;
	}
	*out = p;
	return 0;
}
