-- The triage queue in the order it is shown (complex requests first, then oldest), so a page
-- of 50 reads 50 requests rather than sorting every one waiting in the locality (issue 15,
-- item 2; docs/benchmarks/cases.md). The expression must stay the one in
-- `cases::queue` (`queue_order!`), or the database will sort again.
-- The twin of this file is migrations/sqlite/0045_triage_queue_order.sql.
CREATE INDEX support_requests_queue_order ON support_requests
    (locality_slug, status, (CASE WHEN need_level = 'complex' THEN 0 ELSE 1 END), created_micros, id);
