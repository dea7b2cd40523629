/* Lifecycle events: what the supervisor reports about itself, the processes it
 * runs, the confinement it applies and the turns it serves (CONTRACT.md,
 * section 5).
 *
 * Each emitter builds one OCSF event, appends it to the durable spool (the
 * event counts as emitted only then), mirrors it to stderr as one JSON log
 * line ({"time", "level", "msg": "event", "event": {...}, "spooled": bool})
 * and, when a gateway URL is configured, wakes the shipper.  Appends are made
 * durable in batches: a loop timer syncs the spool 100 ms after the first
 * append since the last sync, so a power cut loses at most that much.
 *
 * Emitting never fails in a way the caller must handle: an event the spool
 * refuses (full file system, I/O error) is counted as lost and still goes to
 * stderr, marked "spooled": false; once an append succeeds again, one
 * "Events lost" finding with the count follows it into the spool.  Unshipped
 * events the spool's size bound dropped, and corrupt spool bytes found on open
 * or on reading, are reported the same way, once each.
 *
 * Single-threaded: call everything from the supervisor's loop thread.  Every
 * emitter accepts a NULL events (then it does nothing), so code paths that run
 * without events (check-policy) need no special case. */
#ifndef SANDBOX_INIT_EVENTS_H
#define SANDBOX_INIT_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "init/loop.h"

struct events;

struct events_options {
	struct loop *loop;                /* required: the sync timer and the shipper run on it */
	const char *spool_dir;            /* created if missing (its parent must exist) */
	uint64_t spool_max_bytes;         /* 0: the spool's default */
	const char *url;                  /* NULL: spool and stderr only, no shipping */
	const char *client_cert, *client_key, *ca_file;
	/* Who the events are about; NULL is reported as null. */
	const char *session_id, *tenant_id, *knowledge_graph_id, *job_id, *sandbox;
};

/* Opens (and recovers) the spool, starts the shipper when a URL is given and
 * reports what recovery cut off.  Returns 0, -EINVAL (no loop or spool_dir),
 * -ENOMEM, or the error of spool_open() or shipper_start(), with one line in
 * error naming what failed. */
int events_open(const struct events_options *options, struct events **out, char *error,
		size_t error_size);

/* Stops the shipper, syncs and closes the spool: what is unshipped stays
 * spooled for the next start.  NULL is ignored. */
void events_close(struct events *events);

/* 6002 Application Lifecycle. */
void events_supervisor_started(struct events *events, const char *mode, int pid, bool pid1,
			       bool subreaper);
void events_supervisor_ready(struct events *events, const char *listen);
void events_supervisor_stopping(struct events *events, const char *reason, int exit_code);

/* 1007 Process Activity.  role: "workload" or "turn executor"; wait_status
 * as waitpid(2) returns it. */
void events_process_launched(struct events *events, int pid, const char *command, const char *role);
void events_process_exited(struct events *events, int pid, const char *command, int wait_status,
			   uint64_t duration_ms);
void events_orphans_reaped(struct events *events, uint64_t count, uint64_t total);
void events_signal_forwarded(struct events *events, const char *signal_name, int pid,
			     bool delivered);

/* 5019 Device Config State Change, with the enforcement receipt (borrowed). */
void events_policy_applied(struct events *events, const char *mode, json_t *receipt);

/* 2004 Detection Finding: best_effort left part of the policy unenforced, or
 * hard_requirement refused to run (refused).  skipped is borrowed, may be NULL. */
void events_enforcement_finding(struct events *events, const char *mode, const char *summary,
				json_t *skipped, bool refused);

/* 3002 Authentication: a refused runtime token or workload JWT.  code is the
 * HTTP error code (RUNTIME_AUTH_REQUIRED, WORKLOAD_TOKEN_...), client the
 * peer's "ip:port"; there is deliberately no parameter for the token. */
void events_auth_failed(struct events *events, const char *code, const char *client,
			const char *reason);

/* 6003 API Activity: a turn of POST /v1/turn; outcome "ok" is a success. */
void events_turn_started(struct events *events, const char *ui_mode, const char *client, int pid);
void events_turn_finished(struct events *events, const char *ui_mode, const char *outcome,
			  uint64_t duration_ms, uint64_t bytes);

/* Shutdown: syncs the spool and asks the shipper to deliver what it can now,
 * skipping its backoff.  The caller runs the loop until events_idle() or its
 * grace period ends. */
void events_flush(struct events *events);
/* True when the receiver has acknowledged everything spooled and nothing is
 * in flight; always true without a URL (there is nothing to deliver). */
bool events_idle(const struct events *events);

/* For /readyz: false, with the reason, when the spool's file system is
 * read-only, when the last sync failed, or when the last append failed (for
 * lack of space: until the file system has more free blocks than then). */
bool events_spool_writable(const struct events *events, char *reason, size_t reason_size);

/* For /metrics. */
struct events_stats {
	uint64_t spooled;        /* events appended to the spool since open */
	uint64_t shipped;        /* events the receiver acknowledged since open */
	uint64_t dropped;        /* unshipped events the spool's size bound dropped */
	uint64_t lost;           /* events the spool refused (counted, never spooled) */
	uint64_t syncs;          /* spool syncs done by the batching timer and flushes */
	uint64_t sync_failures;
};
void events_get_stats(const struct events *events, struct events_stats *out);

#endif
