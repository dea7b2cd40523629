/* The event model: every builder's output has exactly the contract's fields,
 * with the right types, ids, severities and statuses, and nothing secret. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "events/ocsf.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const struct ocsf_identity identity = {
	.session_id = "session-1",
	.tenant_id = "tenant-1",
	.knowledge_graph_id = "graph-1",
	.job_id = "job-1",
	.sandbox = "sandbox-1",
	.supervisor_pid = 1,
};

static const struct ocsf_identity no_identity = { .supervisor_pid = 1 };

/* What every event has. */
static const char *const frame_keys[] = {
	"class_uid", "class_name", "category_uid", "category_name", "activity_id", "activity_name",
	"type_uid", "type_name", "time", "severity_id", "severity", "message", "metadata", "unmapped",
	"status_id", "status", NULL,
};

struct expected {
	int class_uid;
	const char *class_name;
	int category_uid;
	const char *category_name;
	int activity_id;
	const char *activity_name;
	const char *type_name;
	int severity_id;
	const char *severity;
	int status_id;
	const char *status;
	const char *const *class_keys;    /* top-level keys beyond the frame */
	const char *const *unmapped_keys; /* unmapped keys beyond the identity */
};

static size_t count_keys(const char *const *keys)
{
	size_t count = 0;

	while (keys && keys[count])
		count++;
	return count;
}

static bool listed(const char *key, const char *const *keys)
{
	for (size_t i = 0; keys && keys[i]; i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

/* object has every key of the lists and no other. */
static void assert_exact_keys(const json_t *object, const char *const *keys, const char *const *more)
{
	const char *key;
	json_t *value;

	assert_true(json_is_object(object));
	json_object_foreach((json_t *)object, key, value) {
		if (!listed(key, keys) && !listed(key, more))
			fail_msg("unexpected key \"%s\"", key);
	}
	for (size_t i = 0; keys && keys[i]; i++)
		if (!json_object_get(object, keys[i]))
			fail_msg("missing key \"%s\"", keys[i]);
	for (size_t i = 0; more && more[i]; i++)
		if (!json_object_get(object, more[i]))
			fail_msg("missing key \"%s\"", more[i]);
	assert_int_equal(json_object_size(object), count_keys(keys) + count_keys(more));
}

static json_int_t integer_at(const json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);

	if (!json_is_integer(value))
		fail_msg("\"%s\" is not an integer", key);
	return json_integer_value(value);
}

static const char *string_at(const json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);

	if (!json_is_string(value))
		fail_msg("\"%s\" is not a string", key);
	return json_string_value(value);
}

static void assert_metadata(const json_t *event)
{
	static const char *const metadata_keys[] = { "uid", "sequence", "version", "product", NULL };
	static const char *const product_keys[] = { "name", "vendor_name", "version", NULL };
	json_t *metadata = json_object_get(event, "metadata");
	json_t *product = json_object_get(metadata, "product");

	assert_exact_keys(metadata, metadata_keys, NULL);
	assert_string_equal(string_at(metadata, "version"), "1.3.0");
	assert_exact_keys(product, product_keys, NULL);
	assert_string_equal(string_at(product, "name"), "sandbox-init");
	assert_string_equal(string_at(product, "vendor_name"), "Kartograph");
	assert_string_equal(string_at(product, "version"), SI_VERSION);
}

static void assert_identity_value(const json_t *unmapped, const char *key, const char *expected)
{
	json_t *value = json_object_get(unmapped, key);

	if (expected)
		assert_string_equal(json_string_value(value), expected);
	else
		assert_true(json_is_null(value));
}

static void assert_identity(const json_t *event, const struct ocsf_identity *who)
{
	json_t *unmapped = json_object_get(event, "unmapped");

	assert_identity_value(unmapped, "session_id", who->session_id);
	assert_identity_value(unmapped, "tenant_id", who->tenant_id);
	assert_identity_value(unmapped, "knowledge_graph_id", who->knowledge_graph_id);
	assert_identity_value(unmapped, "job_id", who->job_id);
	assert_identity_value(unmapped, "sandbox", who->sandbox);
}

/* A key that names a credential has no business in an event. */
static void assert_no_secret_keys(const json_t *value)
{
	static const char *const forbidden[] = { "token", "secret", "password", "credential",
						 "authorization", "signing", "jwt", NULL };
	const char *key;
	json_t *member;
	size_t index;

	if (json_is_object(value)) {
		json_object_foreach((json_t *)value, key, member) {
			char lower[128];
			size_t i;
			for (i = 0; key[i] && i < sizeof(lower) - 1; i++)
				lower[i] = (char)tolower((unsigned char)key[i]);
			lower[i] = '\0';
			for (size_t f = 0; forbidden[f]; f++)
				if (strstr(lower, forbidden[f]))
					fail_msg("key \"%s\" names a secret", key);
			assert_no_secret_keys(member);
		}
	} else if (json_is_array(value)) {
		json_array_foreach(value, index, member)
			assert_no_secret_keys(member);
	}
}

