// The main flows in a real browser: sign in, switch language, search parties, create a
// party with a bad and then a good credit code, edit it and read its history; read the demo
// books, open a balance-sheet figure down to its vouchers and print the sheet; replenish stock that fell below its minimum; buy and sell notebooks through orders;
// move a pipeline card; post the month's payroll and print a payslip; refuse a bad month-end
// revaluation rate beside the form, then revalue; refuse an invoice line with a quantity in words
// on its row, then post the invoice; review the accountant's voucher, then post it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const shots = process.env.SCREENSHOTS ?? 'test-output/e2e';
let browser;
let page;

async function shot(name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
});

after(async () => {
  await browser?.close();
});

test('an administrator signs in', async () => {
  await page.goto(`${base}/parties`);
  assert.match(page.url(), /\/login\?next=/);
  await shot('01-login');
  await page.fill('#login', 'admin');
  await page.fill('#password', 'wrong-password-1');
  await page.click('button[type=submit].primary');
  assert.match(await page.textContent('.error'), /用户名或密码错误/);
  await page.fill('#password', 'zhongshu-demo');
  await page.click('button[type=submit].primary');
  await page.waitForURL(`${base}/parties`);
  assert.equal(await page.textContent('h1'), '往来单位');
  await shot('02-parties-zh');
});

test('the interface switches to English and back', async () => {
  await page.click('button[value=en]');
  await page.waitForSelector('html[lang=en]');
  assert.equal(await page.textContent('h1'), 'Parties');
  await shot('03-parties-en');
});

test('a search by name, then by role, narrows the list', async () => {
  await page.fill('#q', '北京');
  await page.click('form[role=search] button[type=submit]');
  const rows = await page.locator('table.list tbody tr').count();
  assert.ok(rows > 0, 'some Beijing parties in the demo data');
  for (const name of await page.locator('table.list tbody tr td:nth-child(2) a').allTextContents()) {
    assert.match(name, /北京/);
  }
  await page.selectOption('#role', 'supplier');
  await page.click('form[role=search] button[type=submit]');
  assert.match(page.url(), /role=supplier/);
  await shot('04-search');
});

test('a party with a bad credit code is refused next to the field, then saved with a good one', async () => {
  await page.goto(`${base}/parties/new`);
  await page.fill('#f-name', '深圳博达电子有限公司');
  await page.fill('#f-name_en', 'Shenzhen Boda Electronics Co., Ltd.');
  await page.fill('#f-credit_code', '911100001000006290');
  await page.fill('input[name=contact_value] >> nth=0', '13612345678');
  await page.click('button[type=submit].primary');
  const error = await page.textContent('.has-error .error');
  assert.match(error, /check character is wrong; it should be R/);
  await shot('05-bad-credit-code');
  await page.fill('#f-credit_code', '91110000100000629R');
  await page.click('button[type=submit].primary');
  await page.waitForURL(/\/parties\/\d+$/);
  assert.match(await page.textContent('.flash'), /Created/);
  assert.match(await page.textContent('dl.facts'), /91110000100000629R/);
  await shot('06-created');
});

test('an edit shows in the change history', async () => {
  await page.click('a.button.primary');
  await page.fill('#f-name', '深圳博达电子股份有限公司');
  await page.click('button[type=submit].primary');
  await page.waitForURL(/\/parties\/\d+$/);
  const history = await page.textContent('.history');
  assert.match(history, /深圳博达电子有限公司/);
  assert.match(history, /深圳博达电子股份有限公司/);
  await shot('07-history');
  await page.click('button[value="zh-CN"]');
  await page.waitForSelector('html[lang=zh-CN]');
  assert.match(await page.textContent('.history h2'), /变更历史/);
  await shot('08-history-zh');
});

