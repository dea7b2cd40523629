/* The shipper's logic: one batch in flight at a time, read from the spool's
 * acknowledged position; a 2xx moves that position, anything else retries the
 * same records after a jittered, doubling delay.  Because the position only
 * moves on a 2xx, a restart, a crash or a lost response can repeat records
 * (the receiver drops them by metadata.uid) but never skip one.
 *
 * The module never logs: what went wrong is kept in shipper_stats for the
 * caller to report, and it never includes a body, a URL or a key. */
#include "events/shipper_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define DEFAULT_BATCH_RECORDS 500
#define DEFAULT_BATCH_BYTES (1024 * 1024)
#define DEFAULT_BACKOFF_INITIAL_MS 200
#define DEFAULT_BACKOFF_MAX_MS 30000

static void batch_send(struct shipper *shipper);

/* splitmix64: jitter needs spread, not secrecy. */
static uint64_t random_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Each supervisor seeds differently, so a fleet that lost its gateway at the
 * same moment does not retry in step.  Early in boot the entropy pool may
 * not be ready, and jitter is not worth blocking PID 1 for. */
static uint64_t random_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	return loop_now_ms() ^ ((uint64_t)getpid() << 32);
}

/* The delay is drawn from [base/2, base]: retries spread out, yet each
 * waits at least half the base.  Then the base doubles, up to the maximum. */
static uint64_t backoff_next_delay(struct shipper *shipper)
{
	uint64_t base = shipper->backoff_ms;
	uint64_t low = base / 2;
	uint64_t delay = low + random_next(&shipper->random_state) % (base - low + 1);

	shipper->backoff_ms = base > shipper->backoff_max_ms / 2 ? shipper->backoff_max_ms
								  : base * 2;
	return delay;
}

static void on_retry_timer(void *context)
{
	struct shipper *shipper = context;

	shipper->backing_off = false;
	batch_send(shipper);
}

/* The records stay unacknowledged in the spool; they go again after the delay. */
static void retry_later(struct shipper *shipper)
{
	shipper->backing_off = true;
	loop_timer_start(shipper->loop, &shipper->retry_timer, backoff_next_delay(shipper),
			 on_retry_timer, shipper);
}

static void error_record(struct shipper *shipper, const char *what, int error)
{
	snprintf(shipper->stats.last_error, sizeof(shipper->stats.last_error), "%s: %s", what,
		 strerror(-error));
}

/* curl's messages can be longer than last_error: the start says what failed. */
static void text_copy_truncated(char *to, size_t size, const char *from)
{
	size_t length = strnlen(from, size - 1);

	memcpy(to, from, length);
	to[length] = '\0';
}

/* CURLOPT_ERRORBUFFER has the detail ("Failed to connect to ... port ...");
 * curl leaves it empty for some errors, and then its code's text stands in. */
static void attempt_failed(struct shipper *shipper, CURLcode result, long status)
{
	char *text = shipper->stats.last_error;
	size_t size = sizeof(shipper->stats.last_error);
	const char *detail = shipper->curl_error;

	shipper->stats.failures++;
	if (result == CURLE_OK)
		snprintf(text, size, "HTTP %ld", status);
	else
		text_copy_truncated(text, size, detail[0] ? detail : curl_easy_strerror(result));
	if (!shipper->failing) {
		shipper->failing = true;
		if (shipper->delivery_changed)
			shipper->delivery_changed(shipper->context, false, text);
	}
	retry_later(shipper);
}

static void attempt_succeeded(struct shipper *shipper)
{
	/* The ack is made durable by spool_acknowledge() itself; the records need
	 * no sync first, as the receiver now holds them. */
	int rc = spool_acknowledge(shipper->spool, shipper->batch.last_sequence);

	if (rc < 0) {
		error_record(shipper, "acknowledging in the spool", rc);
		retry_later(shipper);
		return;
	}
	shipper->stats.shipped += shipper->batch.records;
	shipper->stats.batches++;
	shipper->backoff_ms = shipper->backoff_initial_ms;
	if (shipper->failing) {
		shipper->failing = false;
		if (shipper->delivery_changed)
			shipper->delivery_changed(shipper->context, true, NULL);
	}
	batch_send(shipper);
}

