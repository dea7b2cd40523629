/* The event shipper against a real HTTP receiver: a small HTTP/1.1 server in
 * a forked child that stores what it accepts and answers as each test scripts
 * (200, 500, a cut connection, a late answer), while the test process runs
 * the supervisor's loop.  What arrived is parsed back as NDJSON and checked by
 * the sequence each record carries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "events/shipper.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RECEIVED 8192
#define MAX_REQUESTS 256
#define MAX_SCRIPT 16
#define RECEIVER_BODY_MAX (4 * 1024 * 1024)
#define RECEIVER_HEADERS_MAX 16384
/* Allowance for scheduling and loopback latency on top of a computed delay. */
#define SLACK_MS 80

/* How the receiver answers one request.  It keeps the body for everything
 * but a 500: a receiver that stored a batch and then lost the connection is
 * exactly how duplicates arise. */
enum reply {
	REPLY_OK,
	REPLY_ERROR_500,
	REPLY_CUT_BEFORE_RESPONSE,
	REPLY_CUT_MID_BODY,
	REPLY_SLOW,
};

struct receiver_script {
	enum reply replies[MAX_SCRIPT];  /* for the first requests, in order */
	size_t count;
	enum reply otherwise;            /* for every request after those */
	unsigned slow_ms;
};

struct fixture {
	char root[64];
	char spool_path[128];
	char body_path[128];
	char log_path[128];
	struct loop *loop;
	struct spool *spool;
	struct shipper *shipper;
	pid_t receiver;
	int port;
	char url[128];
	uint64_t max_tick_gap_ms;
	uint64_t wanted_failures;
	uint64_t appended_by_ticks, append_by_ticks_until;
};

struct received {
	size_t count;
	uint64_t sequences[MAX_RECEIVED];
};

struct request_log {
	size_t count;
	uint64_t at_ms[MAX_REQUESTS];
	int reply[MAX_REQUESTS];
	size_t body_bytes[MAX_REQUESTS];
	int ndjson[MAX_REQUESTS];
};

static uint64_t now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* ---- The receiver (runs in the forked child: no cmocka, no malloc) ---- */

static char receiver_headers[RECEIVER_HEADERS_MAX + 1];
static char receiver_body[RECEIVER_BODY_MAX];

static bool write_all(int fd, const void *data, size_t length)
{
	const char *bytes = data;
	while (length > 0) {
		ssize_t written = send(fd, bytes, length, MSG_NOSIGNAL);
		if (written < 0 && errno == ENOTSOCK)
			written = write(fd, bytes, length);
		if (written <= 0)
			return false;
		bytes += written;
		length -= (size_t)written;
	}
	return true;
}

/* Reads up to the blank line; returns the header length, 0 at EOF. */
static size_t read_headers(int connection, size_t *extra)
{
	size_t used = 0;
	while (used < RECEIVER_HEADERS_MAX) {
		ssize_t got = read(connection, receiver_headers + used, RECEIVER_HEADERS_MAX - used);
		if (got <= 0)
			return 0;
		used += (size_t)got;
		receiver_headers[used] = '\0';
		char *end = strstr(receiver_headers, "\r\n\r\n");
		if (end) {
			size_t length = (size_t)(end - receiver_headers) + 4;
			*extra = used - length;
			return length;
		}
	}
	return 0;
}

static bool read_body(int connection, size_t header_length, size_t extra, size_t *length)
{
	const char *field = strcasestr(receiver_headers, "\r\nContent-Length:");
	size_t wanted = field ? strtoul(field + strlen("\r\nContent-Length:"), NULL, 10) : 0;
	if (wanted > RECEIVER_BODY_MAX || extra > wanted)
		return false;
	memcpy(receiver_body, receiver_headers + header_length, extra);
	size_t have = extra;
	while (have < wanted) {
		ssize_t got = read(connection, receiver_body + have, wanted - have);
		if (got <= 0)
			return false;
		have += (size_t)got;
	}
	*length = wanted;
	return true;
}

static void receiver_log(int log_fd, enum reply reply, size_t length)
{
	char line[128];
	int ndjson = strcasestr(receiver_headers,
				"\r\nContent-Type: application/x-ndjson\r\n") != NULL;
	int size = snprintf(line, sizeof(line), "%" PRIu64 " %d %zu %d\n", now_ms(), (int)reply,
			    length, ndjson);
	write_all(log_fd, line, (size_t)size);
}

/* Serves one request; returns whether the connection stays open. */
static bool receiver_serve_request(int connection, const struct receiver_script *script,
				   size_t *served, int body_fd, int log_fd)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char failed[] = "HTTP/1.1 500 Internal Server Error\r\n"
				     "Content-Length: 0\r\n\r\n";
	static const char partial[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
	size_t extra, length;
	size_t header_length = read_headers(connection, &extra);

	if (header_length == 0 || !read_body(connection, header_length, extra, &length))
		return false;
	enum reply reply = *served < script->count ? script->replies[*served] : script->otherwise;
	(*served)++;
	receiver_log(log_fd, reply, length);
	if (reply != REPLY_ERROR_500)
		write_all(body_fd, receiver_body, length);
	switch (reply) {
	case REPLY_OK:
		return write_all(connection, ok, strlen(ok));
	case REPLY_ERROR_500:
		return write_all(connection, failed, strlen(failed));
	case REPLY_CUT_BEFORE_RESPONSE:
		return false;
	case REPLY_CUT_MID_BODY:
		write_all(connection, partial, strlen(partial));
		return false;
	case REPLY_SLOW:
		usleep(script->slow_ms * 1000u);
		write_all(connection, ok, strlen(ok));
		return false;
	}
	return false;
}

