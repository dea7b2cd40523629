/* Emitting: stamping, spooling, mirroring and batching the syncs of events,
 * and reporting what the audit trail is missing. */
#include "events/events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "events/events_internal.h"
#include "events/ocsf.h"
#include "events/shipper.h"
#include "events/spool.h"
#include "init/log.h"

/* How long appends wait to be made durable together: one fsync per batch
 * instead of one per event, at the price of what a power cut can lose. */
#define SYNC_DELAY_MS 100

static uint64_t wall_clock_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* ---- durability: batched syncs ---- */

void events_sync_now(struct events *events)
{
	int result = spool_sync(events->spool);

	if (result == 0) {
		events->syncs++;
		events->sync_error = 0;
		return;
	}
	events->sync_failures++;
	/* No retry: after a failed fsync Linux marks the pages clean, so a second
	 * fsync would report success for data that never reached the disk. */
	if (result != events->sync_error)
		log_error("event spool: sync failed, recent events may not survive a power cut",
			  "{s:s}", "error", strerror(-result));
	events->sync_error = result;
}

static void on_sync_timer(void *context)
{
	struct events *events = context;

	events->sync_armed = false;
	events_sync_now(events);
}

static void schedule_sync(struct events *events)
{
	if (events->sync_armed)
		return;
	loop_timer_start(events->loop, &events->sync_timer, SYNC_DELAY_MS, on_sync_timer, events);
	events->sync_armed = true;
}

/* ---- appending one event ---- */

static enum log_level mirror_level(const json_t *event, bool spooled)
{
	json_int_t severity = json_integer_value(json_object_get(event, "severity_id"));

	if (severity >= OCSF_SEVERITY_HIGH)
		return LOG_LEVEL_ERROR;
	if (severity >= OCSF_SEVERITY_MEDIUM || !spooled)
		return LOG_LEVEL_WARN;
	return LOG_LEVEL_INFO;
}

/* stderr gets every event, spooled or not, for `openshell logs`. */
static void mirror(const json_t *event, int result)
{
	if (!event) {
		log_error("event lost: out of memory while building it", NULL);
		return;
	}
	if (result == 0)
		log_write(mirror_level(event, true), "event", "{s:O, s:b}", "event", event, "spooled", true);
	else
		log_write(mirror_level(event, false), "event", "{s:O, s:b, s:s}", "event", event, "spooled",
			  false, "error", strerror(-result));
}

static uint64_t free_blocks(const char *path)
{
	struct statvfs status;

	return statvfs(path, &status) == 0 ? (uint64_t)status.f_bavail : 0;
}

static void count_append(struct events *events, int result)
{
	events->append_error = result;
	if (result == 0) {
		events->spooled++;
		schedule_sync(events);
		return;
	}
	events->lost++;
	events->lost_unreported++;
	if (result == -ENOSPC)
		events->free_blocks_when_full = free_blocks(events->spool_dir);
}

static int stamp_and_append(struct events *events, json_t *event)
{
	char uid[OCSF_UUID_SIZE];
	char *line;
	int result = ocsf_uuid4(uid);

	if (result < 0)
		return result;
	if (ocsf_stamp(event, uid, spool_next_sequence(events->spool), wall_clock_ms()) < 0)
		return -ENOMEM;
	/* Compact: JSON escapes every newline inside strings, so the event is
	 * exactly one NDJSON line. */
	line = json_dumps(event, JSON_COMPACT);
	if (!line)
		return -ENOMEM;
	result = spool_append(events->spool, line, strlen(line));
	free(line);
	return result;
}

/* Takes the event (NULL: building it ran out of memory). */
static int append_event(struct events *events, json_t *event)
{
	int result = event ? stamp_and_append(events, event) : -ENOMEM;

	count_append(events, result);
	if (result < 0 && event)
		/* The sequence went to no event: the next one gets it. */
		json_object_set_new(json_object_get(event, "metadata"), "sequence", json_null());
	mirror(event, result);
	if (result == 0 && events->shipper)
		shipper_notify(events->shipper);
	json_decref(event);
	return result;
}