test('the demo books show a balanced balance sheet and an invoice', async () => {
  await page.goto(`${base}/finance/reports/balance-sheet`);
  const rows = await page.locator('table.report tr.total').allTextContents();
  const assets = rows.find((r) => r.includes('资产总计'));
  const both = rows.find((r) => r.includes('负债和所有者权益总计'));
  assert.ok(assets && both, 'both totals are shown');
  const figure = (text) => text.replace(/\s+/g, ' ').trim().split(' ')[1];
  assert.equal(figure(assets), figure(both), 'the balance sheet balances');
  await shot('09-balance-sheet');
  // Printed, the sheet carries its form number, the company and the signature line.
  await page.emulateMedia({ media: 'print' });
  assert.ok(await page.locator('.form-number').isVisible(), 'the form number prints');
  assert.match(await page.textContent('.form-number'), /会企01表/);
  assert.ok(await page.locator('.signatures').isVisible(), 'the signature line prints');
  assert.ok(!(await page.locator('nav.menu').isVisible()), 'the menu does not print');
  await shot('09-balance-sheet-print');
  await page.emulateMedia({ media: 'screen' });
  // 货币资金 opens into its accounts, and an account into its vouchers.
  await page.click('table.report tbody tr:first-child td:nth-child(2) a');
  assert.match(page.url(), /statement-line\?statement=balance-sheet&line=cash/);
  assert.match(await page.textContent('#line-accounts'), /1002/);
  await shot('09-cash-drill-down');
  await page.click('#line-accounts a[href*="code=1002"]');
  assert.match(await page.textContent('table'), /(收|付|转|记)-\d{4}/);
  await page.goto(`${base}/finance/invoices`);
  await page.click('table.list tbody tr:first-child td:first-child a');
  assert.match(await page.textContent('.invoice'), /INV\/\d{4}\/\d{5}/);
  await shot('10-invoice');
});

test('the notebooks below their minimum are replenished from the moves page', async () => {
  await page.goto(`${base}/stock/replenishment`);
  const due = await page.locator('#replenishment tbody tr').allTextContents();
  const notebooks = due.find((r) => r.includes('NB-14'));
  assert.ok(notebooks, 'the demo notebooks start below their minimum');
  assert.match(notebooks, /40/);
  assert.match(notebooks, /现有 20，低于最低 25；补至最高 60/);
  await shot('11-replenishment');
  await page.goto(`${base}/stock/moves`);
  const product = await page.locator('#m-product option', { hasText: 'NB-14' }).getAttribute('value');
  await page.selectOption('#m-product', product);
  await page.fill('#m-qty', '100');
  await page.selectOption('#m-from', 'WH/STOCK');
  await page.selectOption('#m-to', 'CUSTOMER');
  await page.click('form[action="/stock/moves"] button[type=submit]');
  assert.match(await page.textContent('#m-qty + .error'), /库存不足/);
  assert.equal(await page.inputValue('#m-qty'), '100', 'what was typed stays');
  await shot('12-move-refused');
  await page.fill('#m-qty', '40');
  await page.selectOption('#m-from', 'SUPPLIER');
  await page.selectOption('#m-to', 'WH/STOCK');
  await page.fill('#m-cost', '4550');
  await page.click('form[action="/stock/moves"] button[type=submit]');
  await page.waitForURL(`${base}/stock/moves`);
  assert.match(await page.textContent('table.list tbody tr:first-child'), /NB-14/);
  await page.goto(`${base}/stock/replenishment`);
  assert.equal(await page.locator('#replenishment').count(), 0, 'nothing is below its minimum now');
  await shot('13-replenished');
});

