/* One builder per thing that happens; ocsf.h says what each event holds. */
#include "events/ocsf.h"
#include "events/ocsf_frame.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const struct ocsf_class application_lifecycle = { 6002, "Application Lifecycle", 6,
							  "Application Activity" };
static const struct ocsf_class process_activity = { 1007, "Process Activity", 1, "System Activity" };
static const struct ocsf_class config_state_change = { 5019, "Device Config State Change", 5,
							"Discovery" };
static const struct ocsf_class authentication = { 3002, "Authentication", 3,
						   "Identity & Access Management" };
static const struct ocsf_class api_activity = { 6003, "API Activity", 6, "Application Activity" };
static const struct ocsf_class detection_finding = { 2004, "Detection Finding", 2, "Findings" };

#define OTHER(name) { OCSF_ACTIVITY_OTHER, "Other", name }

/* The operation a turn is, as the client calls it. */
#define TURN_OPERATION "POST /v1/turn"

/* OCSF device type 6: a virtual machine or container, which a sandbox is. */
#define DEVICE_TYPE_VIRTUAL 6
/* OCSF auth_protocol_id 99: neither a runtime token nor a JWT has an id. */
#define AUTH_PROTOCOL_OTHER 99

/* ---- 6002 Application Lifecycle ---- */

json_t *ocsf_supervisor_started(const struct ocsf_identity *identity, const char *mode, int pid,
				bool pid1, bool subreaper)
{
	static const struct ocsf_activity start = { 3, "Start", NULL };
	json_t *event = ocsf_event_new(&application_lifecycle, &start, OCSF_SEVERITY_INFORMATIONAL,
				       "sandbox-init started in %s mode as pid %d%s", mode ? mode : "?",
				       pid, pid1 ? " (PID 1)" : subreaper ? " (child subreaper)" : "");
	int failed = ocsf_set_status(event, OCSF_STATUS_SUCCESS, NULL);

	failed |= json_object_set_new(event, "app", ocsf_product());
	return ocsf_event_finish(event, failed, identity,
				 json_pack("{s:o, s:i, s:b, s:b}", "mode", ocsf_text(mode), "pid", pid,
					   "pid1", pid1, "subreaper", subreaper));
}

json_t *ocsf_supervisor_ready(const struct ocsf_identity *identity, const char *listen)
{
	static const struct ocsf_activity ready = OTHER("Ready");
	json_t *event = ocsf_event_new(&application_lifecycle, &ready, OCSF_SEVERITY_INFORMATIONAL,
				       "sandbox-init ready, listening on %s", listen ? listen : "?");
	int failed = ocsf_set_status(event, OCSF_STATUS_SUCCESS, NULL);

	failed |= json_object_set_new(event, "app", ocsf_product());
	return ocsf_event_finish(event, failed, identity, json_pack("{s:o}", "listen", ocsf_text(listen)));
}

json_t *ocsf_supervisor_stopping(const struct ocsf_identity *identity, const char *reason,
				 int exit_code)
{
	static const struct ocsf_activity stop = { 4, "Stop", NULL };
	json_t *event = ocsf_event_new(&application_lifecycle, &stop, OCSF_SEVERITY_INFORMATIONAL,
				       "sandbox-init stopping: %s (exit status %d)",
				       reason ? reason : "?", exit_code);
	int failed = ocsf_set_outcome(event, exit_code == 0, NULL);

	failed |= json_object_set_new(event, "app", ocsf_product());
	return ocsf_event_finish(event, failed, identity,
				 json_pack("{s:o, s:i}", "reason", ocsf_text(reason), "exit_code", exit_code));
}

/* ---- 1007 Process Activity ---- */

/* The program's file name: the first word of the command, without its path. */
static json_t *process_name(const char *command)
{
	char name[256];
	size_t length;
	const char *start;

	if (!command)
		return json_null();
	length = strcspn(command, " \t");
	start = command;
	for (const char *cursor = command; cursor < command + length; cursor++)
		if (*cursor == '/')
			start = cursor + 1;
	length -= (size_t)(start - command);
	snprintf(name, sizeof(name), "%.*s", (int)length, start);
	return ocsf_text(name);
}

