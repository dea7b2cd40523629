/* Serve mode: compile a plan per ui_mode, start the turn engine and the HTTP
 * server on the supervisor's loop, and shut down gracefully on SIGTERM. */
#include "init/serve.h"

#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health/http.h"
#include "health/metrics.h"
#include "init/confinement.h"
#include "init/lifecycle.h"
#include "init/log.h"
#include "init/supervisor.h"
#include "turn/turn.h"

#define EXIT_BAD_CONFIGURATION 2
#define AFTER_ABORT_MS 1000

struct serve {
	const struct config *config;
	struct supervisor supervisor;
	struct events *events;
	struct confinement_plan *plans[TURN_UI_MODE_COUNT];
	char *unenforceable[TURN_UI_MODE_COUNT];
	char **executor_argv;
	struct turn_engine *turns;
	struct http_server *http;
	bool shutting_down;
	struct loop_timer grace_timer;
	struct loop_timer drain_timer;   /* polls for the last response to be sent */
	struct loop_timer abort_timer;   /* the hard stop after the grace period */
};

static int bad_configuration(const char *reason)
{
	char message[640];
	snprintf(message, sizeof(message), "bad configuration: %s", reason);
	log_error(message, NULL);
	return EXIT_BAD_CONFIGURATION;
}

/* --turn-command is a JSON array of strings: the executor's argv. */
static int parse_executor_argv(const char *json, char ***out, char *reason, size_t size)
{
	json_error_t error;
	json_t *array = json ? json_loads(json, JSON_REJECT_DUPLICATES, &error) : NULL;
	size_t count = json_array_size(array);
	int result = -EINVAL;
	if (!json)
		snprintf(reason, size, "--turn-command (KARTOGRAPH_TURN_COMMAND) is required in serve mode");
	else if (!json_is_array(array) || count == 0)
		snprintf(reason, size, "--turn-command: expected a non-empty JSON array of strings");
	else if (!(*out = calloc(count + 1, sizeof(char *))))
		snprintf(reason, size, "out of memory");
	else
		result = 0;
	for (size_t i = 0; result == 0 && i < count; i++) {
		const char *word = json_string_value(json_array_get(array, i));
		if (!word || !word[0] || !((*out)[i] = strdup(word))) {
			snprintf(reason, size, "--turn-command: element %zu is not a non-empty string", i);
			result = -EINVAL;
		}
	}
	json_decref(array);
	return result;
}

static void free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* gma-<ui_mode>.yaml, else gma-sticky-base.yaml, else no mode policy. */
static const char *mode_policy_for(const struct config *config, const char *ui_mode, char *name, size_t size)
{
	char path[4096];
	snprintf(name, size, "gma-%s", ui_mode);
	snprintf(path, sizeof(path), "%s/%s.yaml", config->policy_dir, name);
	if (access(path, F_OK) == 0)
		return name;
	snprintf(name, size, "gma-sticky-base");
	snprintf(path, sizeof(path), "%s/%s.yaml", config->policy_dir, name);
	return access(path, F_OK) == 0 ? name : NULL;
}

static int compile_plans(struct serve *serve, char *reason, size_t size)
{
	for (size_t i = 0; i < TURN_UI_MODE_COUNT; i++) {
		char name[128];
		const char *ui_mode = turn_ui_mode_name_at(i);
		const char *mode = mode_policy_for(serve->config, ui_mode, name, sizeof(name));
		int result = confinement_prepare(serve->config, mode, &serve->plans[i], reason, size);
		if (result == -EPERM) {
			/* Only this mode's turns are refused; the others still run. */
			serve->unenforceable[i] = strdup(reason);
			log_error("turns of this ui_mode will be refused", "{s:s, s:s}", "ui_mode", ui_mode,
				  "reason", reason);
			events_enforcement_finding(serve->events, ui_mode, reason, NULL, true);
			continue;
		}
		if (result < 0)
			return result;
		log_info("policy applied", "{s:s, s:o}", "ui_mode", ui_mode, "receipt", plan_receipt(serve->plans[i]));
		if (plan_degraded(serve->plans[i]))
			log_warn("enforcement degraded: best_effort left part of the policy unenforced", "{s:s}",
				 "ui_mode", ui_mode);
		lifecycle_report_plan(serve->events, ui_mode, serve->plans[i]);
	}
	return 0;
}