/* ---- reporting what the audit trail is missing ---- */

static void report_lost(struct events *events)
{
	uint64_t count = events->lost_unreported;

	/* If this append fails too, it is one more lost event to report. */
	if (count > 0 && append_event(events, ocsf_events_lost(&events->identity, count)) == 0)
		events->lost_unreported -= count;
}

static void report_spool_losses(struct events *events)
{
	struct spool_stats stats;

	spool_get_stats(events->spool, &stats);
	if (stats.dropped_unshipped > events->dropped_reported) {
		uint64_t count = stats.dropped_unshipped - events->dropped_reported;
		if (append_event(events, ocsf_events_dropped(&events->identity, count)) == 0)
			events->dropped_reported += count;
	}
	if (stats.corrupt_bytes > events->corrupt_reported) {
		uint64_t count = stats.corrupt_bytes - events->corrupt_reported;
		if (append_event(events, ocsf_spool_corruption(&events->identity, count)) == 0)
			events->corrupt_reported += count;
	}
}

/* Called once the spool takes appends: a report appended while it refuses
 * them would only be lost as well.  The reports are appended directly, never
 * through emit(), so they cannot trigger reports of their own. */
void events_report_losses(struct events *events)
{
	report_lost(events);
	report_spool_losses(events);
}

static void emit(struct events *events, json_t *event)
{
	if (append_event(events, event) == 0)
		events_report_losses(events);
}

/* ---- the typed emitters ---- */

void events_supervisor_started(struct events *events, const char *mode, int pid, bool pid1,
			       bool subreaper)
{
	if (events)
		emit(events, ocsf_supervisor_started(&events->identity, mode, pid, pid1, subreaper));
}

void events_supervisor_ready(struct events *events, const char *listen)
{
	if (events)
		emit(events, ocsf_supervisor_ready(&events->identity, listen));
}

void events_supervisor_stopping(struct events *events, const char *reason, int exit_code)
{
	if (events)
		emit(events, ocsf_supervisor_stopping(&events->identity, reason, exit_code));
}

void events_process_launched(struct events *events, int pid, const char *command, const char *role)
{
	if (events)
		emit(events, ocsf_process_launched(&events->identity, pid, command, role));
}

void events_process_exited(struct events *events, int pid, const char *command, int wait_status,
			   uint64_t duration_ms)
{
	if (events)
		emit(events, ocsf_process_exited(&events->identity, pid, command, wait_status, duration_ms));
}

void events_orphans_reaped(struct events *events, uint64_t count, uint64_t total)
{
	if (events)
		emit(events, ocsf_orphans_reaped(&events->identity, count, total));
}

void events_signal_forwarded(struct events *events, const char *signal_name, int pid,
			     bool delivered)
{
	if (events)
		emit(events, ocsf_signal_forwarded(&events->identity, signal_name, pid, delivered));
}

void events_policy_applied(struct events *events, const char *mode, json_t *receipt)
{
	if (events)
		emit(events, ocsf_policy_applied(&events->identity, mode, receipt));
}

void events_enforcement_finding(struct events *events, const char *mode, const char *summary,
				json_t *skipped, bool refused)
{
	if (events)
		emit(events, ocsf_enforcement_finding(&events->identity, mode, summary, skipped, refused));
}

void events_auth_failed(struct events *events, const char *code, const char *client,
			const char *reason)
{
	if (events)
		emit(events, ocsf_auth_failed(&events->identity, code, client, reason));
}

void events_turn_started(struct events *events, const char *ui_mode, const char *client, int pid)
{
	if (events)
		emit(events, ocsf_turn_started(&events->identity, ui_mode, client, pid));
}

void events_turn_finished(struct events *events, const char *ui_mode, const char *outcome,
			  uint64_t duration_ms, uint64_t bytes)
{
	if (events)
		emit(events, ocsf_turn_finished(&events->identity, ui_mode, outcome, duration_ms, bytes));
}

