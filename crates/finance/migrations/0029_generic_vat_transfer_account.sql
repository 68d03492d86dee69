-- The generic English chart gains 230005 "Unpaid VAT transferred out", which the month-end
-- transfer of unpaid VAT debits (chart::Role::VatTransferredOut). Books set up on that chart
-- before it existed get it here, under 2300 as the template puts it; both Chinese charts had
-- their 22210104 from the start.
INSERT INTO fin_accounts (company_id, code, name_zh, name_en, class, normal_side, parent_id, created_at)
SELECT b.company_id, '230005', '转出未交增值税', 'Unpaid VAT transferred out', 'liability', 'credit', p.id, p.created_at
FROM fin_books b JOIN fin_accounts p ON p.company_id = b.company_id AND p.code = '2300'
WHERE b.template = 'generic_en'
AND NOT EXISTS (SELECT 1 FROM fin_accounts x WHERE x.company_id = b.company_id AND x.code = '230005');
