-- Platform tables: companies, accounts and permissions, the audit chain, sequences and the
-- event outbox. One tree for both databases: `{{id}}` becomes an auto-increment primary key
-- in each dialect, instants are RFC 3339 UTC text, flags are 0/1 integers, and money and
-- quantities (in the modules) are integers, so every statement here runs on both.

CREATE TABLE companies (
    id {{id}},
    legal_name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    credit_code TEXT,
    base_currency TEXT NOT NULL DEFAULT 'CNY',
    time_zone TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id {{id}},
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    password_hash TEXT NOT NULL,
    lang TEXT NOT NULL DEFAULT 'zh-CN',
    team TEXT,
    department TEXT,
    is_admin BIGINT NOT NULL DEFAULT 0,
    default_company_id BIGINT NOT NULL REFERENCES companies(id),
    disabled_at TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE user_companies (
    user_id BIGINT NOT NULL REFERENCES users(id),
    company_id BIGINT NOT NULL REFERENCES companies(id),
    PRIMARY KEY (user_id, company_id)
);

CREATE TABLE roles (
    id {{id}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE role_grants (
    role_id BIGINT NOT NULL REFERENCES roles(id),
    permission TEXT NOT NULL,
    scope TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id),
    role_id BIGINT NOT NULL REFERENCES roles(id),
    PRIMARY KEY (user_id, role_id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    company_id BIGINT NOT NULL REFERENCES companies(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id {{id}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE login_attempts (
    id {{id}},
    login TEXT NOT NULL,
    at TEXT NOT NULL,
    succeeded BIGINT NOT NULL
);
CREATE INDEX login_attempts_login_at ON login_attempts(login, at);

CREATE TABLE audit_chain_head (
    id BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    company_id BIGINT,
    actor_id BIGINT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    resource_id TEXT,
    changes TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_resource ON audit_log(resource, resource_id, seq);
CREATE INDEX audit_log_actor ON audit_log(actor_id, seq);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TABLE sequences (
    company_id BIGINT NOT NULL,
    code TEXT NOT NULL,
    year BIGINT NOT NULL,
    next_value BIGINT NOT NULL,
    PRIMARY KEY (company_id, code, year)
);

CREATE TABLE outbox (
    id {{id}},
    company_id BIGINT,
    aggregate TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until TEXT,
    dispatched_at TEXT
);
CREATE INDEX outbox_pending ON outbox(id) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_aggregate ON outbox(aggregate, aggregate_id, id);

CREATE TABLE event_deliveries (
    subscriber TEXT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES outbox(id),
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (subscriber, event_id)
);

CREATE TABLE webhooks (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    event_types TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id {{id}},
    webhook_id BIGINT NOT NULL REFERENCES webhooks(id),
    event_id BIGINT NOT NULL REFERENCES outbox(id),
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_status_code BIGINT,
    last_error TEXT,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
