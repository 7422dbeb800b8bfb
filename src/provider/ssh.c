/*
 * ssh.c: the ssh provider of ssh.h: a node on a machine that already exists.
 *
 * Why the OpenSSH client and not libssh: it is already on every machine we
 * build on (the local provider runs sshd, the CLI runs ssh), its host key
 * handling (known_hosts, StrictHostKeyChecking, accept-new) is the one
 * operators know and audit, and a child process is the simplest hard time
 * limit there is: a host that stops answering in the middle of a transfer
 * costs one SIGKILL, never a stuck manager thread.
 *
 * Each operation is one ssh session running `sh -c SCRIPT` on the host, with
 * SCRIPT built here from fixed text and checked values (no secret in it),
 * and data (a tar of the agent and its config) on stdin.  What we install
 * lives under the pool's install directory; a marker file there says it is
 * ours, a random tag in the environment of the agent (inherited by every
 * cluster-init script and the daemons they start) finds our processes again,
 * and the mount table and hostname saved at acquire say what to undo.
 */
#include "provider/ssh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"

#define SSH_PATH "ssh"
#define CREATE_TIMEOUT_MS 120000
#define CLEAN_TIMEOUT_MS 300000   /* stop scripts may take a while */
#define PROBE_EXTRA_MS 15000      /* beyond the connect timeout */
#define MAX_OUT (4u << 20)
#define MAX_AGENT (256u << 20)

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char **err, const char *fmt, ...)
{
	if (!err)
		return;
	free(*err);
	*err = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

/* ---- checks on what goes into a remote script ---- */

static bool chars_ok(const char *s, const char *extra)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(extra, c)))
			return false;
	}
	return true;
}

bool ssh_valid_install_dir(const char *s)
{
	static const char *const sys[] = { "proc", "sys", "dev", "etc", "usr", "bin", "sbin", "lib",
					   "lib32", "lib64", "boot", "run", "tmp", "root", "home", "var" };
	if (!s || s[0] != '/' || strlen(s) > 200 || !chars_ok(s, "/._-") || strstr(s, "//") ||
	    strstr(s, "/.") || s[strlen(s) - 1] == '/')
		return false;
	/* At least two levels (/opt/stratus), and not straight under a system folder
	 * (rm -rf of it must never hurt the machine). */
	const char *second = strchr(s + 1, '/');
	if (!second)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(sys); i++)
		if ((size_t)(second - s - 1) == strlen(sys[i]) && !strncmp(s + 1, sys[i], strlen(sys[i])) &&
		    !strchr(second + 1, '/'))
			return false;
	return true;
}

bool ssh_is_handle(const struct node_handle *h)
{
	return h && !strncmp(h->netns, SSH_HANDLE_PREFIX, strlen(SSH_HANDLE_PREFIX));
}

static bool valid_hostname(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= 63 && chars_ok(s, "-") && s[0] != '-' && s[n - 1] != '-';
}

static int check_target(const struct ssh_target *t, char **err)
{
	if (!t || !chars_ok(t->host, "._-") || strlen(t->host) > 63) {
		set_err(err, "bad pool host name '%s'", t && t->host ? t->host : "");
		return -EINVAL;
	}
	if (!chars_ok(t->address, ".:-") || t->address[0] == '-' || strlen(t->address) > 253) {
		set_err(err, "bad address '%s' for host '%s': give an IP address or a host name",
			t->address ? t->address : "", t->host);
		return -EINVAL;
	}
	if (!chars_ok(t->user, "._-") || t->user[0] == '-' || strlen(t->user) > 32) {
		set_err(err, "bad ssh user '%s' for host '%s'", t->user ? t->user : "", t->host);
		return -EINVAL;
	}
	if (t->port < 1 || t->port > 65535) {
		set_err(err, "bad ssh port %d for host '%s'", t->port, t->host);
		return -EINVAL;
	}
	if (!t->key_file || access(t->key_file, R_OK) < 0) {
		set_err(err, "cannot read the ssh key '%s' of host '%s'", t->key_file ? t->key_file : "",
			t->host);
		return -ENOENT;
	}
	if (!t->known_hosts || t->known_hosts[0] != '/') {
		set_err(err, "no known_hosts file for host '%s'", t->host);
		return -EINVAL;
	}
	if (!ssh_valid_install_dir(t->install_dir)) {
		set_err(err, "bad install directory '%s' for host '%s': give a folder of its own such as "
			"/opt/stratus (plain characters, two levels at least, not a system folder)",
			t->install_dir ? t->install_dir : "", t->host);
		return -EINVAL;
	}
	if (t->specs && *t->specs && !chars_ok(t->specs, "._-/ ")) {
		set_err(err, "bad spec list '%s'", t->specs);
		return -EINVAL;
	}
	return 0;
}