static const char *const identity_keys[] = { "session_id", "tenant_id", "knowledge_graph_id",
					     "job_id", "sandbox", NULL };

static void assert_event(const json_t *event, const struct expected *expected)
{
	const char *message;

	assert_non_null(event);
	assert_exact_keys(event, frame_keys, expected->class_keys);
	assert_int_equal(integer_at(event, "class_uid"), expected->class_uid);
	assert_string_equal(string_at(event, "class_name"), expected->class_name);
	assert_int_equal(integer_at(event, "category_uid"), expected->category_uid);
	assert_int_equal(integer_at(event, "category_uid"), expected->class_uid / 1000);
	assert_string_equal(string_at(event, "category_name"), expected->category_name);
	assert_int_equal(integer_at(event, "activity_id"), expected->activity_id);
	assert_string_equal(string_at(event, "activity_name"), expected->activity_name);
	assert_int_equal(integer_at(event, "type_uid"), expected->class_uid * 100 + expected->activity_id);
	assert_string_equal(string_at(event, "type_name"), expected->type_name);
	assert_int_equal(integer_at(event, "severity_id"), expected->severity_id);
	assert_string_equal(string_at(event, "severity"), expected->severity);
	assert_int_equal(integer_at(event, "status_id"), expected->status_id);
	assert_string_equal(string_at(event, "status"), expected->status);
	assert_true(json_is_integer(json_object_get(event, "time")));
	message = string_at(event, "message");
	assert_true(strlen(message) > 0);
	assert_null(strchr(message, '\n'));
	assert_metadata(event);
	assert_exact_keys(json_object_get(event, "unmapped"), identity_keys, expected->unmapped_keys);
	assert_identity(event, &identity);
	assert_no_secret_keys(event);
}

/* ---- identifiers and the stamp ---- */

static void test_uuid4_is_lower_case_hex_with_dashes_version_4_and_rfc_variant(void **state)
{
	char uid[OCSF_UUID_SIZE];

	(void)state;
	for (int round = 0; round < 64; round++) {
		assert_int_equal(ocsf_uuid4(uid), 0);
		assert_int_equal(strlen(uid), 36);
		for (size_t i = 0; i < 36; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23)
				assert_int_equal(uid[i], '-');
			else
				assert_non_null(strchr("0123456789abcdef", uid[i]));
		}
		assert_int_equal(uid[14], '4');
		assert_non_null(strchr("89ab", uid[19]));
	}
}

static void test_uuid4_does_not_repeat(void **state)
{
	enum { COUNT = 2000 };
	static char uids[COUNT][OCSF_UUID_SIZE];

	(void)state;
	for (size_t i = 0; i < COUNT; i++)
		assert_int_equal(ocsf_uuid4(uids[i]), 0);
	for (size_t i = 0; i < COUNT; i++)
		for (size_t j = i + 1; j < COUNT; j++)
			assert_string_not_equal(uids[i], uids[j]);
}

static void test_stamp_sets_time_uid_and_sequence(void **state)
{
	json_t *event = ocsf_supervisor_ready(&identity, "0.0.0.0:8787");

	(void)state;
	assert_true(json_is_null(json_object_get(json_object_get(event, "metadata"), "uid")));
	assert_int_equal(ocsf_stamp(event, "0f8fad5b-d9cb-469f-a165-70867728950e", 42, 1700000000123ULL), 0);
	assert_int_equal(integer_at(event, "time"), 1700000000123LL);
	assert_string_equal(string_at(json_object_get(event, "metadata"), "uid"),
			    "0f8fad5b-d9cb-469f-a165-70867728950e");
	assert_int_equal(integer_at(json_object_get(event, "metadata"), "sequence"), 42);
	assert_null(json_object_get(event, "finding_info"));
	json_decref(event);
}

static void test_stamp_gives_a_finding_its_event_uid(void **state)
{
	json_t *event = ocsf_events_lost(&identity, 3);

	(void)state;
	assert_int_equal(ocsf_stamp(event, "7c9e6679-7425-40de-944b-e07fc1f90ae7", 9, 1), 0);
	assert_string_equal(string_at(json_object_get(event, "finding_info"), "uid"),
			    "7c9e6679-7425-40de-944b-e07fc1f90ae7");
	json_decref(event);
}

/* ---- 6002 Application Lifecycle ---- */

