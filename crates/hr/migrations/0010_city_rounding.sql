-- The unit a city rounds each contribution to: the fen unless its rule says the jiao or the
-- yuan (some cities round the housing fund and insurance to the yuan).
ALTER TABLE hr_city_rules ADD COLUMN rounding TEXT NOT NULL DEFAULT 'fen';
