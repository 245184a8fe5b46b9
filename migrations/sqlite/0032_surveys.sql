-- Surveys of children and families, their anonymous answers, free text held for moderation,
-- and "you said, we did". The twin of this file is migrations/postgres/0032_surveys.sql.
--
-- Anonymity: a response holds no user, session, address or time finer than the day; free text
-- is kept apart from the response it came with, so an approved comment cannot be joined to
-- the rest of one person's answers. Responses and comments are WITHOUT ROWID tables, stored in
-- the order of their random ids, so not even the order they were written in can pair a comment
-- with its response.

CREATE TABLE surveys (
    id BLOB PRIMARY KEY,
    title TEXT NOT NULL,
    intro TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'published', 'closed')),
    created_by TEXT NOT NULL,
    created_micros BIGINT NOT NULL
);

CREATE TABLE survey_questions (
    survey_id BLOB NOT NULL REFERENCES surveys (id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('radios', 'checkboxes', 'scale', 'text')),
    prompt TEXT NOT NULL,
    -- One option a line; counted: the options that count towards indicator_ref.
    options TEXT NOT NULL,
    indicator_ref TEXT REFERENCES indicators (reference),
    counted TEXT NOT NULL,
    PRIMARY KEY (survey_id, position)
);

CREATE TABLE survey_responses (
    id BLOB PRIMARY KEY,
    survey_id BLOB NOT NULL REFERENCES surveys (id),
    answered_on TEXT NOT NULL,
    age_band TEXT NOT NULL,
    locality TEXT NOT NULL,
    ethnic_group TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX survey_responses_survey ON survey_responses (survey_id);

CREATE TABLE survey_choices (
    response_id BLOB NOT NULL REFERENCES survey_responses (id),
    position INTEGER NOT NULL,
    choice TEXT NOT NULL,
    PRIMARY KEY (response_id, position, choice)
);

CREATE TABLE survey_comments (
    id BLOB PRIMARY KEY,
    survey_id BLOB NOT NULL REFERENCES surveys (id),
    position INTEGER NOT NULL,
    answered_on TEXT NOT NULL,
    locality TEXT NOT NULL,
    body TEXT NOT NULL,
    -- Likely personal details found on arrival, in words, separated by '; '.
    flags TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'approved', 'rejected')),
    moderated_by TEXT,
    moderated_micros BIGINT
) WITHOUT ROWID;
CREATE INDEX survey_comments_state ON survey_comments (state, survey_id);

CREATE TABLE you_said_we_did (
    id BLOB PRIMARY KEY,
    theme TEXT NOT NULL,
    said TEXT NOT NULL,
    did TEXT NOT NULL,
    done_on TEXT NOT NULL,
    locality TEXT,
    outcome_number INTEGER REFERENCES outcomes (number),
    recorded_by TEXT NOT NULL,
    recorded_micros BIGINT NOT NULL
);