/* ---- running ssh ---- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Everything a memfd holds, as a NUL-terminated string (capped). */
static char *memfd_text(int fd)
{
	off_t n = lseek(fd, 0, SEEK_END);
	if (n < 0)
		n = 0;
	if ((size_t)n > MAX_OUT)
		n = MAX_OUT;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	ssize_t r = n ? pread(fd, s, (size_t)n, 0) : 0;
	s[r > 0 ? r : 0] = '\0';
	return s;
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Shell-quote s into b as one word. */
static void sh_quote(struct buf *b, const char *s)
{
	buf_puts(b, "'");
	for (; *s; s++) {
		if (*s == '\'')
			buf_puts(b, "'\\''");
		else
			buf_append(b, s, 1);
	}
	buf_puts(b, "'");
}

/*
 * The outcome of one ssh run: the remote script's exit status (or 255: ssh
 * itself failed), its stdout and stderr.
 */
struct ssh_result {
	int status;
	char *out;
	char *errtext;
};

static void ssh_result_release(struct ssh_result *r)
{
	free(r->out);
	free(r->errtext);
	memset(r, 0, sizeof(*r));
}

/*
 * Run SCRIPT on the host with stdin from in_fd (-1: /dev/null).  Returns 0
 * with *res filled when ssh ran (whatever the status), or -errno when it
 * could not be started or took longer than timeout_ms (then it is killed).
 */
static int ssh_run(const struct ssh_target *t, bool first_contact, const char *script, int in_fd,
		   int timeout_ms, struct ssh_result *res, char **err)
{
	char port[16], cto[48], kh[4200], id[4200];
	struct buf cmd = BUF_INIT(1 << 20);
	int ofd = -1, efd = -1, pfd = -1, rc = 0;
	pid_t pid = -1;

	memset(res, 0, sizeof(*res));
	snprintf(port, sizeof(port), "%d", t->port);
	snprintf(cto, sizeof(cto), "ConnectTimeout=%d", t->connect_timeout_s > 0 ? t->connect_timeout_s : 10);
	snprintf(kh, sizeof(kh), "UserKnownHostsFile=%s", t->known_hosts);
	snprintf(id, sizeof(id), "%s", t->key_file);
	/* The remote login shell parses this one string: root runs sh, others sudo -n sh. */
	if (strcmp(t->user, "root"))
		buf_puts(&cmd, "sudo -n ");
	buf_puts(&cmd, "sh -c ");
	sh_quote(&cmd, script);
	if (!cmd.data) {
		set_err(err, "the remote script for host '%s' is too large", t->host);
		return -E2BIG;
	}
	const char *argv[] = {
		SSH_PATH, "-F", "/dev/null", "-T", "-x", "-a",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", id,
		"-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
		"-o", first_contact ? "StrictHostKeyChecking=accept-new" : "StrictHostKeyChecking=yes",
		"-o", kh, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "UpdateHostKeys=no",
		"-o", "CheckHostIP=no", "-o", cto, "-o", "ServerAliveInterval=5",
		"-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR", "-o", "ControlMaster=no",
		"-o", "ControlPath=none", "-p", port, "-l", t->user, "--", t->address, cmd.data, NULL
	};
	ofd = memfd_create("stratus-ssh-out", MFD_CLOEXEC);
	efd = memfd_create("stratus-ssh-err", MFD_CLOEXEC);
	if (ofd < 0 || efd < 0) {
		rc = -errno;
		set_err(err, "cannot make memfds to run ssh: %s", strerror(-rc));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		set_err(err, "cannot fork to run ssh: %s", strerror(-rc));
		goto out;
	}
	if (pid == 0) {
		int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(ofd, 1) < 0 || dup2(efd, 2) < 0)
			_exit(127);
		if (in_fd >= 0)
			lseek(0, 0, SEEK_SET);
		setsid();
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* exec(2) takes char *const[] for history's sake; it does not write them. */
		execvp(SSH_PATH, (char *const *)argv);
		dprintf(2, "cannot run ssh: %s; is openssh-client installed?\n", strerror(errno));
		_exit(127);
	}
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = 0;
	int64_t end = util_mono_ms() + timeout_ms;
	bool done = false;
	while (!done) {
		int64_t left = end - util_mono_ms();
		if (left <= 0)
			break;
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			int n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
			if (n < 0 && errno != EINTR)
				break;
		} else {
			sleep_ms(20);
		}
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			done = true;
		else if (w < 0 && errno == ECHILD) {
			/* Reaped by someone else (a subreaping manager's reaper): the status is lost. */
			status = 255 << 8;
			done = true;
		}
	}
	if (!done) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		rc = -ETIMEDOUT;
		set_err(err, "host '%s' (%s) did not finish within %d s over ssh; is it overloaded or hung?",
			t->host, t->address, timeout_ms / 1000);
		goto out;
	}
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	res->out = memfd_text(ofd);
	res->errtext = memfd_text(efd);
	if (res->errtext)
		trim(res->errtext);
out:
	if (pfd >= 0)
		close(pfd);
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	buf_release(&cmd);
	return rc;
}

/*
 * Turn ssh's own failure (status 255) into -errno and a sentence; 0 when
 * the remote side ran.
 */
static int ssh_failure(const struct ssh_target *t, const struct ssh_result *r, char **err)
{
	if (r->status != 255)
		return 0;
	const char *e = r->errtext && *r->errtext ? r->errtext : "no message";
	if (strstr(e, "IDENTIFICATION HAS CHANGED") || strstr(e, "Host key verification failed") ||
	    strstr(e, "key for") /* "No ED25519 host key is known for" */) {
		set_err(err, "the host key of '%s' (%s) is not the one recorded at first contact: refusing "
			"to connect (a reinstalled host, or someone in the middle); if the host was "
			"reinstalled, run 'stratus host remove %s' and add it again", t->host, t->address, t->host);
		return -EKEYREJECTED;
	}
	if (strstr(e, "Permission denied")) {
		set_err(err, "host '%s' (%s) refused the key for user '%s': add the pool key's public half "
			"to that user's authorized_keys", t->host, t->address, t->user);
		return -EACCES;
	}
	/* Keep the first line of what ssh said: it names the cause. */
	char line[400];
	snprintf(line, sizeof(line), "%s", e);
	line[strcspn(line, "\n")] = '\0';
	set_err(err, "host '%s' (%s) does not answer over ssh: %s", t->host, t->address, line);
	return -EHOSTUNREACH;
}

/* ---- the remote scripts ---- */

/*
 * Shell functions every remote script shares.  Variables set before them:
 * D (install dir), SPECS (PROJECT/SPEC ... in template order), NODE.
 * Processes of ours carry STRATUS_HOST_TAG=<tag of the install> in their
 * environment; grep -z reads /proc/PID/environ as NUL-separated lines.
 */