static const char *const app_keys[] = { "app", NULL };

static void assert_app(const json_t *event)
{
	static const char *const product_keys[] = { "name", "vendor_name", "version", NULL };
	json_t *app = json_object_get(event, "app");

	assert_exact_keys(app, product_keys, NULL);
	assert_string_equal(string_at(app, "name"), "sandbox-init");
}

static void test_supervisor_started_is_application_lifecycle_start(void **state)
{
	static const char *const extras[] = { "mode", "pid", "pid1", "subreaper", NULL };
	const struct expected expected = {
		6002, "Application Lifecycle", 6, "Application Activity", 3, "Start",
		"Application Lifecycle: Start", 1, "Informational", 1, "Success", app_keys, extras,
	};
	json_t *event = ocsf_supervisor_started(&identity, "serve", 1, true, false);

	(void)state;
	assert_event(event, &expected);
	assert_app(event);
	json_t *unmapped = json_object_get(event, "unmapped");
	assert_string_equal(string_at(unmapped, "mode"), "serve");
	assert_int_equal(integer_at(unmapped, "pid"), 1);
	assert_true(json_is_true(json_object_get(unmapped, "pid1")));
	assert_true(json_is_false(json_object_get(unmapped, "subreaper")));
	json_decref(event);
}

static void test_supervisor_ready_is_application_lifecycle_other_named_ready(void **state)
{
	static const char *const extras[] = { "listen", NULL };
	const struct expected expected = {
		6002, "Application Lifecycle", 6, "Application Activity", 99, "Ready",
		"Application Lifecycle: Other", 1, "Informational", 1, "Success", app_keys, extras,
	};
	json_t *event = ocsf_supervisor_ready(&identity, "0.0.0.0:8787");

	(void)state;
	assert_event(event, &expected);
	assert_string_equal(string_at(json_object_get(event, "unmapped"), "listen"), "0.0.0.0:8787");
	json_decref(event);
}

static void test_supervisor_stopping_with_exit_status_0_is_a_success(void **state)
{
	static const char *const extras[] = { "reason", "exit_code", NULL };
	const struct expected expected = {
		6002, "Application Lifecycle", 6, "Application Activity", 4, "Stop",
		"Application Lifecycle: Stop", 1, "Informational", 1, "Success", app_keys, extras,
	};
	json_t *event = ocsf_supervisor_stopping(&identity, "SIGTERM", 0);

	(void)state;
	assert_event(event, &expected);
	assert_string_equal(string_at(json_object_get(event, "unmapped"), "reason"), "SIGTERM");
	assert_int_equal(integer_at(json_object_get(event, "unmapped"), "exit_code"), 0);
	json_decref(event);
}

static void test_supervisor_stopping_with_a_failing_exit_status_is_a_medium_failure(void **state)
{
	static const char *const extras[] = { "reason", "exit_code", NULL };
	const struct expected expected = {
		6002, "Application Lifecycle", 6, "Application Activity", 4, "Stop",
		"Application Lifecycle: Stop", 3, "Medium", 2, "Failure", app_keys, extras,
	};
	json_t *event = ocsf_supervisor_stopping(&identity, "workload exited", 137);

	(void)state;
	assert_event(event, &expected);
	assert_int_equal(integer_at(json_object_get(event, "unmapped"), "exit_code"), 137);
	json_decref(event);
}

/* ---- 1007 Process Activity ---- */

static void assert_supervisor_actor(const json_t *event)
{
	static const char *const actor_keys[] = { "process", NULL };
	static const char *const process_keys[] = { "pid", "name", NULL };
	json_t *actor = json_object_get(event, "actor");

	assert_exact_keys(actor, actor_keys, NULL);
	assert_exact_keys(json_object_get(actor, "process"), process_keys, NULL);
	assert_int_equal(integer_at(json_object_get(actor, "process"), "pid"), identity.supervisor_pid);
}

static void assert_process(const json_t *event, int pid, const char *name, const char *cmd_line)
{
	static const char *const process_keys[] = { "pid", "name", "cmd_line", NULL };
	json_t *process = json_object_get(event, "process");

	assert_exact_keys(process, process_keys, NULL);
	assert_int_equal(integer_at(process, "pid"), pid);
	assert_string_equal(string_at(process, "name"), name);
	assert_string_equal(string_at(process, "cmd_line"), cmd_line);
}

