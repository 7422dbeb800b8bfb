/*
 * pool.h: the CLI's `stratus pool ...` and `stratus host ...` verbs (host
 * pools of the ssh provider, docs/ssh-provider.md).
 */
#ifndef STRATUS_CLI_POOL_H
#define STRATUS_CLI_POOL_H

#include <stdio.h>

/* Is argv[1] one of ours? */
int cli_pool_is_verb(const char *verb);
/* Run `stratus pool|host ...` (argv as main got it).  Exit code: 0, 1 failed, 2 usage. */
int cli_pool_main(int argc, char **argv);
/* The usage lines for `stratus --help`. */
void cli_pool_usage(FILE *f);

#endif
