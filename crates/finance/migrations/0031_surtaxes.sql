-- The surtaxes on VAT (附加税费): each company's urban construction tax rate, which depends on
-- where it is (7 % in a city, 5 % in a county town, 1 % elsewhere), and whether it has the
-- halving that small taxpayers are granted (六税两费减半); the education surcharge (3 %) and
-- local education surcharge (2 %) are the same everywhere.
ALTER TABLE fin_books ADD COLUMN urban_tax_rate_bp BIGINT NOT NULL DEFAULT 700;
ALTER TABLE fin_books ADD COLUMN surtax_relief TEXT NOT NULL DEFAULT 'none';

-- Books set up before the surtaxes were accrued get their three payable accounts, under 2221
-- on both Chinese charts and under 2300 on the generic one, as the templates now put them. A
-- company that made an account of its own under one of these codes keeps it.
INSERT INTO fin_accounts (company_id, code, name_zh, name_en, class, normal_side, parent_id, created_at)
SELECT b.company_id, t.code, t.name_zh, t.name_en, 'liability', 'credit', p.id, p.created_at
FROM fin_books b
JOIN (
    SELECT 'cas' AS template, '2221' AS parent, '222104' AS code, '应交城市维护建设税' AS name_zh, 'Urban construction tax payable' AS name_en
    UNION ALL SELECT 'cas', '2221', '222105', '应交教育费附加', 'Education surcharge payable'
    UNION ALL SELECT 'cas', '2221', '222106', '应交地方教育附加', 'Local education surcharge payable'
    UNION ALL SELECT 'small_enterprise', '2221', '222104', '应交城市维护建设税', 'Urban construction tax payable'
    UNION ALL SELECT 'small_enterprise', '2221', '222105', '应交教育费附加', 'Education surcharge payable'
    UNION ALL SELECT 'small_enterprise', '2221', '222106', '应交地方教育附加', 'Local education surcharge payable'
    UNION ALL SELECT 'generic_en', '2300', '230006', '应交城市维护建设税', 'Urban construction tax payable'
    UNION ALL SELECT 'generic_en', '2300', '230007', '应交教育费附加', 'Education surcharge payable'
    UNION ALL SELECT 'generic_en', '2300', '230008', '应交地方教育附加', 'Local education surcharge payable'
) t ON t.template = b.template
JOIN fin_accounts p ON p.company_id = b.company_id AND p.code = t.parent
WHERE NOT EXISTS (SELECT 1 FROM fin_accounts x WHERE x.company_id = b.company_id AND x.code = t.code);