static void test_process_launched_is_process_activity_launch_with_the_command(void **state)
{
	static const char *const keys[] = { "process", "actor", NULL };
	static const char *const extras[] = { "role", NULL };
	const struct expected expected = {
		1007, "Process Activity", 1, "System Activity", 1, "Launch", "Process Activity: Launch",
		1, "Informational", 1, "Success", keys, extras,
	};
	json_t *event = ocsf_process_launched(&identity, 321, "/usr/bin/python3 -m agent", "workload");

	(void)state;
	assert_event(event, &expected);
	assert_process(event, 321, "python3", "/usr/bin/python3 -m agent");
	assert_supervisor_actor(event);
	assert_string_equal(string_at(json_object_get(event, "unmapped"), "role"), "workload");
	json_decref(event);
}

static const char *const exited_keys[] = { "process", "actor", "exit_code", "duration", NULL };
static const char *const exited_extras[] = { "signal", NULL };

static void test_process_exited_with_status_0_is_a_successful_terminate(void **state)
{
	const struct expected expected = {
		1007, "Process Activity", 1, "System Activity", 2, "Terminate",
		"Process Activity: Terminate", 1, "Informational", 1, "Success", exited_keys, exited_extras,
	};
	json_t *event = ocsf_process_exited(&identity, 321, "worker --once", 0, 1500);

	(void)state;
	assert_event(event, &expected);
	assert_process(event, 321, "worker", "worker --once");
	assert_int_equal(integer_at(event, "exit_code"), 0);
	assert_int_equal(integer_at(event, "duration"), 1500);
	assert_true(json_is_null(json_object_get(json_object_get(event, "unmapped"), "signal")));
	json_decref(event);
}

static void test_process_exited_with_status_3_is_a_medium_failure_with_exit_code_3(void **state)
{
	const struct expected expected = {
		1007, "Process Activity", 1, "System Activity", 2, "Terminate",
		"Process Activity: Terminate", 3, "Medium", 2, "Failure", exited_keys, exited_extras,
	};
	json_t *event = ocsf_process_exited(&identity, 321, "worker", 3 << 8, 20);

	(void)state;
	assert_true(WIFEXITED(3 << 8) && WEXITSTATUS(3 << 8) == 3);
	assert_event(event, &expected);
	assert_int_equal(integer_at(event, "exit_code"), 3);
	json_decref(event);
}

static void test_process_killed_by_sigkill_has_exit_code_137_and_names_the_signal(void **state)
{
	const struct expected expected = {
		1007, "Process Activity", 1, "System Activity", 2, "Terminate",
		"Process Activity: Terminate", 3, "Medium", 2, "Failure", exited_keys, exited_extras,
	};
	json_t *event = ocsf_process_exited(&identity, 321, "worker", SIGKILL, 20);

	(void)state;
	assert_true(WIFSIGNALED(SIGKILL) && WTERMSIG(SIGKILL) == SIGKILL);
	assert_event(event, &expected);
	assert_int_equal(integer_at(event, "exit_code"), 128 + SIGKILL);
	assert_string_equal(string_at(json_object_get(event, "unmapped"), "signal"), "SIGKILL");
	assert_non_null(strstr(string_at(event, "message"), "SIGKILL"));
	json_decref(event);
}

static void test_orphans_reaped_is_process_activity_other_named_reap_with_counts(void **state)
{
	static const char *const keys[] = { "actor", NULL };
	static const char *const extras[] = { "count", "total", NULL };
	const struct expected expected = {
		1007, "Process Activity", 1, "System Activity", 99, "Reap", "Process Activity: Other",
		1, "Informational", 1, "Success", keys, extras,
	};
	json_t *event = ocsf_orphans_reaped(&identity, 3, 12);

	(void)state;
	assert_event(event, &expected);
	assert_int_equal(integer_at(json_object_get(event, "unmapped"), "count"), 3);
	assert_int_equal(integer_at(json_object_get(event, "unmapped"), "total"), 12);
	json_decref(event);
}

static const char *const signal_keys[] = { "process", "actor", NULL };
static const char *const signal_extras[] = { "signal", NULL };

static void test_signal_forwarded_is_process_activity_other_named_signal(void **state)
{
	static const char *const process_keys[] = { "pid", NULL };
	const struct expected expected = {
		1007, "Process Activity", 1, "System Activity", 99, "Signal", "Process Activity: Other",
		1, "Informational", 1, "Success", signal_keys, signal_extras,
	};
	json_t *event = ocsf_signal_forwarded(&identity, "SIGTERM", 77, true);

	(void)state;
	assert_event(event, &expected);
	assert_exact_keys(json_object_get(event, "process"), process_keys, NULL);
	assert_int_equal(integer_at(json_object_get(event, "process"), "pid"), 77);
	assert_string_equal(string_at(json_object_get(event, "unmapped"), "signal"), "SIGTERM");
	json_decref(event);
}

