/* Lifecycle events for both modes: opening the event stream from the
 * configuration, the observers that turn supervisor happenings into events,
 * and the bounded flush at shutdown. */
#ifndef SANDBOX_INIT_LIFECYCLE_H
#define SANDBOX_INIT_LIFECYCLE_H

#include <stddef.h>

#include "events/events.h"
#include "init/config.h"
#include "init/job.h"
#include "init/supervisor.h"
#include "landlock/landlock.h"

/* Opens the spool (creating its parent folders) and, with --events-url, the
 * shipper.  Returns 0, or -errno with one line in reason. */
int lifecycle_open_events(const struct config *config, struct loop *loop, struct events **events,
			  char *reason, size_t reason_size);

/* Sends orphan reaping to the events. */
void lifecycle_watch_orphans(struct supervisor *supervisor, struct events *events);

/* Observers for job mode's workload. */
struct job_observer lifecycle_job_observer(struct events *events);

/* Reports the plan: policy applied, and a finding when best_effort left
 * something unenforced. */
void lifecycle_report_plan(struct events *events, const char *mode, const struct confinement_plan *plan);

/* Delivers what is still unshipped, for at most budget_ms; what is left stays
 * in the spool for the next start. */
void lifecycle_drain_events(struct loop *loop, struct events *events, uint64_t budget_ms);

#endif
