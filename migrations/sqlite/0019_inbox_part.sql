-- Which part of the receiving organisation's inbox a referral sits in ('new' waiting for an
-- answer, 'working', 'closed'; InboxPart in crates/storage/src/connections.rs), kept by the
-- database from its state, so a page of the inbox is an index range read in order, not a sort
-- of every referral in that part.
ALTER TABLE referrals ADD COLUMN inbox_part TEXT GENERATED ALWAYS AS (
    CASE
        WHEN state IN ('sent', 'opened') THEN 'new'
        WHEN state IN ('accepted', 'in_progress', 'on_hold') THEN 'working'
        ELSE 'closed'
    END
) VIRTUAL;
CREATE INDEX referrals_inbox_part ON referrals (receiving_organisation, inbox_part, created_micros, id);