static const char script_lib[] =
	"set -u\n"
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH\n"
	"fail() { echo \"$*\" >&2; exit 1; }\n"
	"our_pids() {\n"
	"  [ -n \"${TAG:-}\" ] || return 0\n"
	"  grep -lzx \"STRATUS_HOST_TAG=$TAG\" /proc/[0-9]*/environ 2>/dev/null |\n"
	"    sed -n 's#^/proc/\\([0-9]*\\)/environ$#\\1#p' | grep -vx \"$$\"\n"
	"}\n"
	"hosts_block() {\n"
	"  hb_tmp=$(mktemp) || return 1\n"
	"  awk '$0==\"# BEGIN stratus-node\"{s=1;next} $0==\"# END stratus-node\"{s=0;next} !s' /etc/hosts >\"$hb_tmp\" ||\n"
	"    { rm -f \"$hb_tmp\"; return 1; }\n"
	"  if [ -n \"$1\" ]; then { echo '# BEGIN stratus-node'; cat \"$1\"; echo '# END stratus-node'; } >>\"$hb_tmp\"; fi\n"
	/* In place, not renamed: /etc/hosts may be a bind mount.  Overwritten in
	 * one write, then cut to size, never truncated first: a lookup at that
	 * moment must not find the file empty (and ask a DNS server instead). */
	"  cmp -s \"$hb_tmp\" /etc/hosts || { dd if=\"$hb_tmp\" of=/etc/hosts conv=notrunc bs=4M status=none &&\n"
	"    truncate -s \"$(wc -c <\"$hb_tmp\")\" /etc/hosts; } || { rm -f \"$hb_tmp\"; return 1; }\n"
	"  rm -f \"$hb_tmp\"\n"
	"  if [ -n \"$1\" ] && [ -f \"$D/ssh/id_ed25519\" ]; then root_ssh \"$1\"; else root_ssh ''; fi\n"
	"}\n"
	/* The cluster's ssh key for root: a block of ours in root's authorized_keys
	 * (the cluster's public key) and at the top of root's ssh config (the
	 * cluster's names use the private key in $D/ssh), so that root on one node
	 * reaches the others (mpirun) and 'stratus ssh' reaches the node.  Blocks
	 * between our markers are ours; files and folders we made are listed in
	 * $D/ssh/made and go at release when nothing else is in them. */
	/* Root's ssh files are replaced whole (rename), and only when they change:
	 * an ssh starting at that moment (mpiexec's) must find either the old or
	 * the new block, never a file without ours. */
	"strip_to() {\n"
	"  if [ -f \"$1\" ]; then\n"
	"    awk 'index($0,\"# BEGIN stratus-node\")==1{s=1;next} index($0,\"# END stratus-node\")==1{s=0;next} !s' \"$1\"\n"
	"  fi\n"
	"}\n"
	"replace_file() {\n"
	"  if [ -f \"$1\" ] && cmp -s \"$2\" \"$1\"; then rm -f \"$2\"; return 0; fi\n"
	"  if [ -L \"$1\" ]; then cat \"$2\" >\"$1\"; st=$?; rm -f \"$2\"; return $st; fi\n"
	"  if [ -f \"$1\" ]; then chmod --reference=\"$1\" \"$2\" && chown --reference=\"$1\" \"$2\" || { rm -f \"$2\"; return 1; }; fi\n"
	"  mv -f \"$2\" \"$1\" || { rm -f \"$2\"; return 1; }\n"
	"}\n"
	"root_ssh() {\n"
	"  rs=\"$(getent passwd root | cut -d: -f6)\"; rs=\"${rs:-/root}/.ssh\"\n"
	"  if [ -z \"$1\" ]; then\n"
	"    for f in \"$rs/authorized_keys\" \"$rs/config\"; do\n"
	"      [ -f \"$f\" ] || continue\n"
	"      t=$(mktemp \"$rs/.stratus.XXXXXX\") || return 1\n"
	"      strip_to \"$f\" >\"$t\" && replace_file \"$f\" \"$t\" || { rm -f \"$t\"; return 1; }\n"
	"    done\n"
	"    [ -f \"$D/ssh/made\" ] || return 0\n"
	"    for f in $(tac \"$D/ssh/made\"); do\n"
	"      if [ -d \"$f\" ]; then rmdir \"$f\" 2>/dev/null; elif [ ! -s \"$f\" ]; then rm -f \"$f\"; fi\n"
	"    done\n"
	"    rm -f \"$D/ssh/made\"\n"
	"    return 0\n"
	"  fi\n"
	"  ( umask 077\n"
	"    for f in \"$rs\" \"$rs/authorized_keys\" \"$rs/config\"; do\n"
	"      [ -e \"$f\" ] && continue\n"
	"      if [ \"$f\" = \"$rs\" ]; then mkdir -p \"$f\"; else : >\"$f\"; fi && echo \"$f\" >>\"$D/ssh/made\" || exit 1\n"
	"    done\n"
	"    t=$(mktemp \"$rs/.stratus.XXXXXX\") || exit 1\n"
	"    { strip_to \"$rs/authorized_keys\" && echo '# BEGIN stratus-node' && cat \"$D/ssh/authorized_keys\" &&\n"
	"      echo '# END stratus-node'; } >\"$t\" && replace_file \"$rs/authorized_keys\" \"$t\" || { rm -f \"$t\"; exit 1; }\n"
	"    names=$(awk '{for(i=2;i<=NF;i++) if($i!=\"stratus-manager\") printf \" %s %s\", $i, $1}' \"$1\")\n"
	"    t=$(mktemp \"$rs/.stratus.XXXXXX\") || exit 1\n"
	"    { if [ -n \"$names\" ]; then echo '# BEGIN stratus-node'; echo \"Host$names\"; echo \"  IdentityFile $D/ssh/id_ed25519\"\n"
	"        echo '  StrictHostKeyChecking no'; echo '  UserKnownHostsFile /dev/null'; echo '  LogLevel ERROR'\n"
	"        echo '# END stratus-node'; fi; strip_to \"$rs/config\"; } >\"$t\" && replace_file \"$rs/config\" \"$t\" ||\n"
	"      { rm -f \"$t\"; exit 1; }\n"
	"    exit 0 )\n"
	"}\n"
	"new_mounts() {\n"
	"  awk '{print $5}' /proc/self/mountinfo | grep -vxF -f \"$D/mounts.before\" | grep -v '\\\\' | tac\n"
	"}\n"
	"cleanup() {\n"
	"  if [ ! -f \"$D/.stratus-install\" ]; then\n"
	"    [ -e \"$D\" ] && [ -n \"$(ls -A \"$D\" 2>/dev/null)\" ] && fail \"'$D' exists and was not made by Stratus; pick another install directory for the pool\"\n"
	"    hosts_block '' || fail 'cannot rewrite /etc/hosts'\n"
	"    return 0\n"
	"  fi\n"
	"  TAG=$(cat \"$D/tag\" 2>/dev/null || true)\n"
	"  problems=''\n"
	/* No list from the manager (an operator's clear): every spec the agent fetched. */
	"  [ -n \"$SPECS\" ] || SPECS=$(cd \"$D/state/specs\" 2>/dev/null && ls -d */* 2>/dev/null | tr '\\n' ' ')\n"
	"  rev=''; for sp in $SPECS; do rev=\"$sp $rev\"; done\n"
	"  for sp in $rev; do\n"
	"    sd=\"$D/state/specs/$sp/cluster-init\"\n"
	"    [ -d \"$sd/stop\" ] || continue\n"
	"    for s in $(LC_ALL=C ls -r \"$sd/stop\"); do\n"
	"      case \"$s\" in .*|*[!A-Za-z0-9._-]*) continue;; esac\n"
	"      [ -f \"$sd/stop/$s\" ] || continue\n"
	"      echo \"== stop script $sp/$s\"\n"
	"      if [ -x \"$sd/stop/$s\" ]; then run=\"$sd/stop/$s\"; else run=\"bash $sd/stop/$s\"; fi\n"
	"      (cd \"$sd\" && env STRATUS_NODE_NAME=\"$NODE\" STRATUS_SPEC_DIR=\"$sd\" STRATUS_NODE_CONFIG=\"$D/state/node.json\" \\\n"
	"        STRATUS_STOP_SCOPE=\"$SCOPE\" STRATUS_AGENT_CONFIG=\"$D/agent.conf\" STRATUS_LOCAL_DISK=\"$D/disk\" \\\n"
	"        PATH=\"$D/bin:$PATH\" timeout 120 $run) </dev/null 2>&1 || problems=\"$problems stop script $sp/$s exited $?;\"\n"
	"    done\n"
	"  done\n"
	/* FUSE mounts first, lazily: a process blocked on one would not die. */
	"  for m in $(new_mounts); do\n"
	"    case \"$(awk -v m=\"$m\" '$5==m{for(i=7;i<=NF;i++) if($i==\"-\"){print $(i+1); exit}}' /proc/self/mountinfo)\" in\n"
	"      fuse*) umount -l \"$m\" 2>/dev/null;; esac\n"
	"  done\n"
	"  pids=$(our_pids); [ -z \"$pids\" ] || kill -TERM $pids 2>/dev/null\n"
	"  i=0; while [ -n \"$(our_pids)\" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done\n"
	"  pids=$(our_pids); [ -z \"$pids\" ] || kill -KILL $pids 2>/dev/null\n"
	"  i=0; while [ -n \"$(our_pids)\" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done\n"
	"  left=$(our_pids | wc -l)\n"
	"  [ \"$left\" -eq 0 ] || problems=\"$problems $left process(es) of ours still run after SIGKILL;\"\n"
	"  for m in $(new_mounts); do\n"
	"    umount \"$m\" 2>/dev/null || umount -l \"$m\" 2>/dev/null || problems=\"$problems cannot unmount $m;\"\n"
	"  done\n"
	"  [ -s \"$D/hostname.orig\" ] && { hostname \"$(cat \"$D/hostname.orig\")\" || problems=\"$problems cannot restore the hostname;\"; }\n"
	"  hosts_block '' || problems=\"$problems cannot restore /etc/hosts;\"\n"
	"  [ -z \"$problems\" ] || fail \"cannot clean up:$problems\"\n"
	"  rm -rf \"$D\" || fail \"cannot remove '$D'\"\n"
	"  [ ! -e \"$D\" ] || fail \"'$D' is still there after rm -rf\"\n"
	"}\n";

