/* What the OCSF builders share: the frame of every event.  Internal to the
 * ocsf*.c files. */
#ifndef SANDBOX_INIT_EVENTS_OCSF_FRAME_H
#define SANDBOX_INIT_EVENTS_OCSF_FRAME_H

#include <jansson.h>
#include <stdbool.h>

#include "events/ocsf.h"

#define OCSF_ACTIVITY_OTHER 99

struct ocsf_class {
	int uid;
	const char *name;
	int category_uid;
	const char *category_name;
};

struct ocsf_activity {
	int id;
	const char *caption;         /* OCSF's name for id, as type_name spells it */
	const char *name;            /* for 99 (Other): what happened; NULL: caption */
};

/* The frame, everything but the class fields and unmapped; NULL when out of
 * memory.  The message is printf-formatted. */
json_t *ocsf_event_new(const struct ocsf_class *class, const struct ocsf_activity *activity,
		       enum ocsf_severity severity, const char *message_format, ...)
	__attribute__((format(printf, 4, 5)));

/* status_id, status and, when detail is not NULL, status_detail.  Return 0,
 * or -1 when out of memory. */
int ocsf_set_status(json_t *event, enum ocsf_status status, const char *detail);
/* Success or Failure; a failure is at least Medium severity. */
int ocsf_set_outcome(json_t *event, bool success, const char *detail);

/* Adds unmapped, the identity and then extras (stolen), and returns the event;
 * or frees both and returns NULL when failed is not 0, extras is NULL or
 * memory ran out. */
json_t *ocsf_event_finish(json_t *event, int failed, const struct ocsf_identity *identity,
			  json_t *extras);

/* A JSON string for text (null for NULL), never NULL unless out of memory. */
json_t *ocsf_text(const char *text);
/* {ip, port} from "ip:port", {ip} from a bare address, else {name}. */
json_t *ocsf_endpoint(const char *address);
/* The product object: sandbox-init, its vendor and version. */
json_t *ocsf_product(void);

#endif