/* ---- what the turn engine and the HTTP server report ---- */

static enum metrics_turn_outcome outcome_metric(const char *outcome)
{
	static const struct { const char *name; enum metrics_turn_outcome metric; } table[] = {
		{ "ok", METRICS_TURN_OK }, { "error", METRICS_TURN_ERROR }, { "timeout", METRICS_TURN_TIMEOUT },
		{ "crashed", METRICS_TURN_CRASHED }, { "garbage", METRICS_TURN_GARBAGE },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(outcome, table[i].name) == 0)
			return table[i].metric;
	return METRICS_TURN_CANCELLED; /* cancelled, aborted */
}

static void on_turn_started(void *context, const char *ui_mode, const char *client, int pid)
{
	struct serve *serve = context;
	metrics_set_turn_in_progress(true);
	events_process_launched(serve->events, pid, serve->executor_argv[0], "turn executor");
	events_turn_started(serve->events, ui_mode, client, pid);
}

static void on_turn_finished(void *context, const char *ui_mode, const char *outcome, double seconds,
			     size_t bytes, int pid, int wait_status)
{
	struct serve *serve = context;
	uint64_t duration_ms = (uint64_t)(seconds * 1000);
	metrics_turn_finished(outcome_metric(outcome), seconds);
	metrics_set_turn_in_progress(false);
	events_process_exited(serve->events, pid, serve->executor_argv[0], wait_status, duration_ms);
	events_turn_finished(serve->events, ui_mode, outcome, duration_ms, bytes);
}

static void on_token_refused(void *context, const char *code, const char *client, const char *reason)
{
	struct serve *serve = context;
	static const char *const codes[] = { "WORKLOAD_TOKEN_INVALID", "WORKLOAD_TOKEN_SCOPE",
					     "WORKLOAD_TOKEN_REPLAYED" };
	static const enum metrics_auth_code metrics[] = { METRICS_AUTH_WORKLOAD_TOKEN_INVALID,
							  METRICS_AUTH_WORKLOAD_TOKEN_SCOPE,
							  METRICS_AUTH_WORKLOAD_TOKEN_REPLAYED };
	for (size_t i = 0; i < 3; i++)
		if (strcmp(code, codes[i]) == 0)
			metrics_auth_failure(metrics[i]);
	log_warn("workload token refused", "{s:s, s:s, s:s}", "code", code, "client", client, "reason", reason);
	events_auth_failed(serve->events, code, client, reason);
}

static void on_runtime_auth_failed(void *context, const char *client)
{
	struct serve *serve = context;
	events_auth_failed(serve->events, "RUNTIME_AUTH_REQUIRED", client,
			   "X-Kartograph-Runtime-Auth missing or wrong");
}

static void readiness(void *context, json_t *reasons)
{
	struct serve *serve = context;
	char reason[256];
	if (serve->shutting_down)
		json_array_append_new(reasons, json_string("shutting down"));
	if (!events_spool_writable(serve->events, reason, sizeof(reason)))
		json_array_append_new(reasons, json_sprintf("event spool: %s", reason));
	for (size_t i = 0; i < TURN_UI_MODE_COUNT; i++)
		if (serve->unenforceable[i])
			json_array_append_new(reasons, json_sprintf("ui_mode %s: %s", turn_ui_mode_name_at(i),
								    serve->unenforceable[i]));
}

static void refresh_metrics(void *context)
{
	struct serve *serve = context;
	struct proc_stats stats;
	proc_get_stats(serve->supervisor.processes, &stats);
	metrics_set_processes(stats.spawned, stats.reaped, stats.orphans_reaped);
	struct events_stats events;
	events_get_stats(serve->events, &events);
	metrics_set_events(events.spooled, events.shipped, events.dropped + events.lost);
}

/* ---- shutdown ---- */

static void finish_when_idle(void *context)
{
	struct serve *serve = context;
	if (http_server_streaming(serve->http)) {
		loop_timer_start(serve->supervisor.loop, &serve->drain_timer, 20, finish_when_idle, serve);
		return;
	}
	loop_quit(serve->supervisor.loop);
}

