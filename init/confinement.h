/* From the configuration to a compiled confinement plan: which policy files
 * apply, and how the receipt is reported.  The plan itself is landlock/'s. */
#ifndef SANDBOX_INIT_CONFINEMENT_H
#define SANDBOX_INIT_CONFINEMENT_H

#include <jansson.h>
#include <stddef.h>

#include "init/config.h"
#include "landlock/landlock.h"

/* Compiles the plan for a mode (a policy name such as "extraction-job", or
 * NULL for none).  Returns 0, or -errno with one line in reason. */
int confinement_prepare(const struct config *config, const char *mode, struct confinement_plan **plan,
			char *reason, size_t reason_size);

/* For check-policy: the receipt even when hard_requirement cannot be met
 * (then with "enforceable": false and the reason, and -EPERM returned).
 * *receipt stays NULL for a bad configuration. */
int confinement_check(const struct config *config, const char *mode, json_t **receipt,
		      char *reason, size_t reason_size);

/* Logs the receipt, and a warning naming what was skipped when degraded. */
void confinement_log_receipt(const struct confinement_plan *plan);

/* proc_confine_fn for plans: applies one in a freshly forked child. */
int confinement_apply(const void *plan, const char **failed_step);

#endif