/* The script head: variables, then the library. */
static void script_head(struct buf *b, const struct ssh_target *t, const char *node)
{
	buf_puts(b, "D=");
	sh_quote(b, t->install_dir);
	buf_puts(b, "\nSPECS=");
	sh_quote(b, t->specs ? t->specs : "");
	buf_puts(b, "\nNODE=");
	sh_quote(b, node ? node : "");
	/* What the agent's own 'stop --scope' gives stop scripts (docs/nodes.md). */
	buf_puts(b, t->stop_scope && !strcmp(t->stop_scope, "cluster") ? "\nSCOPE=cluster\n" : "\nSCOPE=node\n");
	buf_puts(b, script_lib);
}

static const char script_facts[] =
	"echo \"cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)\"\n"
	"echo \"memory_kb=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)\"\n"
	"os=unknown; [ -r /etc/os-release ] && os=$(. /etc/os-release; echo \"${PRETTY_NAME:-unknown}\")\n"
	"echo \"os=$os\"\n"
	"echo \"kernel=$(uname -r)\"\n"
	"echo \"arch=$(uname -m)\"\n"
	"echo \"hostname=$(hostname)\"\n"
	"[ -f \"$D/.stratus-install\" ] && echo \"leftover=$(head -c 100 \"$D/.stratus-install\" | head -n 1)\"\n"
	"if [ \"$(id -u)\" = 0 ] || sudo -n true 2>/dev/null; then echo root=yes; else echo root=no; fi\n"
	"exit 0\n";

