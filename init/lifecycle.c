#include "init/lifecycle.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/log.h"

#define DRAIN_POLL_MS 20

/* The spool creates its own folder; its parents are made here, private, as
 * they hold nothing but the spool. */
static int make_parents(const char *path, char *reason, size_t reason_size)
{
	char buffer[PATH_MAX];
	if (snprintf(buffer, sizeof(buffer), "%s", path) >= (int)sizeof(buffer)) {
		snprintf(reason, reason_size, "--events-spool: path too long");
		return -ENAMETOOLONG;
	}
	for (char *slash = strchr(buffer + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(buffer, 0700) < 0 && errno != EEXIST) {
			int error = errno;
			snprintf(reason, reason_size, "--events-spool %s: cannot create %s: %s", path, buffer,
				 strerror(error));
			return -error;
		}
		*slash = '/';
	}
	return 0;
}

int lifecycle_open_events(const struct config *config, struct loop *loop, struct events **events,
			  char *reason, size_t reason_size)
{
	static char hostname[HOST_NAME_MAX + 1];
	if (gethostname(hostname, sizeof(hostname)) < 0)
		hostname[0] = '\0';
	int result = make_parents(config->events_spool, reason, reason_size);
	if (result < 0)
		return result;
	struct events_options options = {
		.loop = loop,
		.spool_dir = config->events_spool,
		.url = config->events_url,
		.client_cert = config->events_cert,
		.client_key = config->events_key,
		.ca_file = config->events_ca,
		.session_id = config->session_id,
		.tenant_id = config->tenant_id,
		.knowledge_graph_id = config->knowledge_graph_id,
		.job_id = getenv("KARTOGRAPH_JOB_ID"),
		.sandbox = hostname[0] ? hostname : NULL,
	};
	return events_open(&options, events, reason, reason_size);
}

static void on_orphans(void *context, uint64_t count, uint64_t total)
{
	events_orphans_reaped(context, count, total);
}

void lifecycle_watch_orphans(struct supervisor *supervisor, struct events *events)
{
	supervisor->on_orphans = on_orphans;
	supervisor->orphans_context = events;
}

static void on_launched(void *context, pid_t pid, const char *command)
{
	events_process_launched(context, pid, command, "workload");
}

static void on_exited(void *context, pid_t pid, const char *command, int wait_status, uint64_t duration_ms)
{
	events_process_exited(context, pid, command, wait_status, duration_ms);
}

static void on_forwarded(void *context, int signo, pid_t pid, bool delivered)
{
	events_signal_forwarded(context, supervisor_signal_name(signo), pid, delivered);
}

struct job_observer lifecycle_job_observer(struct events *events)
{
	return (struct job_observer){ .launched = on_launched, .exited = on_exited, .forwarded = on_forwarded,
				      .context = events };
}

void lifecycle_report_plan(struct events *events, const char *mode, const struct confinement_plan *plan)
{
	json_t *receipt = plan_receipt(plan);
	events_policy_applied(events, mode, receipt);
	if (plan_degraded(plan))
		events_enforcement_finding(events, mode, "best_effort left part of the policy unenforced",
					   json_object_get(receipt, "skipped"), false);
	json_decref(receipt);
}

struct drain {
	struct loop *loop;
	struct events *events;
	struct loop_timer poll, deadline;
};

static void poll_idle(void *context)
{
	struct drain *drain = context;
	if (events_idle(drain->events))
		loop_quit(drain->loop);
	else
		loop_timer_start(drain->loop, &drain->poll, DRAIN_POLL_MS, poll_idle, drain);
}

static void give_up(void *context)
{
	struct drain *drain = context;
	struct events_stats stats;
	events_get_stats(drain->events, &stats);
	log_warn("events left in the spool for the next start", "{s:I, s:I}", "spooled",
		 (json_int_t)stats.spooled, "shipped", (json_int_t)stats.shipped);
	loop_quit(drain->loop);
}

void lifecycle_drain_events(struct loop *loop, struct events *events, uint64_t budget_ms)
{
	struct drain drain = { .loop = loop, .events = events };
	if (!events || events_idle(events))
		return;
	events_flush(events);
	loop_timer_start(loop, &drain.poll, 0, poll_idle, &drain);
	loop_timer_start(loop, &drain.deadline, budget_ms, give_up, &drain);
	loop_run(loop);
	loop_timer_stop(loop, &drain.poll);
	loop_timer_stop(loop, &drain.deadline);
}