static void test_signal_not_delivered_is_a_medium_failure(void **state)
{
	const struct expected expected = {
		1007, "Process Activity", 1, "System Activity", 99, "Signal", "Process Activity: Other",
		3, "Medium", 2, "Failure", signal_keys, signal_extras,
	};
	json_t *event = ocsf_signal_forwarded(&identity, "SIGTERM", 77, false);

	(void)state;
	assert_event(event, &expected);
	json_decref(event);
}

/* ---- 5019 Device Config State Change ---- */

static void test_policy_applied_is_config_state_change_holding_the_receipt(void **state)
{
	static const char *const keys[] = { "device", NULL };
	static const char *const extras[] = { "mode", "receipt", NULL };
	static const char *const device_keys[] = { "type_id", "type", "name", NULL };
	const struct expected expected = {
		5019, "Device Config State Change", 5, "Discovery", 1, "Log",
		"Device Config State Change: Log", 1, "Informational", 1, "Success", keys, extras,
	};
	json_t *receipt = json_pack("{s:i, s:[]}", "landlock_abi", 7, "skipped");
	json_t *event = ocsf_policy_applied(&identity, "extraction-job", receipt);

	(void)state;
	assert_event(event, &expected);
	/* Borrowed: the event holds a reference to the caller's receipt. */
	assert_ptr_equal(json_object_get(json_object_get(event, "unmapped"), "receipt"), receipt);
	assert_int_equal(receipt->refcount, 2);
	assert_exact_keys(json_object_get(event, "device"), device_keys, NULL);
	assert_int_equal(integer_at(json_object_get(event, "device"), "type_id"), 6);
	assert_string_equal(string_at(json_object_get(event, "device"), "name"), "sandbox-1");
	assert_string_equal(string_at(json_object_get(event, "unmapped"), "mode"), "extraction-job");
	json_decref(event);
	assert_int_equal(receipt->refcount, 1);
	json_decref(receipt);
}

/* ---- 3002 Authentication ---- */

static const char *const auth_keys[] = { "status_detail", "auth_protocol_id", "auth_protocol",
					  "src_endpoint", NULL };
static const char *const auth_extras[] = { "reason", NULL };

static void test_runtime_auth_failure_is_a_failed_logon_with_the_code_and_client(void **state)
{
	static const char *const endpoint_keys[] = { "ip", "port", NULL };
	const struct expected expected = {
		3002, "Authentication", 3, "Identity & Access Management", 1, "Logon",
		"Authentication: Logon", 3, "Medium", 2, "Failure", auth_keys, auth_extras,
	};
	json_t *event = ocsf_auth_failed(&identity, "RUNTIME_AUTH_REQUIRED", "10.1.2.3:41234",
					 "header missing");
	json_t *endpoint = json_object_get(event, "src_endpoint");

	(void)state;
	assert_event(event, &expected);
	assert_string_equal(string_at(event, "status_detail"), "RUNTIME_AUTH_REQUIRED");
	assert_int_equal(integer_at(event, "auth_protocol_id"), 99);
	assert_string_equal(string_at(event, "auth_protocol"), "Runtime Token");
	assert_exact_keys(endpoint, endpoint_keys, NULL);
	assert_string_equal(string_at(endpoint, "ip"), "10.1.2.3");
	assert_int_equal(integer_at(endpoint, "port"), 41234);
	assert_string_equal(string_at(json_object_get(event, "unmapped"), "reason"), "header missing");
	json_decref(event);
}

static void test_workload_token_failure_names_jwt_and_an_ipv6_client(void **state)
{
	const struct expected expected = {
		3002, "Authentication", 3, "Identity & Access Management", 1, "Logon",
		"Authentication: Logon", 3, "Medium", 2, "Failure", auth_keys, auth_extras,
	};
	json_t *event = ocsf_auth_failed(&identity, "WORKLOAD_TOKEN_REPLAYED", "::1:5000",
					 "jti already used");

	(void)state;
	assert_event(event, &expected);
	assert_string_equal(string_at(event, "auth_protocol"), "JWT");
	assert_string_equal(string_at(json_object_get(event, "src_endpoint"), "ip"), "::1");
	assert_int_equal(integer_at(json_object_get(event, "src_endpoint"), "port"), 5000);
	json_decref(event);
}

