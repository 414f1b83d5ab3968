-- The calls of the match report: each call that started in [from, to) counted by how it matched a journey
-- (parcours.call_matches, the view whose body is callcentre/calls.sql): by the lease of the tracking number
-- it called, by the caller's phone, by the phone the call centre called (a call-back), or unmatched, with
-- why. Every call of the period, whatever the report's filters.
WITH
calls AS (
    SELECT matched_by, reason
    FROM parcours.call_matches(from = {from:DateTime64(3, 'UTC')}, to = {to:DateTime64(3, 'UTC')})
)
SELECT
    count() AS calls,
    countIf(matched_by = 'lease') AS by_lease,
    countIf(matched_by = 'caller_phone') AS by_caller_phone,
    countIf(matched_by = 'callee_phone') AS by_callee_phone,
    countIf(matched_by = '') AS unmatched,
    countIf(reason = 'ambiguous_lease') AS ambiguous_lease,
    countIf(reason = 'ambiguous_phone') AS ambiguous_phone,
    countIf(reason = 'anonymous_caller') AS anonymous_caller,
    countIf(reason = 'callee_not_seen') AS callee_not_seen,
    countIf(reason = 'phone_not_seen') AS phone_not_seen
FROM calls
