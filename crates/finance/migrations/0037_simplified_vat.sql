-- Sales taxed under the simplified method (简易计税: 5 %, 3 %, 1 %) credit their VAT to a
-- payable of its own, 应交税费—简易计税, apart from the general method's output VAT. Books set
-- up before get the account, under 2221 on both Chinese charts and under 2300 on the generic
-- one, as the templates now put it; a company that made an account of its own under the code
-- keeps it.
INSERT INTO fin_accounts (company_id, code, name_zh, name_en, class, normal_side, parent_id, created_at)
SELECT b.company_id, t.code, t.name_zh, t.name_en, 'liability', 'credit', p.id, p.created_at
FROM fin_books b
JOIN (
    SELECT 'cas' AS template, '2221' AS parent, '222107' AS code, '简易计税' AS name_zh, 'VAT under the simplified method' AS name_en
    UNION ALL SELECT 'small_enterprise', '2221', '222107', '简易计税', 'VAT under the simplified method'
    UNION ALL SELECT 'generic_en', '2300', '230010', '简易计税', 'VAT under the simplified method'
) t ON t.template = b.template
JOIN fin_accounts p ON p.company_id = b.company_id AND p.code = t.parent
WHERE NOT EXISTS (SELECT 1 FROM fin_accounts x WHERE x.company_id = b.company_id AND x.code = t.code);
