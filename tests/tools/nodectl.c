/*
 * nodectl: drive the local provider (src/provider) from the shell, one
 * operation per call, so end-to-end tests can make networks and nodes
 * without a manager.  A node's handle (holder pid, netns, veth) is kept in a
 * small file between calls, as stratusd keeps it in its datastore.
 *
 *   nodectl net-up BRIDGE GATEWAY PREFIX
 *   nodectl net-down BRIDGE
 *   nodectl create --handle F --name N --ip IP --prefix P --gateway GW --bridge BR
 *                  --state-dir D --hosts FILE [--authorized-keys F --host-key-dir D]
 *                  [--ssh-key KEY] [--agent PATH --url URL --ca FILE --token-file FILE] [--cluster C]
 *   nodectl destroy --handle F [--name N]
 *   nodectl alive --handle F          exit 0 when the node runs
 *   nodectl pids --handle F           the pids running in the node, one a line
 *   nodectl exec --handle F -- CMD... run CMD in the node, exit with its status
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "provider/nodeproc.h"
#include "provider/provider.h"

struct opts {
	char *handle, *cluster, *name, *ip, *gateway, *bridge, *state_dir, *hosts;
	char *authorized_keys, *host_key_dir, *agent, *url, *ca, *token_file, *ssh_key;
	int64_t prefix;
};

static const struct cfg_opt table[] = {
	CFG_STR("handle", 0, struct opts, handle, NULL, "file that keeps the node's handle"),
	CFG_STR("cluster", 0, struct opts, cluster, "test", "cluster name"),
	CFG_STR("name", 0, struct opts, name, NULL, "node name (also its hostname)"),
	CFG_STR("ip", 0, struct opts, ip, NULL, "node address"),
	CFG_INT("prefix", 0, struct opts, prefix, "24", 8, 30, "prefix length of the cluster network"),
	CFG_STR("gateway", 0, struct opts, gateway, NULL, "the bridge's address"),
	CFG_STR("bridge", 0, struct opts, bridge, NULL, "bridge of the cluster network"),
	CFG_STR("state-dir", 0, struct opts, state_dir, NULL, "the node's directory on the host"),
	CFG_STR("hosts", 0, struct opts, hosts, NULL, "the node's /etc/hosts"),
	CFG_STR("authorized-keys", 0, struct opts, authorized_keys, NULL, "start sshd accepting these keys"),
	CFG_STR("ssh-key", 0, struct opts, ssh_key, NULL, "the cluster's private key, for root in the node"),
	CFG_STR("host-key-dir", 0, struct opts, host_key_dir, NULL, "sshd host keys (made if absent)"),
	CFG_STR("agent", 0, struct opts, agent, NULL, "start this stratus-node in the node"),
	CFG_STR("url", 0, struct opts, url, NULL, "manager URL for the agent"),
	CFG_STR("ca", 0, struct opts, ca, NULL, "manager certificate for the agent"),
	CFG_STR("token-file", 0, struct opts, token_file, NULL, "file holding the agent's token"),
	CFG_END
};

static const struct cfg_program prog = {
	"nodectl", "COMMAND [options] [ARGS]",
	"Drive the local provider: net-up, net-down, create, destroy, alive, pids, exec (a test tool).",
	table
};

static int save_handle(const char *path, const struct node_handle *h)
{
	char text[256];
	int n = snprintf(text, sizeof(text), "holder_pid %d\nnetns %s\nveth %s\n", (int)h->holder_pid,
			 h->netns, h->veth);
	return util_write_file_atomic(path, text, (size_t)n, 0600);
}

static void load_handle(const char *path, struct node_handle *h)
{
	char *text = NULL;
	size_t len;
	memset(h, 0, sizeof(*h));
	int rc = util_read_file(path, 4096, &text, &len);
	if (rc)
		die("cannot read handle file '%s': %s", path, strerror(-rc));
	int pid = 0;
	if (sscanf(text, "holder_pid %d netns %63s veth %15s", &pid, h->netns, h->veth) != 3)
		die("handle file '%s' is not one nodectl wrote", path);
	h->holder_pid = pid;
	free(text);
}

static char *read_token(const char *path)
{
	char *text = NULL;
	size_t len;
	int rc = util_read_file(path, 4096, &text, &len);
	if (rc)
		die("cannot read token file '%s': %s", path, strerror(-rc));
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

static void need(const char *what, const char *v)
{
	if (!v)
		die("--%s is needed; see 'nodectl --help'", what);
}

int main(int argc, char **argv)
{
	struct opts o;
	char *err = NULL;
	int rc;

	err_set_progname("nodectl");
	if (argc < 2)
		die("no command; see 'nodectl --help'");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		cfg_print_help(&prog);
		return 0;
	}
	int idx = cfg_parse_args(&prog, &o, argc - 1, argv + 1) + 1;
	int nargs = argc - idx;
	char **args = argv + idx;
	const struct provider_ops *p = &provider_local;

	if (!strcmp(cmd, "net-up")) {
		if (nargs != 3)
			die("usage: nodectl net-up BRIDGE GATEWAY PREFIX");
		int64_t prefix;
		if (cfg_parse_int(args[2], &prefix))
			die("bad prefix length '%s'", args[2]);
		rc = p->network_up(args[0], args[1], (int)prefix, &err);
	} else if (!strcmp(cmd, "net-down")) {
		if (nargs != 1)
			die("usage: nodectl net-down BRIDGE");
		rc = p->network_down(args[0], &err);
	} else if (!strcmp(cmd, "create")) {
		need("handle", o.handle);
		need("name", o.name);
		need("ip", o.ip);
		need("bridge", o.bridge);
		need("state-dir", o.state_dir);
		need("hosts", o.hosts);
		struct node_spec s = {
			.cluster = o.cluster, .name = o.name, .ip = o.ip, .prefix_len = (int)o.prefix,
			.gateway = o.gateway, .bridge = o.bridge, .state_dir = o.state_dir,
			.hosts_file = o.hosts, .authorized_keys = o.authorized_keys,
			.host_key_dir = o.host_key_dir, .agent_path = o.agent, .manager_url = o.url,
			.ca_file = o.ca, .token = o.token_file ? read_token(o.token_file) : NULL,
			.ssh_key = o.ssh_key,
		};
		struct node_handle h;
		rc = p->create(&s, &h, &err);
		if (!rc) {
			int w = save_handle(o.handle, &h);
			if (w) {
				/* A node nobody can find again would be left behind: undo it. */
				p->destroy(&s, &h, NULL);
				die("cannot write handle file '%s': %s; the node was destroyed", o.handle, strerror(-w));
			}
			printf("%d %s %s\n", (int)h.holder_pid, h.netns, h.veth);
		}
		free((char *)s.token);
	} else if (!strcmp(cmd, "destroy") || !strcmp(cmd, "alive") || !strcmp(cmd, "pids") ||
		   !strcmp(cmd, "exec")) {
		need("handle", o.handle);
		struct node_handle h;
		load_handle(o.handle, &h);
		struct node_spec s = { .name = o.name };
		if (!strcmp(cmd, "destroy")) {
			rc = p->destroy(&s, &h, &err);
		} else if (!strcmp(cmd, "alive")) {
			rc = p->alive(&s, &h) ? 0 : 1;
			printf("%s\n", rc ? "not running" : "running");
			cfg_release(&prog, &o);
			return rc;
		} else if (!strcmp(cmd, "pids")) {
			char path[128];
			struct ns_id net;
			pid_t *pids = NULL;
			snprintf(path, sizeof(path), "/run/netns/%s", h.netns);
			if (ns_id_of(path, &net) < 0) {
				cfg_release(&prog, &o);
				return 0; /* no namespace: nothing runs in it */
			}
			int n = node_find_pids(&net, NULL, &pids);
			for (int i = 0; i < n; i++)
				printf("%d\n", (int)pids[i]);
			free(pids);
			rc = n < 0 ? n : 0;
		} else {
			if (nargs < 1)
				die("usage: nodectl exec --handle F -- CMD [ARGS...]");
			rc = p->exec(&h, args, &err);
			if (rc >= 0) {
				cfg_release(&prog, &o);
				return rc;
			}
		}
	} else {
		die("unknown command '%s'; see 'nodectl --help'", cmd);
	}
	if (rc) {
		error("%s", err ? err : strerror(-rc));
		free(err);
		cfg_release(&prog, &o);
		return 1;
	}
	cfg_release(&prog, &o);
	return 0;
}
