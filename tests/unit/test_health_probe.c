/* `sandbox-init probe URL` against real sockets: a forked child listens on
 * 127.0.0.1 and answers every connection with one canned response (or never
 * answers), so each test sees exactly what curl made of a real exchange. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "health/probe.h"

#define TIMEOUT_MS 5000
#define MAX_SERVERS 4

static const char ok_200[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
static const char no_content_204[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
static const char not_found_404[] =
	"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char unavailable_503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 22\r\n"
				      "Connection: close\r\n\r\n{\"status\":\"starting\"}\n";
static const char bad_request_400[] =
	"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char not_http[] = "hello, this is not HTTP\r\n\r\n";

static const char *const proxy_variables[] = { "http_proxy", "HTTP_PROXY", "https_proxy",
					       "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
					       "no_proxy", "NO_PROXY" };

struct server {
	pid_t pid;
	int port;
};

static struct server servers[MAX_SERVERS];
static size_t server_count;

/* ------------------------------------------------------------ the test server */

static void write_all(int fd, const char *data, size_t length)
{
	while (length > 0) {
		ssize_t written = write(fd, data, length);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		data += written;
		length -= (size_t)written;
	}
}

/* Reads the request head, so closing afterwards does not reset the
 * connection under an unread request (which would turn the answer into a
 * connection error on the client). */
static size_t read_request_head(int connection, char *buffer, size_t size)
{
	struct timeval two_seconds = { .tv_sec = 2 };
	size_t length = 0;

	setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof(two_seconds));
	while (length < size - 1) {
		ssize_t got = read(connection, buffer + length, size - 1 - length);
		if (got <= 0)
			break;
		length += (size_t)got;
		buffer[length] = '\0';
		if (strstr(buffer, "\r\n\r\n"))
			break;
	}
	buffer[length] = '\0';
	return length;
}

/* The child: response NULL never answers (and keeps the connection open);
 * a request not starting with expected_request gets a 400. */
static _Noreturn void serve_forever(int listener, const char *response,
				    const char *expected_request)
{
	char request[4096];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		int connection = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (connection < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		read_request_head(connection, request, sizeof(request));
		if (!response) {
			for (;;)
				pause();
		}
		if (expected_request &&
		    strncmp(request, expected_request, strlen(expected_request)) != 0)
			write_all(connection, bad_request_400, strlen(bad_request_400));
		else
			write_all(connection, response, strlen(response));
		close(connection);
	}
}

/* A socket bound to a free loopback port; listening or not. */
static int bind_loopback(bool listening, int *port)
{
	struct sockaddr_in address = { .sin_family = AF_INET,
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t length = sizeof(address);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
	*port = ntohs(address.sin_port);
	return fd;
}

static int start_server(const char *response, const char *expected_request)
{
	struct server *server = &servers[server_count];
	int listener;

	assert_true(server_count < MAX_SERVERS);
	listener = bind_loopback(true, &server->port);
	server->pid = fork();
	assert_true(server->pid >= 0);
	if (server->pid == 0)
		serve_forever(listener, response, expected_request);
	close(listener);
	server_count++;
	return server->port;
}

static void stop_servers(void)
{
	for (size_t i = 0; i < server_count; i++) {
		kill(servers[i].pid, SIGKILL);
		waitpid(servers[i].pid, NULL, 0);
	}
	server_count = 0;
}

static void clear_proxy_environment(void)
{
	for (size_t i = 0; i < sizeof(proxy_variables) / sizeof(proxy_variables[0]); i++)
		unsetenv(proxy_variables[i]);
}

static int setup(void **state)
{
	(void)state;
	clear_proxy_environment();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stop_servers();
	clear_proxy_environment();
	return 0;
}

__attribute__((format(printf, 2, 3))) static void format_url(char url[256], const char *format,
							      ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(url, 256, format, args);
	va_end(args);
}

static void assert_reason_contains(const char *reason, const char *fragment)
{
	if (!strstr(reason, fragment))
		fail_msg("reason \"%s\" does not contain \"%s\"", reason, fragment);
}

static long elapsed_ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* ------------------------------------------------------------ status codes */

static void test_200_answer_to_a_get_of_the_path_returns_0(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE];
	int port = start_server(ok_200, "GET /healthz HTTP/1.1\r\n");

	(void)state;
	format_url(url, "http://127.0.0.1:%d/healthz", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "HTTP 200");
}

static void test_any_2xx_answer_returns_0(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE];
	int port = start_server(no_content_204, NULL);

	(void)state;
	format_url(url, "http://127.0.0.1:%d/readyz", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "HTTP 204");
}

