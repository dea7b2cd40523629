#include "health/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

/* Upper bounds (inclusive, as Prometheus' le) of the turn duration buckets:
 * from a quick answer to the default 1000 s turn timeout. */
static const double duration_bounds[] = { 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1000 };
#define DURATION_BUCKETS ARRAY_LENGTH(duration_bounds)

static const char *const outcome_labels[METRICS_TURN_OUTCOMES] = {
	[METRICS_TURN_OK] = "ok",
	[METRICS_TURN_ERROR] = "error",
	[METRICS_TURN_TIMEOUT] = "timeout",
	[METRICS_TURN_CRASHED] = "crashed",
	[METRICS_TURN_GARBAGE] = "garbage",
	[METRICS_TURN_CANCELLED] = "cancelled",
	[METRICS_TURN_REFUSED] = "refused",
};

static const char *const auth_code_labels[METRICS_AUTH_CODES] = {
	[METRICS_AUTH_RUNTIME_AUTH_REQUIRED] = "RUNTIME_AUTH_REQUIRED",
	[METRICS_AUTH_WORKLOAD_TOKEN_INVALID] = "WORKLOAD_TOKEN_INVALID",
	[METRICS_AUTH_WORKLOAD_TOKEN_SCOPE] = "WORKLOAD_TOKEN_SCOPE",
	[METRICS_AUTH_WORKLOAD_TOKEN_REPLAYED] = "WORKLOAD_TOKEN_REPLAYED",
};

/* The last entry, "other", takes every path not listed before it. */
static const char *const path_labels[] = { "/health", "/healthz", "/readyz",
					   "/metrics", "/v1/turn", "other" };
#define PATHS ARRAY_LENGTH(path_labels)
#define PATH_OTHER (PATHS - 1)

static const char *const status_class_labels[] = { "2xx", "4xx", "5xx" };
#define STATUS_CLASSES ARRAY_LENGTH(status_class_labels)

static struct {
	uint64_t turns[METRICS_TURN_OUTCOMES];
	/* Observations per bucket, not cumulative: [i] counts durations in
	 * (bound[i-1], bound[i]]; those above the last bound are only in
	 * duration_count, which is therefore the +Inf bucket by construction. */
	uint64_t duration_in_bucket[DURATION_BUCKETS];
	uint64_t duration_count;
	double duration_sum;
	uint64_t auth_failures[METRICS_AUTH_CODES];
	uint64_t http_requests[PATHS][STATUS_CLASSES];
	uint64_t processes_spawned, processes_reaped, orphans_reaped;
	uint64_t events_spooled, events_shipped, events_dropped;
	bool turn_in_progress;
	double start_time_seconds;
	char version[METRICS_VERSION_MAX_LENGTH + 1];
} metrics = { .version = SI_VERSION };

void metrics_init(double start_time_seconds, const char *version)
{
	memset(&metrics, 0, sizeof(metrics));
	metrics.start_time_seconds = start_time_seconds;
	snprintf(metrics.version, sizeof(metrics.version), "%s", version ? version : SI_VERSION);
}

static size_t duration_bucket_index(double duration_seconds)
{
	size_t index = 0;

	while (index < DURATION_BUCKETS && duration_seconds > duration_bounds[index])
		index++;
	return index;
}

int metrics_turn_finished(enum metrics_turn_outcome outcome, double duration_seconds)
{
	if ((unsigned)outcome >= METRICS_TURN_OUTCOMES)
		return -EINVAL;
	if (!isfinite(duration_seconds) || duration_seconds < 0)
		return -EINVAL;

	metrics.turns[outcome]++;
	size_t bucket = duration_bucket_index(duration_seconds);
	if (bucket < DURATION_BUCKETS)
		metrics.duration_in_bucket[bucket]++;
	metrics.duration_count++;
	metrics.duration_sum += duration_seconds;
	return 0;
}