static json_t *process_object(int pid, const char *command)
{
	if (!command)
		return json_pack("{s:i}", "pid", pid);
	return json_pack("{s:i, s:o, s:o}", "pid", pid, "name", process_name(command), "cmd_line",
			 ocsf_text(command));
}

/* Process activity is done by the supervisor. */
static json_t *supervisor_actor(const struct ocsf_identity *identity)
{
	return json_pack("{s:{s:i, s:s}}", "process", "pid", identity->supervisor_pid, "name",
			 OCSF_PRODUCT_NAME);
}

static json_t *process_event(const struct ocsf_activity *activity, const struct ocsf_identity *identity,
			     json_t *process, const char *message, bool success)
{
	json_t *event = ocsf_event_new(&process_activity, activity, OCSF_SEVERITY_INFORMATIONAL, "%s",
				       message);
	int failed = ocsf_set_outcome(event, success, NULL);

	if (process)
		failed |= json_object_set_new(event, "process", process);
	failed |= json_object_set_new(event, "actor", supervisor_actor(identity));
	return event && !failed ? event : (json_decref(event), NULL);
}

json_t *ocsf_process_launched(const struct ocsf_identity *identity, int pid, const char *command,
			      const char *role)
{
	static const struct ocsf_activity launch = { 1, "Launch", NULL };
	char message[512];

	snprintf(message, sizeof(message), "launched %s %d: %s", role ? role : "process", pid,
		 command ? command : "?");
	json_t *event = process_event(&launch, identity, process_object(pid, command), message, true);
	return ocsf_event_finish(event, 0, identity, json_pack("{s:o}", "role", ocsf_text(role)));
}

json_t *ocsf_process_exited(const struct ocsf_identity *identity, int pid, const char *command,
			    int wait_status, uint64_t duration_ms)
{
	static const struct ocsf_activity terminate = { 2, "Terminate", NULL };
	bool killed = WIFSIGNALED(wait_status);
	int exit_code = killed ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
	const char *abbreviation = killed ? sigabbrev_np(WTERMSIG(wait_status)) : NULL;
	char message[512], signal_name[32] = "";

	if (killed)
		snprintf(signal_name, sizeof(signal_name), "SIG%s", abbreviation ? abbreviation : "?");
	if (killed)
		snprintf(message, sizeof(message), "process %d (%s) was killed by %s after %" PRIu64 " ms",
			 pid, command ? command : "?", signal_name, duration_ms);
	else
		snprintf(message, sizeof(message), "process %d (%s) exited with status %d after %" PRIu64 " ms",
			 pid, command ? command : "?", exit_code, duration_ms);
	json_t *event = process_event(&terminate, identity, process_object(pid, command), message,
				      !killed && exit_code == 0);
	int failed = json_object_set_new(event, "exit_code", json_integer(exit_code));

	failed |= json_object_set_new(event, "duration", json_integer((json_int_t)duration_ms));
	return ocsf_event_finish(event, failed, identity,
				 json_pack("{s:o}", "signal", killed ? json_string(signal_name) : json_null()));
}

json_t *ocsf_orphans_reaped(const struct ocsf_identity *identity, uint64_t count, uint64_t total)
{
	static const struct ocsf_activity reap = OTHER("Reap");
	char message[128];

	snprintf(message, sizeof(message), "reaped %" PRIu64 " orphaned process%s (%" PRIu64 " in total)",
		 count, count == 1 ? "" : "es", total);
	json_t *event = process_event(&reap, identity, NULL, message, true);
	return ocsf_event_finish(event, 0, identity,
				 json_pack("{s:I, s:I}", "count", (json_int_t)count, "total", (json_int_t)total));
}

json_t *ocsf_signal_forwarded(const struct ocsf_identity *identity, const char *signal_name,
			      int pid, bool delivered)
{
	static const struct ocsf_activity signal = OTHER("Signal");
	char message[128];

	snprintf(message, sizeof(message), "%s %s to process %d",
		 delivered ? "forwarded" : "could not forward", signal_name ? signal_name : "?", pid);
	json_t *event = process_event(&signal, identity, process_object(pid, NULL), message, delivered);
	return ocsf_event_finish(event, 0, identity, json_pack("{s:o}", "signal", ocsf_text(signal_name)));
}