void shipper_transfer_done(struct shipper *shipper, CURLcode result, long status)
{
	shipper->in_flight = false;
	shipper->stats.last_status = result == CURLE_OK && status > 0 ? (uint64_t)status : 0;
	if (result == CURLE_OK && status >= 200 && status <= 299)
		attempt_succeeded(shipper);
	else
		attempt_failed(shipper, result, status);
}

static int batch_reserve(struct shipper_batch *batch, size_t more)
{
	if (more > SIZE_MAX - batch->length)
		return -ENOMEM;
	size_t wanted = batch->length + more;
	if (wanted <= batch->capacity)
		return 0;
	size_t capacity = batch->capacity > wanted / 2 ? batch->capacity * 2 : wanted;
	char *body = realloc(batch->body, capacity);
	if (!body)
		return -ENOMEM;
	batch->body = body;
	batch->capacity = capacity;
	return 0;
}

/* NDJSON: the spool guarantees no record holds a newline. */
static int batch_append_record(void *context, uint64_t sequence, const void *payload,
			       size_t length)
{
	struct shipper_batch *batch = context;

	if (length == SIZE_MAX || batch_reserve(batch, length + 1) < 0)
		return -ENOMEM;
	memcpy(batch->body + batch->length, payload, length);
	batch->body[batch->length + length] = '\n';
	batch->length += length + 1;
	batch->records++;
	batch->last_sequence = sequence;
	return 0;
}

static int batch_fill(struct shipper *shipper)
{
	struct shipper_batch *batch = &shipper->batch;

	batch->length = 0;
	batch->records = 0;
	return spool_read(shipper->spool, spool_acknowledged(shipper->spool),
			  shipper->batch_records, shipper->batch_bytes, batch_append_record, batch);
}

static void batch_send(struct shipper *shipper)
{
	if (shipper->in_flight || shipper->backing_off)
		return;
	int rc = batch_fill(shipper);
	if (rc < 0) {
		error_record(shipper, "reading the spool", rc);
		retry_later(shipper);
		return;
	}
	if (rc == 0) {
		shipper->unreadable_before = spool_next_sequence(shipper->spool);
		return;
	}
	rc = shipper_transport_send(shipper);
	if (rc < 0) {
		error_record(shipper, "starting a request", rc);
		retry_later(shipper);
		return;
	}
	shipper->in_flight = true;
}

static bool url_scheme_allowed(const char *url)
{
	return strncasecmp(url, "http://", strlen("http://")) == 0 ||
	       strncasecmp(url, "https://", strlen("https://")) == 0;
}

/* Checked at start, so a typo stops the supervisor with a clear message
 * instead of failing every batch for as long as it runs.  The URL itself is
 * never echoed: it may carry credentials. */
