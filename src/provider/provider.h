/*
 * provider.h: how the manager makes and destroys nodes.
 *
 * A provider turns a node record into something that runs: the local provider
 * makes Linux namespaces on this host (src/provider/local.c), the ssh provider
 * takes an existing host of a pool (src/provider/ssh.c).  stratusd calls these from a
 * worker thread, never from its event loop: create and destroy may take
 * seconds.  All functions return 0 or -errno and fill *err (malloc'd, caller
 * frees) with a sentence a person can act on when they fail.
 */
#ifndef STRATUS_PROVIDER_H
#define STRATUS_PROVIDER_H

#include <stdbool.h>
#include <sys/types.h>

struct ssh_target;

/* What the manager knows of a node when it asks a provider to make it. */
struct node_spec {
	const char *cluster;      /* "demo" */
	const char *name;         /* "demo-execute-1": also the hostname */
	const char *ip;           /* address on the cluster network, "10.77.3.11" */
	int prefix_len;           /* of that network, e.g. 24 */
	const char *gateway;      /* the manager's address on that network (bridge) */
	const char *bridge;       /* bridge to attach to, e.g. "stbr-demo" (local provider) */
	const char *state_dir;    /* per-node directory on the manager host: local disk, logs */
	const char *hosts_file;   /* /etc/hosts for the node (kept up to date by the manager) */
	const char *authorized_keys; /* public keys allowed to ssh in as root */
	const char *host_key_dir; /* where the node's sshd host keys live (made if absent) */
	const char *agent_path;   /* the stratus-node binary */
	const char *manager_url;  /* https://GATEWAY:PORT as the node reaches stratusd */
	const char *ca_file;      /* the manager's certificate, for the agent to verify */
	const char *token;        /* the node's own API token (secret: never logged) */
	/* Optional (NULL: none): the cluster's private key, given to the node's root
	 * (with its .pub beside it, if there) so that nodes ssh to each other as
	 * real cluster nodes do.  Local nodes get a private /root/.ssh for it. */
	const char *ssh_key;
	const struct ssh_target *ssh; /* ssh provider: the pool host (provider/ssh.h); NULL: local */
	/* Optional (NULL: none): the node's secret configuration values (its
	 * cluster's MUNGE key...), a JSON object's text, never logged.  The
	 * provider hands it to the agent as the file its `secrets` setting names
	 * (mode 0600): local nodes read it in place on this host, pool hosts get
	 * it inside the ssh channel. */
	const char *secrets;
};

/* What a provider remembers of a node it made, stored by the manager. */
struct node_handle {
	pid_t holder_pid;         /* local: the process that holds the namespaces */
	char netns[64];           /* local: network namespace name; ssh: "ssh:HOST" */
	char veth[16];            /* local: host side of the veth pair */
};

struct provider_ops {
	const char *name;         /* "local", "ssh" */
	/* One-time set-up (bridges, NAT-less routes...) for a cluster network. */
	int (*network_up)(const char *bridge, const char *gateway, int prefix_len, char **err);
	int (*network_down)(const char *bridge, char **err);
	/* Make the node and start sshd and the agent in it; fills *h. */
	int (*create)(const struct node_spec *spec, struct node_handle *h, char **err);
	/* Stop everything in the node, unmount, remove namespaces and links. Idempotent. */
	int (*destroy)(const struct node_spec *spec, const struct node_handle *h, char **err);
	/* Is the node still there (for reconciliation after a manager restart)? */
	bool (*alive)(const struct node_spec *spec, const struct node_handle *h);
	/* Run argv inside the node (as root), wait, return its exit status (>= 0) or -errno. */
	int (*exec)(const struct node_handle *h, char *const argv[], char **err);
};

extern const struct provider_ops provider_local;

#endif