static void test_client_address_that_is_not_ip_and_port_becomes_the_endpoint_name(void **state)
{
	static const char *const name_keys[] = { "name", NULL };
	static const char *const ip_keys[] = { "ip", NULL };
	static const char *const ip_port_keys[] = { "ip", "port", NULL };
	json_t *unknown = ocsf_auth_failed(&identity, "RUNTIME_AUTH_REQUIRED", "unknown", "no header");
	json_t *bare = ocsf_auth_failed(&identity, "RUNTIME_AUTH_REQUIRED", "192.0.2.7", "no header");
	json_t *bracketed = ocsf_auth_failed(&identity, "RUNTIME_AUTH_REQUIRED", "[2001:db8::1]:443",
					     "no header");
	json_t *bad_port = ocsf_auth_failed(&identity, "RUNTIME_AUTH_REQUIRED", "192.0.2.7:99999",
					    "no header");

	(void)state;
	assert_exact_keys(json_object_get(unknown, "src_endpoint"), name_keys, NULL);
	assert_string_equal(string_at(json_object_get(unknown, "src_endpoint"), "name"), "unknown");
	assert_exact_keys(json_object_get(bare, "src_endpoint"), ip_keys, NULL);
	assert_exact_keys(json_object_get(bracketed, "src_endpoint"), ip_port_keys, NULL);
	assert_string_equal(string_at(json_object_get(bracketed, "src_endpoint"), "ip"), "2001:db8::1");
	assert_exact_keys(json_object_get(bad_port, "src_endpoint"), name_keys, NULL);
	json_decref(unknown);
	json_decref(bare);
	json_decref(bracketed);
	json_decref(bad_port);
}

/* ---- 6003 API Activity ---- */

static void assert_turn_api(const json_t *event)
{
	static const char *const api_keys[] = { "operation", "service", NULL };
	json_t *api = json_object_get(event, "api");

	assert_exact_keys(api, api_keys, NULL);
	assert_string_equal(string_at(api, "operation"), "POST /v1/turn");
}

static void test_turn_started_is_api_activity_create_from_the_client(void **state)
{
	static const char *const keys[] = { "api", "src_endpoint", NULL };
	static const char *const extras[] = { "ui_mode", "pid", NULL };
	const struct expected expected = {
		6003, "API Activity", 6, "Application Activity", 1, "Create", "API Activity: Create",
		1, "Informational", 1, "Success", keys, extras,
	};
	json_t *event = ocsf_turn_started(&identity, "extraction-jobs", "10.0.0.9:50000", 999);

	(void)state;
	assert_event(event, &expected);
	assert_turn_api(event);
	assert_string_equal(string_at(json_object_get(event, "src_endpoint"), "ip"), "10.0.0.9");
	assert_string_equal(string_at(json_object_get(event, "unmapped"), "ui_mode"), "extraction-jobs");
	assert_int_equal(integer_at(json_object_get(event, "unmapped"), "pid"), 999);
	json_decref(event);
}

static const char *const finished_keys[] = { "status_detail", "api", "duration", NULL };
static const char *const finished_extras[] = { "ui_mode", "bytes", NULL };

static void test_turn_finished_ok_is_a_success_with_duration_and_bytes(void **state)
{
	const struct expected expected = {
		6003, "API Activity", 6, "Application Activity", 99, "Finish", "API Activity: Other",
		1, "Informational", 1, "Success", finished_keys, finished_extras,
	};
	json_t *event = ocsf_turn_finished(&identity, "one-off-mutations", "ok", 2500, 4096);

	(void)state;
	assert_event(event, &expected);
	assert_turn_api(event);
	assert_string_equal(string_at(event, "status_detail"), "ok");
	assert_int_equal(integer_at(event, "duration"), 2500);
	assert_int_equal(integer_at(json_object_get(event, "unmapped"), "bytes"), 4096);
	json_decref(event);
}

static void test_turn_finished_by_timeout_is_a_medium_failure_naming_the_outcome(void **state)
{
	const struct expected expected = {
		6003, "API Activity", 6, "Application Activity", 99, "Finish", "API Activity: Other",
		3, "Medium", 2, "Failure", finished_keys, finished_extras,
	};
	json_t *event = ocsf_turn_finished(&identity, "one-off-mutations", "timeout", 1000000, 10);

	(void)state;
	assert_event(event, &expected);
	assert_string_equal(string_at(event, "status_detail"), "timeout");
	json_decref(event);
}

/* ---- 2004 Detection Finding ---- */

static const char *const finding_keys[] = { "finding_info", NULL };

static void assert_finding_info(const json_t *event, const char *title, const char *type)
{
	static const char *const info_keys[] = { "uid", "title", "types", "desc", NULL };
	json_t *info = json_object_get(event, "finding_info");

	assert_exact_keys(info, info_keys, NULL);
	assert_string_equal(string_at(info, "title"), title);
	assert_true(json_is_array(json_object_get(info, "types")));
	assert_int_equal(json_array_size(json_object_get(info, "types")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(info, "types"), 0)), type);
	assert_true(strlen(string_at(info, "desc")) > 0);
}