test('a purchase order is confirmed, received and billed; a sales order is confirmed, delivered and invoiced', async () => {
  await page.goto(`${base}/purchase/orders`);
  const supplier = await page.locator('#o-supplier option').nth(1).getAttribute('value');
  await page.selectOption('#o-supplier', supplier);
  const notebook = await page.locator('#o-product-0 option', { hasText: 'NB-14' }).getAttribute('value');
  await page.selectOption('#o-product-0', notebook);
  await page.fill('#o-qty-0', '五');
  await page.fill('#o-price-0', '4550');
  await page.click('form[action="/purchase/orders"] button[type=submit]');
  assert.match(await page.textContent('#o-qty-0 + .error'), /数量|数字/);
  assert.equal(await page.inputValue('#o-qty-0'), '五', 'what was typed stays');
  await page.fill('#o-qty-0', '5');
  await page.click('form[action="/purchase/orders"] button[type=submit]');
  await page.waitForURL(/\/purchase\/orders\/\d+$/);
  await page.click('form[action$="/confirm"] button');
  assert.match(await page.textContent('#order-status'), /已确认/);
  await page.click('#receive button[type=submit]');
  assert.match(await page.textContent('#order-status'), /已收齐/);
  await page.click('#bill button[type=submit]');
  assert.match(await page.textContent('.flash'), /已过账/);
  await shot('14-purchase-order');

  await page.goto(`${base}/sales/orders`);
  const customer = await page.locator('#q-customer option').nth(1).getAttribute('value');
  await page.selectOption('#q-customer', customer);
  await page.selectOption('#q-product-0', notebook);
  await page.fill('#q-qty-0', '2');
  await page.click('form[action="/sales/orders"] button[type=submit]');
  await page.waitForURL(/\/sales\/orders\/\d+$/);
  await page.click('form[action$="/confirm"] button');
  assert.match(await page.textContent('.flash'), /预留/);
  await page.click('#deliver button[type=submit]');
  assert.match(await page.textContent('.delivery h2'), /DO\/\d{4}\/\d{5}/);
  await page.click('form[action$="/invoice"] button');
  assert.match(await page.textContent('#order-status'), /已完成/);
  await shot('15-sales-order');
  await page.goto(`${base}/sales/analysis`);
  assert.equal(await page.locator('svg.chart').count(), 1, 'the analysis draws its chart');
  await shot('16-sales-analysis');
});

test('a card moves across the pipeline, and its customer shows one timeline', async () => {
  await page.goto(`${base}/crm/pipeline`);
  assert.equal(await page.locator('.kanban-column').count(), 5, 'five stages');
  const card = page.locator('.kanban-column').first().locator('.kanban-card').first();
  const title = (await card.locator('strong').textContent()).trim();
  const target = await page.locator('.kanban-column').nth(2).getAttribute('data-stage');
  await card.locator('select[name=stage_id]').selectOption(target);
  await card.locator('form.kanban-move button').click();
  await page.waitForURL(/\/crm\/pipeline$/);
  assert.match(await page.locator('.kanban-column').nth(2).textContent(), new RegExp(title));
  await shot('17-pipeline');
  await page.locator('.kanban-column').nth(2).locator('.kanban-card a').first().click();
  await page.waitForURL(/\/crm\/opportunities\/\d+$/);
  await page.click('dl.facts a[href^="/crm/customers/"]');
  await page.waitForURL(/\/crm\/customers\/\d+$/);
  assert.ok(await page.locator('#timeline li').count() >= 1, 'the timeline has the opportunity at least');
  await shot('18-customer-360');
  await page.goto(`${base}/crm/leads`);
  assert.ok(await page.locator('table.list tbody tr').count() >= 10, 'the demo leads are listed');
  await shot('19-leads');
});

test("the current month's payroll is posted, and a payslip prints", async () => {
  await page.goto(`${base}/hr/headcount`);
  assert.equal(await page.locator('figure svg').count(), 1, 'the plan has its chart');
  await shot('20-headcount');
  await page.goto(`${base}/hr/payroll`);
  const draft = page.locator('table.list tbody tr', { hasText: '草稿' }).first();
  await draft.locator('a').click();
  await page.waitForURL(/\/hr\/payroll\/\d+$/);
  assert.ok(await page.locator('table.report tbody tr').count() >= 190, 'about 200 payslips');
  await page.click('button.primary[formaction$="/post"]');
  await page.waitForURL(/\/hr\/payroll\/\d+$/);
  assert.match(await page.textContent('dl.facts'), /已过账/);
  await shot('21-payroll-posted');
  await page.locator('table.report tbody tr a').first().click();
  await page.waitForURL(/\/hr\/payslips\/\d+$/);
  assert.match(await page.textContent('#net-pay'), /\d/);
  await shot('22-payslip');
});

