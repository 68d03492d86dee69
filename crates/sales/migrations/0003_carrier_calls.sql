-- The signatures of carriers' calls already received, so a captured call cannot be replayed
-- within the five minutes its timestamp is accepted.

CREATE TABLE sal_carrier_calls (
    signature TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
);
