/*
 * test_ini.c: unit tests of the INI parser and project.ini reading
 * (src/lang/ini.c): sections, comments, quoting, case, errors with their
 * line, and the project checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/ini.h"

static const char project_ini[] =
	"# a CycleCloud-style project\n"
	"; with both kinds of comment\n"
	"[project]\n"
	"name = slurm\n"
	"Label = \"Slurm for Stratus\"\n"
	"type = Scheduler\n"
	"version = 1.0.0\n"
	"\n"
	"[blobs]\n"
	"Files = a.tgz, b.deb\n"
	"\n"
	"[spec   scheduler]\n"
	"run_list = role[scheduler]\n"
	"[spec execute]\n";

static void test_ini_parse(void **state)
{
	struct ini *ini = NULL;
	char *err = NULL;
	assert_int_equal(ini_parse(project_ini, strlen(project_ini), "project.ini", &ini, &err), 0);
	assert_int_equal(ini->n_sections, 4);
	assert_string_equal(ini->sections[2].name, "spec scheduler");
	assert_int_equal(ini->sections[2].line, 12);
	assert_string_equal(ini_get(ini, "PROJECT", "NAME"), "slurm");
	assert_string_equal(ini_get(ini, "project", "label"), "Slurm for Stratus");
	assert_string_equal(ini_get(ini, "blobs", "files"), "a.tgz, b.deb");
	assert_string_equal(ini_get(ini, "spec scheduler", "run_list"), "role[scheduler]");
	assert_null(ini_get(ini, "project", "nope"));
	assert_null(ini_get(ini, "nope", "name"));
	assert_non_null(ini_section(ini, "Spec Execute"));
	assert_int_equal(ini_section(ini, "spec execute")->n_entries, 0);
	ini_free(ini);
}

static void test_project(void **state)
{
	struct project_info *p = NULL;
	char *err = NULL;
	assert_int_equal(project_ini_parse(project_ini, strlen(project_ini), NULL, &p, &err), 0);
	assert_string_equal(p->name, "slurm");
	assert_string_equal(p->label, "Slurm for Stratus");
	assert_string_equal(p->type, "scheduler");
	assert_string_equal(p->version, "1.0.0");
	assert_int_equal(p->n_specs, 2);
	assert_string_equal(p->specs[0], "scheduler");
	assert_string_equal(p->specs[1], "execute");
	project_info_free(p);

	const char *min = "[project]\nname=x\nversion=2\n";
	assert_int_equal(project_ini_parse(min, strlen(min), NULL, &p, &err), 0);
	assert_string_equal(p->label, "x");
	assert_string_equal(p->type, "application");
	assert_int_equal(p->n_specs, 0);
	project_info_free(p);
}

static void bad(const char *text, int want_rc, const char *want)
{
	struct project_info *p = NULL;
	char *err = NULL;
	int rc = project_ini_parse(text, strlen(text), "project.ini", &p, &err);
	if (rc != want_rc)
		fail_msg("rc %d, wanted %d: %s", rc, want_rc, err ? err : "-");
	assert_null(p);
	if (strcmp(err, want))
		fail_msg("error\n  '%s'\nwanted\n  '%s'", err, want);
	free(err);
}

static void test_errors(void **state)
{
	bad("name = x\n", -EINVAL, "project.ini:1: setting before any section; put it under '[project]'");
	bad("[project\nname = x\n", -EINVAL,
	    "project.ini:1: expected ']' to close the section name, e.g. '[project]'");
	bad("[project]\n\nname\n", -EINVAL,
	    "project.ini:3: expected 'key = value' or '[section]', not 'name'");
	bad("[project]\n = x\n", -EINVAL, "project.ini:2: expected a key before '='");
	bad("[project]\nmy name = x\n", -EINVAL,
	    "project.ini:2: 'my name' is not a key: use letters, digits, '_', '.' and '-'");
	bad("[project]\nname = a\nname = b\n", -EINVAL,
	    "project.ini:3: 'name' is set twice in '[project]' (first on line 2); keep one");
	bad("[project]\n[Project]\n", -EINVAL,
	    "project.ini:2: section '[Project]' appears twice (first on line 1); merge them");
	bad("[other]\nname = x\n", -EINVAL,
	    "project.ini: no '[project]' section; add one with 'name = ...' and 'version = ...'");
	bad("\n[project]\nversion = 1.0\n", -EINVAL,
	    "project.ini:2: section '[project]' has no 'name'; add 'name = myproject'");
	bad("[project]\nname = x\n", -EINVAL,
	    "project.ini:1: section '[project]' has no 'version'; add 'version = 1.0.0'");
	bad("[project]\nname = ../etc\nversion = 1\n", -EINVAL,
	    "project.ini:2: project name '../etc' is not valid: use up to 64 letters, digits, '_', "
	    "'.' and '-', starting with a letter or digit");
	bad("[project]\nname = x\nversion = latest\n", -EINVAL,
	    "project.ini:3: version 'latest' is not valid: write digits and dots, e.g. '1.0.0'");
	bad("[project]\nname = x\nversion = 1\ntype = daemon\n", -EINVAL,
	    "project.ini:4: project type 'daemon' is not known: use application, scheduler or filesystem");
	bad("[project]\nname = x\nversion = 1\n[spec ../x]\n", -EINVAL,
	    "project.ini:4: spec name '../x' is not valid: use letters, digits, '_', '.' and '-'");
	bad("[]\n", -EINVAL, "project.ini:1: expected ']' to close the section name, e.g. '[project]'");

	struct project_info *p = NULL;
	char *err = NULL;
	static const char nul[] = "[project]\0";
	assert_int_equal(project_ini_parse(nul, sizeof(nul) - 1, NULL, &p, &err), -EINVAL);
	assert_non_null(strstr(err, "NUL byte"));
	free(err);
	char *big = malloc(INI_MAX_TEXT + 1);
	memset(big, '#', INI_MAX_TEXT + 1);
	assert_int_equal(project_ini_parse(big, INI_MAX_TEXT + 1, NULL, &p, &err), -E2BIG);
	free(err);
	memcpy(big, "[project]\n", 10);
	memset(big + 10, 'k', INI_MAX_LINE + 1);
	assert_int_equal(project_ini_parse(big, 10 + INI_MAX_LINE + 1, NULL, &p, &err), -E2BIG);
	assert_string_equal(err, "project.ini:2: line longer than 4096 bytes");
	free(err);
	size_t n = (size_t)snprintf(big, INI_MAX_TEXT, "[project]\n");
	for (int i = 0; i <= INI_MAX_ENTRIES; i++)
		n += (size_t)snprintf(big + n, INI_MAX_TEXT - n, "k%d=1\n", i);
	assert_int_equal(project_ini_parse(big, n, NULL, &p, &err), -E2BIG);
	assert_string_equal(err, "project.ini:4097: more than 4096 lines of settings");
	free(err);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ini_parse),
		cmocka_unit_test(test_project),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