static _Noreturn void receiver_run(int listen_fd, const struct receiver_script *script,
				   const char *body_path, const char *log_path)
{
	size_t served = 0;

	/* Without an exec nothing is closed for us, and an inherited spool
	 * directory fd would keep the spool's lock after the test closed it. */
	if (dup2(listen_fd, 3) != 3 || close_range(4, ~0U, 0) < 0)
		_exit(1);
	listen_fd = 3;
	int body_fd = open(body_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (body_fd < 0 || log_fd < 0)
		_exit(1);
	for (;;) {
		int connection = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (connection < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		while (receiver_serve_request(connection, script, &served, body_fd, log_fd))
			;
		close(connection);
	}
}

/* ---- The receiver, seen from the test ---- */

static int listen_on(int port)
{
	struct sockaddr_in address = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_in address;
	socklen_t length = sizeof(address);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
	return ntohs(address.sin_port);
}

static void url_set(struct fixture *fixture, int port)
{
	fixture->port = port;
	snprintf(fixture->url, sizeof(fixture->url), "http://127.0.0.1:%d/v1/events", port);
}

/* Listens before forking, so a request sent right after waits in the backlog. */
static void receiver_start_on(struct fixture *fixture, const struct receiver_script *script,
			      int port)
{
	int fd = listen_on(port);

	url_set(fixture, bound_port(fd));
	fixture->receiver = fork();
	assert_true(fixture->receiver >= 0);
	if (fixture->receiver == 0)
		receiver_run(fd, script, fixture->body_path, fixture->log_path);
	close(fd);
}

static void receiver_start(struct fixture *fixture, const struct receiver_script *script)
{
	receiver_start_on(fixture, script, 0);
}

static void receiver_stop(struct fixture *fixture)
{
	if (fixture->receiver <= 0)
		return;
	kill(fixture->receiver, SIGKILL);
	waitpid(fixture->receiver, NULL, 0);
	fixture->receiver = 0;
}

/* A port nobody listens on: connecting is refused at once. */
static int refused_port(void)
{
	int fd = listen_on(0);
	int port = bound_port(fd);
	close(fd);
	return port;
}

static char *file_read(const char *path, size_t *length)
{
	FILE *file = fopen(path, "re");
	*length = 0;
	if (!file)
		return calloc(1, 1);
	char *text = NULL;
	size_t size = 0;
	FILE *memory = open_memstream(&text, &size);
	assert_non_null(memory);
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), file)) > 0)
		fwrite(chunk, 1, got, memory);
	fclose(file);
	fclose(memory);
	*length = size;
	return text;
}

/* Every line must be one JSON object carrying its sequence. */
static void received_load(const struct fixture *fixture, struct received *out)
{
	size_t length;
	char *text = file_read(fixture->body_path, &length);
	char *line = text;

	out->count = 0;
	assert_true(length == 0 || text[length - 1] == '\n');
	while (line < text + length) {
		char *end = strchr(line, '\n');
		assert_non_null(end);
		json_error_t error;
		json_t *event = json_loadb(line, (size_t)(end - line), 0, &error);
		assert_non_null(event);
		json_t *sequence = json_object_get(event, "seq");
		assert_true(json_is_integer(sequence));
		assert_true(out->count < MAX_RECEIVED);
		out->sequences[out->count++] = (uint64_t)json_integer_value(sequence);
		json_decref(event);
		line = end + 1;
	}
	free(text);
}

static void requests_load(const struct fixture *fixture, struct request_log *out)
{
	size_t length;
	char *text = file_read(fixture->log_path, &length);
	char *line = text;

	out->count = 0;
	while (line < text + length) {
		size_t i = out->count++;
		assert_true(i < MAX_REQUESTS);
		assert_int_equal(sscanf(line, "%" SCNu64 " %d %zu %d", &out->at_ms[i], &out->reply[i],
					&out->body_bytes[i], &out->ndjson[i]), 4);
		line = strchr(line, '\n') + 1;
	}
	free(text);
}

static void assert_exactly_in_order(const struct received *received, uint64_t first,
				    uint64_t last)
{
	assert_int_equal(received->count, last - first + 1);
	for (size_t i = 0; i < received->count; i++)
		assert_int_equal(received->sequences[i], first + i);
}

/* Duplicates may repeat what came before; a record may never come before
 * one with a lower sequence is complete, so dropping the repeats leaves
 * first..last with no gap. */
static void assert_complete_allowing_duplicates(const struct received *received,
						uint64_t first, uint64_t last)
{
	uint64_t next = first;
	for (size_t i = 0; i < received->count; i++) {
		uint64_t sequence = received->sequences[i];
		assert_true(sequence >= first);
		assert_true(sequence <= next);
		if (sequence == next)
			next++;
	}
	assert_int_equal(next, last + 1);
}

/* ---- The spool, the shipper and the loop ---- */

static void append_records(struct fixture *fixture, size_t count, size_t pad)
{
	char payload[8192];
	char padding[4096];

	assert_true(pad < sizeof(padding));
	memset(padding, 'x', pad);
	padding[pad] = '\0';
	for (size_t i = 0; i < count; i++) {
		uint64_t sequence = spool_next_sequence(fixture->spool);
		int length = snprintf(payload, sizeof(payload), "{\"seq\":%" PRIu64 ",\"pad\":\"%s\"}",
				      sequence, padding);
		assert_int_equal(spool_append(fixture->spool, payload, (size_t)length), 0);
	}
}

/* A payload of exactly size bytes. */
static void append_record_of_size(struct fixture *fixture, size_t size)
{
	char probe[64];
	int base = snprintf(probe, sizeof(probe), "{\"seq\":%" PRIu64 ",\"pad\":\"\"}",
			    spool_next_sequence(fixture->spool));
	append_records(fixture, 1, size - (size_t)base);
}

static struct shipper_options options_for(const struct fixture *fixture)
{
	return (struct shipper_options){
		.loop = fixture->loop,
		.spool = fixture->spool,
		.url = fixture->url,
		.backoff_initial_ms = 20,
		.backoff_max_ms = 100,
		.request_timeout_ms = 5000,
	};
}