test('a month-end revaluation with a bad rate is refused beside the form and keeps what was typed', async () => {
  await page.goto(`${base}/finance/periods`);
  const form = () => page.locator('form[action="/finance/periods/revalue"]');
  await form().locator('input[name="currency"]').first().fill('USD');
  await form().locator('input[name="rate"]').first().fill('-7');
  await Promise.all([page.waitForLoadState(), form().locator('button[type="submit"]').click()]);
  await page.waitForSelector('form[action="/finance/periods/revalue"] .error');
  assert.equal(await form().locator('input[name="currency"]').first().inputValue(), 'USD', 'the currency typed is kept');
  await shot('16-revaluation-refused');
  // The demo's customer abroad owes dollars and has paid some into the bank: at a good rate
  // the month's revaluation voucher is posted, its difference in financial expenses (6603).
  await form().locator('input[name="rate"]').first().fill('7.2');
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), form().locator('button[type="submit"]').click()]);
  assert.match(await page.textContent('body'), /6603/);
  assert.match(await page.textContent('body'), /USD/);
  await shot('16b-revaluation-posted');
});

test('an invoice line with a quantity in words is refused on its row, keeps what was typed, then posts', async () => {
  await page.goto(`${base}/finance/invoices/new`);
  const form = () => page.locator('form[action="/finance/invoices"]');
  const line = (name) => form().locator(`input[name="${name}"]`).first();
  await line('description').fill('办公椅');
  await line('quantity').fill('两把');
  await line('unit_price').fill('450.00');
  await form().locator('select[name="vat_rounding"]').selectOption('document');
  await Promise.all([page.waitForLoadState(), form().locator('button[value="true"]').click()]);
  await page.waitForSelector('tr.line-errors .error');
  assert.match(await page.textContent('tr.line-errors'), /两把/, 'the message names what was typed');
  assert.equal(await line('quantity').inputValue(), '两把', 'the quantity typed is kept');
  assert.equal(await line('description').inputValue(), '办公椅');
  assert.equal(await form().locator('select[name="vat_rounding"]').inputValue(), 'document', 'the rounding chosen is kept');
  await shot('17-invoice-line-refused');
  await line('quantity').fill('2');
  await Promise.all([page.waitForURL(/\/finance\/invoices\/\d+$/), form().locator('button[value="true"]').click()]);
  assert.match(await page.textContent('.invoice'), /INV\/\d{4}\/\d{5}/);
  assert.match(await page.textContent('.invoice'), /1,017\.00/, '2 × 450.00 with 13 % VAT');
});

test('costs by project show a column per month, a figure opens its vouchers, and the income statement shows one project alone', async () => {
  // Two calendar years hold the demo's twelve months, whatever month it is.
  const year = new Date().getFullYear();
  const range = `from=${year - 1}-01&to=${year}-12`;
  await page.goto(`${base}/finance/reports/cost-centers?dimension=project&${range}`);
  await page.waitForSelector('table.report tr.subtotal');
  assert.match(await page.textContent('table.report'), /ERP-ROLLOUT/, 'the system project runs from June to December');
  assert.equal(await page.locator('table.report thead th.num').count(), 25, 'a column per month and the total');
  await shot('23-costs-by-project');
  const figure = page.locator('table.report a[href*="project=ERP-ROLLOUT"]').first();
  await Promise.all([page.waitForURL(/\/finance\/reports\/account\?/), figure.click()]);
  assert.equal(await page.inputValue('#project'), 'ERP-ROLLOUT', 'the ledger is of the project');
  assert.ok(await page.locator('table.report tbody a[href^="/finance/entries/"]').count() > 0, 'its vouchers');
  await page.goto(`${base}/finance/reports/income-statement?${range}`);
  await page.selectOption('#slice', 'project:ERP-ROLLOUT');
  await Promise.all([page.waitForLoadState(), page.locator('form.toolbar button[type="submit"]').click()]);
  assert.match(page.url(), /slice=project%3AERP-ROLLOUT/);
  assert.match(await page.textContent('.report-sub'), /ERP-ROLLOUT/, 'the subtitle names the project');
  await shot('24-project-income-statement');
});

