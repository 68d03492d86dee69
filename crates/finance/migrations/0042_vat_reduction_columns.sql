-- Two more columns of 应交增值税 that lower the month's tax: 减免税款 (the tax-control
-- equipment and its yearly service fee, taken off the tax in full) and 销项税额抵减 (output VAT
-- taken off under the difference method, 差额征税). Books set up before get them: 22210106 and
-- 22210107 under 222101 on both Chinese charts, 230020 and 230021 under 2300 on the generic
-- one (after 230011–230019, where an earlier migration may have put 简易计税). A company that
-- had made an account of its own under one of these codes keeps it, and the VAT return reads
-- it as that column.
INSERT INTO fin_accounts (company_id, code, name_zh, name_en, class, normal_side, parent_id, created_at)
SELECT b.company_id, t.code, t.name_zh, t.name_en, 'liability', 'credit', p.id, p.created_at
FROM fin_books b
JOIN (
    SELECT 'cas' AS template, '222101' AS parent, '22210106' AS code, '减免税款' AS name_zh, 'VAT reduction' AS name_en
    UNION ALL SELECT 'small_enterprise', '222101', '22210106', '减免税款', 'VAT reduction'
    UNION ALL SELECT 'generic_en', '2300', '230020', '减免税款', 'VAT reduction'
    UNION ALL SELECT 'cas', '222101', '22210107', '销项税额抵减', 'Output VAT deduction'
    UNION ALL SELECT 'small_enterprise', '222101', '22210107', '销项税额抵减', 'Output VAT deduction'
    UNION ALL SELECT 'generic_en', '2300', '230021', '销项税额抵减', 'Output VAT deduction'
) t ON t.template = b.template
JOIN fin_accounts p ON p.company_id = b.company_id AND p.code = t.parent
WHERE NOT EXISTS (SELECT 1 FROM fin_accounts x WHERE x.company_id = b.company_id AND x.code = t.code);