static void shipper_start_with(struct fixture *fixture, const struct shipper_options *options)
{
	char error[256] = "";
	int rc = shipper_start(options, &fixture->shipper, error, sizeof(error));
	if (rc != 0)
		fail_msg("shipper_start: %d %s", rc, error);
}

static struct shipper_stats stats_of(const struct fixture *fixture)
{
	struct shipper_stats stats;
	shipper_get_stats(fixture->shipper, &stats);
	return stats;
}

struct run {
	struct fixture *fixture;
	bool (*done)(struct fixture *fixture);
	void (*each_tick)(struct fixture *fixture);
	uint64_t deadline_ms, last_tick_ms;
	struct loop_timer tick;
	bool reached;
};

static void on_tick(void *context)
{
	struct run *run = context;
	uint64_t now = loop_now_ms();

	if (now - run->last_tick_ms > run->fixture->max_tick_gap_ms)
		run->fixture->max_tick_gap_ms = now - run->last_tick_ms;
	run->last_tick_ms = now;
	if (run->each_tick)
		run->each_tick(run->fixture);
	if (run->done && run->done(run->fixture)) {
		run->reached = true;
		loop_quit(run->fixture->loop);
	} else if (now >= run->deadline_ms) {
		loop_quit(run->fixture->loop);
	} else {
		loop_timer_start(run->fixture->loop, &run->tick, 5, on_tick, run);
	}
}

/* Runs the loop until done() holds (checked every 5 ms) or timeout_ms pass;
 * the tick also measures the longest stretch the loop could not run. */
static bool run_loop_until(struct fixture *fixture, bool (*done)(struct fixture *),
			   void (*each_tick)(struct fixture *), uint64_t timeout_ms)
{
	struct run run = {
		.fixture = fixture,
		.done = done,
		.each_tick = each_tick,
		.deadline_ms = loop_now_ms() + timeout_ms,
		.last_tick_ms = loop_now_ms(),
	};
	loop_timer_start(fixture->loop, &run.tick, 0, on_tick, &run);
	assert_int_equal(loop_run(fixture->loop), 0);
	loop_timer_stop(fixture->loop, &run.tick);
	return run.reached;
}

static bool shipper_is_idle(struct fixture *fixture)
{
	return shipper_idle(fixture->shipper);
}

static bool failures_reached(struct fixture *fixture)
{
	return stats_of(fixture).failures >= fixture->wanted_failures;
}

static void run_until_idle(struct fixture *fixture)
{
	if (!run_loop_until(fixture, shipper_is_idle, NULL, 15000))
		fail_msg("the shipper did not become idle; last error: %s",
			 stats_of(fixture).last_error);
}

static void run_for(struct fixture *fixture, uint64_t milliseconds)
{
	run_loop_until(fixture, NULL, NULL, milliseconds);
}

static void spool_reopen(struct fixture *fixture)
{
	spool_close(fixture->spool);
	fixture->spool = NULL;
	assert_int_equal(spool_open(fixture->spool_path, NULL, &fixture->spool, NULL), 0);
}

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));

	if (!fixture)
		return -1;
	snprintf(fixture->root, sizeof(fixture->root), "/tmp/test-shipper-XXXXXX");
	if (!mkdtemp(fixture->root))
		return -1;
	snprintf(fixture->spool_path, sizeof(fixture->spool_path), "%s/spool", fixture->root);
	snprintf(fixture->body_path, sizeof(fixture->body_path), "%s/received.ndjson",
		 fixture->root);
	snprintf(fixture->log_path, sizeof(fixture->log_path), "%s/requests.log", fixture->root);
	if (loop_new(&fixture->loop) < 0)
		return -1;
	if (spool_open(fixture->spool_path, NULL, &fixture->spool, NULL) < 0)
		return -1;
	url_set(fixture, refused_port());
	*state = fixture;
	return 0;
}

static int remove_entry(const char *path, const struct stat *status, int type, struct FTW *walk)
{
	(void)status;
	(void)type;
	(void)walk;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;

	shipper_stop(fixture->shipper);
	receiver_stop(fixture);
	spool_close(fixture->spool);
	loop_free(fixture->loop);
	nftw(fixture->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fixture);
	return 0;
}

/* ---- Delivery ---- */

static void test_records_arrive_in_order_without_gaps_across_several_batches(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };
	struct received received;
	struct request_log requests;
	struct spool_stats spool;

	receiver_start(fixture, &script);
	append_records(fixture, 1000, 0);
	struct shipper_options options = options_for(fixture);
	options.batch_records = 100;
	shipper_start_with(fixture, &options);
	shipper_notify(fixture->shipper);
	run_until_idle(fixture);

	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 1000);
	requests_load(fixture, &requests);
	assert_int_equal(requests.count, 10);
	for (size_t i = 0; i < requests.count; i++)
		assert_int_equal(requests.ndjson[i], 1);
	struct shipper_stats stats = stats_of(fixture);
	assert_int_equal(stats.shipped, 1000);
	assert_int_equal(stats.batches, 10);
	assert_int_equal(stats.failures, 0);
	assert_int_equal(stats.last_status, 200);
	spool_get_stats(fixture->spool, &spool);
	assert_int_equal(spool.acknowledged, 1000);
	assert_int_equal(spool.unshipped, 0);
}

static void test_records_spooled_before_start_are_shipped_without_a_notify(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };
	struct received received;

	receiver_start(fixture, &script);
	append_records(fixture, 25, 0);
	struct shipper_options options = options_for(fixture);
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);

	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 25);
}

