-- When a case last closed: retention and the Supporting Families six-month rule count from the
-- closure itself, not from the latest edit of the record or a search of the chronology.
-- NULL while the case is open or stepped up.
ALTER TABLE families ADD COLUMN closed_micros INTEGER;

UPDATE families SET closed_micros = COALESCE(
    (SELECT MAX(n.at_micros) FROM family_notes n
     WHERE n.family_id = families.id AND n.kind = 'event' AND n.body LIKE 'Case closed:%'),
    updated_micros)
WHERE state = 'closed';

-- The family page finds the request that opened the case (its needs, when there is no
-- finalised assessment); without this it read every request in the city.
CREATE INDEX support_requests_family ON support_requests (family_id);