/* Parse key=value lines of the facts script. */
static void parse_facts(const char *out, struct ssh_facts *f)
{
	memset(f, 0, sizeof(*f));
	const char *p = out;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
		char *eq = strchr(line, '=');
		if (eq) {
			*eq = '\0';
			const char *v = eq + 1;
			char *end;
			if (!strcmp(line, "cores"))
				f->cores = strtoll(v, &end, 10);
			else if (!strcmp(line, "memory_kb"))
				f->memory_mb = strtoll(v, &end, 10) / 1024;
			else if (!strcmp(line, "os"))
				snprintf(f->os, sizeof(f->os), "%s", v);
			else if (!strcmp(line, "kernel"))
				snprintf(f->kernel, sizeof(f->kernel), "%s", v);
			else if (!strcmp(line, "arch"))
				snprintf(f->arch, sizeof(f->arch), "%s", v);
			else if (!strcmp(line, "hostname"))
				snprintf(f->hostname, sizeof(f->hostname), "%s", v);
			else if (!strcmp(line, "leftover"))
				snprintf(f->leftover, sizeof(f->leftover), "%s", v);
			else if (!strcmp(line, "root"))
				f->root = !strcmp(v, "yes");
		}
		p = nl ? nl + 1 : NULL;
	}
	/* What a host says is text from the network: keep it printable. */
	char *fields[] = { f->os, f->kernel, f->arch, f->hostname, f->leftover };
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		for (char *c = fields[i]; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
}

int ssh_host_check(const struct ssh_target *t, bool first_contact, struct ssh_facts *f, char **err)
{
	struct buf s = BUF_INIT(1 << 20);
	struct ssh_result r;
	int rc = check_target(t, err);
	if (rc)
		return rc;
	buf_puts(&s, "D=");
	sh_quote(&s, t->install_dir);
	buf_puts(&s, "\n");
	buf_puts(&s, script_facts);
	rc = ssh_run(t, first_contact, s.data, -1, (t->connect_timeout_s > 0 ? t->connect_timeout_s : 10) * 1000 + PROBE_EXTRA_MS,
		     &r, err);
	buf_release(&s);
	if (rc)
		return rc;
	if ((rc = ssh_failure(t, &r, err)))
		goto out;
	if (r.status != 0) {
		set_err(err, "host '%s' (%s) answered, but reading its facts failed (exit %d): %s", t->host,
			t->address, r.status, r.errtext && *r.errtext ? r.errtext : "no message");
		rc = -EIO;
		goto out;
	}
	parse_facts(r.out ? r.out : "", f);
	if (f->cores <= 0 || f->memory_mb <= 0) {
		set_err(err, "host '%s' (%s) answered, but did not say its cores and memory; is it Linux "
			"with /proc, nproc and awk?", t->host, t->address);
		rc = -EPROTO;
	}
out:
	ssh_result_release(&r);
	return rc;
}

int ssh_host_probe(const struct ssh_target *t, const char *hosts_block, bool *agent_up, bool *hosts_pushed,
		   char **err)
{
	struct buf s = BUF_INIT(1 << 20);
	struct ssh_result r;
	int rc = check_target(t, err), in = -1;
	*agent_up = false;
	if (hosts_pushed)
		*hosts_pushed = false;
	if (rc)
		return rc;
	script_head(&s, t, NULL);
	buf_puts(&s,
		 "if [ -f \"$D/agent.pid\" ] && kill -0 \"$(cat \"$D/agent.pid\")\" 2>/dev/null; then echo agent=up; "
		 "else echo agent=down; fi\n");
	if (hosts_block) {
		/* agent.pid is written after acquire's own hosts_block: from then on the
		 * block is ours to keep current. */
		buf_puts(&s, "if [ -f \"$D/.stratus-install\" ] && [ -f \"$D/agent.pid\" ]; then "
			 "cat >\"$D/hosts.block\" && hosts_block \"$D/hosts.block\" || fail 'cannot update /etc/hosts'; "
			 "echo hosts=pushed; fi\n");
		in = memfd_create("stratus-hosts", MFD_CLOEXEC);
		if (in < 0 || write(in, hosts_block, strlen(hosts_block)) != (ssize_t)strlen(hosts_block)) {
			rc = -errno ? -errno : -EIO;
			set_err(err, "cannot stage the hosts block for '%s': %s", t->host, strerror(-rc));
			goto out_noresult;
		}
	}
	buf_puts(&s, "exit 0\n");
	rc = ssh_run(t, false, s.data, in, (t->connect_timeout_s > 0 ? t->connect_timeout_s : 10) * 1000 + PROBE_EXTRA_MS,
		     &r, err);
	if (rc)
		goto out_noresult;
	if ((rc = ssh_failure(t, &r, err)))
		goto out;
	if (r.status != 0) {
		set_err(err, "the check of host '%s' failed (exit %d): %s", t->host, r.status,
			r.errtext && *r.errtext ? r.errtext : "no message");
		rc = -EIO;
		goto out;
	}
	*agent_up = r.out && strstr(r.out, "agent=up");
	if (hosts_pushed)
		*hosts_pushed = r.out && strstr(r.out, "hosts=pushed");
out:
	ssh_result_release(&r);
out_noresult:
	if (in >= 0)
		close(in);
	buf_release(&s);
	return rc;
}

