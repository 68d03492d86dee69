-- Parties: persons and organisations of a company, with roles, tags, contacts and
-- addresses. `search_text` holds the lower-cased names and number for substring search,
-- so the same LIKE works case-insensitively on both databases.

CREATE TABLE parties (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT,
    credit_code TEXT,
    id_number TEXT,
    notes TEXT NOT NULL DEFAULT '',
    owner_id BIGINT REFERENCES users(id),
    search_text TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    updated_at TEXT NOT NULL,
    archived_at TEXT,
    UNIQUE (company_id, number)
);
CREATE INDEX parties_name ON parties(company_id, name, id);
CREATE INDEX parties_created ON parties(company_id, created_at, id);
CREATE INDEX parties_credit_code ON parties(company_id, credit_code);
CREATE INDEX parties_owner ON parties(owner_id);

CREATE TABLE party_roles (
    party_id BIGINT NOT NULL REFERENCES parties(id),
    role TEXT NOT NULL,
    PRIMARY KEY (party_id, role)
);
CREATE INDEX party_roles_role ON party_roles(role, party_id);

CREATE TABLE party_tags (
    party_id BIGINT NOT NULL REFERENCES parties(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (party_id, tag)
);
CREATE INDEX party_tags_tag ON party_tags(tag, party_id);

CREATE TABLE party_contacts (
    id {{id}},
    party_id BIGINT NOT NULL REFERENCES parties(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    position BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX party_contacts_party ON party_contacts(party_id);
CREATE INDEX party_contacts_value ON party_contacts(value);

CREATE TABLE party_addresses (
    id {{id}},
    party_id BIGINT NOT NULL REFERENCES parties(id),
    kind TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT 'CN',
    province TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    district TEXT NOT NULL DEFAULT '',
    street TEXT NOT NULL,
    postcode TEXT NOT NULL DEFAULT '',
    position BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX party_addresses_party ON party_addresses(party_id);
