/* The supervisor's metrics and their Prometheus text exposition (format
 * 0.0.4), served on GET /metrics.
 *
 * The set of metrics and of their label values is fixed at compile time, so
 * counting never allocates and every series is exposed from the start (at 0):
 * a rate() over a series that appears only on its first increment misses that
 * increment.  Only metrics_render() allocates, the buffer it returns.
 *
 * Single-threaded: every function must be called from the one thread that
 * owns the metrics (the supervisor's loop); nothing here locks. */
#ifndef SANDBOX_INIT_METRICS_H
#define SANDBOX_INIT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Content-Type of what metrics_render() writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Longer build_info versions are cut to this many bytes. */
#define METRICS_VERSION_MAX_LENGTH 63

/* sandbox_init_turns_total{outcome=...}, in the order they are exposed. */
enum metrics_turn_outcome {
	METRICS_TURN_OK,        /* the executor wrote done with ok:true */
	METRICS_TURN_ERROR,     /* the executor wrote done with ok:false */
	METRICS_TURN_TIMEOUT,   /* killed at the turn timeout */
	METRICS_TURN_CRASHED,   /* exited or was killed without writing done */
	METRICS_TURN_GARBAGE,   /* wrote a line that is not a JSON object */
	METRICS_TURN_CANCELLED, /* the client went away, the group was killed */
	METRICS_TURN_REFUSED,   /* never started: policy not enforceable, spawn failed */
	METRICS_TURN_OUTCOMES
};

/* sandbox_init_auth_failures_total{code=...}: the contract's error codes. */
enum metrics_auth_code {
	METRICS_AUTH_RUNTIME_AUTH_REQUIRED,
	METRICS_AUTH_WORKLOAD_TOKEN_INVALID,
	METRICS_AUTH_WORKLOAD_TOKEN_SCOPE,
	METRICS_AUTH_WORKLOAD_TOKEN_REPLAYED,
	METRICS_AUTH_CODES
};

/* Sets every counter, gauge and the histogram to zero, and records the
 * start time (seconds since the epoch, for sandbox_init_start_time_seconds)
 * and the build_info version (NULL: SI_VERSION; copied, cut to
 * METRICS_VERSION_MAX_LENGTH bytes). */
void metrics_init(double start_time_seconds, const char *version);

/* Counts one finished turn under its outcome and observes its wall-clock
 * duration in sandbox_init_turn_duration_seconds.  Returns 0, or -EINVAL
 * (outcome out of range, duration negative or not finite) having counted
 * nothing. */
int metrics_turn_finished(enum metrics_turn_outcome outcome, double duration_seconds);

/* Returns 0, or -EINVAL (code out of range) having counted nothing. */
int metrics_auth_failure(enum metrics_auth_code code);

/* Counts one answered request.  path is the request's path without its query
 * (NULL counts as "other"): /health, /healthz, /readyz, /metrics and /v1/turn
 * are counted under their own label, any other path under "other", so a
 * scanner cannot grow the set of series.  Returns 0, or -EINVAL (status
 * outside 200-299, 400-499 and 500-599; the server answers nothing else)
 * having counted nothing. */
int metrics_http_request(const char *path, unsigned status);

/* The process table's totals (init/proc.h's proc_stats): reaped counts every
 * reaped process, orphans included.  Set them just before rendering. */
void metrics_set_processes(uint64_t spawned, uint64_t reaped, uint64_t orphans);

/* The event spool's and shipper's totals.  Set them just before rendering. */
void metrics_set_events(uint64_t spooled, uint64_t shipped, uint64_t dropped);

void metrics_set_turn_in_progress(bool in_progress);

/* Writes the exposition, NUL-terminated, into a malloc'd buffer the caller
 * frees; *length (may be NULL) receives its length without the NUL.
 * Returns NULL when out of memory. */
char *metrics_render(size_t *length);

#endif