/* ---- 5019 Device Config State Change ---- */

json_t *ocsf_policy_applied(const struct ocsf_identity *identity, const char *mode, json_t *receipt)
{
	/* "Log": the state is reported by the one who applied it. */
	static const struct ocsf_activity log = { 1, "Log", NULL };
	json_t *event = ocsf_event_new(&config_state_change, &log, OCSF_SEVERITY_INFORMATIONAL,
				       "confinement policy applied for %s", mode ? mode : "?");
	json_t *device = json_pack("{s:i, s:s}", "type_id", DEVICE_TYPE_VIRTUAL, "type", "Virtual");
	int failed = ocsf_set_status(event, OCSF_STATUS_SUCCESS, NULL);

	if (identity->sandbox)
		failed |= json_object_set_new(device, "name", ocsf_text(identity->sandbox));
	failed |= json_object_set_new(event, "device", device);
	return ocsf_event_finish(event, failed, identity,
				 json_pack("{s:o, s:O}", "mode", ocsf_text(mode), "receipt",
					   receipt ? receipt : json_null()));
}

/* ---- 3002 Authentication ---- */

/* The HTTP layer's codes name what was presented: WORKLOAD_TOKEN_* a JWT in
 * the body, anything else the runtime token header. */
static const char *auth_protocol(const char *code)
{
	return code && strncmp(code, "WORKLOAD_TOKEN", 14) == 0 ? "JWT" : "Runtime Token";
}

json_t *ocsf_auth_failed(const struct ocsf_identity *identity, const char *code, const char *client,
			 const char *reason)
{
	static const struct ocsf_activity logon = { 1, "Logon", NULL };
	json_t *event = ocsf_event_new(&authentication, &logon, OCSF_SEVERITY_MEDIUM,
				       "authentication failed for %s: %s (%s)", client ? client : "?",
				       code ? code : "?", reason ? reason : "?");
	int failed = ocsf_set_outcome(event, false, code);

	failed |= json_object_set_new(event, "auth_protocol_id", json_integer(AUTH_PROTOCOL_OTHER));
	failed |= json_object_set_new(event, "auth_protocol", json_string(auth_protocol(code)));
	failed |= json_object_set_new(event, "src_endpoint", ocsf_endpoint(client));
	return ocsf_event_finish(event, failed, identity, json_pack("{s:o}", "reason", ocsf_text(reason)));
}

/* ---- 6003 API Activity ---- */

static int set_turn_api(json_t *event)
{
	return json_object_set_new(event, "api",
				   json_pack("{s:s, s:{s:s}}", "operation", TURN_OPERATION, "service", "name",
					     OCSF_PRODUCT_NAME));
}

json_t *ocsf_turn_started(const struct ocsf_identity *identity, const char *ui_mode,
			  const char *client, int pid)
{
	static const struct ocsf_activity create = { 1, "Create", NULL };
	json_t *event = ocsf_event_new(&api_activity, &create, OCSF_SEVERITY_INFORMATIONAL,
				       "turn started (%s) for %s, executor pid %d",
				       ui_mode ? ui_mode : "?", client ? client : "?", pid);
	int failed = ocsf_set_status(event, OCSF_STATUS_SUCCESS, NULL);

	failed |= set_turn_api(event);
	failed |= json_object_set_new(event, "src_endpoint", ocsf_endpoint(client));
	return ocsf_event_finish(event, failed, identity,
				 json_pack("{s:o, s:i}", "ui_mode", ocsf_text(ui_mode), "pid", pid));
}

