-- Sales taxed under the simplified method (简易计税: 5 %, 3 %, 1 %) credit their VAT to a
-- payable of its own, 应交税费—简易计税, apart from the general method's output VAT: 222107 on
-- both Chinese charts, 230010 on the generic one.
--
-- Books set up before may have made an account of their own under that code (222107 is where
-- a company adds 应交所得税 after the template's 222101–222106). Such books keep it, and get
-- the simplified method's account at the first free code after it (222108–222199, 230011–
-- 230099), recorded here; books whose account of that code is named 简易计税 already use it.
ALTER TABLE fin_books ADD COLUMN simplified_vat_code TEXT NOT NULL DEFAULT '';

UPDATE fin_books SET simplified_vat_code = COALESCE((
    WITH RECURSIVE n(i) AS (SELECT 8 UNION ALL SELECT i + 1 FROM n WHERE i < 99)
    SELECT MIN(c.code) FROM (
        SELECT CASE fin_books.template WHEN 'generic_en' THEN '2300' ELSE '2221' END
               || CASE WHEN n.i < 10 THEN '0' ELSE '' END || CAST(n.i AS TEXT) AS code
        FROM n WHERE fin_books.template <> 'generic_en' OR n.i >= 11
    ) c
    WHERE NOT EXISTS (SELECT 1 FROM fin_accounts x WHERE x.company_id = fin_books.company_id AND x.code = c.code)
), '')
WHERE EXISTS (
    SELECT 1 FROM fin_accounts x WHERE x.company_id = fin_books.company_id
      AND x.code = CASE fin_books.template WHEN 'generic_en' THEN '230010' ELSE '222107' END
      AND x.name_zh <> '简易计税'
);

INSERT INTO fin_accounts (company_id, code, name_zh, name_en, class, normal_side, parent_id, created_at)
SELECT b.company_id, CASE WHEN b.simplified_vat_code <> '' THEN b.simplified_vat_code ELSE t.code END,
       '简易计税', 'VAT under the simplified method', 'liability', 'credit', p.id, p.created_at
FROM fin_books b
JOIN (
    SELECT 'cas' AS template, '2221' AS parent, '222107' AS code
    UNION ALL SELECT 'small_enterprise', '2221', '222107'
    UNION ALL SELECT 'generic_en', '2300', '230010'
) t ON t.template = b.template
JOIN fin_accounts p ON p.company_id = b.company_id AND p.code = t.parent
WHERE NOT EXISTS (
    SELECT 1 FROM fin_accounts x WHERE x.company_id = b.company_id
      AND x.code = CASE WHEN b.simplified_vat_code <> '' THEN b.simplified_vat_code ELSE t.code END
);
