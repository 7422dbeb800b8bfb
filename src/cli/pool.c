/*
 * pool.c: `stratus pool create|list|show|delete` and `stratus host
 * add|list|show|remove|clear`: host pools of the ssh provider over the
 * manager's /pools and /hosts routes (docs/ssh-provider.md).
 *
 * Kept apart from stratus.c so that its verb table stays the manager
 * engineer's; it reads the same settings file that `stratus initialize`
 * writes.  The private key of `host add` is read here and sent to the
 * manager over the pinned HTTPS connection only; it is never printed.
 */
#include "cli/pool.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "cli/client.h"
#include "common/config.h"
#include "common/util.h"

struct popts {
	char *config, *format;
	char *install_dir, *manager_address;
	int64_t probe_interval, fail_after, connect_timeout;
	char *key, *user;
	int64_t port, cores, memory;
	char *disks, *machine_type;
	bool force;
};

static const struct cfg_opt popt_tbl[] = {
	CFG_STR("settings", 0, struct popts, config, NULL, "the CLI settings file (default: $STRATUS_CONFIG or ~/.stratus/config.ini)"),
	CFG_STR("format", 0, struct popts, format, "text", "output: text (tables) or json"),
	CFG_STR("install-dir", 0, struct popts, install_dir, NULL, "pool create: the folder Stratus owns on each host (default /opt/stratus)"),
	CFG_STR("manager-address", 0, struct popts, manager_address, NULL, "pool create: the manager's IPv4 address as the hosts reach it (default: found from the route)"),
	CFG_DURATION("probe-interval", 0, struct popts, probe_interval, "5s", 200, 3600000, "pool create: how often each host is checked over ssh"),
	CFG_DURATION("fail-after", 0, struct popts, fail_after, "30s", 500, 86400000, "pool create: a busy host silent this long makes its node Failed"),
	CFG_INT("connect-timeout", 0, struct popts, connect_timeout, "10", 1, 300, "pool create: ssh connect timeout, seconds"),
	CFG_STR("key", 'k', struct popts, key, NULL, "host add: the ssh private key file (no passphrase)"),
	CFG_STR("user", 'u', struct popts, user, "root", "host add: the ssh user (root, or password-less sudo)"),
	CFG_INT("port", 'p', struct popts, port, "22", 1, 65535, "host add: the ssh port"),
	CFG_INT("cores", 0, struct popts, cores, "0", 0, 1 << 20, "host add: cores to offer (default: what the host has)"),
	CFG_SIZE("memory", 0, struct popts, memory, "0", 0, 1LL << 52, "host add: memory to offer, e.g. 64g (default: what the host has)"),
	CFG_STR("disks", 0, struct popts, disks, NULL, "host add: the host's disks, free text (e.g. /dev/nvme0n1:1.8T)"),
	CFG_STR("machine-type", 0, struct popts, machine_type, NULL, "host add: a machine type name (e.g. hpc.large)"),
	CFG_BOOL("force", 0, struct popts, force, "false", "host clear: mark it free without cleaning it over ssh"),
	CFG_END
};

struct pctx {
	struct popts o;
	struct cli_settings s;
	struct client c;
	bool json;
	int npos;
	char **pos;
};

static int load_settings(struct pctx *x)
{
	char path[PATH_MAX];
	cli_settings_path(x->o.config, path, sizeof(path));
	return cli_settings_load(path, &x->s, &x->c);
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
}

static const char *cell(json_t *v, char *tmp, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, len, "%lld", (long long)json_integer_value(v));
		return tmp;
	}
	return "";
}

static void print_table(json_t *rows, const char *const *keys, const char *const *heads, int ncol)
{
	size_t w[16] = { 0 }, i;
	char tmp[64];
	json_t *r;
	for (int c = 0; c < ncol; c++)
		w[c] = strlen(heads[c]);
	json_array_foreach(rows, i, r)
		for (int c = 0; c < ncol; c++) {
			size_t l = strlen(cell(json_object_get(r, keys[c]), tmp, sizeof(tmp)));
			if (l > w[c])
				w[c] = l > 70 ? 70 : l;
		}
	for (int c = 0; c < ncol; c++)
		printf("%-*s%s", (int)w[c], heads[c], c + 1 < ncol ? "  " : "\n");
	json_array_foreach(rows, i, r)
		for (int c = 0; c < ncol; c++)
			printf("%-*s%s", (int)w[c], cell(json_object_get(r, keys[c]), tmp, sizeof(tmp)),
			       c + 1 < ncol ? "  " : "\n");
}

static const char *const host_keys[] = { "name", "pool", "address", "state", "node", "cores", "memory_mb",
					 "machine_type", "reason" };
static const char *const host_heads[] = { "NAME", "POOL", "ADDRESS", "STATE", "NODE", "CORES", "MEMORY_MB",
					  "TYPE", "REASON" };

