-- Source documents (原始凭证) attached to a voucher: a scanned receipt, an e-invoice (PDF,
-- OFD or XML), a contract. Kept as base64 text, as résumé files are, so both databases store
-- them alike. A posted voucher's attachments are never removed; a draft's may be.
CREATE TABLE fin_attachments (
    id {{id}},
    company_id BIGINT NOT NULL REFERENCES companies(id),
    entry_id BIGINT NOT NULL REFERENCES fin_entries(id),
    file_name TEXT NOT NULL,
    file_type TEXT NOT NULL,
    file_size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content_base64 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BIGINT
);

CREATE INDEX fin_attachments_entry ON fin_attachments (entry_id);
