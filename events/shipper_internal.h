/* Inside events/ only: the shipper's state, shared by the batching and
 * retry logic (shipper.c) and the libcurl transport on the loop
 * (shipper_transport.c). */
#ifndef SANDBOX_INIT_SHIPPER_INTERNAL_H
#define SANDBOX_INIT_SHIPPER_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/shipper.h"

/* One of curl's sockets while it is watched on the loop. */
struct shipper_socket {
	int fd;
	struct shipper_socket *next;
};

/* The request body: the records of one batch, one per line. */
struct shipper_batch {
	char *body;
	size_t length, capacity;
	size_t records;
	uint64_t last_sequence;
};

struct shipper {
	struct loop *loop;
	struct spool *spool;

	CURLM *multi;
	CURL *easy;                 /* one handle for every request: its connection is reused */
	struct curl_slist *headers;
	struct shipper_socket *sockets;
	struct loop_timer curl_timer;
	char curl_error[CURL_ERROR_SIZE];

	struct shipper_batch batch;
	size_t batch_records, batch_bytes;

	struct loop_timer retry_timer;
	uint64_t backoff_initial_ms, backoff_max_ms;
	uint64_t backoff_ms;        /* the upper bound of the next retry's delay */
	uint64_t random_state;

	bool in_flight;
	bool backing_off;
	/* spool_next_sequence() when the last spool_read() found nothing to send
	 * although records were unshipped (they were cut off as corrupt). */
	uint64_t unreadable_before;

	struct shipper_stats stats;
	bool failing;               /* since the last failure, no batch was acknowledged */
	void (*delivery_changed)(void *context, bool delivering, const char *error);
	void *context;
};

/* Creates the easy and multi handles and configures them from options; on
 * error writes one line to error. */
int shipper_transport_open(struct shipper *shipper, const struct shipper_options *options,
			   char *error, size_t error_size);

/* Posts shipper->batch; shipper_transfer_done() is called when it ends. */
int shipper_transport_send(struct shipper *shipper);

/* Abandons the transfer in flight, if any, and frees the handles. */
void shipper_transport_close(struct shipper *shipper);

/* The transfer ended: result is curl's, status the HTTP status when a complete
 * response arrived (0 otherwise). */
void shipper_transfer_done(struct shipper *shipper, CURLcode result, long status);

#endif
