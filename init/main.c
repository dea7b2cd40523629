/* sandbox-init: PID 1 of a Kartograph sandbox.  Parse, take the secrets out of
 * the environment, then run the mode asked for. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health/http.h"
#include "health/metrics.h"
#include "health/probe.h"
#include "init/config.h"
#include "init/confinement.h"
#include "init/job.h"
#include "init/lifecycle.h"
#include "init/log.h"
#include "init/serve.h"
#include "init/supervisor.h"

#define EXIT_BAD_CONFIGURATION 2

static int bad_configuration(const char *reason)
{
	char message[640];
	snprintf(message, sizeof(message), "bad configuration: %s", reason);
	log_error(message, NULL);
	return EXIT_BAD_CONFIGURATION;
}

/* Job mode serves /health, /healthz, /readyz and /metrics only when --listen
 * is given (no turns). */
struct job_health {
	struct supervisor *supervisor;
	struct events *events;
};

static void job_readiness(void *context, json_t *reasons)
{
	struct job_health *health = context;
	char reason[256];
	if (!events_spool_writable(health->events, reason, sizeof(reason)))
		json_array_append_new(reasons, json_sprintf("event spool: %s", reason));
}

static void job_refresh_metrics(void *context)
{
	struct job_health *health = context;
	struct proc_stats processes;
	struct events_stats events;
	proc_get_stats(health->supervisor->processes, &processes);
	metrics_set_processes(processes.spawned, processes.reaped, processes.orphans_reaped);
	events_get_stats(health->events, &events);
	metrics_set_events(events.spooled, events.shipped, events.dropped + events.lost);
}

static int start_job_health(const struct config *config, struct job_health *health, struct http_server **http,
			    char *reason, size_t reason_size)
{
	metrics_init((double)time(NULL), SI_VERSION);
	struct http_server_options options = {
		.loop = health->supervisor->loop,
		.listen = config->listen,
		.workspace = config->workspace,
		.session_id = config->session_id,
		.readiness = job_readiness,
		.refresh_metrics = job_refresh_metrics,
		.context = health,
	};
	return http_server_start(&options, http, reason, reason_size);
}

/* Compiles the plan, serves health when asked, runs the workload; returns
 * the status to exit with. */
static int run_confined_job(const struct config *config, struct supervisor *supervisor, struct events *events)
{
	struct confinement_plan *plan = NULL;
	struct http_server *http = NULL;
	struct job_health health = { .supervisor = supervisor, .events = events };
	struct job_options options;
	char reason[512];
	int status;

	int error = confinement_prepare(config, config->session_mode, &plan, reason, sizeof(reason));
	if (error < 0) {
		if (error == -EPERM)
			events_enforcement_finding(events, config->session_mode, reason, NULL, true);
		status = bad_configuration(reason);
		events_supervisor_stopping(events, reason, status);
		return status;
	}
	confinement_log_receipt(plan);
	lifecycle_report_plan(events, config->session_mode, plan);
	lifecycle_watch_orphans(supervisor, events);
	if (config->listen && start_job_health(config, &health, &http, reason, sizeof(reason)) < 0) {
		status = bad_configuration(reason);
		events_supervisor_stopping(events, reason, status);
		goto out;
	}

	options = (struct job_options){
		.argv = config->command,
		.envp = plan_environment(plan),
		.confine = confinement_apply,
		.plan = plan,
		.grace_seconds = config->grace_seconds,
		.observer = lifecycle_job_observer(events),
	};
	status = job_run(supervisor, &options);
	log_info("sandbox-init exiting", "{s:i}", "exit_code", status);
	events_supervisor_stopping(events, "the workload exited", status);
out:
	http_server_stop(http);
	plan_free(plan);
	return status;
}

static int run_job(const struct config *config)
{
	struct supervisor supervisor;
	struct events *events = NULL;
	char reason[512];
	int status = 1;

	int error = supervisor_start(&supervisor, config->subreaper);
	if (error < 0) {
		log_error("cannot start the supervisor", "{s:s}", "error", strerror(-error));
		goto out;
	}
	if (lifecycle_open_events(config, supervisor.loop, &events, reason, sizeof(reason)) < 0) {
		status = bad_configuration(reason);
		goto out;
	}
	log_info("sandbox-init starting", "{s:s, s:s, s:i, s:b, s:b}", "version", SI_VERSION, "mode",
		 "job", "pid", getpid(), "pid1", supervisor.is_pid1, "subreaper", supervisor.subreaper);
	if (supervisor.subreaper)
		log_info("became child subreaper", "{s:s}", "reason",
			 supervisor.is_pid1 ? "--subreaper" : "not PID 1: orphans would escape to another init");
	events_supervisor_started(events, "job", getpid(), supervisor.is_pid1, supervisor.subreaper);

	status = run_confined_job(config, &supervisor, events);
	lifecycle_drain_events(supervisor.loop, events, (uint64_t)config->grace_seconds * 1000);
out:
	events_close(events);
	supervisor_stop(&supervisor);
	return status;
}

/* Prints the receipt for this kernel; exit 2 when hard_requirement cannot be met. */
static int run_check_policy(const struct config *config)
{
	char reason[512];
	json_t *receipt = NULL;
	int error = confinement_check(config, config->session_mode, &receipt, reason, sizeof(reason));
	if (!receipt)
		return bad_configuration(reason);
	char *text = json_dumps(receipt, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text)
		puts(text);
	free(text);
	json_decref(receipt);
	if (error < 0) {
		log_error(reason, NULL);
		return EXIT_BAD_CONFIGURATION;
	}
	return 0;
}

/* For container HEALTHCHECKs: 0 on a 2xx answer, 1 otherwise. */
static int run_probe(const struct config *config)
{
	char reason[PROBE_REASON_SIZE];
	int status = probe_run(config->probe_url, PROBE_DEFAULT_TIMEOUT_MS, reason, sizeof(reason));
	if (status != 0)
		log_error("probe failed", "{s:s, s:s}", "url", config->probe_url, "reason", reason);
	return status;
}

int main(int argc, char **argv)
{
	struct config config;
	char error[512];
	int status;

	if (config_parse(argc, argv, &config, error, sizeof(error)) < 0) {
		config_release(&config);
		return bad_configuration(error);
	}
	if (config.mode == RUN_HELP) {
		config_print_help();
		status = 0;
		goto out;
	}
	if (config.mode == RUN_VERSION) {
		printf("sandbox-init %s\n", SI_VERSION);
		status = 0;
		goto out;
	}
	if (log_set_level_name(config.log_level) < 0) {
		snprintf(error, sizeof(error), "--log-level: expected debug, info, warn or error, got \"%s\"",
			 config.log_level);
		status = bad_configuration(error);
		goto out;
	}
	if (config_take_secrets(&config, error, sizeof(error)) < 0) {
		status = bad_configuration(error);
		goto out;
	}

	switch (config.mode) {
	case RUN_JOB:
		status = run_job(&config);
		break;
	case RUN_CHECK_POLICY:
		status = run_check_policy(&config);
		break;
	case RUN_SERVE:
		status = serve_run(&config);
		break;
	case RUN_PROBE:
		status = run_probe(&config);
		break;
	default:
		status = bad_configuration("internal: unknown mode");
		break;
	}
out:
	config_release(&config);
	return status;
}
