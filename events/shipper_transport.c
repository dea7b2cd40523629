/* libcurl's multi interface on the supervisor's loop: curl says which sockets
 * to watch for what and when it next needs a timeout, the loop watches and
 * times, and calls back into curl_multi_socket_action().  Nothing here waits,
 * so a slow or absent receiver never holds up reaping, signals or a turn. */
#include "events/shipper_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#define DEFAULT_REQUEST_TIMEOUT_MS 10000L
#define CONNECT_TIMEOUT_MAX_MS 5000L

static void transfers_collect(struct shipper *shipper)
{
	CURLMsg *message;
	int pending;

	while ((message = curl_multi_info_read(shipper->multi, &pending))) {
		if (message->msg != CURLMSG_DONE)
			continue;
		CURLcode result = message->data.result;
		long status = 0;
		if (result == CURLE_OK)
			curl_easy_getinfo(shipper->easy, CURLINFO_RESPONSE_CODE, &status);
		/* message is invalid once the handle is removed. */
		curl_multi_remove_handle(shipper->multi, shipper->easy);
		shipper_transfer_done(shipper, result, status);
	}
}

static void on_socket_ready(void *context, int fd, uint32_t events)
{
	struct shipper *shipper = context;
	int flags = 0, running;

	/* A hang-up is seen by reading: curl then finds the end of the stream. */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(shipper->multi, fd, flags, &running);
	transfers_collect(shipper);
}

static void on_curl_timeout(void *context)
{
	struct shipper *shipper = context;
	int running;

	curl_multi_socket_action(shipper->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	transfers_collect(shipper);
}

static uint32_t epoll_events_for(int what)
{
	uint32_t events = 0;

	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	return events;
}

static int socket_watch(struct shipper *shipper, int fd, uint32_t events)
{
	struct shipper_socket *watched = malloc(sizeof(*watched));

	if (!watched)
		return -ENOMEM;
	int rc = loop_watch_fd(shipper->loop, fd, events, on_socket_ready, shipper);
	if (rc < 0) {
		free(watched);
		return rc;
	}
	curl_multi_assign(shipper->multi, fd, watched);
	watched->fd = fd;
	watched->next = shipper->sockets;
	shipper->sockets = watched;
	return 0;
}

static void socket_forget(struct shipper *shipper, struct shipper_socket *watched)
{
	loop_unwatch_fd(shipper->loop, watched->fd);
	for (struct shipper_socket **link = &shipper->sockets; *link; link = &(*link)->next) {
		if (*link == watched) {
			*link = watched->next;
			break;
		}
	}
	free(watched);
}

/* curl calls this with CURL_POLL_REMOVE before it closes a socket, so a watch
 * never outlives its fd and a reused fd number starts a fresh watch. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *context,
			  void *socket_context)
{
	struct shipper *shipper = context;
	struct shipper_socket *watched = socket_context;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (watched)
			socket_forget(shipper, watched);
		return 0;
	}
	if (watched)
		return loop_modify_fd(shipper->loop, fd, epoll_events_for(what)) < 0 ? -1 : 0;
	return socket_watch(shipper, fd, epoll_events_for(what)) < 0 ? -1 : 0;
}

/* curl must not be re-entered from this callback: even a zero timeout is
 * handed to the loop, which fires it on its next turn. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *context)
{
	struct shipper *shipper = context;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_stop(shipper->loop, &shipper->curl_timer);
	else
		loop_timer_start(shipper->loop, &shipper->curl_timer, (uint64_t)timeout_ms,
				 on_curl_timeout, shipper);
	return 0;
}

/* The receiver's answer is not used: the status decides.  Never stored, so a
 * large or endless body costs no memory (and the request timeout ends it). */
static size_t response_discard(char *data, size_t size, size_t count, void *context)
{
	(void)data;
	(void)context;
	return size * count;
}

static CURLcode easy_set_request(CURL *easy, const struct shipper_options *options,
				 struct curl_slist *headers, char *error_buffer)
{
	long timeout_ms = options->request_timeout_ms > 0 ? options->request_timeout_ms
							  : DEFAULT_REQUEST_TIMEOUT_MS;
	long connect_ms = timeout_ms < CONNECT_TIMEOUT_MAX_MS ? timeout_ms : CONNECT_TIMEOUT_MAX_MS;
	CURLcode rc = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);

	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_URL, options->url);
	/* The receiver is ours to name: no redirect may send events elsewhere,
	 * and no scheme but HTTP(S) may be spoken. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_POST, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_USERAGENT, "sandbox-init/" SI_VERSION);
	/* PID 1 owns its signals: curl must not install handlers or use alarm(). */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, response_discard);
	return rc;
}

