#include "events/events.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "events/events_internal.h"
#include "events/ocsf.h"
#include "events/shipper.h"
#include "events/spool.h"
#include "init/log.h"

/* Segments per spool_max_bytes, so the size bound drops a small part of the
 * unshipped events, not all of them at once. */
#define SEGMENTS_PER_SPOOL 8

static void set_error(char *error, size_t error_size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *error, size_t error_size, const char *format, ...)
{
	va_list arguments;

	if (!error || error_size == 0)
		return;
	va_start(arguments, format);
	vsnprintf(error, error_size, format, arguments);
	va_end(arguments);
}

/* ---- open and close ---- */

static int copy_identity(struct events *events, const struct events_options *options)
{
	const char *values[IDENTITY_FIELDS] = {
		[IDENTITY_SESSION] = options->session_id, [IDENTITY_TENANT] = options->tenant_id,
		[IDENTITY_KNOWLEDGE_GRAPH] = options->knowledge_graph_id, [IDENTITY_JOB] = options->job_id,
		[IDENTITY_SANDBOX] = options->sandbox,
	};

	for (size_t i = 0; i < IDENTITY_FIELDS; i++)
		if (values[i] && !(events->identity_text[i] = strdup(values[i])))
			return -ENOMEM;
	events->identity = (struct ocsf_identity){
		.session_id = events->identity_text[IDENTITY_SESSION],
		.tenant_id = events->identity_text[IDENTITY_TENANT],
		.knowledge_graph_id = events->identity_text[IDENTITY_KNOWLEDGE_GRAPH],
		.job_id = events->identity_text[IDENTITY_JOB],
		.sandbox = events->identity_text[IDENTITY_SANDBOX],
		.supervisor_pid = (int)getpid(),
	};
	return 0;
}

static int open_spool(struct events *events, const struct events_options *options,
		      struct spool_recovery *recovery, char *error, size_t error_size)
{
	struct spool_limits limits = { .max_bytes = options->spool_max_bytes };
	int result;

	if (limits.max_bytes && limits.max_bytes / SEGMENTS_PER_SPOOL < SPOOL_DEFAULT_SEGMENT_BYTES)
		limits.segment_bytes = limits.max_bytes / SEGMENTS_PER_SPOOL;
	result = spool_open(options->spool_dir, &limits, &events->spool, recovery);
	if (result < 0)
		set_error(error, error_size, "events spool %s: %s", options->spool_dir,
			  strerror(-result));
	return result;
}

/* The on-call engineer's first question when the gateway shows nothing. */
static void on_delivery_changed(void *context, bool delivering, const char *error)
{
	(void)context;
	if (delivering)
		log_info("events are delivered to the gateway again", NULL);
	else
		log_warn("events cannot be delivered to the gateway; they wait in the spool", "{s:s}", "error",
			 error);
}

static int start_shipper(struct events *events, const struct events_options *options, char *error,
			 size_t error_size)
{
	struct shipper_options shipping = {
		.delivery_changed = on_delivery_changed,
		.context = events,
		.loop = options->loop,
		.spool = events->spool,
		.url = options->url,
		.client_cert = options->client_cert,
		.client_key = options->client_key,
		.ca_file = options->ca_file,
	};
	char reason[256] = "";
	int result;

	if (!options->url)
		return 0;
	result = shipper_start(&shipping, &events->shipper, reason, sizeof(reason));
	if (result < 0)
		set_error(error, error_size, "events shipper: %s",
			  reason[0] ? reason : strerror(-result));
	return result;
}

static void report_recovery(struct events *events, const struct spool_recovery *recovery)
{
	if (recovery->corrupt_bytes_dropped > 0)
		log_warn("event spool: cut torn or corrupt bytes left by a crash", "{s:s, s:I, s:I, s:I}",
			 "spool", events->spool_dir, "corrupt_bytes", (json_int_t)recovery->corrupt_bytes_dropped,
			 "segments_truncated", (json_int_t)recovery->segments_truncated,
			 "records_recovered", (json_int_t)recovery->records_recovered);
	if (recovery->ack_file_invalid)
		log_warn("event spool: acknowledged position unreadable, unacknowledged events will be shipped again",
			 "{s:s}", "spool", events->spool_dir);
	events_report_losses(events);
}