static void test_batch_bytes_bounds_each_body_and_a_larger_record_goes_alone(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };
	struct received received;
	struct request_log requests;

	receiver_start(fixture, &script);
	for (int i = 0; i < 50; i++)
		append_record_of_size(fixture, 100);
	append_record_of_size(fixture, 2000);
	append_record_of_size(fixture, 100);
	struct shipper_options options = options_for(fixture);
	options.batch_bytes = 1000;
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);

	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 52);
	requests_load(fixture, &requests);
	assert_int_equal(requests.count, 7);
	/* Ten payloads of 100 bytes fill 1000 bytes; each line adds its newline. */
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(requests.body_bytes[i], 10 * 101);
	assert_int_equal(requests.body_bytes[5], 2001);
	assert_int_equal(requests.body_bytes[6], 101);
}

static bool all_appended_and_idle(struct fixture *fixture)
{
	return fixture->appended_by_ticks >= fixture->append_by_ticks_until &&
	       shipper_idle(fixture->shipper);
}

static void append_three_and_notify(struct fixture *fixture)
{
	if (fixture->appended_by_ticks >= fixture->append_by_ticks_until)
		return;
	append_records(fixture, 3, 0);
	fixture->appended_by_ticks += 3;
	shipper_notify(fixture->shipper);
}

static void test_records_appended_while_a_batch_is_in_flight_follow_in_order(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };
	struct received received;
	struct request_log requests;

	receiver_start(fixture, &script);
	struct shipper_options options = options_for(fixture);
	options.batch_records = 4;
	shipper_start_with(fixture, &options);
	fixture->append_by_ticks_until = 300;
	assert_true(run_loop_until(fixture, all_appended_and_idle, append_three_and_notify, 15000));

	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 300);
	requests_load(fixture, &requests);
	assert_true(requests.count >= 75);
	assert_int_equal(stats_of(fixture).shipped, 300);
}

/* ---- Failures and backoff ---- */

static void assert_delay_between(const struct request_log *requests, size_t i, uint64_t low,
				 uint64_t high)
{
	uint64_t gap = requests->at_ms[i + 1] - requests->at_ms[i];
	if (gap + 1 < low || gap > high + SLACK_MS)
		fail_msg("delay before request %zu: %" PRIu64 " ms, expected %" PRIu64
			 "..%" PRIu64 " ms", i + 2, gap, low, high);
}

static void test_receiver_failing_with_500_is_retried_with_doubling_jittered_delays(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .count = 5, .otherwise = REPLY_OK };
	struct received received;
	struct request_log requests;

	for (size_t i = 0; i < script.count; i++)
		script.replies[i] = REPLY_ERROR_500;
	receiver_start(fixture, &script);
	append_records(fixture, 30, 0);
	struct shipper_options options = options_for(fixture);
	options.backoff_initial_ms = 40;
	options.backoff_max_ms = 10000;
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);

	requests_load(fixture, &requests);
	assert_int_equal(requests.count, 6);
	/* Full jitter: each delay lies in [base/2, base], and the base doubles. */
	for (size_t i = 0; i < 5; i++)
		assert_delay_between(&requests, i, 20u << i, 40u << i);
	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 30);
	struct shipper_stats stats = stats_of(fixture);
	assert_int_equal(stats.failures, 5);
	assert_int_equal(stats.batches, 1);
	assert_int_equal(stats.last_status, 200);
	assert_string_equal(stats.last_error, "HTTP 500");
}

static void test_backoff_stops_doubling_at_the_maximum_and_stays_jittered(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .count = 10, .otherwise = REPLY_OK };
	struct request_log requests;
	uint64_t shortest = UINT64_MAX;

	for (size_t i = 0; i < script.count; i++)
		script.replies[i] = REPLY_ERROR_500;
	receiver_start(fixture, &script);
	append_records(fixture, 5, 0);
	struct shipper_options options = options_for(fixture);
	options.backoff_initial_ms = 20;
	options.backoff_max_ms = 80;
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);

	requests_load(fixture, &requests);
	assert_int_equal(requests.count, 11);
	assert_delay_between(&requests, 0, 10, 20);
	assert_delay_between(&requests, 1, 20, 40);
	for (size_t i = 2; i < 10; i++) {
		assert_delay_between(&requests, i, 40, 80);
		uint64_t gap = requests.at_ms[i + 1] - requests.at_ms[i];
		shortest = gap < shortest ? gap : shortest;
	}
	/* Eight draws from [40, 80] all landing at 70 or above: about 1 in 40,000. */
	assert_true(shortest < 70);
}

static void test_success_resets_the_backoff_to_the_initial_delay(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = {
		.replies = { REPLY_ERROR_500, REPLY_ERROR_500, REPLY_ERROR_500, REPLY_OK,
			     REPLY_ERROR_500, REPLY_OK },
		.count = 6,
		.otherwise = REPLY_OK,
	};
	struct received received;
	struct request_log requests;

	receiver_start(fixture, &script);
	append_records(fixture, 5, 0);
	struct shipper_options options = options_for(fixture);
	options.backoff_initial_ms = 100;
	options.backoff_max_ms = 10000;
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);
	append_records(fixture, 5, 0);
	shipper_notify(fixture->shipper);
	run_until_idle(fixture);

	requests_load(fixture, &requests);
	assert_int_equal(requests.count, 6);
	assert_delay_between(&requests, 2, 200, 400);
	/* Without the reset this delay would be 400..800 ms. */
	assert_delay_between(&requests, 4, 50, 100);
	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 10);
}

static void test_receiver_down_then_up_receives_everything_once_it_is_up(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };
	struct received received;

	append_records(fixture, 40, 0);
	struct shipper_options options = options_for(fixture);
	options.batch_records = 15;
	shipper_start_with(fixture, &options);
	run_for(fixture, 400);

	struct shipper_stats stats = stats_of(fixture);
	assert_true(stats.failures >= 3);
	assert_int_equal(stats.shipped, 0);
	assert_int_equal(stats.last_status, 0);
	assert_non_null(strstr(stats.last_error, "onnect"));
	assert_false(shipper_idle(fixture->shipper));

	receiver_start_on(fixture, &script, fixture->port);
	run_until_idle(fixture);
	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 40);
}

