/* The metrics registry and its Prometheus text exposition.  Every rendering is
 * checked by an independent validator written from the format's grammar
 * (text format 0.0.4): each line a HELP, TYPE or sample line, families
 * contiguous and typed before their samples, series unique, counters named
 * _total, histogram buckets ascending and cumulative with +Inf equal to
 * _count.  The validator is itself shown to reject each kind of mistake. */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "health/metrics.h"

#define START_TIME 1700000000.25

/* ------------------------------------------------------------ the validator */

#define NAME "[a-zA-Z_:][a-zA-Z0-9_:]*"
#define LABEL_NAME "[a-zA-Z_][a-zA-Z0-9_]*"
/* Inside a bracket expression a backslash is literal (POSIX). */
#define LABEL_VALUE "\"([^\"\\\\]|\\\\[\\\\\"n])*\""
#define LABEL LABEL_NAME "=" LABEL_VALUE
#define VALUE "(NaN|[-+]?Inf|[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?)"

static const char help_pattern[] = "^# HELP " NAME " ([^\\\\]|\\\\[\\\\n])*$";
static const char type_pattern[] = "^# TYPE " NAME " (counter|gauge|histogram|summary|untyped)$";
static const char sample_pattern[] =
	"^" NAME "(\\{(" LABEL "(," LABEL ")*,?)?\\})? " VALUE "( -?[0-9]+)?$";

#define MAX_LINE 1024
#define MAX_LABELS 8
#define MAX_SERIES 512

struct label {
	char name[64];
	char value[256];
};

struct sample {
	char name[128];
	struct label labels[MAX_LABELS];
	size_t label_count;
	char series[MAX_LINE]; /* name and labels as written, the identity of the series */
	double value;
};

struct family {
	char name[128];
	char type[16];
	bool typed;
	size_t samples;
	/* histograms only */
	double last_le;
	double last_bucket;
	bool has_inf, has_sum, has_count;
	double inf_bucket, count;
};

struct validator {
	regex_t help, type, sample;
	struct family current;
	char seen_families[64][128];
	size_t family_count;
	char (*series)[MAX_LINE];
	size_t series_count;
	char *error;
	size_t error_size;
};

__attribute__((format(printf, 2, 3))) static bool invalid(struct validator *v,
							   const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(v->error, v->error_size, format, args);
	va_end(args);
	return false;
}

static bool has_suffix(const char *text, const char *suffix)
{
	size_t length = strlen(text), suffix_length = strlen(suffix);

	return length >= suffix_length && strcmp(text + length - suffix_length, suffix) == 0;
}

/* Reads name="value" pairs (syntax already checked by the regex), undoing
 * the three escapes. */
static bool parse_labels(struct validator *v, const char *text, struct sample *sample)
{
	const char *c = text;

	while (*c && *c != '}') {
		struct label *label = &sample->labels[sample->label_count];
		size_t n = 0;

		if (sample->label_count == MAX_LABELS)
			return invalid(v, "too many labels: %s", text);
		while (*c != '=' && n < sizeof(label->name) - 1)
			label->name[n++] = *c++;
		label->name[n] = '\0';
		c += 2; /* =" */
		for (n = 0; *c != '"' && n < sizeof(label->value) - 1; n++) {
			if (*c == '\\') {
				c++;
				label->value[n] = *c == 'n' ? '\n' : *c;
			} else {
				label->value[n] = *c;
			}
			c++;
		}
		label->value[n] = '\0';
		c++; /* closing quote */
		if (*c == ',')
			c++;
		for (size_t i = 0; i < sample->label_count; i++) {
			if (strcmp(sample->labels[i].name, label->name) == 0)
				return invalid(v, "label %s repeated: %s", label->name, text);
		}
		sample->label_count++;
	}
	return true;
}

static bool parse_sample(struct validator *v, const char *line, struct sample *sample)
{
	size_t name_length = strcspn(line, "{ ");
	const char *value = strrchr(line, ' ');

	memset(sample, 0, sizeof(*sample));
	snprintf(sample->name, sizeof(sample->name), "%.*s", (int)name_length, line);
	snprintf(sample->series, sizeof(sample->series), "%.*s", (int)(value - line), line);
	/* Label values may hold spaces and braces, but the value and timestamp
	 * cannot: the last brace closes the labels, the last space precedes the
	 * value unless a timestamp follows it, which this exposition never writes. */
	const char *rest = line[name_length] == '{' ? strrchr(line, '}') + 1 : line + name_length;
	if (strchr(rest, ' ') != value)
		return invalid(v, "unexpected timestamp: %s", line);
	sample->value = strtod(value + 1, NULL);
	if (line[name_length] == '{')
		return parse_labels(v, line + name_length + 1, sample);
	return true;
}

