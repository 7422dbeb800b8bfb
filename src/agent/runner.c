/*
 * runner.c: runs one spec's cluster-init scripts, as CycleCloud's jetpack
 * does: scripts/ in lexical (byte) order, each at most once per node (a
 * marker under state_dir/done/ records success; a failed script has none, so
 * a retry re-runs exactly what failed or never ran), each with its own log
 * (state_dir/logs/PROJECT/SPEC/SCRIPT.log, rewritten on each run).
 *
 * Stop scripts (cluster-init/stop/, runner_run_stop) run before the node is
 * destroyed: every time, no markers, in reverse lexical order (the last
 * thing started is the first stopped), logs under logs/PROJECT/SPEC/stop/.
 *
 * A script runs with the spec's cluster-init folder as its working directory
 * and in STRATUS_SPEC_DIR (so it reaches files/), with STRATUS_NODE_NAME,
 * STRATUS_CLUSTER, STRATUS_NODE_CONFIG (and STRATUS_LOCAL_DISK, STRATUS_AGENT_CONFIG
 * when known) set and the agent's own directory
 * first in PATH.  A script that is not executable runs through /bin/bash.
 */
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#define MAX_SCRIPTS 4096

bool agent_safe_name(const char *s)
{
	if (!s || !*s || s[0] == '.' || strlen(s) > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void runner_free_list(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int runner_list_scripts(const char *dir, char ***names, size_t *count)
{
	return runner_list_dir(dir, "scripts", names, count);
}

int runner_list_dir(const char *dir, const char *sub, char ***names, size_t *count)
{
	char path[4096];
	*names = NULL;
	*count = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >= sizeof(path))
		return -ENAMETOOLONG;
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : neg_errno(); /* a spec may have no scripts */
	size_t n = 0, cap = 16;
	char **v = malloc(cap * sizeof(*v));
	int rc = 0;
	struct dirent *e;
	while (v && (e = readdir(d))) {
		if (!agent_safe_name(e->d_name))
			continue;
		char full[4096 + 256];
		struct stat st;
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == MAX_SCRIPTS) {
			rc = -E2BIG;
			break;
		}
		if (n == cap) {
			char **nv = realloc(v, cap * 2 * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap *= 2;
		}
		if (!(v[n] = strdup(e->d_name))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (!v)
		return -ENOMEM;
	if (rc) {
		runner_free_list(v, n);
		return rc;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*names = v;
	*count = n;
	return 0;
}

int runner_marker_path(const char *state_dir, const char *project, const char *spec,
		       const char *script, char *out, size_t outlen)
{
	if (!agent_safe_name(project) || !agent_safe_name(spec) || !agent_safe_name(script))
		return -EINVAL;
	if ((size_t)snprintf(out, outlen, "%s/done/%s/%s/%s", state_dir, project, spec, script) >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

static void set_reason(char **reason, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(char **reason, const char *fmt, ...)
{
	free(*reason);
	*reason = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(reason, fmt, ap) < 0)
		*reason = NULL;
	va_end(ap);
}

/* Run one script; its exit status (0-255, 128+signal) or -errno if it could not start. */
static int run_script(const struct runner *r, const char *dir, const char *script_path,
		      const char *log_path)
{
	int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (logfd < 0)
		return neg_errno();
	bool exe = access(script_path, X_OK) == 0;
	char path_env[8192];
	const char *old_path = getenv("PATH");
	snprintf(path_env, sizeof(path_env), "%s:%s", r->bin_dir ? r->bin_dir : "/usr/local/bin",
		 old_path && *old_path ? old_path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");

	pid_t pid = fork();
	if (pid < 0) {
		int rc = neg_errno();
		close(logfd);
		return rc;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || chdir(dir) < 0)
			_exit(127);
		/* Its own process group, so a timeout kills what it started too. */
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setenv("PATH", path_env, 1);
		setenv("STRATUS_NODE_NAME", r->node_name ? r->node_name : "", 1);
		setenv("STRATUS_CLUSTER", r->cluster ? r->cluster : "", 1);
		setenv("STRATUS_SPEC_DIR", dir, 1);
		setenv("STRATUS_NODE_CONFIG", r->config_path ? r->config_path : "", 1);
		if (r->agent_config)
			setenv("STRATUS_AGENT_CONFIG", r->agent_config, 1);
		if (r->local_disk)
			setenv("STRATUS_LOCAL_DISK", r->local_disk, 1);
		if (exe)
			execl(script_path, script_path, (char *)NULL);
		else
			execl("/bin/bash", "bash", script_path, (char *)NULL);
		dprintf(2, "stratus-node: cannot run '%s': %s\n", script_path, strerror(errno));
		_exit(127);
	}
	close(logfd);
	int64_t deadline = r->timeout_ms > 0 ? util_mono_ms() + r->timeout_ms : 0;
	int st;
	for (;;) {
		pid_t w = waitpid(pid, &st, deadline ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return neg_errno();
		if (deadline && util_mono_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			deadline = 0; /* now wait for it */
			int fd = open(log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (fd >= 0) {
				dprintf(fd, "\nstratus-node: killed after %lld ms (script timeout)\n",
					(long long)r->timeout_ms);
				close(fd);
			}
		}
		if (deadline) {
			struct timespec ts = { 0, 20 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void report(const struct runner *r, const char *project, const char *spec, const char *script,
		   const char *status, int code, int64_t t0, int64_t t1, const char *log_path)
{
	struct script_event ev = { project, spec, script, status, code, t0, t1, log_path };
	if (r->report)
		r->report(r->ctx, &ev);
}

int runner_run_spec(const struct runner *r, const char *project, const char *spec,
		    const char *dir, char **reason)
{
	char **names = NULL;
	size_t count = 0;
	char path[4096], marker[4096], logdir[4096], logp[4096 + 300];
	int rc;

	if (!agent_safe_name(project) || !agent_safe_name(spec)) {
		set_reason(reason, "bad project or spec name '%s:%s'", project ? project : "", spec ? spec : "");
		return -EINVAL;
	}
	if ((rc = runner_list_scripts(dir, &names, &count))) {
		set_reason(reason, "cannot list the scripts of spec '%s' in '%s/scripts': %s", spec, dir,
			   strerror(-rc));
		return rc;
	}
	snprintf(logdir, sizeof(logdir), "%s/logs/%s/%s", r->state_dir, project, spec);
	if ((rc = util_mkdirs(logdir, 0755))) {
		set_reason(reason, "cannot make log directory '%s': %s", logdir, strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const char *s = names[i];
		if ((rc = runner_marker_path(r->state_dir, project, spec, s, marker, sizeof(marker)))) {
			set_reason(reason, "bad script name '%s/%s'", spec, s);
			goto out;
		}
		if (access(marker, F_OK) == 0) {
			log_info("cluster-init %s/%s already ran here; skipped", spec, s);
			continue;
		}
		snprintf(path, sizeof(path), "%s/scripts/%s", dir, s);
		snprintf(logp, sizeof(logp), "%s/%s.log", logdir, s);
		int64_t t0 = util_wall_ms();
		log_info("cluster-init %s/%s started (log '%s')", spec, s, logp);
		report(r, project, spec, s, "started", 0, t0, 0, logp);
		int code = run_script(r, dir, path, logp);
		int64_t t1 = util_wall_ms();
		if (code < 0) {
			set_reason(reason, "cannot run cluster-init script %s/%s: %s", spec, s, strerror(-code));
			report(r, project, spec, s, "failed", 127, t0, t1, logp);
			rc = code;
			goto out;
		}
		if (code != 0) {
			log_error("cluster-init %s/%s exited %d after %lld ms; see '%s'", spec, s, code,
				  (long long)(t1 - t0), logp);
			set_reason(reason, "cluster-init script %s/%s exited %d", spec, s, code);
			report(r, project, spec, s, "failed", code, t0, t1, logp);
			rc = 1;
			goto out;
		}
		log_info("cluster-init %s/%s succeeded in %lld ms", spec, s, (long long)(t1 - t0));
		/* The marker first: a crash after it and before the report re-reports nothing
		 * wrong, a crash before it re-runs the script, which is what "once" can promise. */
		char mdir[4096];
		snprintf(mdir, sizeof(mdir), "%s/done/%s/%s", r->state_dir, project, spec);
		char stamp[64];
		int n = snprintf(stamp, sizeof(stamp), "%lld\n", (long long)t1);
		if ((rc = util_mkdirs(mdir, 0755)) || (rc = util_write_file_atomic(marker, stamp, (size_t)n, 0644))) {
			set_reason(reason, "cannot write marker '%s': %s", marker, strerror(-rc));
			goto out;
		}
		report(r, project, spec, s, "succeeded", 0, t0, t1, logp);
	}
	rc = 0;
out:
	runner_free_list(names, count);
	return rc;
}

int runner_run_stop(const struct runner *r, const char *project, const char *spec,
		    const char *dir, char **reason)
{
	char **names = NULL;
	size_t count = 0;
	char path[4096], logdir[4096], logp[4096 + 300], shown[300];
	int rc;

	if (!agent_safe_name(project) || !agent_safe_name(spec)) {
		set_reason(reason, "bad project or spec name '%s:%s'", project ? project : "", spec ? spec : "");
		return -EINVAL;
	}
	if ((rc = runner_list_dir(dir, "stop", &names, &count))) {
		set_reason(reason, "cannot list the stop scripts of spec '%s' in '%s/stop': %s", spec, dir,
			   strerror(-rc));
		return rc;
	}
	if (!count)
		goto out;
	snprintf(logdir, sizeof(logdir), "%s/logs/%s/%s/stop", r->state_dir, project, spec);
	if ((rc = util_mkdirs(logdir, 0755))) {
		set_reason(reason, "cannot make log directory '%s': %s", logdir, strerror(-rc));
		goto out;
	}
	for (size_t k = count; k-- > 0;) {
		const char *s = names[k];
		snprintf(path, sizeof(path), "%s/stop/%s", dir, s);
		snprintf(logp, sizeof(logp), "%s/%s.log", logdir, s);
		/* "stop/NAME": the manager keeps it apart from the cluster-init script NAME. */
		snprintf(shown, sizeof(shown), "stop/%s", s);
		int64_t t0 = util_wall_ms();
		log_info("stop script %s/stop/%s started (log '%s')", spec, s, logp);
		report(r, project, spec, shown, "started", 0, t0, 0, logp);
		int code = run_script(r, dir, path, logp);
		int64_t t1 = util_wall_ms();
		if (code < 0) {
			set_reason(reason, "cannot run stop script %s/stop/%s: %s", spec, s, strerror(-code));
			report(r, project, spec, shown, "failed", 127, t0, t1, logp);
			rc = code;
			goto out;
		}
		if (code != 0) {
			log_error("stop script %s/stop/%s exited %d after %lld ms; see '%s'", spec, s, code,
				  (long long)(t1 - t0), logp);
			set_reason(reason, "stop script %s/stop/%s exited %d%s", spec, s, code,
				   r->timeout_ms > 0 && t1 - t0 >= r->timeout_ms ? " (killed at its time limit)" : "");
			report(r, project, spec, shown, "failed", code, t0, t1, logp);
			rc = 1;
			goto out;
		}
		log_info("stop script %s/stop/%s succeeded in %lld ms", spec, s, (long long)(t1 - t0));
		report(r, project, spec, shown, "succeeded", 0, t0, t1, logp);
	}
	rc = 0;
out:
	runner_free_list(names, count);
	return rc;
}