int ssh_host_clean(const struct ssh_target *t, char **log, char **err)
{
	struct buf s = BUF_INIT(1 << 20);
	struct ssh_result r;
	if (log)
		*log = NULL;
	int rc = check_target(t, err);
	if (rc)
		return rc;
	script_head(&s, t, NULL);
	buf_puts(&s, "NODE=$(sed -n 's/^node //p' \"$D/.stratus-install\" 2>/dev/null)\ncleanup\nexit 0\n");
	rc = ssh_run(t, false, s.data, -1, CLEAN_TIMEOUT_MS, &r, err);
	buf_release(&s);
	if (rc)
		return rc;
	if ((rc = ssh_failure(t, &r, err)))
		goto out;
	if (r.status != 0) {
		set_err(err, "host '%s' (%s) could not be cleaned (exit %d): %s", t->host, t->address, r.status,
			r.errtext && *r.errtext ? r.errtext : "no message");
		rc = -EIO;
	}
out:
	if (log && r.out && *r.out) {
		*log = r.out;
		r.out = NULL;
	}
	ssh_result_release(&r);
	return rc;
}

int ssh_hosts_block(const char *hosts_file, const char *manager_addr, char **out, char **err)
{
	char *text = NULL;
	struct buf b = BUF_INIT(16 << 20);
	struct in_addr a;
	int rc;
	*out = NULL;
	if (!manager_addr || inet_pton(AF_INET, manager_addr, &a) != 1) {
		set_err(err, "bad manager address '%s': give the IPv4 address the hosts reach the manager at",
			manager_addr ? manager_addr : "");
		return -EINVAL;
	}
	if ((rc = util_read_file(hosts_file, 16 << 20, &text, NULL)) < 0) {
		set_err(err, "cannot read the cluster's hosts file '%s': %s", hosts_file, strerror(-rc));
		return rc;
	}
	buf_printf(&b, "%s\tstratus-manager\n", manager_addr);
	/* Only "IP NAME" lines of node names: localhost and the manager's local name stay out. */
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ip[64], name[128];
		struct in_addr x;
		if (line[0] == '#' || sscanf(line, "%63s %127s", ip, name) != 2)
			continue;
		if (inet_pton(AF_INET, ip, &x) != 1 || !strcmp(name, "stratus-manager") ||
		    !strcmp(name, "localhost") || !valid_hostname(name) || (ntohl(x.s_addr) >> 24) == 127)
			continue;
		buf_printf(&b, "%s\t%s\n", ip, name);
	}
	free(text);
	if (!b.data) {
		buf_release(&b);
		set_err(err, "the hosts block is too large");
		return -E2BIG;
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

/* ---- a tar on stdin: the agent, its config and the CA ---- */

/* One ustar member (regular file or directory) into fd. */
static int tar_add(int fd, const char *name, mode_t mode, const void *data, size_t len, bool dir)
{
	unsigned char h[512];
	memset(h, 0, sizeof(h));
	if (strlen(name) >= 100)
		return -ENAMETOOLONG;
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", (unsigned)mode & 07777);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)(dir ? 0 : len));
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)time(NULL));
	memset(h + 148, ' ', 8);
	h[156] = dir ? '5' : '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		return -EIO;
	if (dir || !len)
		return 0;
	if (write(fd, data, len) != (ssize_t)len)
		return -EIO;
	static const unsigned char zero[512];
	size_t pad = (512 - len % 512) % 512;
	if (pad && write(fd, zero, pad) != (ssize_t)pad)
		return -EIO;
	return 0;
}

static int tar_end(int fd)
{
	static const unsigned char zero[1024];
	return write(fd, zero, sizeof(zero)) == (ssize_t)sizeof(zero) ? 0 : -EIO;
}

/* The port of "https://HOST:PORT". */
static int url_port(const char *url)
{
	const char *c = url ? strrchr(url, ':') : NULL;
	if (!c)
		return -1;
	char *end;
	long p = strtol(c + 1, &end, 10);
	return (*end == '\0' || *end == '/') && p > 0 && p < 65536 ? (int)p : -1;
}

static bool has_newline(const char *s)
{
	return s && strpbrk(s, "\r\n");
}

/* A file of the manager's into the tar as NAME; a missing file adds nothing. */
static int tar_file(int fd, const char *name, const char *path, mode_t mode)
{
	char *data = NULL;
	size_t len = 0;
	int rc = util_read_file(path, MAX_AGENT, &data, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = tar_add(fd, name, mode, data, len, false);
	if (mode == 0600)
		explicit_bzero(data, len);
	free(data);
	return rc;
}

/*
 * The cluster's ssh key (ssh/id_ed25519, ssh/authorized_keys): acquire
 * installs it for root (root_ssh in script_lib) and release removes it.
 */
static int tar_cluster_key(int fd, const struct node_spec *spec)
{
	if (!spec->ssh_key || !spec->authorized_keys || access(spec->ssh_key, R_OK) ||
	    access(spec->authorized_keys, R_OK))
		return 0;
	int rc = tar_add(fd, "ssh/", 0700, NULL, 0, true);
	if (!rc)
		rc = tar_file(fd, "ssh/id_ed25519", spec->ssh_key, 0600);
	if (!rc)
		rc = tar_file(fd, "ssh/authorized_keys", spec->authorized_keys, 0644);
	return rc;
}

/*
 * The programs beside the agent that cluster-init finds there (the stratusfs
 * project's servers and client, the benchmarks the slurm project puts in
 * /shared/bin): a host gets the manager's own build, as it gets the agent.
 */
static int tar_programs(int fd, const char *agent_path)
{
	static const char *const progs[] = { "sfs-mds", "sfs-oss", "sfs-mount", "sfs", "stratus-ior",
					     "stratus-mdtest" };
	char dir[PATH_MAX], path[PATH_MAX + 32], name[64];
	snprintf(dir, sizeof(dir), "%s", agent_path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, progs[i]);
		snprintf(name, sizeof(name), "bin/%s", progs[i]);
		int rc = access(path, X_OK) ? 0 : tar_file(fd, name, path, 0755);
		if (rc)
			return rc;
	}
	return 0;
}