static void test_connection_cut_before_the_response_is_retried_without_loss(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = {
		.replies = { REPLY_OK, REPLY_CUT_BEFORE_RESPONSE, REPLY_CUT_BEFORE_RESPONSE },
		.count = 3,
		.otherwise = REPLY_OK,
	};
	struct received received;

	receiver_start(fixture, &script);
	append_records(fixture, 30, 0);
	struct shipper_options options = options_for(fixture);
	options.batch_records = 10;
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);

	received_load(fixture, &received);
	assert_complete_allowing_duplicates(&received, 1, 30);
	/* The receiver stored the second batch three times before it was
	 * acknowledged.  The first cut hit a reused connection, which curl
	 * retries once on a fresh one by itself; the second cut, on that fresh
	 * connection, is the failure the shipper sees and retries. */
	assert_int_equal(received.count, 50);
	struct shipper_stats stats = stats_of(fixture);
	assert_int_equal(stats.failures, 1);
	assert_int_equal(stats.last_status, 200);
	assert_int_equal(stats.shipped, 30);
	assert_int_equal(spool_acknowledged(fixture->spool), 30);
}

static void test_200_cut_off_mid_body_is_not_an_acknowledgement(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = {
		.replies = { REPLY_CUT_MID_BODY },
		.count = 1,
		.otherwise = REPLY_ERROR_500,
	};
	struct receiver_script healthy = { .otherwise = REPLY_OK };
	struct received received;

	receiver_start(fixture, &script);
	append_records(fixture, 10, 0);
	struct shipper_options options = options_for(fixture);
	shipper_start_with(fixture, &options);
	fixture->wanted_failures = 1;
	assert_true(run_loop_until(fixture, failures_reached, NULL, 5000));

	struct shipper_stats stats = stats_of(fixture);
	assert_int_equal(stats.last_status, 0);
	assert_int_equal(stats.shipped, 0);
	assert_true(strlen(stats.last_error) > 0);
	assert_null(strstr(stats.last_error, "HTTP"));
	assert_int_equal(spool_acknowledged(fixture->spool), 0);

	receiver_stop(fixture);
	receiver_start_on(fixture, &healthy, fixture->port);
	run_until_idle(fixture);
	received_load(fixture, &received);
	assert_complete_allowing_duplicates(&received, 1, 10);
	assert_int_equal(spool_acknowledged(fixture->spool), 10);
}

static void test_slow_receiver_times_out_and_the_batch_is_retried(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = {
		.replies = { REPLY_SLOW },
		.count = 1,
		.otherwise = REPLY_OK,
		.slow_ms = 4000,
	};
	struct received received;

	receiver_start(fixture, &script);
	append_records(fixture, 20, 0);
	struct shipper_options options = options_for(fixture);
	options.request_timeout_ms = 1000;
	uint64_t started = now_ms();
	shipper_start_with(fixture, &options);
	fixture->wanted_failures = 1;
	assert_true(run_loop_until(fixture, failures_reached, NULL, 5000));
	uint64_t failed_after = now_ms() - started;

	assert_true(failed_after >= 990);
	assert_true(failed_after < 3500); /* the timeout, not the receiver's 4 s */
	assert_non_null(strstr(stats_of(fixture).last_error, "timed out"));
	run_until_idle(fixture);
	received_load(fixture, &received);
	assert_complete_allowing_duplicates(&received, 1, 20);
	/* The loop kept turning while the receiver stalled: a shipper that
	 * blocked would have held it for the whole 1 s timeout.  The margin is
	 * wide so that a loaded CI machine does not fail it. */
	assert_true(fixture->max_tick_gap_ms < 600);
}

/* ---- Restarts ---- */

static void test_acknowledged_position_survives_reopening_and_shipping_resumes_there(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };
	struct received received;
	struct spool_stats spool;

	receiver_start(fixture, &script);
	append_records(fixture, 40, 0);
	struct shipper_options options = options_for(fixture);
	options.batch_records = 16;
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);
	shipper_stop(fixture->shipper);
	fixture->shipper = NULL;

	spool_reopen(fixture);
	spool_get_stats(fixture->spool, &spool);
	assert_int_equal(spool.acknowledged, 40);
	assert_int_equal(spool.unshipped, 0);

	append_records(fixture, 10, 0);
	options = options_for(fixture);
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);
	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 50);
	assert_int_equal(stats_of(fixture).shipped, 10);
}

static bool request_in_flight(struct fixture *fixture)
{
	struct request_log requests;
	requests_load(fixture, &requests);
	return requests.count > 0;
}

static void test_stop_mid_request_keeps_the_batch_for_the_next_start(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script slow = { .otherwise = REPLY_SLOW, .slow_ms = 2000 };
	struct receiver_script healthy = { .otherwise = REPLY_OK };
	struct received received;

	receiver_start(fixture, &slow);
	append_records(fixture, 20, 0);
	struct shipper_options options = options_for(fixture);
	shipper_start_with(fixture, &options);
	assert_true(run_loop_until(fixture, request_in_flight, NULL, 5000));
	assert_false(shipper_idle(fixture->shipper));
	shipper_stop(fixture->shipper);
	fixture->shipper = NULL;
	/* Nothing of the stopped shipper may fire any more. */
	run_for(fixture, 50);
	receiver_stop(fixture);

	spool_reopen(fixture);
	assert_int_equal(spool_acknowledged(fixture->spool), 0);
	unlink(fixture->body_path);
	receiver_start(fixture, &healthy);
	options = options_for(fixture);
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);
	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 20);
}

/* A record found corrupt on reading is skipped by the spool with the rest of
 * its segment; the shipper must neither spin on it nor stay busy forever. */