json_t *ocsf_turn_finished(const struct ocsf_identity *identity, const char *ui_mode,
			   const char *outcome, uint64_t duration_ms, uint64_t bytes)
{
	static const struct ocsf_activity finish = OTHER("Finish");
	json_t *event = ocsf_event_new(&api_activity, &finish, OCSF_SEVERITY_INFORMATIONAL,
				       "turn finished (%s): %s after %" PRIu64 " ms, %" PRIu64 " bytes",
				       ui_mode ? ui_mode : "?", outcome ? outcome : "?", duration_ms, bytes);
	int failed = ocsf_set_outcome(event, outcome && strcmp(outcome, "ok") == 0, outcome);

	failed |= set_turn_api(event);
	failed |= json_object_set_new(event, "duration", json_integer((json_int_t)duration_ms));
	return ocsf_event_finish(event, failed, identity,
				 json_pack("{s:o, s:I}", "ui_mode", ocsf_text(ui_mode), "bytes",
					   (json_int_t)bytes));
}

/* ---- 2004 Detection Finding ---- */

struct finding {
	const char *title;
	const char *type;
	enum ocsf_severity severity;
};

/* finding_info.uid is a placeholder: ocsf_stamp() sets it to the event's uid. */
static json_t *finding_event(const struct finding *finding, const char *description)
{
	static const struct ocsf_activity create = { 1, "Create", NULL };
	json_t *event = ocsf_event_new(&detection_finding, &create, finding->severity, "%s: %s",
				       finding->title, description);
	int failed = json_object_set_new(event, "status_id", json_integer(OCSF_FINDING_STATUS_NEW));

	failed |= json_object_set_new(event, "status", json_string("New"));
	failed |= json_object_set_new(event, "finding_info",
				      json_pack("{s:n, s:s, s:[s], s:o}", "uid", "title", finding->title,
						"types", finding->type, "desc", ocsf_text(description)));
	return event && !failed ? event : (json_decref(event), NULL);
}

json_t *ocsf_enforcement_finding(const struct ocsf_identity *identity, const char *mode,
				 const char *summary, json_t *skipped, bool refused)
{
	static const struct finding degraded = { "Policy enforcement degraded", "Policy Enforcement",
						 OCSF_SEVERITY_MEDIUM };
	static const struct finding refusal = { "Policy enforcement refused", "Policy Enforcement",
						OCSF_SEVERITY_HIGH };
	json_t *event = finding_event(refused ? &refusal : &degraded, summary ? summary : "?");

	return ocsf_event_finish(event, 0, identity,
				 json_pack("{s:o, s:b, s:O}", "mode", ocsf_text(mode), "refused", refused,
					   "skipped", skipped ? skipped : json_null()));
}

static json_t *loss_finding(const struct ocsf_identity *identity, const struct finding *finding,
			    const char *description, const char *count_name, uint64_t count)
{
	json_t *event = finding_event(finding, description);

	return ocsf_event_finish(event, 0, identity, json_pack("{s:I}", count_name, (json_int_t)count));
}

json_t *ocsf_events_lost(const struct ocsf_identity *identity, uint64_t count)
{
	static const struct finding lost = { "Events lost", "Audit Trail", OCSF_SEVERITY_MEDIUM };
	char description[160];

	snprintf(description, sizeof(description),
		 "%" PRIu64 " event%s could not be written to the spool and are missing from the audit trail",
		 count, count == 1 ? "" : "s");
	return loss_finding(identity, &lost, description, "count", count);
}

json_t *ocsf_events_dropped(const struct ocsf_identity *identity, uint64_t count)
{
	static const struct finding dropped = { "Events dropped", "Audit Trail", OCSF_SEVERITY_MEDIUM };
	char description[160];

	snprintf(description, sizeof(description),
		 "%" PRIu64 " unshipped event%s dropped to keep the spool within its size bound",
		 count, count == 1 ? " was" : "s were");
	return loss_finding(identity, &dropped, description, "count", count);
}

json_t *ocsf_spool_corruption(const struct ocsf_identity *identity, uint64_t corrupt_bytes)
{
	static const struct finding corruption = { "Spool corruption", "Audit Trail",
						   OCSF_SEVERITY_MEDIUM };
	char description[160];

	snprintf(description, sizeof(description),
		 "%" PRIu64 " torn or corrupt bytes were cut from the event spool; the events in them are lost",
		 corrupt_bytes);
	return loss_finding(identity, &corruption, description, "corrupt_bytes", corrupt_bytes);
}
