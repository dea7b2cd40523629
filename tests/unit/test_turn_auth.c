/* The runtime token check: surrounding white space ignored, everything
 * else exact, blanks and unset tokens never matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "turn/auth.h"

#define TOKEN "rt_3kZp9QvX2mN7bL4wT8yH1cF6gJ0dS5aE"

static bool matches_text(const char *expected, const char *presented)
{
	return turn_auth_matches(expected, presented, strlen(presented));
}

static void test_exact_token_matches(void **state)
{
	(void)state;
	assert_true(matches_text(TOKEN, TOKEN));
}

static void test_token_with_surrounding_spaces_and_tabs_matches(void **state)
{
	const char *presented[] = { " " TOKEN, TOKEN " ", "\t" TOKEN "\t", " \t  " TOKEN "\t \t" };
	(void)state;

	for (size_t i = 0; i < sizeof(presented) / sizeof(presented[0]); i++)
		assert_true(matches_text(TOKEN, presented[i]));
}

static void test_white_space_inside_the_token_does_not_match(void **state)
{
	(void)state;
	assert_true(matches_text("abc def", "abc def"));
	assert_false(matches_text("abc def", "abc  def"));
	assert_false(matches_text("abcdef", "abc def"));
}

/* Only space and tab are optional white space in a field value
 * (RFC 9110 section 5.6.3); anything else is part of what was sent. */
static void test_other_white_space_around_the_token_does_not_match(void **state)
{
	(void)state;
	assert_false(matches_text(TOKEN, TOKEN "\r\n"));
	assert_false(matches_text(TOKEN, "\n" TOKEN));
	assert_false(matches_text(TOKEN, TOKEN "\v"));
}

static void test_different_token_of_the_same_length_does_not_match(void **state)
{
	char presented[] = TOKEN;
	(void)state;

	presented[0] ^= 1;
	assert_false(matches_text(TOKEN, presented));
	presented[0] ^= 1;
	presented[sizeof(presented) - 2] ^= 1;
	assert_false(matches_text(TOKEN, presented));
}

static void test_prefix_of_the_token_does_not_match(void **state)
{
	(void)state;
	for (size_t length = 1; length < strlen(TOKEN); length++)
		assert_false(turn_auth_matches(TOKEN, TOKEN, length));
	assert_true(turn_auth_matches(TOKEN, TOKEN, strlen(TOKEN)));
}

static void test_token_plus_one_character_does_not_match(void **state)
{
	(void)state;
	assert_false(matches_text(TOKEN, TOKEN "x"));
	assert_false(matches_text(TOKEN, "x" TOKEN));
	assert_false(matches_text(TOKEN, TOKEN TOKEN));
}

static void test_token_is_read_to_its_length_not_to_a_nul(void **state)
{
	const char presented[] = TOKEN "\0trailing";
	(void)state;

	assert_true(turn_auth_matches(TOKEN, presented, strlen(TOKEN)));
	assert_false(turn_auth_matches(TOKEN, presented, strlen(TOKEN) + 1));
	assert_false(turn_auth_matches(TOKEN, presented, sizeof(presented) - 1));
}

static void test_empty_or_blank_presented_value_does_not_match(void **state)
{
	(void)state;
	assert_false(turn_auth_matches(TOKEN, "", 0));
	assert_false(turn_auth_matches(TOKEN, TOKEN, 0));
	assert_false(matches_text(TOKEN, " "));
	assert_false(matches_text(TOKEN, " \t \t"));
}

static void test_null_presented_value_does_not_match(void **state)
{
	(void)state;
	assert_false(turn_auth_matches(TOKEN, NULL, 0));
	assert_false(turn_auth_matches(TOKEN, NULL, strlen(TOKEN)));
}

/* Fail closed: an unset token must not let an empty header through. */
static void test_unset_expected_token_matches_nothing(void **state)
{
	(void)state;
	assert_false(turn_auth_matches(NULL, TOKEN, strlen(TOKEN)));
	assert_false(turn_auth_matches(NULL, "", 0));
	assert_false(turn_auth_matches("", "", 0));
	assert_false(matches_text("", " "));
	assert_false(matches_text("", TOKEN));
}

static void test_header_name_is_the_contract_spelling(void **state)
{
	(void)state;
	assert_string_equal(TURN_AUTH_HEADER, "X-Kartograph-Runtime-Auth");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_token_matches),
		cmocka_unit_test(test_token_with_surrounding_spaces_and_tabs_matches),
		cmocka_unit_test(test_white_space_inside_the_token_does_not_match),
		cmocka_unit_test(test_other_white_space_around_the_token_does_not_match),
		cmocka_unit_test(test_different_token_of_the_same_length_does_not_match),
		cmocka_unit_test(test_prefix_of_the_token_does_not_match),
		cmocka_unit_test(test_token_plus_one_character_does_not_match),
		cmocka_unit_test(test_token_is_read_to_its_length_not_to_a_nul),
		cmocka_unit_test(test_empty_or_blank_presented_value_does_not_match),
		cmocka_unit_test(test_null_presented_value_does_not_match),
		cmocka_unit_test(test_unset_expected_token_matches_nothing),
		cmocka_unit_test(test_header_name_is_the_contract_spelling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