static void test_503_answer_returns_1_with_the_status_as_reason(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE];
	int port = start_server(unavailable_503, NULL);

	(void)state;
	format_url(url, "http://127.0.0.1:%d/health", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "HTTP 503");
}

static void test_404_answer_returns_1(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE];
	int port = start_server(not_found_404, NULL);

	(void)state;
	format_url(url, "http://127.0.0.1:%d/nothing-here", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "HTTP 404");
}

static void test_redirect_is_not_followed_and_returns_1(void **state)
{
	char url[256], redirect[512], reason[PROBE_REASON_SIZE];
	int healthy_port = start_server(ok_200, NULL);

	(void)state;
	snprintf(redirect, sizeof(redirect),
		 "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/\r\n"
		 "Content-Length: 0\r\nConnection: close\r\n\r\n",
		 healthy_port);
	int redirecting_port = start_server(redirect, NULL);

	format_url(url, "http://127.0.0.1:%d/", redirecting_port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "HTTP 302");

	format_url(url, "http://127.0.0.1:%d/", healthy_port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 0);
}

static void test_answer_that_is_not_http_returns_1(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE];
	int port = start_server(not_http, NULL);

	(void)state;
	format_url(url, "http://127.0.0.1:%d/healthz", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_reason_contains(reason, "HTTP/0.9");
}

static void test_answer_body_is_not_copied_to_stdout(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE], captured[64];
	int port = start_server(unavailable_503, NULL);
	int pipe_fds[2], saved_stdout;

	(void)state;
	format_url(url, "http://127.0.0.1:%d/health", port);
	fflush(stdout);
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK), 0);
	saved_stdout = dup(STDOUT_FILENO);
	assert_true(saved_stdout >= 0);
	assert_true(dup2(pipe_fds[1], STDOUT_FILENO) >= 0);
	int result = probe_run(url, TIMEOUT_MS, reason, sizeof(reason));
	fflush(stdout);
	assert_true(dup2(saved_stdout, STDOUT_FILENO) >= 0);
	close(saved_stdout);
	close(pipe_fds[1]);

	assert_int_equal(result, 1);
	assert_string_equal(reason, "HTTP 503");
	assert_int_equal(read(pipe_fds[0], captured, sizeof(captured)), 0); /* EOF: nothing */
	close(pipe_fds[0]);
}

/* ------------------------------------------------------------ no answer */

static void test_refused_connection_returns_1_with_curls_error(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE];
	int port;
	/* Bound but not listening: the kernel answers a SYN with a reset, and
	 * nobody else can take the port while we hold it. */
	int fd = bind_loopback(false, &port);

	(void)state;
	format_url(url, "http://127.0.0.1:%d/healthz", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 1);
	close(fd);
	assert_reason_contains(reason, "Couldn't connect to server");
}

static void test_server_that_never_answers_returns_1_within_the_timeout(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE];
	int port = start_server(NULL, NULL);
	struct timespec start;

	(void)state;
	format_url(url, "http://127.0.0.1:%d/healthz", port);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(probe_run(url, 300, reason, sizeof(reason)), 1);
	long elapsed = elapsed_ms_since(&start);
	assert_reason_contains(reason, "Timeout was reached");
	assert_in_range(elapsed, 290, 1500);
}

/* ------------------------------------------------------------ refused before any request */