static bool finish_family(struct validator *v)
{
	struct family *f = &v->current;

	if (!f->name[0])
		return true;
	if (f->samples == 0)
		return invalid(v, "family %s has no samples", f->name);
	if (strcmp(f->type, "histogram") == 0) {
		if (!f->has_inf || !f->has_sum || !f->has_count)
			return invalid(v, "histogram %s lacks +Inf, _sum or _count", f->name);
		if (f->count != f->inf_bucket)
			return invalid(v, "histogram %s: _count %g != +Inf bucket %g", f->name,
				       f->count, f->inf_bucket);
	}
	return true;
}

static bool start_family(struct validator *v, const char *name)
{
	if (strcmp(v->current.name, name) == 0) {
		if (v->current.samples > 0)
			return invalid(v, "HELP or TYPE of %s after its samples", name);
		return true;
	}
	if (!finish_family(v))
		return false;
	for (size_t i = 0; i < v->family_count; i++) {
		if (strcmp(v->seen_families[i], name) == 0)
			return invalid(v, "family %s appears twice", name);
	}
	if (v->family_count == 64)
		return invalid(v, "too many families");
	snprintf(v->seen_families[v->family_count++], 128, "%s", name);
	memset(&v->current, 0, sizeof(v->current));
	snprintf(v->current.name, sizeof(v->current.name), "%s", name);
	v->current.last_le = -INFINITY;
	return true;
}

static bool check_type_line(struct validator *v, const char *line)
{
	char name[128], type[16];

	sscanf(line, "# TYPE %127s %15s", name, type);
	if (!start_family(v, name))
		return false;
	if (v->current.typed)
		return invalid(v, "two TYPE lines for %s", name);
	v->current.typed = true;
	snprintf(v->current.type, sizeof(v->current.type), "%s", type);
	if (strcmp(type, "counter") == 0 && !has_suffix(name, "_total"))
		return invalid(v, "counter %s does not end in _total", name);
	return true;
}

static bool check_help_line(struct validator *v, const char *line)
{
	char name[128];

	sscanf(line, "# HELP %127s", name);
	return start_family(v, name);
}

static bool check_bucket(struct validator *v, const struct sample *s)
{
	struct family *f = &v->current;

	if (s->label_count != 1 || strcmp(s->labels[0].name, "le") != 0)
		return invalid(v, "bucket without a single le label: %s", s->series);
	if (f->has_inf)
		return invalid(v, "bucket after +Inf: %s", s->series);
	double le = strtod(s->labels[0].value, NULL);
	if (!(le > f->last_le))
		return invalid(v, "le not ascending: %s", s->series);
	if (s->value < f->last_bucket)
		return invalid(v, "buckets not cumulative: %s", s->series);
	f->last_le = le;
	f->last_bucket = s->value;
	if (isinf(le)) {
		f->has_inf = true;
		f->inf_bucket = s->value;
	}
	return true;
}

static bool check_histogram_sample(struct validator *v, const struct sample *s)
{
	struct family *f = &v->current;
	char bucket[160], sum[160], count[160];

	snprintf(bucket, sizeof(bucket), "%s_bucket", f->name);
	snprintf(sum, sizeof(sum), "%s_sum", f->name);
	snprintf(count, sizeof(count), "%s_count", f->name);
	if (strcmp(s->name, bucket) == 0)
		return check_bucket(v, s);
	if (strcmp(s->name, sum) == 0) {
		f->has_sum = true;
		return true;
	}
	if (strcmp(s->name, count) == 0) {
		f->has_count = true;
		f->count = s->value;
		return true;
	}
	return invalid(v, "sample %s does not belong to histogram %s", s->name, f->name);
}