int metrics_auth_failure(enum metrics_auth_code code)
{
	if ((unsigned)code >= METRICS_AUTH_CODES)
		return -EINVAL;
	metrics.auth_failures[code]++;
	return 0;
}

static size_t path_index(const char *path)
{
	for (size_t i = 0; path && i < PATH_OTHER; i++) {
		if (strcmp(path, path_labels[i]) == 0)
			return i;
	}
	return PATH_OTHER;
}

/* Returns the index into status_class_labels, or -1. */
static int status_class_index(unsigned status)
{
	switch (status / 100) {
	case 2:
		return 0;
	case 4:
		return 1;
	case 5:
		return 2;
	default:
		return -1;
	}
}

int metrics_http_request(const char *path, unsigned status)
{
	int class = status_class_index(status);

	if (class < 0)
		return -EINVAL;
	metrics.http_requests[path_index(path)][class]++;
	return 0;
}

void metrics_set_processes(uint64_t spawned, uint64_t reaped, uint64_t orphans)
{
	metrics.processes_spawned = spawned;
	metrics.processes_reaped = reaped;
	metrics.orphans_reaped = orphans;
}

void metrics_set_events(uint64_t spooled, uint64_t shipped, uint64_t dropped)
{
	metrics.events_spooled = spooled;
	metrics.events_shipped = shipped;
	metrics.events_dropped = dropped;
}

void metrics_set_turn_in_progress(bool in_progress)
{
	metrics.turn_in_progress = in_progress;
}

/* Rendering runs twice over the same state: once with no buffer to measure,
 * once into a buffer of exactly that size.  Nothing can change the state in
 * between (single-threaded), so the second pass never truncates. */
struct exposition {
	char *buffer;
	size_t capacity;
	size_t length;
};

__attribute__((format(printf, 2, 3))) static void emit(struct exposition *out, const char *format,
						       ...)
{
	char *at = out->length < out->capacity ? out->buffer + out->length : NULL;
	size_t room = at ? out->capacity - out->length : 0;
	va_list args;

	va_start(args, format);
	int written = vsnprintf(at, room, format, args);
	va_end(args);
	if (written > 0)
		out->length += (size_t)written;
}

/* Label values may hold any UTF-8; the text format requires backslash,
 * double quote and line feed escaped, or a value could end the label or
 * the line and forge another series. */
static void emit_label_value(struct exposition *out, const char *value)
{
	for (const char *c = value; *c; c++) {
		switch (*c) {
		case '\\':
			emit(out, "\\\\");
			break;
		case '"':
			emit(out, "\\\"");
			break;
		case '\n':
			emit(out, "\\n");
			break;
		default:
			emit(out, "%c", *c);
		}
	}
}

/* The shortest of %.15g and %.17g that reads back as the same double, and
 * the text format's spelling of the values printf spells otherwise. */
