-- Which chart template a company's books were set up from: it decides the codes modules post
-- to (chart::Role) and the lines of the statements. Books set up before templates existed
-- were all CAS.
CREATE TABLE fin_books (
    company_id BIGINT PRIMARY KEY REFERENCES companies(id),
    template TEXT NOT NULL,
    created_at TEXT NOT NULL
);

INSERT INTO fin_books (company_id, template, created_at)
SELECT company_id, 'cas', MIN(created_at) FROM fin_accounts GROUP BY company_id;