static int pool_verb(struct pctx *x)
{
	char path[512];
	json_t *a = NULL;
	const char *sub = x->npos ? x->pos[0] : "";
	if (!strcmp(sub, "create") && x->npos == 2) {
		json_t *b = json_pack("{s:s,s:I,s:I,s:I}", "name", x->pos[1], "probe_interval_ms",
				      (json_int_t)x->o.probe_interval, "fail_after_ms", (json_int_t)x->o.fail_after,
				      "connect_timeout_s", (json_int_t)x->o.connect_timeout);
		if (x->o.install_dir)
			json_object_set_new(b, "install_dir", json_string(x->o.install_dir));
		if (x->o.manager_address)
			json_object_set_new(b, "manager_address", json_string(x->o.manager_address));
		if (cli_call(&x->c, "POST", "/pools", b, &a, NULL))
			return 1;
		if (x->json)
			print_json(a);
		else
			printf("Created pool '%s' (install directory %s)\n", x->pos[1],
			       json_string_value(json_object_get(a, "install_dir")));
	} else if (!strcmp(sub, "list") && x->npos == 1) {
		if (cli_call(&x->c, "GET", "/pools", NULL, &a, NULL))
			return 1;
		static const char *const k[] = { "name", "hosts", "free", "busy", "unclean", "install_dir" };
		static const char *const h[] = { "NAME", "HOSTS", "FREE", "BUSY", "UNCLEAN", "INSTALL_DIR" };
		if (x->json)
			print_json(json_object_get(a, "pools"));
		else
			print_table(json_object_get(a, "pools"), k, h, 6);
	} else if (!strcmp(sub, "show") && x->npos == 2) {
		cli_path(path, sizeof(path), "/pools/", x->pos[1], "");
		if (cli_call(&x->c, "GET", path, NULL, &a, NULL))
			return 1;
		if (x->json) {
			print_json(a);
		} else {
			printf("Pool %s: %lld host(s), %lld free, %lld busy, %lld unclean; install directory %s\n\n",
			       x->pos[1], (long long)json_integer_value(json_object_get(a, "hosts")),
			       (long long)json_integer_value(json_object_get(a, "free")),
			       (long long)json_integer_value(json_object_get(a, "busy")),
			       (long long)json_integer_value(json_object_get(a, "unclean")),
			       json_string_value(json_object_get(a, "install_dir")));
			print_table(json_object_get(a, "host_list"), host_keys, host_heads, 9);
		}
	} else if (!strcmp(sub, "delete") && x->npos == 2) {
		cli_path(path, sizeof(path), "/pools/", x->pos[1], "");
		if (cli_call(&x->c, "DELETE", path, NULL, NULL, NULL))
			return 1;
		if (!x->json)
			printf("Deleted pool '%s'\n", x->pos[1]);
	} else {
		return cli_fail("usage: stratus pool create NAME [--install-dir D] [--manager-address A] [--probe-interval 5s] "
			    "[--fail-after 30s] | list | show NAME | delete NAME"), 2;
	}
	json_decref(a);
	return 0;
}

static int host_add(struct pctx *x)
{
	char path[512], *key = NULL;
	json_t *a = NULL;
	if (!x->o.key)
		return cli_fail("host add needs --key FILE (the ssh private key the host accepts)"), 2;
	int e = util_read_file(x->o.key, 64 << 10, &key, NULL);
	if (e < 0)
		return cli_fail("cannot read the key '%s': %s", x->o.key, strerror(-e));
	json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "name", x->pos[2], "address", x->pos[3],
			      "user", x->o.user, "private_key", key, "port", (json_int_t)x->o.port,
			      "cores", (json_int_t)x->o.cores, "memory_mb", (json_int_t)(x->o.memory >> 20));
	explicit_bzero(key, strlen(key));
	free(key);
	if (x->o.disks)
		json_object_set_new(b, "disks", json_string(x->o.disks));
	if (x->o.machine_type)
		json_object_set_new(b, "machine_type", json_string(x->o.machine_type));
	cli_path(path, sizeof(path), "/pools/", x->pos[1], "/hosts");
	/* The body held the key: cli_call sends it and frees it. */
	if (cli_call(&x->c, "POST", path, b, &a, NULL))
		return 1;
	if (x->json) {
		print_json(a);
	} else {
		json_t *f = json_object_get(a, "found");
		printf("Added host '%s' (%s) to pool '%s': %lld cores, %lld MiB, %s (%s, kernel %s); state %s\n",
		       x->pos[2], json_string_value(json_object_get(a, "ip")), x->pos[1],
		       (long long)json_integer_value(json_object_get(f, "cores")),
		       (long long)json_integer_value(json_object_get(f, "memory_mb")),
		       json_string_value(json_object_get(f, "os")), json_string_value(json_object_get(f, "arch")),
		       json_string_value(json_object_get(f, "kernel")), json_string_value(json_object_get(a, "state")));
		printf("Host key recorded: %s\n", json_string_value(json_object_get(a, "host_key")));
		const char *fp = json_string_value(json_object_get(a, "host_key_fingerprint"));
		if (fp)
			printf("Host key fingerprint: %s (compare with 'ssh-keygen -lf' of the host's key)\n", fp);
		const char *r = json_string_value(json_object_get(a, "reason"));
		if (r && *r)
			printf("Note: %s\n", r);
		size_t i;
		json_t *w;
		json_array_foreach(json_object_get(a, "warnings"), i, w)
			printf("Warning: %s\n", json_string_value(w));
	}
	json_decref(a);
	return 0;
}