static void test_degraded_enforcement_is_a_new_medium_detection_finding(void **state)
{
	static const char *const extras[] = { "mode", "refused", "skipped", NULL };
	const struct expected expected = {
		2004, "Detection Finding", 2, "Findings", 1, "Create", "Detection Finding: Create",
		3, "Medium", 1, "New", finding_keys, extras,
	};
	json_t *skipped = json_pack("[s]", "landlock scope signal");
	json_t *event = ocsf_enforcement_finding(&identity, "extraction-job", "1 right not enforced",
						 skipped, false);

	(void)state;
	assert_event(event, &expected);
	assert_finding_info(event, "Policy enforcement degraded", "Policy Enforcement");
	assert_string_equal(string_at(json_object_get(event, "finding_info"), "desc"),
			    "1 right not enforced");
	assert_ptr_equal(json_object_get(json_object_get(event, "unmapped"), "skipped"), skipped);
	assert_true(json_is_false(json_object_get(json_object_get(event, "unmapped"), "refused")));
	json_decref(event);
	json_decref(skipped);
}

static void test_refused_enforcement_is_a_high_detection_finding(void **state)
{
	static const char *const extras[] = { "mode", "refused", "skipped", NULL };
	const struct expected expected = {
		2004, "Detection Finding", 2, "Findings", 1, "Create", "Detection Finding: Create",
		4, "High", 1, "New", finding_keys, extras,
	};
	json_t *event = ocsf_enforcement_finding(&identity, "extraction-job", "no Landlock", NULL, true);

	(void)state;
	assert_event(event, &expected);
	assert_finding_info(event, "Policy enforcement refused", "Policy Enforcement");
	assert_true(json_is_null(json_object_get(json_object_get(event, "unmapped"), "skipped")));
	assert_true(json_is_true(json_object_get(json_object_get(event, "unmapped"), "refused")));
	json_decref(event);
}

static void test_loss_findings_carry_their_counts(void **state)
{
	static const char *const count_extras[] = { "count", NULL };
	static const char *const corrupt_extras[] = { "corrupt_bytes", NULL };
	const struct expected lost_expected = {
		2004, "Detection Finding", 2, "Findings", 1, "Create", "Detection Finding: Create",
		3, "Medium", 1, "New", finding_keys, count_extras,
	};
	struct expected corrupt_expected = lost_expected;
	json_t *lost = ocsf_events_lost(&identity, 5);
	json_t *dropped = ocsf_events_dropped(&identity, 7);
	json_t *corrupt = ocsf_spool_corruption(&identity, 123);

	(void)state;
	corrupt_expected.unmapped_keys = corrupt_extras;
	assert_event(lost, &lost_expected);
	assert_finding_info(lost, "Events lost", "Audit Trail");
	assert_int_equal(integer_at(json_object_get(lost, "unmapped"), "count"), 5);
	assert_event(dropped, &lost_expected);
	assert_finding_info(dropped, "Events dropped", "Audit Trail");
	assert_int_equal(integer_at(json_object_get(dropped, "unmapped"), "count"), 7);
	assert_event(corrupt, &corrupt_expected);
	assert_finding_info(corrupt, "Spool corruption", "Audit Trail");
	assert_int_equal(integer_at(json_object_get(corrupt, "unmapped"), "corrupt_bytes"), 123);
	json_decref(lost);
	json_decref(dropped);
	json_decref(corrupt);
}

/* ---- what every builder shares ---- */

static json_t *build_each(const struct ocsf_identity *who, size_t index)
{
	switch (index) {
	case 0: return ocsf_supervisor_started(who, "job", 1, true, false);
	case 1: return ocsf_supervisor_ready(who, "127.0.0.1:8787");
	case 2: return ocsf_supervisor_stopping(who, "SIGTERM", 0);
	case 3: return ocsf_process_launched(who, 2, "/bin/true", "workload");
	case 4: return ocsf_process_exited(who, 2, "/bin/true", 0, 1);
	case 5: return ocsf_orphans_reaped(who, 1, 1);
	case 6: return ocsf_signal_forwarded(who, "SIGINT", 2, true);
	case 7: return ocsf_policy_applied(who, "job", NULL);
	case 8: return ocsf_auth_failed(who, "WORKLOAD_TOKEN_INVALID", "127.0.0.1:1", "bad signature");
	case 9: return ocsf_turn_started(who, "initial-schema-design", "127.0.0.1:1", 3);
	case 10: return ocsf_turn_finished(who, "initial-schema-design", "ok", 1, 1);
	case 11: return ocsf_enforcement_finding(who, "job", "degraded", NULL, false);
	case 12: return ocsf_events_lost(who, 1);
	case 13: return ocsf_events_dropped(who, 1);
	case 14: return ocsf_spool_corruption(who, 1);
	default: return NULL;
	}
}