static void on_grace_over(void *context)
{
	struct serve *serve = context;
	log_warn("grace period over: ending the running turn", "{s:i}", "grace_seconds",
		 serve->config->grace_seconds);
	turn_engine_abort(serve->turns, "sandbox-init is shutting down");
	/* The done line still has to reach the client; give it a moment. */
	loop_timer_start(serve->supervisor.loop, &serve->abort_timer, AFTER_ABORT_MS, (loop_timer_handler)loop_quit,
			 serve->supervisor.loop);
	finish_when_idle(serve);
}

static void begin_shutdown(struct serve *serve, int signo)
{
	if (serve->shutting_down)
		return;
	serve->shutting_down = true;
	log_info("shutting down", "{s:s, s:b}", "signal", supervisor_signal_name(signo), "turn_running",
		 turn_engine_busy(serve->turns));
	http_server_quiesce(serve->http);
	loop_timer_start(serve->supervisor.loop, &serve->grace_timer, (uint64_t)serve->config->grace_seconds * 1000,
			 on_grace_over, serve);
	finish_when_idle(serve);
}

static void on_signal(void *context, const struct signalfd_siginfo *info)
{
	struct serve *serve = context;
	int signo = (int)info->ssi_signo;
	if (signo == SIGTERM || signo == SIGINT)
		begin_shutdown(serve, signo);
	else
		log_debug("ignored signal", "{s:s}", "signal", supervisor_signal_name(signo));
}

/* ---- start and stop ---- */

/* A key file written with echo ends in a newline that is no part of an
 * HS256 secret (python-jose uses the variable's value as it is). */
static size_t hs256_key_length(const struct config *config)
{
	size_t length = config->jwt_key_length;
	if (config->jwt_key_file && strcmp(config->jwt_algorithm, "HS256") == 0) {
		while (length > 0 && (config->jwt_key[length - 1] == '\n' || config->jwt_key[length - 1] == '\r'))
			length--;
	}
	return length;
}

static int check_configuration(const struct config *config, char *reason, size_t size)
{
	if (!config->auth_token) {
		snprintf(reason, size, "serve refuses to start without a runtime token: set --auth-token-file, "
				       "KARTOGRAPH_RUNTIME_AUTH_TOKEN_FILE or KARTOGRAPH_RUNTIME_AUTH_TOKEN");
		return -EINVAL;
	}
	if (!config->jwt_key && !config->insecure_skip_workload_token) {
		snprintf(reason, size, "serve refuses to start without a workload token key: set --jwt-key-file "
				       "or KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY (or, for local development only, "
				       "--insecure-skip-workload-token)");
		return -EINVAL;
	}
	return 0;
}

static int start_turn_engine(struct serve *serve, char *reason, size_t size)
{
	const struct config *config = serve->config;
	struct turn_engine_options options = {
		.loop = serve->supervisor.loop,
		.processes = serve->supervisor.processes,
		.executor_argv = serve->executor_argv,
		.confine = confinement_apply,
		.auth_token = config->auth_token,
		.jwt_algorithm = config->jwt_algorithm,
		.jwt_key = config->jwt_key,
		.jwt_key_length = config->jwt_key ? hs256_key_length(config) : 0,
		.skip_workload_token = config->insecure_skip_workload_token,
		.session_id = config->session_id,
		.tenant_id = config->tenant_id,
		.knowledge_graph_id = config->knowledge_graph_id,
		.user_id = config->user_id,
		.workspace = config->workspace,
		.timeout_seconds = config->turn_timeout_seconds,
		.default_ui_mode = config->session_mode,
		.observer = { .auth_failed = on_token_refused, .turn_started = on_turn_started,
			      .turn_finished = on_turn_finished, .context = serve },
	};
	for (size_t i = 0; i < TURN_UI_MODE_COUNT; i++) {
		options.plans[i] = serve->plans[i];
		options.environments[i] = serve->plans[i] ? plan_environment(serve->plans[i]) : NULL;
		options.unenforceable[i] = serve->unenforceable[i];
	}
	return turn_engine_new(&options, &serve->turns, reason, size);
}

static int start_http(struct serve *serve, char *reason, size_t size)
{
	struct http_server_options options = {
		.loop = serve->supervisor.loop,
		.listen = serve->config->listen,
		.turns = serve->turns,
		.workspace = serve->config->workspace,
		.session_id = serve->config->session_id,
		.readiness = readiness,
		.refresh_metrics = refresh_metrics,
		.auth_failed = on_runtime_auth_failed,
		.context = serve,
	};
	return http_server_start(&options, &serve->http, reason, size);
}