static void test_file_scheme_is_refused(void **state)
{
	char reason[PROBE_REASON_SIZE];

	(void)state;
	assert_int_equal(probe_run("file:///etc/passwd", TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_reason_contains(reason, "Unsupported protocol");
}

static void test_other_schemes_libcurl_knows_are_refused(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE];
	int port = start_server(ok_200, NULL);

	(void)state;
	format_url(url, "ftp://127.0.0.1:%d/", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_reason_contains(reason, "Unsupported protocol");
	format_url(url, "dict://127.0.0.1:%d/", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_reason_contains(reason, "Unsupported protocol");

	format_url(url, "http://127.0.0.1:%d/", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 0);
}

static void test_malformed_or_missing_url_returns_1(void **state)
{
	char reason[PROBE_REASON_SIZE];

	(void)state;
	assert_int_equal(probe_run("http://[::1/healthz", TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_reason_contains(reason, "bad URL");
	assert_int_equal(probe_run("127.0.0.1:8787/healthz", TIMEOUT_MS, reason, sizeof(reason)),
			 1);
	assert_reason_contains(reason, "bad URL");
	assert_int_equal(probe_run("", TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_reason_contains(reason, "bad URL");
	assert_int_equal(probe_run(NULL, TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "no URL");
}

static void test_timeout_that_is_not_positive_returns_1(void **state)
{
	char url[256], reason[PROBE_REASON_SIZE];
	int port = start_server(ok_200, NULL);

	(void)state;
	format_url(url, "http://127.0.0.1:%d/healthz", port);
	assert_int_equal(probe_run(url, 0, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "invalid timeout 0 ms");
	assert_int_equal(probe_run(url, -5, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "invalid timeout -5 ms");
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 0);
}

/* ------------------------------------------------------------ proxies */

static void test_loopback_is_reached_directly_despite_a_proxy_in_the_environment(void **state)
{
	char url[256], proxy[256], reason[PROBE_REASON_SIZE];
	int port = start_server(ok_200, "GET /healthz HTTP/1.1\r\n");
	int proxy_port;
	int dead_proxy = bind_loopback(false, &proxy_port);

	(void)state;
	format_url(proxy, "http://127.0.0.1:%d", proxy_port);
	setenv("http_proxy", proxy, 1);
	setenv("HTTPS_PROXY", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);

	format_url(url, "http://127.0.0.1:%d/healthz", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 0);
	format_url(url, "http://localhost:%d/healthz", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 0);
	format_url(url, "http://127.1.2.3:%d/healthz", port);
	/* Not the server's address, but loopback: refused directly, not by the proxy. */
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, sizeof(reason)), 1);
	assert_reason_contains(reason, "127.1.2.3");
	close(dead_proxy);
}

static void test_proxy_from_the_environment_is_used_for_other_hosts(void **state)
{
	char proxy[256], reason[PROBE_REASON_SIZE];
	/* A proxy gets the absolute URL in the request line. */
	int proxy_port = start_server(ok_200, "GET http://probe.invalid/healthz HTTP/1.1\r\n");

	(void)state;
	format_url(proxy, "http://127.0.0.1:%d", proxy_port);
	setenv("http_proxy", proxy, 1);
	assert_int_equal(probe_run("http://probe.invalid/healthz", TIMEOUT_MS, reason,
				   sizeof(reason)),
			 0);
	assert_string_equal(reason, "HTTP 200");

	/* NO_PROXY is honoured: then the name must resolve, and .invalid never does. */
	setenv("NO_PROXY", "probe.invalid", 1);
	assert_int_equal(probe_run("http://probe.invalid/healthz", TIMEOUT_MS, reason,
				   sizeof(reason)),
			 1);
	assert_reason_contains(reason, "resolve");
}

/* ------------------------------------------------------------ the reason */

static void test_reason_may_be_null(void **state)
{
	char url[256];
	int port = start_server(ok_200, NULL);

	(void)state;
	format_url(url, "http://127.0.0.1:%d/healthz", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, NULL, 0), 0);
	assert_int_equal(probe_run("file:///etc/passwd", TIMEOUT_MS, NULL, 0), 1);
}

static void test_reason_is_cut_to_its_size(void **state)
{
	char url[256], reason[8];
	int port = start_server(unavailable_503, NULL);

	(void)state;
	memset(reason, 'x', sizeof(reason));
	format_url(url, "http://127.0.0.1:%d/health", port);
	assert_int_equal(probe_run(url, TIMEOUT_MS, reason, 5), 1);
	assert_string_equal(reason, "HTTP");
	assert_int_equal(reason[5], 'x');
}

/* Each test's servers are stopped and the proxy variables cleared after it. */
#define PROBE_TEST(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		PROBE_TEST(test_200_answer_to_a_get_of_the_path_returns_0),
		PROBE_TEST(test_any_2xx_answer_returns_0),
		PROBE_TEST(test_503_answer_returns_1_with_the_status_as_reason),
		PROBE_TEST(test_404_answer_returns_1),
		PROBE_TEST(test_redirect_is_not_followed_and_returns_1),
		PROBE_TEST(test_answer_that_is_not_http_returns_1),
		PROBE_TEST(test_answer_body_is_not_copied_to_stdout),
		PROBE_TEST(test_refused_connection_returns_1_with_curls_error),
		PROBE_TEST(test_server_that_never_answers_returns_1_within_the_timeout),
		PROBE_TEST(test_file_scheme_is_refused),
		PROBE_TEST(test_other_schemes_libcurl_knows_are_refused),
		PROBE_TEST(test_malformed_or_missing_url_returns_1),
		PROBE_TEST(test_timeout_that_is_not_positive_returns_1),
		PROBE_TEST(test_loopback_is_reached_directly_despite_a_proxy_in_the_environment),
		PROBE_TEST(test_proxy_from_the_environment_is_used_for_other_hosts),
		PROBE_TEST(test_reason_may_be_null),
		PROBE_TEST(test_reason_is_cut_to_its_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
