/*
 * free-port: print a TCP port that nothing listens on right now, as the
 * kernel picks it for a bind to port 0.  For daemons that cannot take port 0
 * themselves (slurmctld, sshd, munged's peers).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/net.h"

int main(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "127.0.0.1";
	int fd = net_listen_tcp(host, 0, 1);
	if (fd < 0)
		die("cannot bind a socket on '%s': %s", host, strerror(-fd));
	printf("%d\n", net_local_port(fd));
	close(fd);
	return 0;
}