static void test_records_cut_off_as_corrupt_leave_the_shipper_idle_and_later_ones_ship(
	void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };
	struct received received;
	struct request_log requests;
	struct spool_stats spool;
	struct stat segment;
	char path[192];

	receiver_start(fixture, &script);
	append_records(fixture, 5, 0);
	struct shipper_options options = options_for(fixture);
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);

	snprintf(path, sizeof(path), "%s/seg-%020d.log", fixture->spool_path, 1);
	assert_int_equal(stat(path, &segment), 0);
	append_records(fixture, 3, 0);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	/* A byte inside the sixth record's payload, past its 20-byte frame header. */
	assert_int_equal(pwrite(fd, "X", 1, segment.st_size + 22), 1);
	close(fd);

	shipper_notify(fixture->shipper);
	spool_get_stats(fixture->spool, &spool);
	assert_true(spool.corrupt_bytes > 0);
	assert_int_equal(spool.unshipped, 3);
	assert_true(shipper_idle(fixture->shipper));

	append_records(fixture, 2, 0);
	assert_false(shipper_idle(fixture->shipper));
	shipper_notify(fixture->shipper);
	run_until_idle(fixture);
	received_load(fixture, &received);
	assert_int_equal(received.count, 7);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(received.sequences[i], i + 1);
	assert_int_equal(received.sequences[5], 9);
	assert_int_equal(received.sequences[6], 10);
	requests_load(fixture, &requests);
	assert_int_equal(requests.count, 2);
	assert_int_equal(spool_acknowledged(fixture->spool), 10);
}

/* ---- Idle and flush ---- */

static void test_idle_means_nothing_unshipped_and_nothing_in_flight(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };

	receiver_start(fixture, &script);
	struct shipper_options options = options_for(fixture);
	shipper_start_with(fixture, &options);
	assert_true(shipper_idle(fixture->shipper));

	append_records(fixture, 3, 0);
	assert_false(shipper_idle(fixture->shipper));
	shipper_notify(fixture->shipper);
	assert_false(shipper_idle(fixture->shipper));
	run_until_idle(fixture);
	assert_true(shipper_idle(fixture->shipper));
	assert_int_equal(stats_of(fixture).shipped, 3);
}

static void test_flush_ends_the_backoff_and_retries_at_once(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = {
		.replies = { REPLY_ERROR_500 },
		.count = 1,
		.otherwise = REPLY_OK,
	};
	struct request_log requests;
	struct received received;

	receiver_start(fixture, &script);
	append_records(fixture, 5, 0);
	struct shipper_options options = options_for(fixture);
	options.backoff_initial_ms = 60000;
	options.backoff_max_ms = 60000;
	shipper_start_with(fixture, &options);
	fixture->wanted_failures = 1;
	assert_true(run_loop_until(fixture, failures_reached, NULL, 5000));

	/* Backing off: neither time nor a notify starts another request. */
	shipper_notify(fixture->shipper);
	run_for(fixture, 200);
	requests_load(fixture, &requests);
	assert_int_equal(requests.count, 1);
	assert_false(shipper_idle(fixture->shipper));

	uint64_t flushed = now_ms();
	shipper_flush(fixture->shipper);
	run_until_idle(fixture);
	assert_true(now_ms() - flushed < 1000);
	requests_load(fixture, &requests);
	assert_int_equal(requests.count, 2);
	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 5);
}

static void test_flush_with_nothing_to_ship_sends_nothing(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };
	struct request_log requests;

	receiver_start(fixture, &script);
	struct shipper_options options = options_for(fixture);
	shipper_start_with(fixture, &options);
	shipper_flush(fixture->shipper);
	assert_true(shipper_idle(fixture->shipper));
	run_for(fixture, 100);
	requests_load(fixture, &requests);
	assert_int_equal(requests.count, 0);
}

/* ---- Proxies ---- */

static void test_http_proxy_from_the_environment_is_honoured(void **state)
{
	struct fixture *fixture = *state;
	struct receiver_script script = { .otherwise = REPLY_OK };
	struct received received;
	char proxy[64];

	receiver_start(fixture, &script);
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", fixture->port);
	append_records(fixture, 5, 0);
	struct shipper_options options = options_for(fixture);
	/* Only the proxy can deliver to a name that does not resolve. */
	options.url = "http://events.invalid/v1/events";
	setenv("http_proxy", proxy, 1);
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);
	unsetenv("http_proxy");

	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 5);
}

/* ---- Options checked at start ---- */

static int start_with_url(struct fixture *fixture, const char *url, char *error, size_t size)
{
	struct shipper_options options = options_for(fixture);
	options.url = url;
	error[0] = '\0';
	return shipper_start(&options, &fixture->shipper, error, size);
}

static void test_url_that_is_not_http_is_refused_naming_the_option(void **state)
{
	struct fixture *fixture = *state;
	static const char *const refused[] = {
		"ftp://127.0.0.1/events", "file:///etc/passwd", "127.0.0.1:8080/events",
		"gopher://127.0.0.1/", "", "http://exa mple.com/", "https://",
	};
	char error[256];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(start_with_url(fixture, refused[i], error, sizeof(error)), -EINVAL);
		assert_non_null(strstr(error, "--events-url"));
	}
	struct shipper_options options = options_for(fixture);
	options.url = NULL;
	assert_int_equal(shipper_start(&options, &fixture->shipper, error, sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "--events-url"));
}

static void test_http_and_https_urls_are_accepted(void **state)
{
	struct fixture *fixture = *state;
	static const char *const accepted[] = {
		"http://127.0.0.1:8080/events", "https://gateway.example/v1/events",
		"HTTPS://gateway.example:8443/", "http://[::1]:9/x",
	};
	char error[256];

	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		assert_int_equal(start_with_url(fixture, accepted[i], error, sizeof(error)), 0);
		shipper_stop(fixture->shipper);
		fixture->shipper = NULL;
	}
}

static void file_write(const char *path, const char *text)
{
	FILE *file = fopen(path, "we");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
}

struct tls_paths {
	char cert[160], key[160], ca[160], missing[160];
};