static int url_check(const char *url, char *error, size_t error_size)
{
	if (!url || !url_scheme_allowed(url)) {
		snprintf(error, error_size, "--events-url must start with http:// or https://");
		return -EINVAL;
	}
	CURLU *parsed = curl_url();
	if (!parsed) {
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	CURLUcode rc = curl_url_set(parsed, CURLUPART_URL, url, 0);
	curl_url_cleanup(parsed);
	if (rc == CURLUE_OUT_OF_MEMORY) {
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	if (rc != CURLUE_OK) {
		snprintf(error, error_size, "--events-url is not a valid URL: %s",
			 curl_url_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

static int file_check(const char *option, const char *path, char *error, size_t error_size)
{
	if (!path || access(path, R_OK) == 0)
		return 0;
	snprintf(error, error_size, "%s %s: %s", option, path, strerror(errno));
	return -EINVAL;
}

static int options_check(const struct shipper_options *options, char *error, size_t error_size)
{
	if (!options->loop || !options->spool) {
		snprintf(error, error_size, "no loop or no spool given");
		return -EINVAL;
	}
	int rc = url_check(options->url, error, error_size);
	if (rc < 0)
		return rc;
	if (!options->client_cert != !options->client_key) {
		snprintf(error, error_size, "--events-cert and --events-key go together");
		return -EINVAL;
	}
	rc = file_check("--events-cert", options->client_cert, error, error_size);
	if (rc == 0)
		rc = file_check("--events-key", options->client_key, error, error_size);
	if (rc == 0)
		rc = file_check("--events-ca", options->ca_file, error, error_size);
	return rc;
}

static void options_apply(struct shipper *shipper, const struct shipper_options *options)
{
	shipper->loop = options->loop;
	shipper->spool = options->spool;
	shipper->batch_records = options->batch_records ? options->batch_records
							: DEFAULT_BATCH_RECORDS;
	shipper->batch_bytes = options->batch_bytes ? options->batch_bytes : DEFAULT_BATCH_BYTES;
	shipper->backoff_max_ms = options->backoff_max_ms ? options->backoff_max_ms
							  : DEFAULT_BACKOFF_MAX_MS;
	shipper->backoff_initial_ms = options->backoff_initial_ms ? options->backoff_initial_ms
								  : DEFAULT_BACKOFF_INITIAL_MS;
	if (shipper->backoff_initial_ms > shipper->backoff_max_ms)
		shipper->backoff_initial_ms = shipper->backoff_max_ms;
	shipper->backoff_ms = shipper->backoff_initial_ms;
	shipper->random_state = random_seed();
	shipper->delivery_changed = options->delivery_changed;
	shipper->context = options->context;
}

static void shipper_free(struct shipper *shipper)
{
	loop_timer_stop(shipper->loop, &shipper->retry_timer);
	shipper_transport_close(shipper);
	free(shipper->batch.body);
	free(shipper);
	curl_global_cleanup();
}

/* curl_global_init() is not thread-safe on every build: sandbox-init calls
 * shipper_start() from its single thread, before anything (curl's resolver
 * included) starts another.  curl counts the calls, one cleanup per start. */
int shipper_start(const struct shipper_options *options, struct shipper **out, char *error,
		  size_t error_size)
{
	int rc = options_check(options, error, error_size);

	if (rc < 0)
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(error, error_size, "libcurl failed to initialise");
		return -ENOMEM;
	}
	struct shipper *shipper = calloc(1, sizeof(*shipper));
	if (!shipper) {
		curl_global_cleanup();
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	options_apply(shipper, options);
	rc = shipper_transport_open(shipper, options, error, error_size);
	if (rc < 0) {
		shipper_free(shipper);
		return rc;
	}
	/* What a previous run left unacknowledged goes first, without waiting
	 * for a new event to arrive. */
	batch_send(shipper);
	*out = shipper;
	return 0;
}

void shipper_notify(struct shipper *shipper)
{
	batch_send(shipper);
}

bool shipper_idle(const struct shipper *shipper)
{
	struct spool_stats spool;

	if (shipper->in_flight || shipper->backing_off)
		return false;
	spool_get_stats(shipper->spool, &spool);
	return spool.unshipped == 0 ||
	       spool_next_sequence(shipper->spool) <= shipper->unreadable_before;
}

void shipper_flush(struct shipper *shipper)
{
	if (shipper->backing_off) {
		loop_timer_stop(shipper->loop, &shipper->retry_timer);
		shipper->backing_off = false;
	}
	batch_send(shipper);
}

void shipper_get_stats(const struct shipper *shipper, struct shipper_stats *out)
{
	*out = shipper->stats;
}

void shipper_stop(struct shipper *shipper)
{
	if (shipper)
		shipper_free(shipper);
}
