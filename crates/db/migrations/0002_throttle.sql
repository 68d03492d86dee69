-- Hits on public endpoints (a web form, a survey link), counted per bucket (what and from
-- where) in a sliding window, so a flood is refused whichever app process it reaches.

CREATE TABLE throttle_hits (
    id {{id}},
    bucket TEXT NOT NULL,
    at_second BIGINT NOT NULL
);
CREATE INDEX throttle_hits_bucket ON throttle_hits(bucket, at_second);