test("this year's budgets stand beside what each department spent, and a row's year is revised", async () => {
  const year = new Date().getFullYear();
  await page.goto(`${base}/finance/budgets?from=${year}-01&to=${year}-12`);
  await page.waitForSelector('table.budgets tr.subtotal');
  assert.ok(await page.locator('table.budgets tr[id^="budget-SAL-E-"]').count() > 0, 'the eastern sales group has a budget');
  await shot('25-budgets');
  const revise = page.locator('tr[id^="budget-SAL-E-"] a[href*="revise="]').first();
  await Promise.all([page.waitForURL(/revise=SAL-E/), revise.click()]);
  assert.equal(await page.inputValue('#b-code'), 'SAL-E', 'the form starts from the row');
  assert.notEqual(await page.inputValue('#b-annual'), '', "the year's amount, spread evenly, is filled in");
  assert.equal(await page.inputValue('#b-month-0'), '', 'and no month on its own');
  // The year's amount typed with letters O for zeros, the budget now to stop postings that
  // would overspend it: refused beside the amount, what was typed and chosen kept.
  await page.selectOption('#b-action', 'stop');
  await page.fill('#b-annual', '5,OOO,000.00');
  await Promise.all([page.waitForLoadState(), page.locator('#budget-form button[type="submit"]').click()]);
  assert.equal(await page.inputValue('#b-annual'), '5,OOO,000.00', 'the amount as typed');
  assert.equal(await page.inputValue('#b-action'), 'stop', 'the action as chosen');
  assert.equal(await page.locator('#b-annual ~ p.error').count(), 1, 'the reason beside it');
  await shot('26-budget-refused');
  await page.fill('#b-annual', '5000000.00');
  await Promise.all([page.waitForURL(/\/finance\/budgets\?dimension=cost_center/), page.locator('#budget-form button[type="submit"]').click()]);
  const revised = await page.textContent('tr[id^="budget-SAL-E-"]');
  assert.match(revised, /5,000,000\.00/, 'the new budget is shown');
  assert.match(revised, /禁止过账/, 'and that it stops an overspending posting');
});

test('an export invoice is written in dollars at the rate table\'s rate, and a receipt at another day\'s rate books the exchange difference', async () => {
  // The bank's dollar rate of the day goes into the rate table first; typed with a comma, it
  // is refused beside the field.
  await page.goto(`${base}/finance/rates`);
  const rates = () => page.locator('form[action="/finance/rates"][method="post"]');
  await rates().locator('select[name="currency"]').selectOption('USD');
  await rates().locator('#rate').fill('7,1');
  await Promise.all([page.waitForLoadState(), rates().locator('button[type="submit"]').click()]);
  await page.waitForSelector('#rate ~ p.error');
  await rates().locator('#rate').fill('7.1');
  await Promise.all([page.waitForURL(/\/finance\/rates\?currency=USD$/), rates().locator('button[type="submit"]').click()]);
  const inForce = await page.locator('#rates-in-force tbody tr').first().locator('td').allTextContents();
  assert.deepEqual(inForce.slice(0, 2), ['USD', '7.1'], 'the rate is in force today');
  await shot('27-rate-table');
  await page.goto(`${base}/finance/invoices/new`);
  const form = () => page.locator('form[action="/finance/invoices"]');
  const line = (name) => form().locator(`input[name="${name}"]`).first();
  await form().locator('select[name="party_id"]').selectOption({ label: 'Pacific Home Goods Inc.' });
  await form().locator('select[name="currency"]').selectOption('USD');
  await line('description').fill('LED desk lamp DL-20');
  await line('quantity').fill('500');
  await line('unit_price').fill('12.40');
  await form().locator('select[name="vat_rate"]').first().selectOption('0');
  // A rate in words is refused beside it, the dollars still chosen.
  await form().locator('#rate').fill('seven');
  await Promise.all([page.waitForLoadState(), form().locator('button[value="true"]').click()]);
  await page.waitForSelector('#rate ~ p.error');
  assert.equal(await form().locator('select[name="currency"]').inputValue(), 'USD', 'the currency chosen is kept');
  // Left empty, the rate is the table's of the day.
  await form().locator('#rate').fill('');
  await Promise.all([page.waitForURL(/\/finance\/invoices\/\d+$/), form().locator('button[value="true"]').click()]);
  const invoice = await page.textContent('.invoice');
  assert.match(invoice, /USD @ 7\.1/);
  assert.match(invoice, /6,200\.00/, 'the invoice in dollars');
  assert.match(invoice, /44,020\.00/, 'and in the ledger in yuan');
  await shot('28-dollar-invoice');
  // The customer pays USD 2,000.00 when the dollar stands at 7.15.
  const pay = page.locator('form[action$="/pay"]');
  await pay.locator('input[name="amount"]').fill('2,000.00');
  await pay.locator('input[name="rate"]').fill('7.15');
  await Promise.all([page.waitForURL(/\/finance\/invoices\/\d+$/), pay.locator('button[type="submit"]').click()]);
  assert.match(await page.textContent('.invoice'), /4,200\.00|部分/, 'USD 4,200.00 still open');
  assert.equal(await pay.locator('input[name="amount"]').inputValue(), '4,200.00', 'the next receipt starts from what is open');
  await shot('29-dollar-invoice-part-paid');
});

