/*
 * mount.sfs: the helper mount(8) runs for `mount -t sfs SRC DIR -o OPTS` and
 * for sfs lines in /etc/fstab.  It runs sfs-mount (next to this program, or
 * on PATH) with the same source, mount point and options; mount(8)'s own
 * flags (-n, -s, -f, -v) are dropped.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"

int main(int argc, char **argv)
{
	err_set_progname("mount.sfs");
	char *args[16];
	int n = 0;
	char self[PATH_MAX], prog[PATH_MAX + 16];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	args[n++] = "sfs-mount";
	for (int i = 1; i < argc && n < 12; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			args[n++] = "-o";
			args[n++] = argv[++i];
		} else if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "-s") || !strcmp(argv[i], "-f") ||
			   !strcmp(argv[i], "-v")) {
			continue;
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			i++;
		} else {
			args[n++] = argv[i];
		}
	}
	args[n] = NULL;
	if (len > 0) {
		self[len] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(prog, sizeof(prog), "%s/sfs-mount", self);
			if (access(prog, X_OK) == 0)
				execv(prog, args);
		}
	}
	execvp("sfs-mount", args);
	die("cannot run 'sfs-mount': %s; is StratusFS installed?", strerror(errno));
}