static bool check_series_unique(struct validator *v, const struct sample *s)
{
	for (size_t i = 0; i < v->series_count; i++) {
		if (strcmp(v->series[i], s->series) == 0)
			return invalid(v, "series %s repeated", s->series);
	}
	if (v->series_count == MAX_SERIES)
		return invalid(v, "too many series");
	snprintf(v->series[v->series_count++], MAX_LINE, "%s", s->series);
	return true;
}

static bool check_sample_line(struct validator *v, const char *line)
{
	struct sample s;
	struct family *f = &v->current;

	if (!parse_sample(v, line, &s) || !check_series_unique(v, &s))
		return false;
	if (!f->typed)
		return invalid(v, "sample before its family's TYPE: %s", line);
	f->samples++;
	if (strcmp(f->type, "histogram") == 0)
		return check_histogram_sample(v, &s);
	if (strcmp(s.name, f->name) != 0)
		return invalid(v, "sample %s inside family %s", s.name, f->name);
	if (strcmp(f->type, "counter") == 0 && !(s.value >= 0))
		return invalid(v, "counter below zero or NaN: %s", line);
	return true;
}

static bool check_line(struct validator *v, const char *line)
{
	if (regexec(&v->help, line, 0, NULL, 0) == 0)
		return check_help_line(v, line);
	if (regexec(&v->type, line, 0, NULL, 0) == 0)
		return check_type_line(v, line);
	if (regexec(&v->sample, line, 0, NULL, 0) == 0)
		return check_sample_line(v, line);
	return invalid(v, "line matches no rule of the grammar: \"%s\"", line);
}

static bool check_lines(struct validator *v, const char *text, size_t length)
{
	if (length == 0 || text[length - 1] != '\n')
		return invalid(v, "exposition does not end with a line feed");
	if (strlen(text) != length)
		return invalid(v, "NUL byte inside the exposition");
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		char copy[MAX_LINE];

		if ((size_t)(end - line) >= sizeof(copy))
			return invalid(v, "line too long");
		memcpy(copy, line, (size_t)(end - line));
		copy[end - line] = '\0';
		if (!check_line(v, copy))
			return false;
		line = end + 1;
	}
	return finish_family(v);
}

static bool validate_exposition(const char *text, size_t length, char *error, size_t error_size)
{
	struct validator v = { .error = error, .error_size = error_size };
	bool valid;

	assert_int_equal(regcomp(&v.help, help_pattern, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&v.type, type_pattern, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&v.sample, sample_pattern, REG_EXTENDED | REG_NOSUB), 0);
	v.series = calloc(MAX_SERIES, sizeof(*v.series));
	assert_non_null(v.series);
	error[0] = '\0';
	valid = check_lines(&v, text, length);
	free(v.series);
	regfree(&v.help);
	regfree(&v.type);
	regfree(&v.sample);
	return valid;
}

/* ------------------------------------------------------------ helpers */

/* Renders, checks the result against the grammar and returns it. */
static char *render_valid(void)
{
	char error[512];
	size_t length = 0;
	char *text = metrics_render(&length);

	assert_non_null(text);
	assert_int_equal(length, strlen(text));
	if (!validate_exposition(text, length, error, sizeof(error)))
		fail_msg("invalid exposition: %s\n%s", error, text);
	return text;
}

static bool has_line(const char *text, const char *line)
{
	size_t length = strlen(line);

	for (const char *at = text; (at = strstr(at, line)); at++) {
		if ((at == text || at[-1] == '\n') && at[length] == '\n')
			return true;
	}
	return false;
}

__attribute__((format(printf, 2, 3))) static void assert_line(const char *text,
							       const char *format, ...)
{
	char line[MAX_LINE];
	va_list args;

	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	if (!has_line(text, line))
		fail_msg("missing line \"%s\" in:\n%s", line, text);
}

/* The value of the sample whose name and labels are exactly series. */
static double sample_value(const char *text, const char *series)
{
	size_t length = strlen(series);

	for (const char *at = text; (at = strstr(at, series)); at++) {
		if ((at == text || at[-1] == '\n') && at[length] == ' ')
			return strtod(at + length + 1, NULL);
	}
	fail_msg("no series %s", series);
	return NAN;
}

static size_t count_lines_starting(const char *text, const char *prefix)
{
	size_t count = 0;

	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			count++;
	}
	return count;
}

static int reset(void **state)
{
	(void)state;
	metrics_init(START_TIME, "1.2.3");
	return 0;
}