/* Make the memfd holding the tar that acquire unpacks into the install dir. */
static int stage_tar(const struct node_spec *spec, const struct ssh_target *t, int *fdout, char **err)
{
	char *agent = NULL, *ca = NULL, *block = NULL;
	size_t agent_len = 0, ca_len = 0;
	struct buf conf = BUF_INIT(1 << 16);
	int fd = -1, rc;
	int port = url_port(spec->manager_url);

	*fdout = -1;
	if (port < 0 || !spec->token || has_newline(spec->token) || !spec->ca_file) {
		set_err(err, "cannot start the agent of node '%s': its manager url, token and CA file must be set",
			spec->name);
		return -EINVAL;
	}
	if ((rc = util_read_file(spec->agent_path, MAX_AGENT, &agent, &agent_len)) < 0) {
		set_err(err, "cannot read the agent program '%s': %s", spec->agent_path, strerror(-rc));
		goto out;
	}
	if ((rc = util_read_file(spec->ca_file, 1 << 20, &ca, &ca_len)) < 0) {
		set_err(err, "cannot read the manager's certificate '%s': %s", spec->ca_file, strerror(-rc));
		goto out;
	}
	if ((rc = ssh_hosts_block(spec->hosts_file, t->manager_addr, &block, err)))
		goto out;
	/* The agent reaches the manager by the name its certificate holds, which
	 * the hosts block points at the manager's address on the host's network. */
	buf_printf(&conf,
		   "# stratus-node of node %s on host %s, written by stratusd's ssh provider (secret: mode 0600)\n"
		   "url = https://stratus-manager:%d\ntoken = %s\nca = %s/ca.pem\nname = %s\nstate_dir = %s/state\n"
		   "local_disk = %s/disk\n",
		   spec->name, t->host, port, spec->token, t->install_dir, spec->name, t->install_dir, t->install_dir);
	/* The cluster's secrets travel here, inside the ssh channel, and nowhere else. */
	if (spec->secrets)
		buf_printf(&conf, "secrets = %s/secrets.json\n", t->install_dir);
	if (!conf.data) {
		rc = -ENOMEM;
		goto out;
	}
	fd = memfd_create("stratus-stage", MFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		set_err(err, "cannot make a memfd for the agent's files: %s", strerror(-rc));
		goto out;
	}
	if ((rc = tar_add(fd, "bin/", 0755, NULL, 0, true)) ||
	    (rc = tar_add(fd, "bin/stratus-node", 0755, agent, agent_len, false)) ||
	    (rc = tar_add(fd, "state/", 0700, NULL, 0, true)) ||
	    (rc = tar_add(fd, "disk/", 0755, NULL, 0, true)) ||
	    (rc = tar_add(fd, "agent.conf", 0600, conf.data, conf.len, false)) ||
	    (spec->secrets && (rc = tar_add(fd, "secrets.json", 0600, spec->secrets, strlen(spec->secrets), false))) ||
	    (rc = tar_add(fd, "ca.pem", 0644, ca, ca_len, false)) ||
	    (rc = tar_add(fd, "hosts.block", 0644, block, strlen(block), false)) ||
	    (rc = tar_cluster_key(fd, spec)) || (rc = tar_programs(fd, spec->agent_path)) ||
	    (rc = tar_end(fd))) {
		set_err(err, "cannot stage the agent's files for node '%s': %s", spec->name, strerror(-rc));
		goto out;
	}
	*fdout = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (conf.data)
		explicit_bzero(conf.data, conf.len);
	buf_release(&conf);
	free(agent);
	free(ca);
	free(block);
	return rc;
}

/* ---- provider_ssh ---- */

static int ssh_network_up(const char *bridge, const char *gateway, int prefix_len, char **err)
{
	return 0; /* the hosts' own network is the cluster network */
}

static int ssh_network_down(const char *bridge, char **err)
{
	return 0;
}

static const char script_acquire[] =
	"cleanup\n"
	"TAG=$NEWTAG\n"
	"umask 022\n"
	"mkdir -p \"$D\" || fail \"cannot make '$D'\"\n"
	/* The marker first: a half-made install is still ours to clean. */
	"printf 'node %s\\n' \"$NODE\" >\"$D/.stratus-install\" || fail \"cannot write in '$D'\"\n"
	"printf '%s\\n' \"$TAG\" >\"$D/tag\"\n"
	"hostname >\"$D/hostname.orig\"\n"
	"awk '{print $5}' /proc/self/mountinfo >\"$D/mounts.before\"\n"
	"tar -x --no-same-owner -C \"$D\" -f - || fail \"cannot unpack the agent into '$D'\"\n"
	"chmod 0600 \"$D/agent.conf\"\n"
	"[ ! -e \"$D/secrets.json\" ] || chmod 0600 \"$D/secrets.json\"\n"
	"hosts_block \"$D/hosts.block\" || fail 'cannot write the cluster names into /etc/hosts'\n"
	"hostname \"$NODE\" || fail \"cannot set the hostname to '$NODE'\"\n"
	"cd \"$D\" || fail \"cannot enter '$D'\"\n"
	"env -i PATH=\"$PATH\" HOME=\"${HOME:-/root}\" LANG=C.UTF-8 STRATUS_HOST_TAG=\"$TAG\" \\\n"
	"  setsid \"$D/bin/stratus-node\" run --config \"$D/agent.conf\" </dev/null >>\"$D/agent.log\" 2>&1 &\n"
	"echo $! >\"$D/agent.pid\"\n"
	"sleep 0.3\n"
	"kill -0 \"$(cat \"$D/agent.pid\")\" 2>/dev/null || fail \"the agent exited at once: $(tail -n 5 \"$D/agent.log\" | tr '\\n' ' ')\"\n"
	"echo started\n"
	"exit 0\n";