static void format_float(double value, char *text, size_t size)
{
	if (isnan(value)) {
		snprintf(text, size, "NaN");
	} else if (isinf(value)) {
		snprintf(text, size, value > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(text, size, "%.15g", value);
		if (strtod(text, NULL) != value)
			snprintf(text, size, "%.17g", value);
	}
}

static void emit_header(struct exposition *out, const char *name, const char *type,
			const char *help)
{
	emit(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void emit_counter(struct exposition *out, const char *name, const char *help,
			 uint64_t value)
{
	emit_header(out, name, "counter", help);
	emit(out, "%s %" PRIu64 "\n", name, value);
}

static void emit_gauge(struct exposition *out, const char *name, const char *help, double value)
{
	char text[32];

	format_float(value, text, sizeof(text));
	emit_header(out, name, "gauge", help);
	emit(out, "%s %s\n", name, text);
}

static void emit_build_info(struct exposition *out)
{
	static const char name[] = "sandbox_init_build_info";

	emit_header(out, name, "gauge", "The running build of sandbox-init; always 1.");
	emit(out, "%s{version=\"", name);
	emit_label_value(out, metrics.version);
	emit(out, "\"} 1\n");
}

static void emit_turns(struct exposition *out)
{
	static const char name[] = "sandbox_init_turns_total";

	emit_header(out, name, "counter", "Turns finished, by outcome.");
	for (size_t i = 0; i < METRICS_TURN_OUTCOMES; i++)
		emit(out, "%s{outcome=\"%s\"} %" PRIu64 "\n", name, outcome_labels[i],
		     metrics.turns[i]);
}

static void emit_turn_duration(struct exposition *out)
{
	static const char name[] = "sandbox_init_turn_duration_seconds";
	uint64_t cumulative = 0;
	char text[32];

	emit_header(out, name, "histogram", "Wall-clock duration of finished turns.");
	for (size_t i = 0; i < DURATION_BUCKETS; i++) {
		cumulative += metrics.duration_in_bucket[i];
		format_float(duration_bounds[i], text, sizeof(text));
		emit(out, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name, text, cumulative);
	}
	emit(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, metrics.duration_count);
	format_float(metrics.duration_sum, text, sizeof(text));
	emit(out, "%s_sum %s\n", name, text);
	emit(out, "%s_count %" PRIu64 "\n", name, metrics.duration_count);
}

static void emit_auth_failures(struct exposition *out)
{
	static const char name[] = "sandbox_init_auth_failures_total";

	emit_header(out, name, "counter", "Requests refused by authentication, by error code.");
	for (size_t i = 0; i < METRICS_AUTH_CODES; i++)
		emit(out, "%s{code=\"%s\"} %" PRIu64 "\n", name, auth_code_labels[i],
		     metrics.auth_failures[i]);
}

static void emit_http_requests(struct exposition *out)
{
	static const char name[] = "sandbox_init_http_requests_total";

	emit_header(out, name, "counter", "HTTP requests answered, by path and status class.");
	for (size_t path = 0; path < PATHS; path++) {
		for (size_t class = 0; class < STATUS_CLASSES; class++)
			emit(out, "%s{path=\"%s\",status=\"%s\"} %" PRIu64 "\n", name,
			     path_labels[path], status_class_labels[class],
			     metrics.http_requests[path][class]);
	}
}

static void render_into(struct exposition *out)
{
	emit_gauge(out, "sandbox_init_up", "1 while the supervisor answers.", 1);
	emit_gauge(out, "sandbox_init_start_time_seconds",
		   "Start time of the supervisor in seconds since the epoch.",
		   metrics.start_time_seconds);
	emit_build_info(out);
	emit_gauge(out, "sandbox_init_turn_in_progress", "1 while a turn runs, else 0.",
		   metrics.turn_in_progress ? 1 : 0);
	emit_turns(out);
	emit_turn_duration(out);
	emit_auth_failures(out);
	emit_http_requests(out);
	emit_counter(out, "sandbox_init_processes_spawned_total",
		     "Processes the supervisor started.", metrics.processes_spawned);
	emit_counter(out, "sandbox_init_processes_reaped_total",
		     "Processes reaped, orphans included.", metrics.processes_reaped);
	emit_counter(out, "sandbox_init_orphans_reaped_total",
		     "Reaped processes the supervisor had not started.", metrics.orphans_reaped);
	emit_counter(out, "sandbox_init_events_spooled_total",
		     "Lifecycle events appended to the spool.", metrics.events_spooled);
	emit_counter(out, "sandbox_init_events_shipped_total",
		     "Lifecycle events acknowledged by the receiver.", metrics.events_shipped);
	emit_counter(out, "sandbox_init_events_dropped_total",
		     "Lifecycle events dropped before they were shipped.",
		     metrics.events_dropped);
}

char *metrics_render(size_t *length)
{
	struct exposition measure = { 0 };

	render_into(&measure);
	char *buffer = malloc(measure.length + 1);
	if (!buffer)
		return NULL;

	struct exposition out = { .buffer = buffer, .capacity = measure.length + 1 };
	render_into(&out);
	if (length)
		*length = out.length;
	return buffer;
}