int events_open(const struct events_options *options, struct events **out, char *error,
		size_t error_size)
{
	struct spool_recovery recovery = { 0 };
	struct events *events;
	int result = -ENOMEM;

	*out = NULL;
	if (!options->loop || !options->spool_dir) {
		set_error(error, error_size, "events: a loop and a spool directory are required");
		return -EINVAL;
	}
	events = calloc(1, sizeof(*events));
	if (!events || !(events->spool_dir = strdup(options->spool_dir)) ||
	    copy_identity(events, options) < 0) {
		set_error(error, error_size, "events: out of memory");
		goto out;
	}
	events->loop = options->loop;
	result = open_spool(events, options, &recovery, error, error_size);
	if (result < 0)
		goto out;
	result = start_shipper(events, options, error, error_size);
	if (result < 0)
		goto out;
	report_recovery(events, &recovery);
	*out = events;
	events = NULL;
out:
	events_close(events);
	return result;
}

void events_close(struct events *events)
{
	if (!events)
		return;
	if (events->sync_armed)
		loop_timer_stop(events->loop, &events->sync_timer);
	if (events->shipper)
		shipper_stop(events->shipper);
	if (events->spool) {
		events_sync_now(events);
		spool_close(events->spool);
	}
	for (size_t i = 0; i < IDENTITY_FIELDS; i++)
		free(events->identity_text[i]);
	free(events->spool_dir);
	free(events);
}

/* ---- shutdown, readiness and metrics ---- */

void events_flush(struct events *events)
{
	if (!events)
		return;
	if (events->sync_armed) {
		loop_timer_stop(events->loop, &events->sync_timer);
		events->sync_armed = false;
		events_sync_now(events);
	}
	if (events->shipper)
		shipper_flush(events->shipper);
}

bool events_idle(const struct events *events)
{
	return !events || !events->shipper || shipper_idle(events->shipper);
}

bool events_spool_writable(const struct events *events, char *reason, size_t reason_size)
{
	struct statvfs status;

	if (!events) {
		set_error(reason, reason_size, "no event spool");
		return false;
	}
	if (statvfs(events->spool_dir, &status) < 0) {
		set_error(reason, reason_size, "event spool %s: %s", events->spool_dir, strerror(errno));
		return false;
	}
	if (status.f_flag & ST_RDONLY) {
		set_error(reason, reason_size, "event spool %s: read-only file system", events->spool_dir);
		return false;
	}
	/* A full file system heals when space is freed, which the spool cannot
	 * see until it appends again: more free blocks than at the failure is the
	 * sign.  Any other append error heals only with an append that works. */
	if (events->append_error == -ENOSPC && status.f_bavail <= events->free_blocks_when_full) {
		set_error(reason, reason_size, "event spool %s: no space left on device", events->spool_dir);
		return false;
	}
	if (events->append_error && events->append_error != -ENOSPC) {
		set_error(reason, reason_size, "event spool %s: last append failed: %s", events->spool_dir,
			  strerror(-events->append_error));
		return false;
	}
	if (events->sync_error) {
		set_error(reason, reason_size, "event spool %s: last sync failed: %s", events->spool_dir,
			  strerror(-events->sync_error));
		return false;
	}
	return true;
}

void events_get_stats(const struct events *events, struct events_stats *out)
{
	struct spool_stats spool = { 0 };
	struct shipper_stats shipper = { 0 };

	*out = (struct events_stats){ 0 };
	if (!events)
		return;
	spool_get_stats(events->spool, &spool);
	if (events->shipper)
		shipper_get_stats(events->shipper, &shipper);
	*out = (struct events_stats){
		.spooled = events->spooled,
		.shipped = shipper.shipped,
		.dropped = spool.dropped_unshipped,
		.lost = events->lost,
		.syncs = events->syncs,
		.sync_failures = events->sync_failures,
	};
}