static int ssh_create(const struct node_spec *spec, struct node_handle *h, char **err)
{
	const struct ssh_target *t = spec->ssh;
	struct buf s = BUF_INIT(1 << 20);
	struct ssh_result r = { 0 };
	unsigned char rnd[8];
	char tag[24];
	int fd = -1, rc;

	memset(h, 0, sizeof(*h));
	if (!t) {
		set_err(err, "node '%s' has no pool host", spec->name ? spec->name : "");
		return -EINVAL;
	}
	if ((rc = check_target(t, err)))
		return rc;
	if (!valid_hostname(spec->name)) {
		set_err(err, "bad node name '%s': use 1 to 63 letters, digits or '-' (a hostname)", spec->name);
		return -EINVAL;
	}
	if (!spec->agent_path) {
		set_err(err, "no agent program to copy to host '%s'; give stratusd --agent", t->host);
		return -EINVAL;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		rc = -errno;
		set_err(err, "cannot get random bytes: %s", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(tag + 2 * i, 3, "%02x", rnd[i]);
	/* Whatever happens from here, the host may hold something of ours: say so in the handle. */
	snprintf(h->netns, sizeof(h->netns), SSH_HANDLE_PREFIX "%s", t->host);
	if ((rc = stage_tar(spec, t, &fd, err)))
		return rc;
	script_head(&s, t, spec->name);
	buf_printf(&s, "NEWTAG=%s\n", tag);
	buf_puts(&s, script_acquire);
	rc = ssh_run(t, false, s.data, fd, CREATE_TIMEOUT_MS, &r, err);
	if (rc)
		goto out;
	if ((rc = ssh_failure(t, &r, err)))
		goto out;
	if (r.status != 0) {
		set_err(err, "cannot start node '%s' on host '%s' (%s): %s", spec->name, t->host, t->address,
			r.errtext && *r.errtext ? r.errtext : "the install script failed");
		rc = -EIO;
		goto out;
	}
	rc = 0;
out:
	ssh_result_release(&r);
	buf_release(&s);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int ssh_destroy(const struct node_spec *spec, const struct node_handle *h, char **err)
{
	if (!spec || !spec->ssh) {
		set_err(err, "node '%s' ran on pool host '%s', which the pool no longer knows; clean it by hand",
			spec && spec->name ? spec->name : "", h->netns + strlen(SSH_HANDLE_PREFIX));
		return -ENOENT;
	}
	char *log = NULL;
	int rc = ssh_host_clean(spec->ssh, &log, err);
	if (log && spec->state_dir) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/release.log", spec->state_dir);
		if (util_mkdirs(spec->state_dir, 0700) == 0)
			util_write_file_atomic(path, log, strlen(log), 0600);
	}
	free(log);
	return rc;
}

static bool ssh_alive(const struct node_spec *spec, const struct node_handle *h)
{
	bool up = false;
	char *err = NULL;
	if (!spec || !spec->ssh)
		return false;
	int rc = ssh_host_probe(spec->ssh, NULL, &up, NULL, &err);
	free(err);
	return rc == 0 && up;
}

static int ssh_exec(const struct node_handle *h, char *const argv[], char **err)
{
	set_err(err, "running a command on pool host '%s' needs its pool entry; use 'stratus ssh'",
		h->netns + strlen(SSH_HANDLE_PREFIX));
	return -ENOTSUP;
}

const struct provider_ops provider_ssh = {
	.name = "ssh",
	.network_up = ssh_network_up,
	.network_down = ssh_network_down,
	.create = ssh_create,
	.destroy = ssh_destroy,
	.alive = ssh_alive,
	.exec = ssh_exec,
};

/* ---- provider_mixed: local namespaces, or a pool host ---- */

static int mixed_network_up(const char *bridge, const char *gateway, int prefix_len, char **err)
{
	return provider_local.network_up(bridge, gateway, prefix_len, err);
}

static int mixed_network_down(const char *bridge, char **err)
{
	return provider_local.network_down(bridge, err);
}

static int mixed_create(const struct node_spec *spec, struct node_handle *h, char **err)
{
	return spec->ssh ? provider_ssh.create(spec, h, err) : provider_local.create(spec, h, err);
}

static int mixed_destroy(const struct node_spec *spec, const struct node_handle *h, char **err)
{
	return ssh_is_handle(h) ? provider_ssh.destroy(spec, h, err) : provider_local.destroy(spec, h, err);
}

static bool mixed_alive(const struct node_spec *spec, const struct node_handle *h)
{
	return ssh_is_handle(h) ? provider_ssh.alive(spec, h) : provider_local.alive(spec, h);
}

static int mixed_exec(const struct node_handle *h, char *const argv[], char **err)
{
	return ssh_is_handle(h) ? provider_ssh.exec(h, argv, err) : provider_local.exec(h, argv, err);
}

const struct provider_ops provider_mixed = {
	.name = "local+ssh",
	.network_up = mixed_network_up,
	.network_down = mixed_network_down,
	.create = mixed_create,
	.destroy = mixed_destroy,
	.alive = mixed_alive,
	.exec = mixed_exec,
};
