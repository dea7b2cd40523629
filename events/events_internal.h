/* Inside events/ only: the state the emitter and the open/close code share. */
#ifndef SANDBOX_INIT_EVENTS_INTERNAL_H
#define SANDBOX_INIT_EVENTS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "events/ocsf.h"
#include "init/loop.h"

struct shipper;
struct spool;

enum events_identity_field {
	IDENTITY_SESSION,
	IDENTITY_TENANT,
	IDENTITY_KNOWLEDGE_GRAPH,
	IDENTITY_JOB,
	IDENTITY_SANDBOX,
	IDENTITY_FIELDS
};

struct events {
	struct loop *loop;
	struct spool *spool;
	struct shipper *shipper;
	char *spool_dir;
	char *identity_text[IDENTITY_FIELDS];   /* owned copies ... */
	struct ocsf_identity identity;          /* ... that identity points into */
	struct loop_timer sync_timer;
	bool sync_armed;
	int append_error;             /* of the last append; 0 after a success */
	uint64_t free_blocks_when_full;  /* statvfs f_bavail at the last -ENOSPC */
	int sync_error;               /* of the last sync */
	uint64_t spooled, lost, lost_unreported;
	uint64_t dropped_reported, corrupt_reported;
	uint64_t syncs, sync_failures;
};

/* events_emit.c */
/* Makes every append so far durable, counting and logging a failure. */
void events_sync_now(struct events *events);
/* Appends a finding for each loss not reported yet (lost appends, events
 * the size bound dropped, corrupt spool bytes); call it when appends work. */
void events_report_losses(struct events *events);

#endif