test('a figure of the receivable ageing opens the invoices behind it', async () => {
  await page.goto(`${base}/finance/reports/ageing?kind=receivable`);
  const total = page.locator('table.report tbody tr[id^="party-"] td:last-child a').first();
  const figure = (await total.textContent()).trim();
  await Promise.all([page.waitForURL(/party_id=\d+/), total.click()]);
  await page.waitForSelector('#documents');
  assert.ok(await page.locator('#documents tbody tr:not(.total)').count() > 0, 'the open invoices are listed');
  assert.equal((await page.locator('#documents tr.total th.num').textContent()).trim(), figure, 'and add up to the figure');
  await shot('30-ageing-documents');
});

test("this month's VAT return adds up the invoices by rate, its unpaid VAT is transferred and its surtaxes accrued", async () => {
  await page.goto(`${base}/finance/reports/vat`);
  await page.waitForSelector('#vat-computation');
  assert.ok(await page.locator('#vat-sales tbody tr:not(.total)').count() > 0, 'the sales schedule has its rates');
  assert.equal(await page.locator('#vat-surtaxes tbody tr:not(.total)').count(), 3, 'three surtaxes on the VAT');
  assert.match(await page.textContent('#vat-sales'), /5%（简易计税）/, "the warehouse's rent under the simplified method");
  assert.equal(await page.locator('#vat-simplified').count(), 1, 'its tax beside the general method');
  await shot('31-vat-return');
  const transfer = page.locator('#vat-transfer button');
  if (await transfer.isEnabled()) {
    await Promise.all([page.waitForURL(/\/finance\/reports\/vat\?/), transfer.click()]);
    // Reports leave a zero blank.
    assert.equal((await page.textContent('#vat-to-transfer td.num')).trim(), '', 'nothing left to transfer');
    assert.equal(await page.locator('#tax-payment').count(), 0, 'a month is paid once it has ended');
    await shot('32-vat-transferred');
  } else {
    assert.notEqual((await page.textContent('#vat-carried-forward td.num')).trim(), '0.00', 'a credit is carried forward instead');
  }
  // Last month's taxes were paid by the demo on this month's 15th (or today, if earlier):
  // its payment form owes nothing.
  const previous = await page.evaluate(() => {
    const d = new Date(Date.now() + 8 * 3600 * 1000);
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() - 1);
    return d.toISOString().slice(0, 7);
  });
  await page.goto(`${base}/finance/reports/vat?from=${previous}&to=${previous}`);
  assert.equal((await page.textContent('#tax-owed')).trim(), '', `the taxes of ${previous} are paid`);
});

test("the year's cash flow statement ends at the cash in the ledger, and a figure opens its accounts", async () => {
  await page.goto(`${base}/finance/reports/cash-flow`);
  await page.waitForSelector('#cash-flow');
  const closing = (await page.textContent('#cf-closing td.num')).trim();
  assert.match(closing, /^[\d,]+\.\d\d$/, 'the demo company ends the months with cash');
  await shot('33-cash-flow');
  await Promise.all([page.waitForURL(/line=op_in_sales/), page.click('#cf-op_in_sales td.num a')]);
  assert.ok(await page.locator('#accounts + table tbody tr').count() > 0, 'sales receipts come from the receivables');
  assert.match(await page.textContent('#accounts + table'), /1122/);
});