/* ------------------------------------------------------------ the exposition */

static void test_fresh_exposition_is_valid_with_every_series_at_zero(void **state)
{
	char *text = render_valid();

	(void)state;
	assert_line(text, "sandbox_init_up 1");
	assert_line(text, "sandbox_init_turn_in_progress 0");
	assert_line(text, "sandbox_init_build_info{version=\"1.2.3\"} 1");
	assert_int_equal(count_lines_starting(text, "sandbox_init_turns_total{"), 7);
	assert_int_equal(count_lines_starting(text, "sandbox_init_auth_failures_total{"), 4);
	assert_int_equal(count_lines_starting(text, "sandbox_init_http_requests_total{"), 18);
	assert_int_equal(count_lines_starting(text, "sandbox_init_turn_duration_seconds_bucket{"),
			 13);
	assert_line(text, "sandbox_init_turns_total{outcome=\"refused\"} 0");
	assert_line(text, "sandbox_init_auth_failures_total{code=\"WORKLOAD_TOKEN_REPLAYED\"} 0");
	assert_line(text, "sandbox_init_http_requests_total{path=\"other\",status=\"5xx\"} 0");
	assert_line(text, "sandbox_init_turn_duration_seconds_bucket{le=\"+Inf\"} 0");
	assert_line(text, "sandbox_init_turn_duration_seconds_count 0");
	assert_line(text, "sandbox_init_turn_duration_seconds_sum 0");
	assert_line(text, "sandbox_init_processes_spawned_total 0");
	assert_line(text, "sandbox_init_events_dropped_total 0");
	free(text);
}

static void test_every_family_has_help_and_type_with_the_right_type(void **state)
{
	static const char *const types[][2] = {
		{ "sandbox_init_up", "gauge" },
		{ "sandbox_init_start_time_seconds", "gauge" },
		{ "sandbox_init_build_info", "gauge" },
		{ "sandbox_init_turn_in_progress", "gauge" },
		{ "sandbox_init_turns_total", "counter" },
		{ "sandbox_init_turn_duration_seconds", "histogram" },
		{ "sandbox_init_auth_failures_total", "counter" },
		{ "sandbox_init_http_requests_total", "counter" },
		{ "sandbox_init_processes_spawned_total", "counter" },
		{ "sandbox_init_processes_reaped_total", "counter" },
		{ "sandbox_init_orphans_reaped_total", "counter" },
		{ "sandbox_init_events_spooled_total", "counter" },
		{ "sandbox_init_events_shipped_total", "counter" },
		{ "sandbox_init_events_dropped_total", "counter" },
	};
	char *text = render_valid();
	char prefix[160];

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_line(text, "# TYPE %s %s", types[i][0], types[i][1]);
		snprintf(prefix, sizeof(prefix), "# HELP %s ", types[i][0]);
		assert_int_equal(count_lines_starting(text, prefix), 1);
	}
	assert_int_equal(count_lines_starting(text, "# TYPE "), 14);
	free(text);
}

static void test_render_returns_its_length_and_a_nul_terminated_text(void **state)
{
	size_t length = 0;
	char *text = metrics_render(&length);
	char *again = metrics_render(NULL);

	(void)state;
	assert_non_null(text);
	assert_int_equal(strlen(text), length);
	assert_string_equal(text, again);
	free(again);
	free(text);
}

static void test_start_time_is_exposed_to_the_fraction(void **state)
{
	char *text = render_valid();

	(void)state;
	assert_line(text, "sandbox_init_start_time_seconds 1700000000.25");
	free(text);
}

/* ------------------------------------------------------------ turns */

static void test_each_turn_outcome_is_counted_under_its_own_label(void **state)
{
	static const char *const labels[] = { "ok",      "error",     "timeout", "crashed",
					      "garbage", "cancelled", "refused" };
	char series[128];

	(void)state;
	for (int outcome = 0; outcome < METRICS_TURN_OUTCOMES; outcome++) {
		for (int n = 0; n <= outcome; n++)
			assert_int_equal(metrics_turn_finished(outcome, 1.0), 0);
	}
	char *text = render_valid();
	for (int outcome = 0; outcome < METRICS_TURN_OUTCOMES; outcome++) {
		snprintf(series, sizeof(series), "sandbox_init_turns_total{outcome=\"%s\"}",
			 labels[outcome]);
		assert_true(sample_value(text, series) == outcome + 1);
	}
	assert_line(text, "sandbox_init_turn_duration_seconds_count 28");
	free(text);
}

