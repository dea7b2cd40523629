/* The event model: OCSF 1.3.0 aligned JSON objects, one builder per thing that
 * happens.  Internal to events/ (and its tests).
 *
 * Builders are pure: they return a new object holding everything but the
 * event's stamp (time, metadata.uid, metadata.sequence), which ocsf_stamp()
 * adds when the event is appended, or NULL when out of memory.  Text from
 * callers that is not valid UTF-8 has its non-ASCII bytes replaced by '?',
 * so an odd command line never costs an event.
 *
 * Every event carries class_uid, class_name, category_uid, category_name,
 * activity_id, activity_name, type_uid (class_uid * 100 + activity_id),
 * type_name ("<class_name>: <OCSF activity caption>"), time, severity_id,
 * severity, message, metadata {uid, sequence, version, product}, status_id
 * and status (1 Success, 2 Failure; a finding: 1 New) and unmapped
 * {session_id, tenant_id, knowledge_graph_id, job_id, sandbox} (null when not
 * configured).  A failure is severity 3 (Medium); a refused enforcement is 4
 * (High); everything else 1 (Informational).  For activity_id 99 (Other), activity_name is the
 * specific activity ("Ready", "Reap", "Signal", "Finish") and type_name says
 * "Other", as OCSF defines it.  What OCSF has no attribute for goes into
 * unmapped, next to the identity. */
#ifndef SANDBOX_INIT_EVENTS_OCSF_H
#define SANDBOX_INIT_EVENTS_OCSF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define OCSF_SCHEMA_VERSION "1.3.0"
#define OCSF_PRODUCT_NAME "sandbox-init"
#define OCSF_VENDOR_NAME "Kartograph"
/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" and its terminating NUL. */
#define OCSF_UUID_SIZE 37

enum ocsf_severity {
	OCSF_SEVERITY_INFORMATIONAL = 1,
	OCSF_SEVERITY_MEDIUM = 3,
	OCSF_SEVERITY_HIGH = 4,
};

enum ocsf_status {
	OCSF_STATUS_SUCCESS = 1,
	OCSF_STATUS_FAILURE = 2,
};

/* A finding's status is where its handling stands, not an outcome. */
#define OCSF_FINDING_STATUS_NEW 1

/* Who the events are about; every string may be NULL. */
struct ocsf_identity {
	const char *session_id, *tenant_id, *knowledge_graph_id, *job_id, *sandbox;
	int supervisor_pid;          /* the actor of process activity */
};

/* A random (version 4) UUID, lower-case hex with dashes.  Returns 0 or -errno. */
int ocsf_uuid4(char out[OCSF_UUID_SIZE]);

/* Sets time (ms since the epoch), metadata.uid and metadata.sequence.  A
 * finding is new each time it is reported, so its finding_info.uid is its
 * event's uid.  Returns 0 or -ENOMEM. */
int ocsf_stamp(json_t *event, const char *uid, uint64_t sequence, uint64_t time_ms);

/* 6002 Application Lifecycle: the supervisor itself. */
json_t *ocsf_supervisor_started(const struct ocsf_identity *identity, const char *mode, int pid,
				bool pid1, bool subreaper);
json_t *ocsf_supervisor_ready(const struct ocsf_identity *identity, const char *listen);
json_t *ocsf_supervisor_stopping(const struct ocsf_identity *identity, const char *reason,
				 int exit_code);

/* 1007 Process Activity: what the supervisor starts, reaps and signals.
 * wait_status is as waitpid(2) returns it; exit_code becomes 128 + N for a
 * process killed by signal N, as a shell reports it. */
json_t *ocsf_process_launched(const struct ocsf_identity *identity, int pid, const char *command,
			      const char *role);
json_t *ocsf_process_exited(const struct ocsf_identity *identity, int pid, const char *command,
			    int wait_status, uint64_t duration_ms);
json_t *ocsf_orphans_reaped(const struct ocsf_identity *identity, uint64_t count, uint64_t total);
json_t *ocsf_signal_forwarded(const struct ocsf_identity *identity, const char *signal_name,
			      int pid, bool delivered);

/* 5019 Device Config State Change: the confinement applied, with its receipt
 * (borrowed; the event holds a reference, never a copy). */
json_t *ocsf_policy_applied(const struct ocsf_identity *identity, const char *mode,
			    json_t *receipt);

/* 3002 Authentication: a refused runtime token or workload JWT.  It takes the
 * error code, the client's "ip:port" and a reason, and never the token. */
json_t *ocsf_auth_failed(const struct ocsf_identity *identity, const char *code,
			 const char *client, const char *reason);

/* 6003 API Activity: a turn of POST /v1/turn.  outcome "ok" is a success. */
json_t *ocsf_turn_started(const struct ocsf_identity *identity, const char *ui_mode,
			  const char *client, int pid);
json_t *ocsf_turn_finished(const struct ocsf_identity *identity, const char *ui_mode,
			   const char *outcome, uint64_t duration_ms, uint64_t bytes);

/* 2004 Detection Finding: what weakens the confinement or the audit trail.
 * skipped is borrowed and may be NULL. */
json_t *ocsf_enforcement_finding(const struct ocsf_identity *identity, const char *mode,
				 const char *summary, json_t *skipped, bool refused);
/* Events that could not be appended to the spool (full file system, ...). */
json_t *ocsf_events_lost(const struct ocsf_identity *identity, uint64_t count);
/* Unshipped events the spool's size bound dropped. */
json_t *ocsf_events_dropped(const struct ocsf_identity *identity, uint64_t count);
/* Torn or corrupt spool bytes cut off (after a crash or on reading). */
json_t *ocsf_spool_corruption(const struct ocsf_identity *identity, uint64_t corrupt_bytes);

#endif
