/*
 * run.h: running helper programs (tar, ssh-keygen) from stratusd without a
 * shell, waiting for exactly the child we started.
 */
#ifndef STRATUS_MANAGER_RUN_H
#define STRATUS_MANAGER_RUN_H

/*
 * Run argv[0] (looked up in PATH) with stdin from in_path (NULL: /dev/null)
 * and stdout to out_path (NULL: /dev/null).  Returns its exit status (>= 0),
 * or -errno if it could not run; up to 2 KiB of its stderr go to *errtext
 * (malloc'd, may be NULL).
 */
int run_argv(char *const argv[], const char *in_path, const char *out_path, char **errtext);

/* Is S a safe name for a cluster, node, template, locker, project or version? */
int valid_name(const char *s);

#endif