static void test_turn_durations_fill_cumulative_buckets_with_inclusive_bounds(void **state)
{
	static const double durations[] = { 0.05, 0.1, 0.3, 7, 999.9, 1000, 1000.5, 5000 };
	double sum = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		assert_int_equal(metrics_turn_finished(METRICS_TURN_OK, durations[i]), 0);
		sum += durations[i];
	}
	char *text = render_valid();
	const char *bucket = "sandbox_init_turn_duration_seconds_bucket";
	assert_line(text, "%s{le=\"0.1\"} 2", bucket); /* 0.1 itself is <= 0.1 */
	assert_line(text, "%s{le=\"0.5\"} 3", bucket);
	assert_line(text, "%s{le=\"1\"} 3", bucket);
	assert_line(text, "%s{le=\"2.5\"} 3", bucket);
	assert_line(text, "%s{le=\"5\"} 3", bucket);
	assert_line(text, "%s{le=\"10\"} 4", bucket);
	assert_line(text, "%s{le=\"300\"} 4", bucket);
	assert_line(text, "%s{le=\"600\"} 4", bucket);
	assert_line(text, "%s{le=\"1000\"} 6", bucket);
	assert_line(text, "%s{le=\"+Inf\"} 8", bucket);
	assert_line(text, "sandbox_init_turn_duration_seconds_count 8");
	assert_true(sample_value(text, "sandbox_init_turn_duration_seconds_sum") == sum);
	free(text);
}

static void test_turn_with_bad_outcome_or_duration_fails_with_einval_and_counts_nothing(
	void **state)
{
	char *before = metrics_render(NULL);

	(void)state;
	assert_int_equal(metrics_turn_finished(METRICS_TURN_OUTCOMES, 1), -EINVAL);
	assert_int_equal(metrics_turn_finished((enum metrics_turn_outcome)-1, 1), -EINVAL);
	assert_int_equal(metrics_turn_finished(METRICS_TURN_OK, -0.001), -EINVAL);
	assert_int_equal(metrics_turn_finished(METRICS_TURN_OK, NAN), -EINVAL);
	assert_int_equal(metrics_turn_finished(METRICS_TURN_OK, INFINITY), -EINVAL);
	char *after = render_valid();
	assert_string_equal(before, after);

	assert_int_equal(metrics_turn_finished(METRICS_TURN_REFUSED, 0), 0);
	free(after);
	after = render_valid();
	assert_line(after, "sandbox_init_turns_total{outcome=\"refused\"} 1");
	assert_line(after, "sandbox_init_turn_duration_seconds_bucket{le=\"0.1\"} 1");
	free(after);
	free(before);
}

static void test_turn_in_progress_gauge_follows_the_setter(void **state)
{
	char *text;

	(void)state;
	metrics_set_turn_in_progress(true);
	text = render_valid();
	assert_line(text, "sandbox_init_turn_in_progress 1");
	free(text);
	metrics_set_turn_in_progress(false);
	text = render_valid();
	assert_line(text, "sandbox_init_turn_in_progress 0");
	free(text);
}

/* ------------------------------------------------------------ auth and HTTP */

static void test_auth_failures_are_counted_by_code(void **state)
{
	(void)state;
	assert_int_equal(metrics_auth_failure(METRICS_AUTH_RUNTIME_AUTH_REQUIRED), 0);
	assert_int_equal(metrics_auth_failure(METRICS_AUTH_RUNTIME_AUTH_REQUIRED), 0);
	assert_int_equal(metrics_auth_failure(METRICS_AUTH_WORKLOAD_TOKEN_SCOPE), 0);
	assert_int_equal(metrics_auth_failure(METRICS_AUTH_WORKLOAD_TOKEN_REPLAYED), 0);
	char *text = render_valid();
	const char *name = "sandbox_init_auth_failures_total";
	assert_line(text, "%s{code=\"RUNTIME_AUTH_REQUIRED\"} 2", name);
	assert_line(text, "%s{code=\"WORKLOAD_TOKEN_INVALID\"} 0", name);
	assert_line(text, "%s{code=\"WORKLOAD_TOKEN_SCOPE\"} 1", name);
	assert_line(text, "%s{code=\"WORKLOAD_TOKEN_REPLAYED\"} 1", name);
	free(text);
}

