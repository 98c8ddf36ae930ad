/**
 * The id formats the approval flow accepts, in one place: the config's
 * approver list, Slack's interaction payload and the webhook → worker message
 * all check the same ones. No imports, so the config schema can take them.
 */

/** A plan id as putPendingPlan makes it: letters, digits, `. _ : -`, at most 128. */
export const PLAN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** A Slack user id: `U…`, or `W…` on Enterprise Grid. */
export const SLACK_USER_ID_PATTERN = /^[UW][A-Z0-9]+$/;