static void tls_paths_create(const struct fixture *fixture, struct tls_paths *paths)
{
	snprintf(paths->cert, sizeof(paths->cert), "%s/client.pem", fixture->root);
	snprintf(paths->key, sizeof(paths->key), "%s/client.key", fixture->root);
	snprintf(paths->ca, sizeof(paths->ca), "%s/ca.pem", fixture->root);
	snprintf(paths->missing, sizeof(paths->missing), "%s/missing.pem", fixture->root);
	file_write(paths->cert, "certificate\n");
	file_write(paths->key, "key\n");
	file_write(paths->ca, "ca\n");
}

static int start_with_tls(struct fixture *fixture, const char *cert, const char *key,
			  const char *ca, char *error, size_t size)
{
	struct shipper_options options = options_for(fixture);
	options.client_cert = cert;
	options.client_key = key;
	options.ca_file = ca;
	error[0] = '\0';
	return shipper_start(&options, &fixture->shipper, error, size);
}

static void test_missing_tls_file_is_refused_naming_its_option(void **state)
{
	struct fixture *fixture = *state;
	struct tls_paths paths;
	char error[256];

	tls_paths_create(fixture, &paths);
	assert_int_equal(start_with_tls(fixture, paths.missing, paths.key, paths.ca, error,
					sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "--events-cert"));
	assert_non_null(strstr(error, "No such file"));
	assert_int_equal(start_with_tls(fixture, paths.cert, paths.missing, paths.ca, error,
					sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "--events-key"));
	assert_int_equal(start_with_tls(fixture, paths.cert, paths.key, paths.missing, error,
					sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "--events-ca"));
}

static void test_readable_tls_files_are_accepted(void **state)
{
	struct fixture *fixture = *state;
	struct tls_paths paths;
	char error[256];

	tls_paths_create(fixture, &paths);
	assert_int_equal(start_with_tls(fixture, paths.cert, paths.key, paths.ca, error,
					sizeof(error)), 0);
	shipper_stop(fixture->shipper);
	fixture->shipper = NULL;
	assert_int_equal(start_with_tls(fixture, NULL, NULL, paths.ca, error, sizeof(error)), 0);
}

static void test_certificate_without_key_or_key_without_certificate_is_refused(void **state)
{
	struct fixture *fixture = *state;
	struct tls_paths paths;
	char error[256];

	tls_paths_create(fixture, &paths);
	assert_int_equal(start_with_tls(fixture, paths.cert, NULL, NULL, error, sizeof(error)),
			 -EINVAL);
	assert_non_null(strstr(error, "--events-cert and --events-key"));
	assert_int_equal(start_with_tls(fixture, NULL, paths.key, NULL, error, sizeof(error)),
			 -EINVAL);
	assert_non_null(strstr(error, "--events-cert and --events-key"));
}

/* ---- mTLS against a Python receiver that requires a client certificate ---- */

static const char pki_script[] =
	"set -e\n"
	"cd \"$1\"\n"
	"ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	"-keyout $1.key -out $1.pem -days 2 -subj /CN=$1; }\n"
	"leaf() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	"-keyout $1.key -out $1.csr -subj /CN=$1\n"
	"  printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=%s\\n' $2 > $1.ext\n"
	"  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	"-out $1.pem -days 2 -extfile $1.ext; }\n"
	"ca ca; ca other-ca; leaf server serverAuth; leaf client clientAuth\n";

static const char tls_receiver_script[] =
	"import http.server, ssl, sys\n"
	"body, cert, key, ca = sys.argv[1:5]\n"
	"class Handler(http.server.BaseHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.1'\n"
	"    def do_POST(self):\n"
	"        data = self.rfile.read(int(self.headers.get('Content-Length', 0)))\n"
	"        with open(body, 'ab') as out:\n"
	"            out.write(data)\n"
	"        self.send_response(200)\n"
	"        self.send_header('Content-Length', '0')\n"
	"        self.end_headers()\n"
	"    def log_message(self, *args):\n"
	"        pass\n"
	"server = http.server.HTTPServer(('127.0.0.1', 0), Handler)\n"
	"context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
	"context.load_cert_chain(cert, key)\n"
	"context.load_verify_locations(ca)\n"
	"context.verify_mode = ssl.CERT_REQUIRED\n"
	"server.socket = context.wrap_socket(server.socket, server_side=True)\n"
	"print(server.server_address[1], flush=True)\n"
	"server.serve_forever()\n";