static void test_auth_failure_with_bad_code_fails_with_einval_and_counts_nothing(void **state)
{
	char *before = metrics_render(NULL);

	(void)state;
	assert_int_equal(metrics_auth_failure(METRICS_AUTH_CODES), -EINVAL);
	assert_int_equal(metrics_auth_failure((enum metrics_auth_code)-1), -EINVAL);
	char *after = render_valid();
	assert_string_equal(before, after);
	free(after);
	free(before);
}

static void test_http_requests_are_counted_by_path_and_status_class(void **state)
{
	(void)state;
	assert_int_equal(metrics_http_request("/health", 200), 0);
	assert_int_equal(metrics_http_request("/health", 503), 0);
	assert_int_equal(metrics_http_request("/healthz", 299), 0);
	assert_int_equal(metrics_http_request("/readyz", 599), 0);
	assert_int_equal(metrics_http_request("/metrics", 204), 0);
	assert_int_equal(metrics_http_request("/v1/turn", 401), 0);
	assert_int_equal(metrics_http_request("/v1/turn", 499), 0);
	assert_int_equal(metrics_http_request("/v1/turn", 400), 0);
	char *text = render_valid();
	const char *name = "sandbox_init_http_requests_total";
	assert_line(text, "%s{path=\"/health\",status=\"2xx\"} 1", name);
	assert_line(text, "%s{path=\"/health\",status=\"5xx\"} 1", name);
	assert_line(text, "%s{path=\"/healthz\",status=\"2xx\"} 1", name);
	assert_line(text, "%s{path=\"/readyz\",status=\"5xx\"} 1", name);
	assert_line(text, "%s{path=\"/metrics\",status=\"2xx\"} 1", name);
	assert_line(text, "%s{path=\"/v1/turn\",status=\"4xx\"} 3", name);
	assert_line(text, "%s{path=\"/v1/turn\",status=\"2xx\"} 0", name);
	assert_line(text, "%s{path=\"other\",status=\"4xx\"} 0", name);
	free(text);
}

static void test_unlisted_paths_are_counted_as_other_and_add_no_series(void **state)
{
	static const char *const paths[] = { "/admin", "/health/", "/HEALTH", "",
					     "/v1/turn/x", "/health?x=\"1\"" };

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(metrics_http_request(paths[i], 404), 0);
	assert_int_equal(metrics_http_request(NULL, 404), 0);
	char *text = render_valid();
	assert_line(text, "sandbox_init_http_requests_total{path=\"other\",status=\"4xx\"} 7");
	assert_line(text, "sandbox_init_http_requests_total{path=\"/health\",status=\"4xx\"} 0");
	assert_int_equal(count_lines_starting(text, "sandbox_init_http_requests_total{"), 18);
	free(text);
}

