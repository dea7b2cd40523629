/* The shipper: reads the spool from the acknowledged position and POSTs
 * batches to the gateway; a 2xx acknowledges the batch, anything else is
 * retried with exponential backoff and jitter.  libcurl's multi interface runs
 * on the supervisor's loop (its sockets and timer are loop fds and timers), so
 * shipping never blocks the PID-1 loop or a turn.  Internal to events/. */
#ifndef SANDBOX_INIT_EVENTS_SHIPPER_H
#define SANDBOX_INIT_EVENTS_SHIPPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/spool.h"
#include "init/loop.h"

struct shipper_options {
	struct loop *loop;
	struct spool *spool;          /* read from the acknowledged sequence on */
	const char *url;              /* http:// or https:// */
	const char *client_cert;      /* PEM; with client_key: mTLS */
	const char *client_key;
	const char *ca_file;          /* NULL: the system's CAs */
	size_t batch_records;         /* 0: 500 */
	size_t batch_bytes;           /* 0: 1 MiB */
	long request_timeout_ms;      /* 0: 10 s */
	uint64_t backoff_initial_ms;  /* 0: 200 ms */
	uint64_t backoff_max_ms;      /* 0: 30 s */
	/* Told once when delivery starts failing (with the error) and once when
	 * it works again, so the caller can say so without repeating itself. */
	void (*delivery_changed)(void *context, bool delivering, const char *error);
	void *context;
};

struct shipper_stats {
	uint64_t shipped;             /* records acknowledged by the receiver */
	uint64_t batches;
	uint64_t failures;            /* requests that did not end in 2xx */
	uint64_t last_status;         /* HTTP status of the last attempt, 0 for none */
	char last_error[160];         /* curl's error or "HTTP 503"; never a body or secret */
};

struct shipper;

/* Returns 0, or -EINVAL/-ENOMEM with one line in error (bad URL, unreadable cert). */
int shipper_start(const struct shipper_options *options, struct shipper **out, char *error,
		  size_t error_size);

/* New records are in the spool: ship them when not already busy or backing off. */
void shipper_notify(struct shipper *shipper);

/* True when everything spooled has been acknowledged and nothing is in flight. */
bool shipper_idle(const struct shipper *shipper);

/* Shutdown: stop backing off, try once more now (the caller bounds the time). */
void shipper_flush(struct shipper *shipper);

void shipper_get_stats(const struct shipper *shipper, struct shipper_stats *out);

/* Abandons anything in flight (what was not acknowledged stays in the spool). */
void shipper_stop(struct shipper *shipper);

#endif