/* Verification of the receiver's certificate and name stays on (curl's
 * default): the events are the audit trail, and a man in the middle could
 * acknowledge and drop them. */
static CURLcode easy_set_tls(CURL *easy, const struct shipper_options *options)
{
	CURLcode rc = curl_easy_setopt(easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);

	if (rc == CURLE_OK && options->client_cert) {
		rc = curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(easy, CURLOPT_SSLCERT, options->client_cert);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(easy, CURLOPT_SSLKEY, options->client_key);
	}
	if (rc == CURLE_OK && options->ca_file)
		rc = curl_easy_setopt(easy, CURLOPT_CAINFO, options->ca_file);
	return rc;
}

static CURLMcode multi_set_loop(struct shipper *shipper)
{
	CURLMcode rc = curl_multi_setopt(shipper->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);

	if (rc == CURLM_OK)
		rc = curl_multi_setopt(shipper->multi, CURLMOPT_SOCKETDATA, shipper);
	if (rc == CURLM_OK)
		rc = curl_multi_setopt(shipper->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	if (rc == CURLM_OK)
		rc = curl_multi_setopt(shipper->multi, CURLMOPT_TIMERDATA, shipper);
	return rc;
}

/* An empty "Expect:" stops curl from asking for 100-continue before a large
 * body: a round trip (or a one second wait) per batch for nothing. */
static struct curl_slist *headers_build(void)
{
	static const char *const lines[] = { "Content-Type: application/x-ndjson", "Expect:" };
	struct curl_slist *headers = NULL;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct curl_slist *longer = curl_slist_append(headers, lines[i]);
		if (!longer) {
			curl_slist_free_all(headers);
			return NULL;
		}
		headers = longer;
	}
	return headers;
}

int shipper_transport_open(struct shipper *shipper, const struct shipper_options *options,
			   char *error, size_t error_size)
{
	shipper->headers = headers_build();
	shipper->easy = curl_easy_init();
	shipper->multi = curl_multi_init();
	if (!shipper->headers || !shipper->easy || !shipper->multi) {
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	CURLcode rc = easy_set_request(shipper->easy, options, shipper->headers,
				       shipper->curl_error);
	if (rc == CURLE_OK)
		rc = easy_set_tls(shipper->easy, options);
	if (rc != CURLE_OK) {
		snprintf(error, error_size, "libcurl: %s", curl_easy_strerror(rc));
		return rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
	}
	CURLMcode multi_rc = multi_set_loop(shipper);
	if (multi_rc != CURLM_OK) {
		snprintf(error, error_size, "libcurl: %s",
			 curl_multi_strerror(multi_rc));
		return -EINVAL;
	}
	return 0;
}

int shipper_transport_send(struct shipper *shipper)
{
	struct shipper_batch *batch = &shipper->batch;
	CURLcode rc;

	/* curl does not copy POSTFIELDS: the batch stays untouched until done. */
	rc = curl_easy_setopt(shipper->easy, CURLOPT_POSTFIELDSIZE_LARGE,
			      (curl_off_t)batch->length);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(shipper->easy, CURLOPT_POSTFIELDS, batch->body);
	if (rc != CURLE_OK)
		return -EINVAL;
	shipper->curl_error[0] = '\0';
	CURLMcode multi_rc = curl_multi_add_handle(shipper->multi, shipper->easy);
	if (multi_rc != CURLM_OK)
		return multi_rc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
	return 0;
}

void shipper_transport_close(struct shipper *shipper)
{
	if (shipper->multi && shipper->easy && shipper->in_flight)
		curl_multi_remove_handle(shipper->multi, shipper->easy);
	/* Closing cached connections calls on_curl_socket(), which still needs
	 * the loop and the socket list. */
	if (shipper->multi)
		curl_multi_cleanup(shipper->multi);
	if (shipper->easy)
		curl_easy_cleanup(shipper->easy);
	while (shipper->sockets)
		socket_forget(shipper, shipper->sockets);
	loop_timer_stop(shipper->loop, &shipper->curl_timer);
	curl_slist_free_all(shipper->headers);
}
