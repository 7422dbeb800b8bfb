/*
 * ini.h: INI files as CycleCloud projects write them (project.ini), and the
 * project description read from one.
 *
 *   # comment            ; comment too (whole lines only)
 *   [project]
 *   name = slurm
 *   label = Slurm
 *   type = scheduler
 *   version = 1.0.0
 *
 *   [spec scheduler]     optional: per-spec settings
 *   run_list = ...
 *
 * Section and key names are compared without case; values keep theirs, with
 * surrounding blanks and one pair of surrounding double quotes removed.
 * The library never logs; errors come back in *err.
 */
#ifndef STRATUS_LANG_INI_H
#define STRATUS_LANG_INI_H

#include <stddef.h>

#define INI_MAX_TEXT     (256u << 10)
#define INI_MAX_LINE     4096
#define INI_MAX_ENTRIES  4096

struct ini_entry {
	char *key;
	char *value;
	unsigned line;
};

struct ini_section {
	char *name;        /* as written inside [...], blanks squeezed: "spec scheduler" */
	unsigned line;
	struct ini_entry *entries;
	size_t n_entries;
};

struct ini {
	struct ini_section *sections; /* in file order; entries before any section
	                                 are an error */
	size_t n_sections;
};

/*
 * Parse INI text (need not be NUL-terminated).  filename (may be NULL) is for
 * messages.  Returns 0 and *out (free with ini_free), -EINVAL (syntax, a key
 * twice in a section, a section twice), -E2BIG (INI_MAX_*), -ENOMEM; *err
 * (caller frees) is "FILE:LINE: what was expected".
 */
int ini_parse(const char *text, size_t len, const char *filename,
              struct ini **out, char **err);
/* The section NAME (without case), or NULL. */
const struct ini_section *ini_section(const struct ini *ini, const char *name);
/* The value of KEY in SECTION (without case), borrowed, or NULL. */
const char *ini_get(const struct ini *ini, const char *section, const char *key);
void ini_free(struct ini *ini);

/* A project, from its project.ini. */
struct project_info {
	char *name;        /* [project] name: required, [A-Za-z0-9_.-], <= 64 bytes */
	char *label;       /* label, or a copy of name */
	char *type;        /* type: application (default), scheduler, filesystem */
	char *version;     /* version: required, digits and dots/letters, e.g. 1.0.0 */
	char **specs;      /* names of [spec NAME] sections, in file order */
	size_t n_specs;
};

/*
 * Read a project.ini.  Returns 0 and *out (free with project_info_free), or
 * -EINVAL / -E2BIG / -ENOMEM with *err naming the file, line and what is
 * wrong (e.g. "project.ini: section '[project]' has no 'version'; add
 * 'version = 1.0.0'").  The spec folders themselves (specs/NAME) are the
 * caller's to check.
 */
int project_ini_parse(const char *text, size_t len, const char *filename,
                      struct project_info **out, char **err);
void project_info_free(struct project_info *p);

#endif