static bool pki_create(const struct fixture *fixture)
{
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execl("/bin/sh", "sh", "-c", pki_script, "sh", fixture->root, (char *)NULL);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void tls_receiver_start(struct fixture *fixture)
{
	char cert[160], key[160], ca[160], port[16] = "";
	int pipe_fds[2];

	snprintf(cert, sizeof(cert), "%s/server.pem", fixture->root);
	snprintf(key, sizeof(key), "%s/server.key", fixture->root);
	snprintf(ca, sizeof(ca), "%s/ca.pem", fixture->root);
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	fixture->receiver = fork();
	assert_true(fixture->receiver >= 0);
	if (fixture->receiver == 0) {
		dup2(pipe_fds[1], STDOUT_FILENO);
		execl("/usr/bin/python3", "python3", "-c", tls_receiver_script, fixture->body_path,
		      cert, key, ca, (char *)NULL);
		_exit(127);
	}
	close(pipe_fds[1]);
	/* Python may write the number and its newline separately: closing the
	 * pipe before the newline came would kill the receiver with EPIPE. */
	size_t used = 0;
	while (used < sizeof(port) - 1 && !strchr(port, '\n')) {
		ssize_t got = read(pipe_fds[0], port + used, sizeof(port) - 1 - used);
		assert_true(got > 0);
		used += (size_t)got;
	}
	close(pipe_fds[0]);
	assert_non_null(strchr(port, '\n'));
	fixture->port = atoi(port);
	snprintf(fixture->url, sizeof(fixture->url), "https://127.0.0.1:%d/v1/events",
		 fixture->port);
}

static bool tls_setup(struct fixture *fixture)
{
	if (access("/usr/bin/openssl", X_OK) != 0 || access("/usr/bin/python3", X_OK) != 0)
		return false;
	assert_true(pki_create(fixture));
	tls_receiver_start(fixture);
	return true;
}

static void tls_file(const struct fixture *fixture, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", fixture->root, name);
}

static void test_mtls_with_the_right_ca_and_client_certificate_delivers(void **state)
{
	struct fixture *fixture = *state;
	char cert[160], key[160], ca[160];
	struct received received;

	if (!tls_setup(fixture)) {
		print_message("skipped: needs /usr/bin/openssl and /usr/bin/python3\n");
		skip();
	}
	tls_file(fixture, "client.pem", cert, sizeof(cert));
	tls_file(fixture, "client.key", key, sizeof(key));
	tls_file(fixture, "ca.pem", ca, sizeof(ca));
	append_records(fixture, 12, 0);
	struct shipper_options options = options_for(fixture);
	options.client_cert = cert;
	options.client_key = key;
	options.ca_file = ca;
	shipper_start_with(fixture, &options);
	run_until_idle(fixture);
	received_load(fixture, &received);
	assert_exactly_in_order(&received, 1, 12);
	assert_int_equal(stats_of(fixture).failures, 0);
}

static void assert_tls_refused(struct fixture *fixture, const struct shipper_options *options)
{
	struct received received;

	shipper_start_with(fixture, options);
	fixture->wanted_failures = 2;
	assert_true(run_loop_until(fixture, failures_reached, NULL, 5000));
	struct shipper_stats stats = stats_of(fixture);
	assert_int_equal(stats.shipped, 0);
	assert_int_equal(stats.last_status, 0);
	assert_true(strlen(stats.last_error) > 0);
	received_load(fixture, &received);
	assert_int_equal(received.count, 0);
	assert_int_equal(spool_acknowledged(fixture->spool), 0);
}

static void test_receiver_certificate_from_another_ca_is_refused(void **state)
{
	struct fixture *fixture = *state;
	char cert[160], key[160], other_ca[160];

	if (!tls_setup(fixture)) {
		print_message("skipped: needs /usr/bin/openssl and /usr/bin/python3\n");
		skip();
	}
	tls_file(fixture, "client.pem", cert, sizeof(cert));
	tls_file(fixture, "client.key", key, sizeof(key));
	tls_file(fixture, "other-ca.pem", other_ca, sizeof(other_ca));
	append_records(fixture, 3, 0);
	struct shipper_options options = options_for(fixture);
	options.client_cert = cert;
	options.client_key = key;
	options.ca_file = other_ca;
	assert_tls_refused(fixture, &options);
	const char *error = stats_of(fixture).last_error;
	if (!strstr(error, "certificate"))
		fail_msg("not a certificate error: %s", error);
}

static void test_receiver_requiring_a_client_certificate_refuses_a_shipper_without_one(
	void **state)
{
	struct fixture *fixture = *state;
	char ca[160];

	if (!tls_setup(fixture)) {
		print_message("skipped: needs /usr/bin/openssl and /usr/bin/python3\n");
		skip();
	}
	tls_file(fixture, "ca.pem", ca, sizeof(ca));
	append_records(fixture, 3, 0);
	struct shipper_options options = options_for(fixture);
	options.ca_file = ca;
	assert_tls_refused(fixture, &options);
}

int main(void)
{
	/* The shipper honours proxy variables (one test sets its own); a proxy
	 * inherited from the environment must not carry the loopback tests. */
	static const char *const proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy",
					       "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
					       "no_proxy", "NO_PROXY" };
	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
	signal(SIGPIPE, SIG_IGN);

	const struct CMUnitTest tests[] = {
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		TEST(test_records_arrive_in_order_without_gaps_across_several_batches),
		TEST(test_records_spooled_before_start_are_shipped_without_a_notify),
		TEST(test_batch_bytes_bounds_each_body_and_a_larger_record_goes_alone),
		TEST(test_records_appended_while_a_batch_is_in_flight_follow_in_order),
		TEST(test_receiver_failing_with_500_is_retried_with_doubling_jittered_delays),
		TEST(test_backoff_stops_doubling_at_the_maximum_and_stays_jittered),
		TEST(test_success_resets_the_backoff_to_the_initial_delay),
		TEST(test_receiver_down_then_up_receives_everything_once_it_is_up),
		TEST(test_connection_cut_before_the_response_is_retried_without_loss),
		TEST(test_200_cut_off_mid_body_is_not_an_acknowledgement),
		TEST(test_slow_receiver_times_out_and_the_batch_is_retried),
		TEST(test_acknowledged_position_survives_reopening_and_shipping_resumes_there),
		TEST(test_stop_mid_request_keeps_the_batch_for_the_next_start),
		TEST(test_records_cut_off_as_corrupt_leave_the_shipper_idle_and_later_ones_ship),
		TEST(test_idle_means_nothing_unshipped_and_nothing_in_flight),
		TEST(test_flush_ends_the_backoff_and_retries_at_once),
		TEST(test_flush_with_nothing_to_ship_sends_nothing),
		TEST(test_http_proxy_from_the_environment_is_honoured),
		TEST(test_url_that_is_not_http_is_refused_naming_the_option),
		TEST(test_http_and_https_urls_are_accepted),
		TEST(test_missing_tls_file_is_refused_naming_its_option),
		TEST(test_readable_tls_files_are_accepted),
		TEST(test_certificate_without_key_or_key_without_certificate_is_refused),
		TEST(test_mtls_with_the_right_ca_and_client_certificate_delivers),
		TEST(test_receiver_certificate_from_another_ca_is_refused),
		TEST(test_receiver_requiring_a_client_certificate_refuses_a_shipper_without_one),
#undef TEST
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