test("this month's bank statement is mostly matched, and the bank's fee is booked from its line into a draft that awaits its review", async () => {
  await page.goto(`${base}/finance/bank`);
  const fee = page.locator('tr', { hasText: '账户管理费及手续费' });
  await fee.locator('input[name="account"]').fill('6603');
  await shot('34-bank-before-booking');
  // The demo books are reviewed, and no one reviews their own voucher: booking opens a draft.
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), fee.locator('form.book button').click()]);
  await page.waitForSelector('#awaits-review');
  await page.goto(`${base}/finance/bank`);
  const waiting = page.locator('tr', { hasText: '账户管理费及手续费' });
  assert.equal(await waiting.locator('a.waiting-draft').count(), 1, 'the line names the draft it waits for');
  assert.equal(await waiting.locator('form.book').count(), 0, 'and is not booked a second time');
  assert.ok(await page.locator('td[id^="line-"] a[href^="/finance/entries/"]').count() > 1, 'lines matched with their vouchers link to them');
});

test("the accountant's depreciation voucher waits for its review, is reviewed, then posted, and its foot names who signed it; its reversal waits for a review too", async () => {
  await page.goto(`${base}/finance/entries`);
  const row = page.locator('table.list tbody tr', { hasText: '计提本月办公设备折旧' });
  assert.equal(await row.locator('.tag.reviewed').count(), 0, 'not reviewed yet');
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), row.locator('a[href^="/finance/entries/"]').click()]);
  await page.waitForSelector('#awaits-review');
  assert.equal(await page.locator('form[action$="/post"]').count(), 0, 'nothing to post before the review');
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), page.click('#review button[type=submit]')]);
  assert.equal(await page.locator('#awaits-review').count(), 0, 'reviewed');
  await shot('35-voucher-reviewed');
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), page.click('form[action$="/post"] button[type=submit]')]);
  assert.match(await page.textContent('h1'), /记-\d{4}/, 'posted under its number');
  const signatures = await page.textContent('#signatures');
  assert.match(signatures, /制单: 陈静/, 'prepared by the accountant');
  assert.doesNotMatch(signatures, /审核:\s*·/, 'and signed by its reviewer');
  await shot('36-voucher-posted');
  // Reversed, its red-ink reversal is a draft that waits for a review of its own, and whoever
  // reversed it may not give that review.
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), page.click('form[action$="/reverse"] button[type=submit]')]);
  await page.waitForSelector('#awaits-review');
  assert.match(await page.textContent('dl.facts'), /红字冲销/, 'a reversal');
  assert.equal(await page.locator('#review button[type=submit]').count(), 0, 'not reviewed by its preparer');
  await shot('37-reversal-awaits-review');
});

test("the travel claim paid from petty cash waits on the cashier's worklist, is signed by the cashier and reviewed, then posted", async () => {
  await page.goto(`${base}/finance/entries?stage=awaiting_cashier`);
  const row = page.locator('table.list tbody tr', { hasText: '报销差旅费（现金）' });
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), row.locator('a[href^="/finance/entries/"]').click()]);
  await page.waitForSelector('#awaits-cashier');
  assert.equal(await page.locator('form[action$="/post"]').count(), 0, 'nothing to post before the signatures');
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), page.click('#cashier button[type=submit]')]);
  assert.equal(await page.locator('#awaits-cashier').count(), 0, 'signed by the cashier');
  assert.match(await page.textContent('dl.facts'), /出纳已签字/);
  await shot('38-cashier-signed');
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), page.click('#review button[type=submit]')]);
  await Promise.all([page.waitForURL(/\/finance\/entries\/\d+$/), page.click('form[action$="/post"] button[type=submit]')]);
  assert.match(await page.textContent('h1'), /付-\d{4}/, 'posted under its number');
  assert.match(await page.textContent('#signatures'), /出纳: 系统管理员/, "the cashier's signature at its foot");
  await shot('39-cash-voucher-posted');
});

test("the bank journal lists this month's bank lines day by day, each day and the month with its totals", async () => {
  await page.goto(`${base}/finance/reports/cash-journal`);
  await page.waitForSelector('#journal');
  assert.ok(await page.locator('#journal tr.subtotal').count() > 0, 'the days have their totals');
  assert.match(await page.textContent('#journal-opening'), /期初余额|Opening/);
  assert.ok(await page.locator('#journal td code').count() > 0, 'lines name their counter accounts');
  assert.equal(await page.locator('#journal tr.month-total').count(), 1, "this month's total");
  await shot('40-bank-journal');
});