#define BUILDERS 15

static void test_unconfigured_identity_is_null_in_every_event(void **state)
{
	(void)state;
	for (size_t i = 0; i < BUILDERS; i++) {
		json_t *event = build_each(&no_identity, i);
		assert_non_null(event);
		assert_identity(event, &no_identity);
		json_decref(event);
	}
}

static void test_configured_identity_is_in_every_event_without_a_secret_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < BUILDERS; i++) {
		json_t *event = build_each(&identity, i);
		assert_non_null(event);
		assert_identity(event, &identity);
		assert_no_secret_keys(event);
		assert_metadata(event);
		json_decref(event);
	}
}

static void test_every_event_serialises_to_one_line_even_with_newlines_in_its_text(void **state)
{
	json_t *event = ocsf_auth_failed(&identity, "RUNTIME_AUTH_REQUIRED", "1.2.3.4:5",
					 "line one\nline two\r\n");
	char *line;

	(void)state;
	assert_non_null(event);
	line = json_dumps(event, JSON_COMPACT);
	assert_non_null(line);
	assert_null(strchr(line, '\n'));
	assert_null(strchr(line, '\r'));
	free(line);
	json_decref(event);
}

static void test_command_that_is_not_utf8_keeps_its_event_with_ascii_only(void **state)
{
	json_t *event = ocsf_process_launched(&identity, 5, "/bin/caf\xe9 --x", "workload");

	(void)state;
	assert_non_null(event);
	assert_string_equal(string_at(json_object_get(event, "process"), "cmd_line"), "/bin/caf? --x");
	assert_string_equal(string_at(json_object_get(event, "process"), "name"), "caf?");
	assert_non_null(strstr(string_at(event, "message"), "/bin/caf? --x"));
	json_decref(event);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid4_is_lower_case_hex_with_dashes_version_4_and_rfc_variant),
		cmocka_unit_test(test_uuid4_does_not_repeat),
		cmocka_unit_test(test_stamp_sets_time_uid_and_sequence),
		cmocka_unit_test(test_stamp_gives_a_finding_its_event_uid),
		cmocka_unit_test(test_supervisor_started_is_application_lifecycle_start),
		cmocka_unit_test(test_supervisor_ready_is_application_lifecycle_other_named_ready),
		cmocka_unit_test(test_supervisor_stopping_with_exit_status_0_is_a_success),
		cmocka_unit_test(test_supervisor_stopping_with_a_failing_exit_status_is_a_medium_failure),
		cmocka_unit_test(test_process_launched_is_process_activity_launch_with_the_command),
		cmocka_unit_test(test_process_exited_with_status_0_is_a_successful_terminate),
		cmocka_unit_test(test_process_exited_with_status_3_is_a_medium_failure_with_exit_code_3),
		cmocka_unit_test(test_process_killed_by_sigkill_has_exit_code_137_and_names_the_signal),
		cmocka_unit_test(test_orphans_reaped_is_process_activity_other_named_reap_with_counts),
		cmocka_unit_test(test_signal_forwarded_is_process_activity_other_named_signal),
		cmocka_unit_test(test_signal_not_delivered_is_a_medium_failure),
		cmocka_unit_test(test_policy_applied_is_config_state_change_holding_the_receipt),
		cmocka_unit_test(test_runtime_auth_failure_is_a_failed_logon_with_the_code_and_client),
		cmocka_unit_test(test_workload_token_failure_names_jwt_and_an_ipv6_client),
		cmocka_unit_test(test_client_address_that_is_not_ip_and_port_becomes_the_endpoint_name),
		cmocka_unit_test(test_turn_started_is_api_activity_create_from_the_client),
		cmocka_unit_test(test_turn_finished_ok_is_a_success_with_duration_and_bytes),
		cmocka_unit_test(test_turn_finished_by_timeout_is_a_medium_failure_naming_the_outcome),
		cmocka_unit_test(test_degraded_enforcement_is_a_new_medium_detection_finding),
		cmocka_unit_test(test_refused_enforcement_is_a_high_detection_finding),
		cmocka_unit_test(test_loss_findings_carry_their_counts),
		cmocka_unit_test(test_unconfigured_identity_is_null_in_every_event),
		cmocka_unit_test(test_configured_identity_is_in_every_event_without_a_secret_key),
		cmocka_unit_test(test_every_event_serialises_to_one_line_even_with_newlines_in_its_text),
		cmocka_unit_test(test_command_that_is_not_utf8_keeps_its_event_with_ascii_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