static int host_verb(struct pctx *x)
{
	char path[512];
	json_t *a = NULL;
	const char *sub = x->npos ? x->pos[0] : "";
	if (!strcmp(sub, "add") && x->npos == 4)
		return host_add(x);
	if (!strcmp(sub, "list") && x->npos <= 2) {
		if (x->npos == 2)
			cli_path(path, sizeof(path), "/pools/", x->pos[1], "/hosts");
		else
			snprintf(path, sizeof(path), "/hosts");
		if (cli_call(&x->c, "GET", path, NULL, &a, NULL))
			return 1;
		if (x->json)
			print_json(json_object_get(a, "hosts"));
		else
			print_table(json_object_get(a, "hosts"), host_keys, host_heads, 9);
	} else if (!strcmp(sub, "show") && x->npos == 2) {
		cli_path(path, sizeof(path), "/hosts/", x->pos[1], "");
		if (cli_call(&x->c, "GET", path, NULL, &a, NULL))
			return 1;
		print_json(a);
	} else if (!strcmp(sub, "remove") && x->npos == 2) {
		cli_path(path, sizeof(path), "/hosts/", x->pos[1], "");
		if (cli_call(&x->c, "DELETE", path, NULL, NULL, NULL))
			return 1;
		if (!x->json)
			printf("Removed host '%s' (Stratus will not connect to it again)\n", x->pos[1]);
	} else if (!strcmp(sub, "clear") && x->npos == 2) {
		cli_path(path, sizeof(path), "/hosts/", x->pos[1], "/clear");
		if (cli_call(&x->c, "POST", path, json_pack("{s:b}", "force", x->o.force), &a, NULL))
			return 1;
		if (x->json)
			print_json(a);
		else
			printf("Host '%s' is %s%s\n", x->pos[1], json_string_value(json_object_get(a, "state")),
			       x->o.force ? " (not cleaned over ssh: --force)" : " (cleaned over ssh)");
	} else {
		return cli_fail("usage: stratus host add POOL NAME ADDRESS --key FILE [--user U] [--port P] [--cores N] "
			    "[--memory SIZE] [--disks TEXT] [--machine-type T] | list [POOL] | show NAME | "
			    "remove NAME | clear NAME [--force]"), 2;
	}
	json_decref(a);
	return 0;
}

int cli_pool_is_verb(const char *verb)
{
	return verb && (!strcmp(verb, "pool") || !strcmp(verb, "host"));
}

void cli_pool_usage(FILE *f)
{
	fprintf(f, "  %-18s %s\n", "pool", "create NAME [...] | list | show NAME | delete NAME   (host pools)");
	fprintf(f, "  %-18s %s\n", "host", "add POOL NAME ADDRESS --key FILE [...] | list [POOL] | show | remove | clear NAME");
}

int cli_pool_main(int argc, char **argv)
{
	struct pctx x;
	char progname[32];
	memset(&x, 0, sizeof(x));
	snprintf(progname, sizeof(progname), "stratus %s", argv[1]);
	struct cfg_program prog = {
		progname, !strcmp(argv[1], "pool") ? "create|list|show|delete [NAME] [options]"
						   : "add|list|show|remove|clear ... [options]",
		"Host pools: existing machines the ssh provider makes nodes on (docs/ssh-provider.md).", popt_tbl,
	};
	int nargc;
	char **nargv = cli_permute(popt_tbl, argc - 1, argv + 1, &nargc);
	if (!nargv)
		return cli_fail("out of memory");
	int idx = cfg_parse_args(&prog, &x.o, nargc, nargv);
	x.pos = nargv + idx;
	x.npos = nargc - idx;
	int rc = 2;
	if (strcmp(x.o.format, "json") && strcmp(x.o.format, "text")) {
		cli_fail("--format takes json or text, not '%s'", x.o.format);
		goto out;
	}
	x.json = !strcmp(x.o.format, "json");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = load_settings(&x);
	if (!rc)
		rc = !strcmp(argv[1], "pool") ? pool_verb(&x) : host_verb(&x);
	curl_global_cleanup();
	cli_settings_release(&x.s);
out:
	cfg_release(&prog, &x.o);
	free(nargv);
	return rc;
}
