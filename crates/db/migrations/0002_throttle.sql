-- Hits on public endpoints (a web form, a survey link), counted per bucket (what and from
-- where) and fixed window: one row each, incremented atomically, so a flood is refused
-- whichever app process it reaches and concurrent requests cannot slip past the count.

CREATE TABLE throttle_counters (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX throttle_counters_age ON throttle_counters(window_start);