static void test_http_status_outside_2xx_4xx_5xx_fails_with_einval_and_counts_nothing(
	void **state)
{
	static const unsigned statuses[] = { 0, 100, 199, 300, 302, 399, 600, 2000, 20000 };
	char *before = metrics_render(NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		assert_int_equal(metrics_http_request("/health", statuses[i]), -EINVAL);
	char *after = render_valid();
	assert_string_equal(before, after);
	free(after);

	assert_int_equal(metrics_http_request("/health", 200), 0);
	after = render_valid();
	assert_line(after, "sandbox_init_http_requests_total{path=\"/health\",status=\"2xx\"} 1");
	free(after);
	free(before);
}

/* ------------------------------------------------------------ totals set by their owners */

static void test_process_and_event_totals_are_exposed_as_last_set(void **state)
{
	char *text;

	(void)state;
	metrics_set_processes(5, 4, 1);
	metrics_set_events(10, 8, 2);
	metrics_set_processes(7, 6, 2);
	text = render_valid();
	assert_line(text, "sandbox_init_processes_spawned_total 7");
	assert_line(text, "sandbox_init_processes_reaped_total 6");
	assert_line(text, "sandbox_init_orphans_reaped_total 2");
	assert_line(text, "sandbox_init_events_spooled_total 10");
	assert_line(text, "sandbox_init_events_shipped_total 8");
	assert_line(text, "sandbox_init_events_dropped_total 2");
	free(text);

	metrics_set_events(UINT64_MAX, 0, 0);
	text = render_valid();
	assert_line(text, "sandbox_init_events_spooled_total 18446744073709551615");
	free(text);
}

static void test_init_resets_every_count(void **state)
{
	char *fresh = metrics_render(NULL);

	(void)state;
	metrics_turn_finished(METRICS_TURN_TIMEOUT, 1000);
	metrics_auth_failure(METRICS_AUTH_WORKLOAD_TOKEN_INVALID);
	metrics_http_request("/readyz", 503);
	metrics_set_processes(1, 1, 1);
	metrics_set_events(1, 1, 1);
	metrics_set_turn_in_progress(true);
	char *used = metrics_render(NULL);
	assert_string_not_equal(fresh, used);

	metrics_init(START_TIME, "1.2.3");
	char *again = render_valid();
	assert_string_equal(fresh, again);
	free(again);
	free(used);
	free(fresh);
}

/* ------------------------------------------------------------ build_info */

static void test_build_info_version_label_escapes_backslash_quote_and_newline(void **state)
{
	static const char version[] = "1.0\\beta\"2\"\nsandbox_init_up 0";
	char error[512];

	(void)state;
	metrics_init(START_TIME, version);
	char *text = render_valid();
	assert_line(text, "sandbox_init_build_info{version=\"1.0\\\\beta\\\"2\\\"\\nsandbox_init_up "
			  "0\"} 1");
	/* The injected line must not have become a sample of its own. */
	assert_int_equal(count_lines_starting(text, "sandbox_init_up "), 1);

	/* Reading the label back through the grammar gives the version unchanged. */
	struct validator v = { .error = error, .error_size = sizeof(error) };
	struct sample sample;
	const char *line = strstr(text, "sandbox_init_build_info{");
	char copy[MAX_LINE];
	snprintf(copy, sizeof(copy), "%.*s", (int)(strchr(line, '\n') - line), line);
	assert_true(parse_sample(&v, copy, &sample));
	assert_int_equal(sample.label_count, 1);
	assert_string_equal(sample.labels[0].value, version);
	free(text);
}

static void test_build_info_defaults_to_the_compiled_version(void **state)
{
	(void)state;
	metrics_init(START_TIME, NULL);
	char *text = render_valid();
	assert_line(text, "sandbox_init_build_info{version=\"%s\"} 1", SI_VERSION);
	free(text);
}

static void test_long_version_is_cut_to_the_maximum_length(void **state)
{
	char version[200];

	(void)state;
	memset(version, 'v', sizeof(version) - 1);
	version[sizeof(version) - 1] = '\0';
	metrics_init(START_TIME, version);
	char *text = render_valid();
	assert_line(text, "sandbox_init_build_info{version=\"%.*s\"} 1",
		    METRICS_VERSION_MAX_LENGTH, version);
	free(text);
}

/* ------------------------------------------------------------ the validator can fail */

static void expect_invalid(const char *text, const char *reason_fragment)
{
	char error[512];

	if (validate_exposition(text, strlen(text), error, sizeof(error)))
		fail_msg("accepted:\n%s", text);
	if (!strstr(error, reason_fragment))
		fail_msg("rejected for \"%s\", expected \"%s\"", error, reason_fragment);
}

#define HISTOGRAM_HEAD "# HELP h_seconds x\n# TYPE h_seconds histogram\n"

static void test_validator_accepts_a_well_formed_exposition(void **state)
{
	static const char text[] = "# HELP a_total A \\\\ help\\n.\n# TYPE a_total counter\n"
				   "a_total{x=\"q\\\"\\\\\\n\",y=\"\"} 3\n"
				   "a_total 1e3\n" HISTOGRAM_HEAD
				   "h_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 2\n"
				   "h_seconds_sum 3.5\nh_seconds_count 2\n";
	char error[512];

	(void)state;
	if (!validate_exposition(text, strlen(text), error, sizeof(error)))
		fail_msg("%s", error);
}

static void test_validator_rejects_each_kind_of_malformed_exposition(void **state)
{
	(void)state;
	expect_invalid("# TYPE a_total counter\na_total 1", "line feed");
	expect_invalid("# TYPE a_total counter\na_total{x=\"a\nb\"} 1\n", "no rule");
	expect_invalid("# TYPE a_total counter\na_total{x=\"a\\b\"} 1\n", "no rule");
	expect_invalid("# TYPE a_total counter\na_total{x=\"a\"\"} 1\n", "no rule");
	expect_invalid("# TYPE a_total counter\na_total one\n", "no rule");
	expect_invalid("# TYPE a_total counter\n1a_total 1\n", "no rule");
	expect_invalid("# TYPE a_total count\na_total 1\n", "no rule");
	expect_invalid("# TYPE a counter\na 1\n", "_total");
	expect_invalid("a_total 1\n", "before its family");
	expect_invalid("# TYPE a_total counter\nb_total 1\n", "inside family");
	expect_invalid("# TYPE a_total counter\na_total 1\na_total 2\n", "repeated");
	expect_invalid("# TYPE a_total counter\na_total -1\n", "below zero");
	expect_invalid("# TYPE a_total counter\na_total{x=\"a b}\"} 1 1700000000\n", "timestamp");
	expect_invalid("# TYPE a_total counter\na_total 1\n# TYPE b gauge\nb 1\n"
		       "# TYPE a_total counter\n",
		       "twice");
	expect_invalid(HISTOGRAM_HEAD "h_seconds_bucket{le=\"1\"} 2\nh_seconds_bucket{le=\"2\"} 1\n"
				      "h_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_sum 1\n"
				      "h_seconds_count 2\n",
		       "cumulative");
	expect_invalid(HISTOGRAM_HEAD "h_seconds_bucket{le=\"2\"} 1\nh_seconds_bucket{le=\"1\"} 1\n"
				      "h_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 1\n"
				      "h_seconds_count 1\n",
		       "ascending");
	expect_invalid(HISTOGRAM_HEAD "h_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 2\n"
				      "h_seconds_sum 1\nh_seconds_count 3\n",
		       "_count");
	expect_invalid(HISTOGRAM_HEAD "h_seconds_bucket{le=\"1\"} 1\nh_seconds_sum 1\n"
				      "h_seconds_count 1\n",
		       "lacks");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fresh_exposition_is_valid_with_every_series_at_zero,
				       reset),
		cmocka_unit_test_setup(test_every_family_has_help_and_type_with_the_right_type,
				       reset),
		cmocka_unit_test_setup(test_render_returns_its_length_and_a_nul_terminated_text,
				       reset),
		cmocka_unit_test_setup(test_start_time_is_exposed_to_the_fraction, reset),
		cmocka_unit_test_setup(test_each_turn_outcome_is_counted_under_its_own_label,
				       reset),
		cmocka_unit_test_setup(
			test_turn_durations_fill_cumulative_buckets_with_inclusive_bounds, reset),
		cmocka_unit_test_setup(
			test_turn_with_bad_outcome_or_duration_fails_with_einval_and_counts_nothing,
			reset),
		cmocka_unit_test_setup(test_turn_in_progress_gauge_follows_the_setter, reset),
		cmocka_unit_test_setup(test_auth_failures_are_counted_by_code, reset),
		cmocka_unit_test_setup(
			test_auth_failure_with_bad_code_fails_with_einval_and_counts_nothing, reset),
		cmocka_unit_test_setup(test_http_requests_are_counted_by_path_and_status_class,
				       reset),
		cmocka_unit_test_setup(test_unlisted_paths_are_counted_as_other_and_add_no_series,
				       reset),
		cmocka_unit_test_setup(
			test_http_status_outside_2xx_4xx_5xx_fails_with_einval_and_counts_nothing,
			reset),
		cmocka_unit_test_setup(test_process_and_event_totals_are_exposed_as_last_set,
				       reset),
		cmocka_unit_test_setup(test_init_resets_every_count, reset),
		cmocka_unit_test_setup(
			test_build_info_version_label_escapes_backslash_quote_and_newline, reset),
		cmocka_unit_test_setup(test_build_info_defaults_to_the_compiled_version, reset),
		cmocka_unit_test_setup(test_long_version_is_cut_to_the_maximum_length, reset),
		cmocka_unit_test(test_validator_accepts_a_well_formed_exposition),
		cmocka_unit_test(test_validator_rejects_each_kind_of_malformed_exposition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
