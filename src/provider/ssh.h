/*
 * ssh.h: the ssh provider: nodes on machines that already exist, reached
 * only through the OpenSSH client (docs/ssh-provider.md).
 *
 * The manager's host pools (src/manager/pool.c) decide which host a node
 * gets and fill a struct ssh_target for it; everything here only talks to
 * that one host.  Nothing in this file keeps state between calls: what a
 * node installed on its host is found again on the host itself (a marker
 * file and a random tag in the install directory).
 *
 * Every call runs `ssh` with our own known_hosts file for the host
 * (StrictHostKeyChecking=yes, accept-new only at first contact), BatchMode,
 * the pool's key, no user or system ssh_config, and a hard time limit after
 * which ssh is killed.  Secrets (the node's token) travel only inside the
 * ssh channel, on stdin: never in argv, never in a log.
 *
 * Functions return 0 or -errno and fill *err (malloc'd, caller frees) with a
 * sentence a person can act on.  -EKEYREJECTED: the host key changed;
 * -EHOSTUNREACH: no answer; -EACCES: the key was refused.
 */
#ifndef STRATUS_PROVIDER_SSH_H
#define STRATUS_PROVIDER_SSH_H

#include <stdbool.h>
#include <stdint.h>

#include "provider/provider.h"

/* One existing host, as the pool knows it.  Strings are borrowed. */
struct ssh_target {
	const char *host;         /* the pool's name for it, "rack1-07" */
	const char *address;      /* where ssh connects, "10.1.2.11" */
	int port;                 /* 22 */
	const char *user;         /* "root", or a user with password-less sudo */
	const char *key_file;     /* private key (mode 0600) */
	const char *known_hosts;  /* this host's own known_hosts file */
	const char *install_dir;  /* what Stratus owns on the host, "/opt/stratus" */
	const char *manager_addr; /* the manager's address as the host reaches it */
	const char *specs;        /* the node's specs "PROJECT/SPEC ..." in template order
				     (their stop scripts run in reverse); may be NULL */
	int connect_timeout_s;    /* ssh ConnectTimeout (0: 10) */
	const char *stop_scope;   /* STRATUS_STOP_SCOPE for the stop scripts at release:
				     "node" (NULL) or "cluster" (the whole cluster goes) */
};

/* What a host said about itself at `host add`. */
struct ssh_facts {
	int64_t cores;
	int64_t memory_mb;
	char os[128];
	char kernel[96];
	char arch[32];
	char hostname[128];
	char leftover[160];       /* a Stratus install found there ("node X"), or "" */
	bool root;                /* root, or password-less sudo */
};

/*
 * Connect, check the host key (first_contact: record it if the known_hosts
 * file has none; otherwise it must match), and read the host's facts.
 */
int ssh_host_check(const struct ssh_target *t, bool first_contact, struct ssh_facts *f, char **err);

/*
 * The periodic check of a host: does it answer, is our agent running
 * (*agent_up), and bring its /etc/hosts block up to date with hosts_block
 * (NULL: leave it).  The block is written only once the node's agent was
 * started (acquire writes /etc/hosts itself before that); *hosts_pushed (may
 * be NULL) says whether it was.
 */
int ssh_host_probe(const struct ssh_target *t, const char *hosts_block, bool *agent_up, bool *hosts_pushed,
		   char **err);

/*
 * Give the host back: run the node's stop scripts (reverse order), stop
 * every process the agent and its scripts started, unmount what they
 * mounted, restore the hostname and /etc/hosts, remove the install
 * directory.  *log (malloc'd, may be NULL) gets what the stop scripts said.
 * Idempotent: a clean host is left as it is.
 */
int ssh_host_clean(const struct ssh_target *t, char **log, char **err);

/*
 * The /etc/hosts block for a node on a pool host, from the cluster's hosts
 * file (every node) with the manager's name pointing at manager_addr.
 * malloc'd in *out.
 */
int ssh_hosts_block(const char *hosts_file, const char *manager_addr, char **out, char **err);

/* Is s safe as an install directory (absolute, plain characters, not a system folder)? */
bool ssh_valid_install_dir(const char *s);

/* The handle of a node on a pool host: netns = "ssh:" HOST. */
#define SSH_HANDLE_PREFIX "ssh:"
bool ssh_is_handle(const struct node_handle *h);

/*
 * provider_ssh makes nodes on spec->ssh; provider_mixed is what stratusd
 * uses: a node with spec->ssh (or an ssh handle) goes to provider_ssh,
 * every other node to provider_local.
 */
extern const struct provider_ops provider_ssh;
extern const struct provider_ops provider_mixed;

#endif
