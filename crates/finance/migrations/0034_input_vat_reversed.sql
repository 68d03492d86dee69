-- Input VAT taken back (进项税额转出: goods lost, or bought for tax-exempt work or for the
-- staff) has its own column of 应交增值税, which the VAT return adds to the month's tax.
-- Books set up before get it: 22210105 under 222101 on both Chinese charts, 230009 under 2300
-- on the generic one. A company that had made an account of its own under that code keeps it.
INSERT INTO fin_accounts (company_id, code, name_zh, name_en, class, normal_side, parent_id, created_at)
SELECT b.company_id, t.code, '进项税额转出', 'Input VAT reversed', 'liability', 'credit', p.id, p.created_at
FROM fin_books b
JOIN (
    SELECT 'cas' AS template, '222101' AS parent, '22210105' AS code
    UNION ALL SELECT 'small_enterprise', '222101', '22210105'
    UNION ALL SELECT 'generic_en', '2300', '230009'
) t ON t.template = b.template
JOIN fin_accounts p ON p.company_id = b.company_id AND p.code = t.parent
WHERE NOT EXISTS (SELECT 1 FROM fin_accounts x WHERE x.company_id = b.company_id AND x.code = t.code);