static void release(struct serve *serve)
{
	http_server_stop(serve->http);
	turn_engine_free(serve->turns);
	events_close(serve->events);
	if (serve->supervisor.loop) {
		loop_timer_stop(serve->supervisor.loop, &serve->grace_timer);
		loop_timer_stop(serve->supervisor.loop, &serve->drain_timer);
		loop_timer_stop(serve->supervisor.loop, &serve->abort_timer);
	}
	supervisor_stop(&serve->supervisor);
	for (size_t i = 0; i < TURN_UI_MODE_COUNT; i++) {
		plan_free(serve->plans[i]);
		free(serve->unenforceable[i]);
	}
	free_argv(serve->executor_argv);
}

/* Whatever executors or their helpers are left get the same end as in job
 * mode: SIGTERM, then SIGKILL. */
static void end_descendants(struct serve *serve)
{
	if (!proc_has_children())
		return;
	supervisor_signal_descendants(&serve->supervisor, SIGKILL);
	for (int i = 0; i < 100 && proc_has_children(); i++) {
		bool more;
		size_t orphans;
		proc_reap(serve->supervisor.processes, 1024, &more, &orphans);
		usleep(10000);
	}
}

int serve_run(const struct config *config)
{
	struct serve serve = { .config = config };
	char reason[512];
	int status = EXIT_BAD_CONFIGURATION;

	if (check_configuration(config, reason, sizeof(reason)) < 0 ||
	    parse_executor_argv(config->turn_command_json, &serve.executor_argv, reason, sizeof(reason)) < 0) {
		status = bad_configuration(reason);
		goto out;
	}
	int error = supervisor_start(&serve.supervisor, config->subreaper);
	if (error < 0) {
		log_error("cannot start the supervisor", "{s:s}", "error", strerror(-error));
		status = 1;
		goto out;
	}
	if (lifecycle_open_events(config, serve.supervisor.loop, &serve.events, reason, sizeof(reason)) < 0) {
		status = bad_configuration(reason);
		goto out;
	}
	events_supervisor_started(serve.events, "serve", getpid(), serve.supervisor.is_pid1,
				  serve.supervisor.subreaper);
	lifecycle_watch_orphans(&serve.supervisor, serve.events);
	metrics_init((double)time(NULL), SI_VERSION);
	if (compile_plans(&serve, reason, sizeof(reason)) < 0 ||
	    start_turn_engine(&serve, reason, sizeof(reason)) < 0 || start_http(&serve, reason, sizeof(reason)) < 0) {
		status = bad_configuration(reason);
		events_supervisor_stopping(serve.events, reason, status);
		goto drain;
	}
	log_info("sandbox-init serving", "{s:s, s:s, s:s?, s:i, s:b, s:b}", "version", SI_VERSION, "listen",
		 config->listen, "session_id", config->session_id, "pid", getpid(), "pid1",
		 serve.supervisor.is_pid1, "subreaper", serve.supervisor.subreaper);
	events_supervisor_ready(serve.events, config->listen);
	/* Compiling policies and keys left freed heap behind; a session may idle
	 * for hours, so give it back now. */
	malloc_trim(0);
	if (config->insecure_skip_workload_token) {
		log_warn("finding: workload tokens are not verified (--insecure-skip-workload-token); "
			 "for local development only", NULL);
		events_enforcement_finding(serve.events, NULL,
					   "workload tokens are not verified (--insecure-skip-workload-token)",
					   NULL, false);
	}

	serve.supervisor.on_signal = on_signal;
	serve.supervisor.context = &serve;
	error = loop_run(serve.supervisor.loop);
	end_descendants(&serve);
	status = error < 0 ? 1 : 0;
	log_info("sandbox-init exiting", "{s:i}", "exit_code", status);
	events_supervisor_stopping(serve.events, "shutdown requested", status);
drain:
	http_server_stop(serve.http);
	serve.http = NULL;
	lifecycle_drain_events(serve.supervisor.loop, serve.events, (uint64_t)config->grace_seconds * 1000);
out:
	release(&serve);
	return status;
}
