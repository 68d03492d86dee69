//! Demo data: a company with users in several roles and a realistic address book of
//! Chinese companies and persons (names in Chinese and English, valid credit codes and
//! resident IDs, mobiles, addresses), generated deterministically so every demo looks the
//! same. `--scale N` makes N × 300 parties (scale 334 gives the 100k of the benchmarks).

use chrono::Datelike;
use db::{Actor, Db, Result, RowExt};
use finance::dimensions::Dimension;
use kernel::identifiers::{credit_code_check_char, resident_id_check_char};
use party::domain::{self, Address, Contact, PartyForm};

use web::accounts::{self, UserForm};

/// The password of every demo user (the administrator's too, unless set in the environment).
pub const DEMO_PASSWORD: &str = "zhongshu-demo";

/// Demo users: login, name, role, team, department.
pub const DEMO_USERS: &[(&str, &str, &str, &str, &str)] = &[
    ("wang.fang", "王芳 Wang Fang", "sales_rep", "east", "sales"),
    ("li.qiang", "李强 Li Qiang", "sales_rep", "west", "sales"),
    ("zhao.min", "赵敏 Zhao Min", "sales_manager", "east", "sales"),
    ("chen.jing", "陈静 Chen Jing", "accountant", "", "finance"),
    ("qian.hui", "钱慧 Qian Hui", "chief_accountant", "", "finance"),
    ("wu.xia", "吴霞 Wu Xia", "cashier", "", "finance"),
    ("liu.yang", "刘洋 Liu Yang", "hr_officer", "", "hr"),
    ("sun.li", "孙丽 Sun Li", "auditor", "", "audit"),
    ("zhou.tao", "周涛 Zhou Tao", "user_admin", "", "it"),
    ("he.li", "何丽 He Li", "service_agent", "service", "service"),
];

const SURNAMES: &[(&str, &str)] = &[
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
];
const GIVEN: &[(&str, &str)] = &[
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("磊", "Lei"),
    ("洋", "Yang"),
    ("艳", "Yan"),
    ("勇", "Yong"),
    ("军", "Jun"),
    ("杰", "Jie"),
    ("娟", "Juan"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("秀英", "Xiuying"),
    ("建华", "Jianhua"),
    ("志强", "Zhiqiang"),
];
const CITIES: &[(&str, &str, &str, &str, &str)] = &[
    ("北京", "Beijing", "北京市", "朝阳区", "110105"),
    ("上海", "Shanghai", "上海市", "浦东新区", "310115"),
    ("广州", "Guangzhou", "广东省", "天河区", "440106"),
    ("深圳", "Shenzhen", "广东省", "南山区", "440305"),
    ("杭州", "Hangzhou", "浙江省", "西湖区", "330106"),
    ("成都", "Chengdu", "四川省", "武侯区", "510107"),
    ("武汉", "Wuhan", "湖北省", "洪山区", "420111"),
    ("西安", "Xi'an", "陕西省", "雁塔区", "610113"),
    ("南京", "Nanjing", "江苏省", "鼓楼区", "320106"),
    ("福州", "Fuzhou", "福建省", "鼓楼区", "350102"),
];
const WORDS: &[(&str, &str)] = &[
    ("华信", "Huaxin"),
    ("宏远", "Hongyuan"),
    ("恒通", "Hengtong"),
    ("瑞丰", "Ruifeng"),
    ("金桥", "Jinqiao"),
    ("新元", "Xinyuan"),
    ("天成", "Tiancheng"),
    ("博达", "Boda"),
    ("安泰", "Antai"),
    ("鼎盛", "Dingsheng"),
    ("云海", "Yunhai"),
    ("启明", "Qiming"),
];
const TRADES: &[(&str, &str)] = &[
    ("科技", "Technology"),
    ("贸易", "Trading"),
    ("医疗器械", "Medical Devices"),
    ("物流", "Logistics"),
    ("食品", "Foods"),
    ("机械", "Machinery"),
    ("电子", "Electronics"),
    ("化工", "Chemicals"),
    ("建材", "Building Materials"),
    ("软件", "Software"),
];
const STREETS: &[&str] = &["建国路", "人民路", "中山路", "解放大道", "科技园南路", "滨江大道", "长安街", "文三路"];
const TAGS: &[&str] = &["重点客户", "VIP", "新客户", "战略供应商", "华东", "华南", "待跟进"];

/// A small deterministic generator, so the demo is the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() as usize) % items.len()]
    }
}

fn credit_code(rng: &mut Lcg, region: &str) -> String {
    let body: String = (0..9).map(|_| char::from(b'0' + (rng.next() % 10) as u8)).collect();
    let first17 = format!("91{region}{body}");
    let check = credit_code_check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

fn resident_id(rng: &mut Lcg, region: &str) -> String {
    let year = 1960 + rng.next() % 40;
    let month = 1 + rng.next() % 12;
    let day = 1 + rng.next() % 28;
    let seq = rng.next() % 1000;
    let first17 = format!("{region}{year}{month:02}{day:02}{seq:03}");
    let check = resident_id_check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// A demo party form for index `i`.
fn party_form(rng: &mut Lcg, i: u64) -> PartyForm {
    let (city, city_en, province, district, region) = *rng.pick(CITIES);
    let street = format!("{}{}号", rng.pick(STREETS), 1 + rng.next() % 300);
    let mobile = format!("1{}{:09}", [3, 5, 7, 8, 9][(rng.next() % 5) as usize], rng.next() % 1_000_000_000);
    let mut tags = Vec::new();
    if rng.next().is_multiple_of(3) {
        tags.push(rng.pick(TAGS).to_string());
    }
    let address = Address {
        kind: "office".into(),
        country: "CN".into(),
        province: province.into(),
        city: city.into(),
        district: district.into(),
        street,
        postcode: format!("{}00", &region[..4]),
    };
    if i.is_multiple_of(3) {
        let (surname, surname_en) = *rng.pick(SURNAMES);
        let (given, given_en) = *rng.pick(GIVEN);
        let roles = match rng.next() % 4 {
            0 => vec!["patient".to_string()],
            1 => vec!["employee".to_string()],
            2 => vec!["candidate".to_string()],
            _ => vec!["customer".to_string()],
        };
        let id_number =
            if roles[0] == "patient" || roles[0] == "employee" { Some(resident_id(rng, region)) } else { None };
        PartyForm {
            kind: "person".into(),
            name: format!("{surname}{given}"),
            name_en: Some(format!("{given_en} {surname_en}")),
            id_number,
            roles,
            tags,
            contacts: vec![
                Contact { kind: "mobile".into(), value: mobile, label: String::new() },
                Contact {
                    kind: "email".into(),
                    value: format!("{}.{}{}@example.cn", given_en.to_lowercase(), surname_en.to_lowercase(), i),
                    label: String::new(),
                },
            ],
            addresses: vec![Address { kind: "home".into(), ..address }],
            ..Default::default()
        }
    } else {
        let (word, word_en) = *rng.pick(WORDS);
        let (trade, trade_en) = *rng.pick(TRADES);
        let roles = match rng.next() % 5 {
            0 => vec!["supplier".to_string()],
            1 => vec!["customer".to_string(), "supplier".to_string()],
            _ => vec!["customer".to_string()],
        };
        PartyForm {
            kind: "organization".into(),
            name: format!("{city}{word}{trade}有限公司（{i}）"),
            name_en: Some(format!("{city_en} {word_en} {trade_en} Co., Ltd. ({i})")),
            credit_code: Some(credit_code(rng, region)),
            roles,
            tags,
            contacts: vec![
                Contact { kind: "mobile".into(), value: mobile, label: "联系人".into() },
                Contact {
                    kind: "phone".into(),
                    value: format!("0{}-{}", 10 + rng.next() % 80, 60000000 + rng.next() % 39999999),
                    label: "总机".into(),
                },
            ],
            addresses: vec![address],
            notes: String::new(),
            ..Default::default()
        }
    }
}

/// Creates the demo users (if missing) and `300 × scale` parties owned by the sales reps and
/// the manager, in transactions of 500 parties, each party with its audit row and event.
pub async fn seed(db: &Db, company_id: i64, scale: u64) -> Result<u64> {
    let mut owners = Vec::new();
    for (login, name, role, team, department) in DEMO_USERS {
        let existing =
            sqlx::query("SELECT id FROM users WHERE login = $1").bind(*login).fetch_optional(db.reader()).await?;
        let id: i64 = match existing {
            Some(row) => row.try_get("id")?,
            None => {
                let mut tx = db.begin(Actor::system()).await?;
                let form = UserForm {
                    login: login.to_string(),
                    display_name: name.to_string(),
                    email: Some(format!("{login}@zhongshu.example.cn")),
                    password: DEMO_PASSWORD.into(),
                    team: Some(team.to_string()),
                    department: Some(department.to_string()),
                    roles: vec![role.to_string()],
                    lang: Some(if login.len() % 2 == 0 { "en" } else { "zh-CN" }.into()),
                    ..Default::default()
                };
                let id = accounts::create_user(&mut tx, company_id, &form).await?;
                tx.commit().await?;
                id
            }
        };
        if role.starts_with("sales") {
            owners.push((id, login.to_string()));
        }
    }
    let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM parties WHERE company_id = $1")
        .bind(company_id)
        .fetch_one(db.reader())
        .await?
        .try_get("n")?;
    let target = 300 * scale;
    let mut rng = Lcg(20261126 + existing as u64);
    let mut made = 0u64;
    while (existing as u64) + made < target {
        let batch = (target - existing as u64 - made).min(500);
        let (owner_id, owner_login) = owners[(made / 500) as usize % owners.len()].clone();
        let mut tx = db.begin(Actor::user(owner_id, owner_login, company_id)).await?;
        for _ in 0..batch {
            let i = existing as u64 + made;
            let input = domain::validate(&party_form(&mut rng, i))?;
            party::service::record_new(&mut tx, company_id, &input, Some(owner_id)).await?;
            made += 1;
        }
        tx.commit().await?;
    }
    Ok(made)
}

/// The demo pipeline and service desk: lead assignment rules (web enquiries to the east team, referrals to the
/// west), forty leads in every state from the website, referrals, a trade fair and an import,
/// some converted into customers and opportunities; sixty opportunities with the reps' own
/// customers across the stages, some won or lost; calls, meetings and notes on them, and open
/// tasks (a few overdue). Skipped when the company has leads already.
pub async fn seed_crm(db: &Db, company_id: i64) -> Result<usize> {
    let any = sqlx::query("SELECT 1 FROM crm_leads WHERE company_id = $1 LIMIT 1")
        .bind(company_id)
        .fetch_optional(db.reader())
        .await?;
    if any.is_some() {
        return Ok(0);
    }
    let admin = web::accounts::find_user_id(db, "admin").await?;
    let admin_principal = web::accounts::load_principal(db, admin, company_id).await?;
    let today = (db.clock().now() + chrono::Duration::hours(8)).date_naive();
    let mut tx = db.begin(Actor::user(admin, "admin", company_id)).await?;
    for (source, team) in [("web", "east"), ("referral", "west"), ("", "east")] {
        let form = crm::service::RuleForm { source: source.into(), region: String::new(), team: team.into() };
        crm::service::add_rule(&mut tx, &admin_principal, &form).await?;
    }
    crm::service::ensure_stages(&mut tx, company_id).await?;
    // Segments over the demo's real data, and the two campaigns its leads name.
    let vip = crm::marketing::SegmentForm { name: "VIP 客户".into(), tag: "VIP".into(), ..Default::default() };
    let vip = crm::marketing::create_segment(&mut tx, &admin_principal, &vip).await?;
    let big = crm::marketing::SegmentForm {
        name: "近一年消费十万以上".into(),
        min_spend_12m: "100000.00".into(),
        ..Default::default()
    };
    crm::marketing::create_segment(&mut tx, &admin_principal, &big).await?;
    let year = chrono::Datelike::year(&today);
    for (code, name, channel, budget, segment) in [
        ("spring-2026", "春季新品推广", "wechat", "30000.00", None),
        ("expo-2026", "华南电子展", "event", "80000.00", Some(vip)),
    ] {
        let form = crm::marketing::CampaignForm {
            code: code.into(),
            name: name.into(),
            channel: channel.into(),
            budget: budget.into(),
            start_date: format!("{year}-01-01"),
            end_date: format!("{year}-12-31"),
            segment_id: segment,
        };
        let id = crm::marketing::create_campaign(&mut tx, &admin_principal, &form).await?;
        crm::marketing::launch(&mut tx, &admin_principal, id, today).await?;
    }
    tx.commit().await?;
    let wang = web::accounts::find_user_id(db, "wang.fang").await?;
    let served: Vec<i64> = sqlx::query(
        "SELECT p.id FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'customer' WHERE p.company_id = $1 AND p.owner_id = $2 ORDER BY p.id LIMIT 12",
    )
    .bind(company_id)
    .bind(wang)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<std::result::Result<_, _>>()?;
    let tickets = seed_service(db, company_id, admin, &served).await?;
    let stages: Vec<i64> =
        crm::service::stages(&mut db.read_conn().await?, company_id).await?.iter().map(|s| s.id).collect();
    let mut rng = Lcg(5_200_314);
    let mut made = tickets;
    for (login, leads, deals) in [("wang.fang", 24u64, 45u64), ("li.qiang", 16, 15)] {
        let user = web::accounts::find_user_id(db, login).await?;
        let principal = web::accounts::load_principal(db, user, company_id).await?;
        let actor = || Actor::user(user, login, company_id);
        // Leads: half from the web (the east team's rule), the rest referrals, a fair, an import.
        for i in 0..leads {
            let (surname, _) = rng.pick(SURNAMES);
            let (given, _) = rng.pick(GIVEN);
            let (city, _, _, _, _) = rng.pick(CITIES);
            let source = ["web", "referral", "event", "import"][(i % 4) as usize];
            let form = crm::domain::LeadForm {
                name: format!("{surname}{given}"),
                organization: if i % 3 == 0 {
                    String::new()
                } else {
                    format!("{city}{}科技有限公司", rng.pick(WORDS).0)
                },
                mobile: format!("139{:08}", 10_000_000 + rng.next() % 89_999_999),
                region: city.to_string(),
                source: source.into(),
                campaign: if i % 2 == 0 { "spring-2026".into() } else { "expo-2026".into() },
                message: "希望了解服务器与终端的批量采购方案".into(),
                ..Default::default()
            };
            let mut tx = db.begin(actor()).await?;
            let id = crm::service::record_lead(&mut tx, company_id, &form, Some(user)).await?;
            match i % 5 {
                1 => crm::service::qualify(&mut tx, &principal, id).await?,
                2 => crm::service::lose_lead(&mut tx, &principal, id, "无预算").await?,
                3 | 4 => {
                    let convert = crm::service::ConvertForm {
                        party_id: None,
                        title: String::new(),
                        expected_revenue: format!("{}.00", 20_000 + rng.next() % 180_000),
                        close_date: (today + chrono::Duration::days((10 + rng.next() % 80) as i64)).to_string(),
                    };
                    crm::service::convert(&mut tx, &principal, id, &convert).await?;
                }
                _ => {}
            }
            tx.commit().await?;
            made += 1;
        }
        // Opportunities with the rep's own customers.
        let customers: Vec<i64> = sqlx::query(
            "SELECT p.id FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'customer' \
             WHERE p.company_id = $1 AND p.owner_id = $2 ORDER BY p.id LIMIT 100",
        )
        .bind(company_id)
        .bind(user)
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
        if customers.is_empty() {
            continue;
        }
        for i in 0..deals {
            let party = customers[(rng.next() as usize) % customers.len()];
            let stage = stages[(i as usize) % (stages.len() - 1)];
            let form = crm::service::OpportunityForm {
                title: rng
                    .pick(&["服务器扩容", "办公终端更新", "网络改造", "软件许可续订", "数据中心建设", "安装调试服务"])
                    .to_string(),
                party_id: party,
                expected_revenue: format!("{}.00", 10_000 + rng.next() % 490_000),
                close_date: (today + chrono::Duration::days((rng.next() % 120) as i64 - 15)).to_string(),
                stage_id: Some(stage),
            };
            let mut tx = db.begin(actor()).await?;
            let id = crm::service::create_opportunity(&mut tx, &principal, &form).await?;
            let call = crm::service::ActivityForm {
                kind: ["call", "meeting", "email", "note"][(i % 4) as usize].into(),
                subject: rng.pick(&["沟通需求", "演示方案", "发送报价说明", "确认预算与时间"]).to_string(),
                opportunity_id: Some(id),
                ..Default::default()
            };
            crm::service::log_activity(&mut tx, &principal, &call).await?;
            if i % 3 == 0 {
                let task = crm::service::ActivityForm {
                    kind: "task".into(),
                    subject: "回访客户，确认下一步".into(),
                    opportunity_id: Some(id),
                    due_date: (today + chrono::Duration::days((rng.next() % 14) as i64 - 4)).to_string(),
                    ..Default::default()
                };
                crm::service::log_activity(&mut tx, &principal, &task).await?;
            }
            match i % 9 {
                7 => crm::service::win(&mut tx, &principal, id).await?,
                8 => crm::service::lose(&mut tx, &principal, id, "竞争对手").await?,
                _ => {}
            }
            tx.commit().await?;
            made += 1;
        }
    }
    Ok(made)
}

/// The demo service desk: a dozen tickets from the reps' customers in every state, the agent
/// 何丽 assigned, replies given, the resolved ones surveyed and most surveys answered. Runs
/// with the pipeline (skipped when tickets exist).
async fn seed_service(db: &Db, company_id: i64, admin: i64, customers: &[i64]) -> Result<usize> {
    let any = sqlx::query("SELECT 1 FROM crm_tickets WHERE company_id = $1 LIMIT 1")
        .bind(company_id)
        .fetch_optional(db.reader())
        .await?;
    if any.is_some() || customers.is_empty() {
        return Ok(0);
    }
    let principal = web::accounts::load_principal(db, admin, company_id).await?;
    let agent = web::accounts::find_user_id(db, "he.li").await?;
    let subjects = [
        ("服务器无法开机", "repair", "high"),
        ("发票抬头需要更正", "question", "normal"),
        ("交换机端口频繁掉线", "fault", "urgent"),
        ("到货外箱破损", "delivery", "normal"),
        ("软件许可激活失败", "fault", "high"),
        ("对安装时间不满意", "complaint", "low"),
    ];
    let mut made = 0;
    for i in 0..12usize {
        let (subject, category, priority) = subjects[i % subjects.len()];
        let form = crm::service_desk::TicketForm {
            party_id: Some(customers[i % customers.len()]),
            subject: subject.into(),
            description: "客户来电反映，需跟进处理。".into(),
            category: category.into(),
            priority: priority.into(),
            ..Default::default()
        };
        let mut tx = db.begin(Actor::user(admin, "admin", company_id)).await?;
        let id = crm::service_desk::create_ticket(&mut tx, &principal, &form, "staff").await?;
        if i % 4 != 0 {
            crm::service_desk::assign(&mut tx, &principal, id, agent).await?;
            crm::service_desk::reply(&mut tx, &principal, id, "已收到，工程师正在处理。").await?;
        }
        let survey =
            if i % 3 == 1 { crm::service_desk::set_status(&mut tx, &principal, id, "resolved").await? } else { None };
        tx.commit().await?;
        if let (Some(token), true) = (survey, i % 2 == 1) {
            let mut tx =
                db.begin(Actor { user_id: None, login: "survey".into(), company_id: Some(company_id) }).await?;
            let answer = crm::service_desk::Answer {
                csat: (4 + i % 2).to_string(),
                nps: (7 + i % 4).to_string(),
                comment: "处理及时".into(),
            };
            crm::service_desk::answer(&mut tx, &token, &answer).await?;
            tx.commit().await?;
        }
        made += 1;
    }
    Ok(made)
}

/// The demo's reorder rule of a named product, (minimum, maximum). Notebooks sell fast: the
/// year ends with them below their minimum, so the replenishment list has a line to show.
fn reorder_rule(code: &str) -> (&'static str, &'static str) {
    match code {
        "NB-14" => ("25", "60"),
        "CBL-C" => ("120", "600"),
        _ => ("5", "30"),
    }
}

/// How many generated accessories the demo catalog adds to its named products.
pub const ACCESSORIES: u64 = 200;

/// The demo catalog: the products the demo company trades in and a few hundred accessories, each
/// with a preferred supplier, and a warehouse with reorder rules.
pub async fn seed_catalog(db: &Db, company_id: i64) -> Result<usize> {
    let any = sqlx::query("SELECT 1 FROM cat_products WHERE company_id = $1 LIMIT 1")
        .bind(company_id)
        .fetch_optional(db.reader())
        .await?;
    if any.is_some() {
        return Ok(0);
    }
    let admin = web::accounts::find_user_id(db, "admin").await?;
    let principal = web::accounts::load_principal(db, admin, company_id).await?;
    let supplier: Option<i64> = sqlx::query(
        "SELECT p.id FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'supplier' WHERE p.company_id = $1 ORDER BY p.id LIMIT 1",
    )
    .bind(company_id)
    .fetch_optional(db.reader())
    .await?
    .map(|r| r.try_get("id"))
    .transpose()?;
    let products = [
        ("SRV-R750", "服务器 R750", "Server R750", "服务器", "28000.00", "19600.00", "pc", "13"),
        ("SW-24G", "24 口千兆交换机", "24-port gigabit switch", "网络设备", "4500.00", "3150.00", "pc", "13"),
        ("NB-14", "14 英寸笔记本电脑", "14-inch notebook", "终端", "6500.00", "4550.00", "pc", "13"),
        ("CBL-C", "USB-C 数据线", "USB-C cable", "配件", "39.00", "300.00", "box12", "13"),
        ("SVC-INSTALL", "安装调试服务", "Installation service", "服务", "1200.00", "", "h", "6"),
        ("LIC-OFFICE", "办公软件许可", "Office software licence", "软件", "3000.00", "2100.00", "pc", "13"),
    ];
    let mut tx = db.begin(Actor::user(admin, "admin", company_id)).await?;
    let mut goods = Vec::new();
    for (code, name, name_en, category, price, cost, purchase_uom, vat) in products {
        let kind = if code.starts_with("SVC") { "service" } else { "goods" };
        let form = catalog::domain::ProductForm {
            code: code.into(),
            name: name.into(),
            name_en: name_en.into(),
            category: category.into(),
            kind: kind.into(),
            uom: if kind == "service" { "h".into() } else { "pc".into() },
            purchase_uom: purchase_uom.into(),
            sales_uom: if kind == "service" { "h".into() } else { "pc".into() },
            vat_rate: vat.into(),
            costing: "moving_average".into(),
            sale_price: price.into(),
            ..Default::default()
        };
        let id = catalog::service::create_product(&mut tx, &principal, &form).await?;
        if let (Some(party_id), false) = (supplier, cost.is_empty()) {
            let supplier_form = catalog::service::SupplierForm {
                party_id,
                price: cost.into(),
                lead_days: 7,
                preferred: true,
                ..Default::default()
            };
            catalog::service::set_supplier(&mut tx, &principal, id, &supplier_form).await?;
        }
        if kind == "goods" {
            // The supplier's price is per purchase unit; stock is valued per stock unit.
            let per_unit = if purchase_uom == "box12" { "25.00" } else { cost };
            goods.push((id, code, per_unit));
        }
    }
    // A few hundred accessories from the same supplier, so lists and reports have volume.
    let mut rng = Lcg(4_550);
    for i in 1..=ACCESSORIES {
        let cost = 500 + (rng.next() % 40_000) as i64;
        let form = catalog::domain::ProductForm {
            code: format!("ACC-{i:03}"),
            name: format!(
                "{}{i:03}",
                rng.pick(&["电源适配器 ", "扩展坞 ", "鼠标 ", "键盘 ", "网线 ", "硬盘 ", "内存条 ", "显示器支架 "])
            ),
            name_en: format!("Accessory {i:03}"),
            category: "配件".into(),
            kind: "goods".into(),
            uom: "pc".into(),
            purchase_uom: "pc".into(),
            sales_uom: "pc".into(),
            vat_rate: "13".into(),
            costing: if i.is_multiple_of(5) { "fifo".into() } else { "moving_average".into() },
            sale_price: finance::domain::yuan(cost * 3 / 2),
            ..Default::default()
        };
        let id = catalog::service::create_product(&mut tx, &principal, &form).await?;
        if let Some(party_id) = supplier {
            let supplier_form = catalog::service::SupplierForm {
                party_id,
                price: finance::domain::yuan(cost),
                lead_days: 5,
                preferred: true,
                ..Default::default()
            };
            catalog::service::set_supplier(&mut tx, &principal, id, &supplier_form).await?;
        }
    }
    // One warehouse with reorder rules; its stock comes from the year of purchases (`seed_year`),
    // which needs the books first, so every receipt is valued and posted.
    stock::service::create_warehouse(&mut tx, &principal, "WH", "上海总仓").await?;
    for (product_id, code, _) in goods {
        let (min, max) = reorder_rule(code);
        let rule = stock::service::ReorderForm { product_id, warehouse: "WH".into(), min: min.into(), max: max.into() };
        stock::service::set_reorder_rule(&mut tx, &principal, &rule).await?;
    }
    tx.commit().await?;
    Ok(products.len() + ACCESSORIES as usize)
}

/// Orders per month of the demo year: (sales orders, purchase orders).
pub const DEMO_MONTHLY: (usize, usize) = (150, 60);

/// Units per order line of the demo trade, times a random few: sized so that the gross margin
/// on about ten million yuan of sales a month pays the 200 employees' payroll (about 1.7
/// million a month) and leaves a profit, as a distributor of this size would make. At one unit
/// the demo company lost 15 million in ten months.
const TRADE_SCALE: i64 = 15;

/// A year of trade and bookkeeping for the demo company, the twelve months up to the current
/// one (so a demo set up in January has a year to show too; the December between closes the
/// year, carrying its profit to 利润分配):
/// capital paid in; purchase orders received into the warehouse and billed (stock valued and
/// posted as it moves); sales orders priced from the catalog, delivered and invoiced, with
/// their cost of sales; receipts and payments (some late, so the ageing report has something
/// in every bucket); salaries, rent and bank fees; every month before the current one closed.
/// The current month keeps open orders, backorders and quotations, and ends with notebooks
/// below their minimum. Stock and ledger agree throughout: every quantity and value went
/// through the modules' own operations. Returns the number of vouchers posted.
pub async fn seed_year(db: &Db, company_id: i64, monthly: (usize, usize)) -> Result<usize> {
    use finance::domain::{EntryForm, LineForm};
    use finance::invoicing::{self, PaymentForm};
    let has_books = sqlx::query("SELECT 1 FROM fin_accounts WHERE company_id = $1 LIMIT 1")
        .bind(company_id)
        .fetch_optional(db.reader())
        .await?;
    if has_books.is_some() {
        return Ok(0);
    }
    let accountant = web::accounts::find_user_id(db, "chen.jing").await?;
    let principal = web::accounts::load_principal(db, accountant, company_id).await?;
    let actor = || Actor::user(accountant, "chen.jing", company_id);
    let now = db.clock().now() + chrono::Duration::hours(8);
    let year = chrono::Datelike::year(&now);
    let current_month = chrono::Datelike::month(&now);
    // The twelve months as (year, month), the current one last.
    let months: Vec<(i32, u32)> = (0..12u32)
        .rev()
        .map(|back| {
            let index = year * 12 + current_month as i32 - 1 - back as i32;
            (index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
        })
        .collect();
    let (first_year, first_month) = months[0];
    let mut tx = db.begin(actor()).await?;
    finance::service::set_up_books(&mut tx, &principal, finance::chart::Template::Cas, first_year, first_month).await?;
    if first_year < year {
        finance::service::open_next_year(&mut tx, &principal).await?;
    }
    // The cost centres the vouchers below name are the HR departments of the same codes;
    // the projects are the company's own.
    for (dimension, code, name) in [
        (Dimension::CostCenter, "HQ", "总经办"),
        (Dimension::CostCenter, "FIN", "财务部"),
        (Dimension::CostCenter, "SAL", "销售部"),
        (Dimension::Project, "EXPO", "上海工博会参展"),
        (Dimension::Project, "ERP-ROLLOUT", "管理系统上线"),
    ] {
        finance::dimensions::register(&mut tx, company_id, dimension, code, name).await?;
    }
    tx.commit().await?;
    let admin = web::accounts::find_user_id(db, "admin").await?;
    let admin_principal = web::accounts::load_principal(db, admin, company_id).await?;
    let has_payroll = sqlx::query("SELECT 1 FROM hr_employees WHERE company_id = $1 LIMIT 1")
        .bind(company_id)
        .fetch_optional(db.reader())
        .await?
        .is_some();

    let party_ids = |role: &'static str| async move {
        let rows = sqlx::query("SELECT p.id FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = $2 WHERE p.company_id = $1 ORDER BY p.id LIMIT 200")
            .bind(company_id)
            .bind(role)
            .fetch_all(db.reader())
            .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>("id"))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(db::Error::from)
    };
    let customers = party_ids("customer").await?;
    let suppliers = party_ids("supplier").await?;
    if customers.is_empty() || suppliers.is_empty() {
        return Ok(0);
    }
    let mut rng = Lcg(year as u64 * 7919);
    let mut vouchers = 0usize;
    let post = |date: String, memo: &str, lines: Vec<(&str, i64, i64)>| EntryForm {
        date,
        word: "记".into(),
        memo: memo.into(),
        lines: lines
            .into_iter()
            .map(|(account, debit, credit)| LineForm {
                account: account.into(),
                debit: if debit > 0 { finance::domain::yuan(debit) } else { String::new() },
                credit: if credit > 0 { finance::domain::yuan(credit) } else { String::new() },
                cost_center: match account {
                    "6601" => "SAL".into(),
                    "6602" => "HQ".into(),
                    "6603" => "FIN".into(),
                    _ => String::new(),
                },
                ..Default::default()
            })
            .collect(),
    };
    // What the company trades: every stocked product with its supplier price per stock unit
    // (a box of twelve cables costs 300.00, so 25.00 a cable), and what it has available.
    let admin = web::accounts::find_user_id(db, "admin").await?;
    let trader = web::accounts::load_principal(db, admin, company_id).await?;
    let trade = || Actor::user(admin, "admin", company_id);
    let catalog_rows = sqlx::query(
        "SELECT p.id, p.code, p.kind, s.party_id, s.price FROM cat_products p LEFT JOIN cat_product_suppliers s ON s.product_id = p.id AND s.preferred = 1 \
         WHERE p.company_id = $1 AND p.archived_at IS NULL ORDER BY p.code",
    )
    .bind(company_id)
    .fetch_all(db.reader())
    .await?;
    let mut goods: Vec<(i64, String, i64, i64)> = Vec::new();
    let mut services: Vec<i64> = Vec::new();
    for r in &catalog_rows {
        let (id, code, kind): (i64, String, String) = (r.try_get("id")?, r.try_get("code")?, r.try_get("kind")?);
        match (kind.as_str(), r.try_get::<Option<i64>, _>("party_id")?, r.try_get::<Option<i64>, _>("price")?) {
            ("service", _, _) => services.push(id),
            (_, Some(supplier), Some(price)) => {
                let per_unit = if code == "CBL-C" { price / 12 } else { price };
                goods.push((id, code, supplier, per_unit));
            }
            _ => {}
        }
    }
    if goods.is_empty() {
        return Ok(0);
    }
    // Orders below twenty million yuan need no approval in the demo (its administrator writes
    // them; the first month's opening stock of servers alone is nearly twelve million).
    let mut tx = db.begin(trade()).await?;
    let settings = purchase::service::SettingsForm {
        approval_threshold: "20000000.00".into(),
        price_tolerance: "2".into(),
        quantity_tolerance: "0".into(),
    };
    purchase::service::set_settings(&mut tx, &trader, &settings).await?;
    sales::shipping::create_carrier(&mut tx, &trader, "SF", "顺丰速运").await?;
    sales::shipping::create_carrier(&mut tx, &trader, "JD", "京东物流").await?;
    tx.commit().await?;
    let mut available: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    let unit = 1_000_000i64;
    let mut open_invoices: Vec<(i64, i64)> = Vec::new();
    let mut open_bills: Vec<(i64, i64)> = Vec::new();
    // A customer abroad, invoiced in dollars (below).
    let mut tx = db.begin(trade()).await?;
    let abroad = domain::validate(&PartyForm {
        kind: "organization".into(),
        name: "Pacific Home Goods Inc.".into(),
        name_en: Some("Pacific Home Goods Inc.".into()),
        roles: vec!["customer".into()],
        ..Default::default()
    })?;
    let pacific = party::service::record_new(&mut tx, company_id, &abroad, Some(admin)).await?;
    tx.commit().await?;
    let mut open_export: Option<i64> = None;
    // The month whose VAT was transferred as unpaid at its end and its surtaxes accrued, paid to
    // the tax office on the next 15th.
    let mut taxes_owed: Option<String> = None;
    for (index, &(year, month)) in months.iter().enumerate() {
        let (first, last) = (index == 0, index + 1 == months.len());
        // Nothing is dated after today in the current month.
        let last_day = if last { u64::from(chrono::Datelike::day(&now)).min(28) } else { 28 };
        let day = |d: u64| format!("{year}-{month:02}-{:02}", d.clamp(1, last_day));
        // Two hundred employees' wages need a larger purse than the trade alone.
        let capital: i64 = if has_payroll { 5_000_000_000 } else { 500_000_000 };
        let mut tx = db.begin(actor()).await?;
        if first {
            finance::service::post(
                &mut tx,
                &principal,
                &post(day(2), "股东投入资本", vec![("1002", capital, 0), ("4001", 0, capital)]),
            )
            .await?;
            vouchers += 1;
        }
        tx.commit().await?;
        // Purchases: orders confirmed, received (the current month's last ones only in part,
        // so there are backorders) and billed at the order price. The first month opens with
        // every named product in stock.
        let mut buys: Vec<(usize, i64)> = (0..monthly.1)
            .map(|_| ((rng.next() as usize) % goods.len(), (10 + rng.next() % 30) as i64 * TRADE_SCALE))
            .collect();
        if first {
            buys.extend(
                goods
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| !g.1.starts_with("ACC-"))
                    .map(|(i, g)| (i, (if g.1 == "CBL-C" { 600 } else { 40 }) * TRADE_SCALE)),
            );
        }
        for (i, (which, quantity)) in buys.iter().enumerate() {
            let (product, code, supplier, _) = &goods[*which];
            // Cables are bought by the box of 12, at the supplier's price per box.
            let (quantity, line_unit, pieces) =
                if *code == "CBL-C" { ((quantity + 11) / 12, "box12", 12) } else { (*quantity, "", 1) };
            let date = day(1 + (i as u64 * 27 / buys.len().max(1) as u64));
            let mut tx = db.begin(trade()).await?;
            let form = purchase::service::OrderForm {
                supplier_id: *supplier,
                warehouse: "WH".into(),
                date: date.clone(),
                memo: String::new(),
                lines: vec![purchase::service::OrderLineForm {
                    product_id: *product,
                    quantity: quantity.to_string(),
                    unit: line_unit.into(),
                    unit_price: String::new(),
                }],
            };
            let order = purchase::service::create_order(&mut tx, &trader, &form).await?;
            if purchase::service::confirm_order(&mut tx, &trader, order).await? != "confirmed" {
                // Above the approval threshold: it waits for a manager, as it would.
                tx.commit().await?;
                continue;
            }
            let partial = last && i + 3 >= buys.len();
            let received = if partial { quantity / 2 } else { quantity };
            let receipt = purchase::service::ReceiptForm { date: date.clone(), lines: Vec::new() };
            let receipt = if partial {
                let line: i64 = sqlx::query("SELECT id FROM pur_order_lines WHERE order_id = $1")
                    .bind(order)
                    .fetch_one(tx.conn())
                    .await?
                    .try_get("id")?;
                purchase::service::ReceiptForm {
                    date: date.clone(),
                    lines: vec![purchase::service::ReceiptLineForm {
                        line_id: line,
                        quantity: received.to_string(),
                        ..Default::default()
                    }],
                }
            } else {
                receipt
            };
            purchase::service::receive(&mut tx, &trader, order, &receipt).await?;
            *available.entry(*product).or_insert(0) += received * pieces * unit;
            let bill = purchase::service::bill(
                &mut tx,
                &trader,
                order,
                &purchase::service::BillForm { date, ..Default::default() },
            )
            .await?;
            open_bills.push((bill.invoice_id, *supplier));
            vouchers += 3;
            tx.commit().await?;
        }
        let mut invoiced_now: Vec<(i64, i64)> = Vec::new();
        // Sales: quotations from the price lists, confirmed, delivered and invoiced; in the
        // current month the last ones stay confirmed or quoted, so there are open orders.
        for i in 0..monthly.0 {
            let customer = customers[(rng.next() as usize) % customers.len()];
            let mut lines = Vec::new();
            // The current month's last order stays a quotation: it reserves nothing, so it may
            // quote what is not in stock.
            let stage = if last { monthly.0 - i } else { usize::MAX };
            for _ in 0..1 + rng.next() % 3 {
                let (product, _, _, _) = &goods[(rng.next() as usize) % goods.len()];
                // Customers take twice what a purchase line brings in, so stock turns over
                // rather than piling up (sales stop at what is available).
                let quantity = (1 + rng.next() % 5) as i64 * 2 * TRADE_SCALE;
                let have = available.get(product).copied().unwrap_or(0);
                let quoted_only = stage <= 1;
                if (quoted_only || have >= quantity * unit)
                    && !lines.iter().any(|l: &sales::service::OrderLineForm| l.product_id == *product)
                {
                    if !quoted_only {
                        available.insert(*product, have - quantity * unit);
                    }
                    lines.push(sales::service::OrderLineForm {
                        product_id: *product,
                        quantity: quantity.to_string(),
                        unit: String::new(),
                        unit_price: String::new(),
                    });
                }
            }
            let has_goods = !lines.is_empty();
            if rng.next().is_multiple_of(4) && !services.is_empty() {
                let service = services[(rng.next() as usize) % services.len()];
                lines.push(sales::service::OrderLineForm {
                    product_id: service,
                    quantity: (1 + rng.next() % 4).to_string(),
                    unit: String::new(),
                    unit_price: String::new(),
                });
            }
            if lines.is_empty() {
                continue;
            }
            let date = day(1 + (i as u64 * 27 / monthly.0.max(1) as u64));
            let mut tx = db.begin(trade()).await?;
            // Every sale is the sales department's; in the trade fair's months every third
            // order was taken at the fair, so the fair's income statement sets what it sold
            // against what it cost.
            let at_the_fair = (2..=4).contains(&index) && i % 3 == 0;
            let form = sales::service::OrderForm {
                customer_id: customer,
                warehouse: "WH".into(),
                date: date.clone(),
                tax_inclusive: true,
                memo: String::new(),
                cost_center: "SAL".into(),
                project: if at_the_fair { "EXPO".into() } else { String::new() },
                lines,
            };
            let order = sales::service::create_quotation(&mut tx, &trader, &form).await?;
            if stage > 1 {
                sales::service::confirm_order(&mut tx, &trader, order).await?;
            }
            if stage > 3 {
                if has_goods {
                    // Shipped by one of two carriers, tracked until signed for (the current
                    // month's last deliveries are still on their way).
                    let carrier = if order % 3 == 0 { "JD" } else { "SF" };
                    let tracking = format!("{carrier}{:010}", 1_400_000_000 + order);
                    let delivery = sales::service::DeliveryForm {
                        date: date.clone(),
                        carrier: carrier.into(),
                        tracking_number: tracking.clone(),
                        ..Default::default()
                    };
                    sales::service::deliver(&mut tx, &trader, order, &delivery).await?;
                    let delivery_id: i64 = sqlx::query("SELECT id FROM sal_deliveries WHERE order_id = $1")
                        .bind(order)
                        .fetch_one(tx.conn())
                        .await?
                        .try_get("id")?;
                    let mut events = vec![("in_transit", format!("{date} 18:00"), "上海转运中心")];
                    if stage > 6 {
                        events.push(("delivered", format!("{date} 21:30"), "客户签收"));
                    }
                    for (status, time, location) in events {
                        let form = sales::shipping::TrackingForm {
                            status: status.into(),
                            time,
                            location: location.into(),
                            note: String::new(),
                        };
                        sales::shipping::add_event(&mut tx, &trader, delivery_id, &form).await?;
                    }
                }
                let invoice = sales::service::invoice(&mut tx, &trader, order, &date).await?;
                invoiced_now.push((invoice, customer));
                vouchers += 2;
            }
            tx.commit().await?;
        }
        let mut tx = db.begin(actor()).await?;
        // Customers pay most invoices of earlier months (this month's wait for next month, so
        // no receipt is dated before its invoice); some stay open for the ageing report.
        let mut still_open = Vec::new();
        for (id, customer) in open_invoices.drain(..) {
            let paid_now = rng.next() % 10 < 7;
            let open: i64 = sqlx::query("SELECT total - settled AS open FROM fin_invoices WHERE id = $1")
                .bind(id)
                .fetch_one(tx.conn())
                .await?
                .try_get("open")?;
            if open <= 0 {
                // An earlier receipt of the same customer, allocated oldest first, paid it already.
                continue;
            }
            if paid_now && !first {
                let form = PaymentForm {
                    kind: "receipt".into(),
                    party_id: customer,
                    date: day(5 + rng.next() % 20),
                    amount: finance::domain::yuan(open),
                    allocations: Some(vec![invoicing::AllocationForm {
                        invoice_id: id,
                        amount: finance::domain::yuan(open),
                    }]),
                    ..Default::default()
                };
                invoicing::record_payment(&mut tx, &principal, &form).await?;
                vouchers += 1;
            } else {
                still_open.push((id, customer));
            }
        }
        open_invoices = still_open;
        open_invoices.append(&mut invoiced_now);
        for (id, supplier) in std::mem::take(&mut open_bills) {
            let open: i64 = sqlx::query("SELECT total - settled AS open FROM fin_invoices WHERE id = $1")
                .bind(id)
                .fetch_one(tx.conn())
                .await?
                .try_get("open")?;
            if open > 0 {
                let form = PaymentForm {
                    kind: "payment".into(),
                    party_id: supplier,
                    // The last day of the month: after every bill of the month.
                    date: day(28),
                    amount: finance::domain::yuan(open),
                    allocations: None,
                    ..Default::default()
                };
                invoicing::record_payment(&mut tx, &principal, &form).await?;
                vouchers += 1;
            }
        }
        // The customer abroad buys technical support every other month, invoiced in dollars at
        // the day's rate (VAT 0 %: a service exported), and pays the month after at that day's
        // rate, so the ledger shows dollar receivables and exchange differences; the last
        // invoice stays open. The rates are the bank's, entered in the rate table on the 10th
        // and the 18th; the documents take them from there.
        let rate = |d: u64| format!("7.{:04}", 1000 + (index as u64 * 37 + d * 11) % 400);
        for d in [10, 18] {
            let form = finance::fx::TableRateForm { currency: "USD".into(), date: day(d), rate: rate(d) };
            finance::fx::set_rate(&mut tx, &principal, &form).await?;
        }
        if let Some(invoice) = open_export.take() {
            let open: i64 =
                sqlx::query("SELECT total - settled AS open FROM fin_invoice_currency WHERE invoice_id = $1")
                    .bind(invoice)
                    .fetch_one(tx.conn())
                    .await?
                    .try_get("open")?;
            let dollars = finance::domain::decimal_text(open, kernel::Currency::USD);
            let form = PaymentForm {
                kind: "receipt".into(),
                party_id: pacific,
                date: day(18),
                amount: dollars.clone(),
                allocations: Some(vec![invoicing::AllocationForm { invoice_id: invoice, amount: dollars }]),
                currency: "USD".into(),
                ..Default::default()
            };
            invoicing::record_payment(&mut tx, &principal, &form).await?;
            vouchers += 1;
        }
        if index % 2 == 1 {
            let form = invoicing::InvoiceForm {
                kind: "customer".into(),
                party_id: pacific,
                date: day(10),
                memo: "技术支持服务出口".into(),
                currency: "USD".into(),
                lines: vec![finance::vat::InvoiceLineForm {
                    description: "Technical support service (export)".into(),
                    quantity: "1".into(),
                    unit_price: format!("{}.00", 6_000 + index * 250),
                    vat_rate: "0".into(),
                    cost_center: "SAL".into(),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let id = invoicing::create_invoice(&mut tx, &principal, &form).await?;
            invoicing::post_invoice(&mut tx, &principal, id).await?;
            open_export = Some(id);
            vouchers += 1;
        }
        // A warehouse held since before May 2016 is let to a customer each month, on the
        // simplified method at 5 % (简易计税), credited to 其他业务收入; paid with the month's
        // other invoices.
        let rent = invoicing::InvoiceForm {
            kind: "customer".into(),
            party_id: customers[0],
            date: day(1),
            memo: "出租闲置仓库（简易计税）".into(),
            lines: vec![finance::vat::InvoiceLineForm {
                description: "闲置仓库月租金".into(),
                quantity: "1".into(),
                unit_price: "8000.00".into(),
                vat_rate: "5".into(),
                account: "6051".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let id = invoicing::create_invoice(&mut tx, &principal, &rent).await?;
        invoicing::post_invoice(&mut tx, &principal, id).await?;
        open_invoices.push((id, customers[0]));
        vouchers += 1;
        // Two months before the last, a customer pays 20,000.00 ahead for a project, cuts it
        // down later in the month and is sent 8,000.00 back; the rest waits as its advance.
        if index + 3 == months.len() && customers.len() > 1 {
            let ahead = PaymentForm {
                kind: "receipt".into(),
                party_id: customers[1],
                date: day(6),
                amount: "20000.00".into(),
                allocations: Some(Vec::new()),
                memo: "项目预付款".into(),
                ..Default::default()
            };
            let advance = invoicing::record_payment(&mut tx, &principal, &ahead).await?;
            let back = invoicing::AdvanceRefundForm {
                date: day(24),
                amount: "8000.00".into(),
                memo: "项目缩减，退还部分预收款".into(),
                ..Default::default()
            };
            invoicing::refund_advance(&mut tx, &principal, advance, &back).await?;
            vouchers += 2;
        }
        for (memo, lines) in [
            ("计提本月工资", vec![("6602", 18_000_000, 0), ("6601", 9_600_000, 0), ("2211", 0, 27_600_000)]),
            ("发放上月工资", vec![("2211", 27_600_000, 0), ("1002", 0, 27_600_000)]),
            ("支付办公室租金", vec![("6602", 4_500_000, 0), ("1002", 0, 4_500_000)]),
            ("银行手续费", vec![("6603", 12_000 + (rng.next() % 5_000) as i64, 0), ("1002", 0, 0)]),
        ] {
            let mut lines = lines;
            if memo == "银行手续费" {
                lines[1].2 = lines[0].1;
            }
            if memo == "发放上月工资" && first {
                continue;
            }
            // With the demo organisation, wages come from payroll (below), not from here.
            if memo.contains("工资") && has_payroll {
                continue;
            }
            finance::service::post(&mut tx, &principal, &post(day(28), memo, lines)).await?;
            vouchers += 1;
        }
        // The two projects of the year, each cost booked against its project so that costs
        // by project and month have something to show: the trade fair in the year's third to
        // fifth months, the management system from its sixth on.
        let project = match index {
            2..=4 => Some(("EXPO", "6601", "工博会展位与搭建费")),
            5.. => Some(("ERP-ROLLOUT", "6602", "管理系统实施服务费")),
            _ => None,
        };
        if let Some(period) = taxes_owed.take() {
            let form = finance::surtaxes::PaymentForm { period, date: day(15), bank_account: "1002".into() };
            if finance::surtaxes::pay(&mut tx, &principal, &form).await?.is_some() {
                vouchers += 1;
            }
        }
        if let Some((code, account, memo)) = project {
            let amount = 600_000 + index as i64 * 25_000;
            let mut form = post(day(20), memo, vec![(account, amount, 0), ("1002", 0, amount)]);
            form.lines[0].project = code.into();
            finance::service::post(&mut tx, &principal, &form).await?;
            vouchers += 1;
        }
        if has_payroll && !first {
            // Last month's payroll leaves the bank: net pay, contributions and withheld tax.
            let paid = sqlx::query(
                "SELECT CAST(SUM(s.net + s.employer_contributions) AS BIGINT) AS payable, \
                   CAST(SUM(s.pension_employee + s.medical_employee + s.unemployment_employee + s.housing_employee + s.other_deductions) AS BIGINT) AS withheld, \
                   CAST(SUM(s.iit + s.bonus_iit) AS BIGINT) AS iit \
                 FROM hr_payslips s JOIN hr_payroll_runs r ON r.id = s.run_id WHERE r.company_id = $1 AND r.period = $2 AND r.status = 'posted'",
            )
            .bind(company_id)
            .bind({
                let (year, month) = months[index - 1];
                format!("{year}-{month:02}")
            })
            .fetch_one(tx.conn())
            .await?;
            let (payable, withheld, iit): (Option<i64>, Option<i64>, Option<i64>) =
                (paid.try_get("payable")?, paid.try_get("withheld")?, paid.try_get("iit")?);
            let (payable, withheld, iit) = (payable.unwrap_or(0), withheld.unwrap_or(0), iit.unwrap_or(0));
            if payable + withheld + iit > 0 {
                let lines = vec![
                    ("2211", payable, 0),
                    ("2241", withheld, 0),
                    ("222103", iit, 0),
                    ("1002", 0, payable + withheld + iit),
                ];
                finance::service::post(
                    &mut tx,
                    &principal,
                    &post(day(10), "发放上月工资、缴纳社保公积金与个税", lines),
                )
                .await?;
                vouchers += 1;
            }
        }
        tx.commit().await?;
        if has_payroll {
            // The month's payroll: posted for a closed month, a draft for the current one.
            let mut tx = db.begin(Actor::user(admin, "admin", company_id)).await?;
            let form = hr::payroll::RunForm { period: format!("{year}-{month:02}"), ..Default::default() };
            let run = hr::payroll::create_run(&mut tx, &admin_principal, &form).await?;
            if !last {
                hr::payroll::post(&mut tx, &admin_principal, run).await?;
                vouchers += 1;
            }
            tx.commit().await?;
        }
        if !last {
            let mut tx = db.begin(actor()).await?;
            let period = format!("{year}-{month:02}");
            let month_end = finance::vat_return::transfer_unpaid(&mut tx, &principal, &period).await?;
            vouchers += usize::from(month_end.transfer.is_some()) + usize::from(month_end.surtaxes.is_some());
            if !month_end.is_empty() {
                taxes_owed = Some(period.clone());
            }
            finance::service::close_period(&mut tx, &principal, &period).await?;
            tx.commit().await?;
        }
    }
    // The named products end the year at or above their minimum (a last purchase up to the
    // maximum where needed), and notebooks below theirs, at 20: a last purchase brings them up
    // to 20 if the year's sales left fewer, one last sale takes them down to 20 if more.
    let today = format!("{year}-{current_month:02}-{:02}", chrono::Datelike::day(&now));
    for (product, code, supplier, price) in goods.iter().filter(|g| !g.1.starts_with("ACC-")) {
        let (min, max) = reorder_rule(code);
        let (min, max): (i64, i64) = (min.parse().unwrap_or(0), max.parse().unwrap_or(0));
        let (min, max) = if *code == "NB-14" { (20, 20) } else { (min, max) };
        let have = available.get(product).copied().unwrap_or(0) / unit;
        if have >= min {
            continue;
        }
        let mut tx = db.begin(trade()).await?;
        let form = purchase::service::OrderForm {
            supplier_id: *supplier,
            warehouse: "WH".into(),
            date: today.clone(),
            memo: String::new(),
            lines: vec![purchase::service::OrderLineForm {
                product_id: *product,
                quantity: (max - have).to_string(),
                unit: "pc".into(),
                unit_price: finance::domain::yuan(*price),
            }],
        };
        let order = purchase::service::create_order(&mut tx, &trader, &form).await?;
        purchase::service::confirm_order(&mut tx, &trader, order).await?;
        purchase::service::receive(
            &mut tx,
            &trader,
            order,
            &purchase::service::ReceiptForm { date: today.clone(), lines: Vec::new() },
        )
        .await?;
        purchase::service::bill(
            &mut tx,
            &trader,
            order,
            &purchase::service::BillForm { date: today.clone(), ..Default::default() },
        )
        .await?;
        tx.commit().await?;
        vouchers += 2;
    }
    if let Some((notebook, ..)) = goods.iter().find(|g| g.1 == "NB-14") {
        let have = available.get(notebook).copied().unwrap_or(0) / unit;
        if have > 20 {
            let date = today.clone();
            let mut tx = db.begin(trade()).await?;
            let form = sales::service::OrderForm {
                customer_id: customers[0],
                warehouse: "WH".into(),
                date: date.clone(),
                tax_inclusive: true,
                memo: String::new(),
                cost_center: "SAL".into(),
                project: String::new(),
                lines: vec![sales::service::OrderLineForm {
                    product_id: *notebook,
                    quantity: (have - 20).to_string(),
                    unit: String::new(),
                    unit_price: String::new(),
                }],
            };
            let order = sales::service::create_quotation(&mut tx, &trader, &form).await?;
            sales::service::confirm_order(&mut tx, &trader, order).await?;
            sales::service::deliver(
                &mut tx,
                &trader,
                order,
                &sales::service::DeliveryForm { date: date.clone(), ..Default::default() },
            )
            .await?;
            sales::service::invoice(&mut tx, &trader, order, &date).await?;
            tx.commit().await?;
            vouchers += 2;
        }
    }
    seed_budgets(db, company_id, &principal, actor(), &months).await?;
    seed_bank_statement(db, &principal, actor(), &today).await?;
    seed_review(db, &principal, actor(), &today).await?;
    Ok(vouchers)
}

/// From today the company has its hand-made vouchers reviewed (凭证审核) and those that move
/// cash signed by the cashier (出纳签字), as the chief accountant decided. The accountant has
/// entered this month's depreciation, which waits for the chief accountant (or the
/// administrator) to review it, and a travel claim paid from petty cash, which waits for the
/// cashier's signature as well.
async fn seed_review(db: &Db, principal: &kernel::permission::Principal, actor: Actor, today: &str) -> Result<()> {
    use finance::domain::{EntryForm, LineForm};
    let chief_id = web::accounts::find_user_id(db, "qian.hui").await?;
    let chief = web::accounts::load_principal(db, chief_id, principal.company_id.0).await?;
    let mut tx = db.begin(Actor::user(chief_id, "qian.hui", principal.company_id.0)).await?;
    for signature in finance::review::SIGNATURES {
        finance::review::set_rule(&mut tx, &chief, signature, true).await?;
    }
    tx.commit().await?;
    let mut tx = db.begin(actor).await?;
    let line = |account: &str, debit: &str, credit: &str| LineForm {
        account: account.into(),
        debit: debit.into(),
        credit: credit.into(),
        cost_center: if account == "6602" { "HQ".into() } else { String::new() },
        ..Default::default()
    };
    let form = EntryForm {
        date: today.into(),
        word: "记".into(),
        memo: "计提本月办公设备折旧".into(),
        lines: vec![line("6602", "1250.00", ""), line("1602", "", "1250.00")],
    };
    finance::service::create_draft(&mut tx, principal, &form).await?;
    let travel = EntryForm {
        date: today.into(),
        word: "付".into(),
        memo: "报销差旅费（现金）".into(),
        lines: vec![line("6602", "860.00", ""), line("1001", "", "860.00")],
    };
    finance::service::create_draft(&mut tx, principal, &travel).await?;
    tx.commit().await?;
    Ok(())
}

/// The bank's statement of this month so far, as the bank exports it: every yuan movement of
/// 1002 this month (receipts and payments, wages, taxes), and the bank's own fee and the
/// interest it paid, which nothing booked yet. All but the last five movements are matched with
/// what booked them; those five are left for the user with their suggestions, and the fee and
/// the interest to be booked from their rows.
async fn seed_bank_statement(
    db: &Db,
    principal: &kernel::permission::Principal,
    actor: Actor,
    today: &str,
) -> Result<usize> {
    let company = principal.company_id.0;
    let mut tx = db.begin(actor).await?;
    let moved = sqlx::query(
        "SELECT e.entry_date, e.memo, CAST(SUM(l.debit - l.credit) AS BIGINT) AS net FROM fin_entries e \
         JOIN fin_entry_lines l ON l.entry_id = e.id JOIN fin_accounts a ON a.id = l.account_id \
         WHERE e.company_id = $1 AND e.period = $2 AND e.status = 'posted' AND a.code = '1002' AND l.currency = 'CNY' \
         GROUP BY e.id, e.entry_date, e.memo HAVING SUM(l.debit - l.credit) <> 0 ORDER BY e.entry_date, e.id",
    )
    .bind(company)
    .bind(&today[..7])
    .fetch_all(tx.conn())
    .await?;
    let mut csv = String::from("交易日期,金额,摘要\n");
    for r in &moved {
        let (date, memo, net): (String, String, i64) =
            (r.try_get("entry_date")?, r.try_get("memo")?, r.try_get("net")?);
        csv += &format!("{date},{},{}\n", finance::domain::yuan(net), memo.replace(',', " "));
    }
    csv += &format!("{today},-37.50,账户管理费及手续费\n{today},12.34,活期结息\n");
    let form = finance::bank::StatementForm {
        bank_account: "1002".into(),
        csv,
        mapping: finance::bank::Mapping {
            date: "交易日期".into(),
            amount: "金额".into(),
            memo: "摘要".into(),
            has_header: true,
            ..Default::default()
        },
        currency: String::new(),
    };
    let imported = finance::bank::import(&mut tx, principal, &form).await?;
    // Newest first: the five newest movements with a suggestion stay open, as do the bank's
    // own two lines, which have none.
    let lines = finance::bank::lines(tx.conn(), company, true).await?;
    let mut left_open = 0;
    for line in &lines {
        let Some(first) = finance::bank::suggestions(tx.conn(), company, line.id).await?.into_iter().next() else {
            continue;
        };
        if left_open < 5 {
            left_open += 1;
            continue;
        }
        match (first.payment_id, first.entry_id) {
            (Some(payment), _) => finance::bank::reconcile(&mut tx, principal, line.id, payment).await?,
            (None, Some(entry)) => finance::bank::reconcile_voucher(&mut tx, principal, line.id, entry).await?,
            (None, None) => {}
        }
    }
    tx.commit().await?;
    Ok(imported)
}

/// This year's budgets: what each cost centre spent on each expense account (and production
/// cost) over the demo's twelve months, with 10 % more for the year's raises, spread evenly;
/// the eastern sales group is held to 90 % of it, so the budget report shows an overspend
/// beside room left. The cost of sales follows the sales and is not budgeted.
async fn seed_budgets(
    db: &Db,
    company_id: i64,
    principal: &kernel::permission::Principal,
    actor: Actor,
    months: &[(i32, u32)],
) -> Result<()> {
    use finance::dimensions::Dimension;
    let month = |(year, month): (i32, u32)| format!("{year:04}-{month:02}");
    let (Some(first), Some(last)) = (months.first(), months.last()) else { return Ok(()) };
    let mut conn = db.read_conn().await?;
    let spent =
        finance::costs::cost_report(&mut conn, company_id, Dimension::CostCenter, &month(*first), &month(*last))
            .await?;
    drop(conn);
    let mut tx = db.begin(actor).await?;
    for group in spent.groups.iter().filter(|g| !g.code.is_empty()) {
        let share = if group.code == "SAL-E" { 90 } else { 110 };
        for row in group.rows.iter().filter(|r| !r.code.starts_with("64")) {
            // Whole thousands of yuan, as a budget is written.
            let annual = row.total * share / 100 / 100_000 * 100_000;
            if annual <= 0 {
                continue;
            }
            let form = finance::budgets::BudgetForm {
                code: group.code.clone(),
                account: row.code.clone(),
                year: last.0.to_string(),
                annual: finance::domain::yuan(annual),
                ..Default::default()
            };
            finance::budgets::set_budget(&mut tx, principal, Dimension::CostCenter, &form).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A demo position: code, title, job family, grade, and its base salary range in yuan.
type DemoPosition = (&'static str, &'static str, &'static str, &'static str, (u64, u64));

/// The demo organisation: 8 departments, 8 positions, 200 employees (the demo users among
/// them, linked to their logins so they read their own payslips), this year's headcount plan
/// with two open requisitions (one beyond plan, pending), and last quarter's reviews for the
/// sales staff, finalised — their ratings pay in the current month's payroll. Payroll itself
/// runs month by month in [`seed_year`]. Returns the number of employees.
pub async fn seed_hr(db: &Db, company_id: i64) -> Result<usize> {
    let any = sqlx::query("SELECT 1 FROM hr_employees WHERE company_id = $1 LIMIT 1")
        .bind(company_id)
        .fetch_optional(db.reader())
        .await?;
    if any.is_some() {
        return Ok(0);
    }
    let admin = web::accounts::find_user_id(db, "admin").await?;
    let principal = web::accounts::load_principal(db, admin, company_id).await?;
    let now = db.clock().now() + chrono::Duration::hours(8);
    let year = chrono::Datelike::year(&now);
    let current_month = chrono::Datelike::month(&now);
    let mut tx = db.begin(Actor::user(admin, "admin", company_id)).await?;
    // (code, name, parent, expense account, heads)
    let departments: [(&str, &str, &str, &str, u64); 8] = [
        ("HQ", "总经办", "", "6602", 6),
        ("FIN", "财务部", "HQ", "6602", 10),
        ("HRD", "人力资源部", "HQ", "6602", 8),
        ("SAL", "销售部", "HQ", "6601", 4),
        ("SAL-E", "华东销售组", "SAL", "6601", 40),
        ("SAL-W", "华西销售组", "SAL", "6601", 36),
        ("PRD", "生产部", "HQ", "5001", 70),
        ("SVC", "客服部", "HQ", "6601", 26),
    ];
    let mut department_ids = Vec::new();
    for (code, name, parent, account, _) in departments {
        let form = hr::org::DepartmentForm {
            code: code.into(),
            name: name.into(),
            parent: parent.into(),
            expense_account: account.into(),
        };
        department_ids.push(hr::org::create_department(&mut tx, &principal, &form).await?);
    }
    // (code, title, family, grade, base salary range in yuan)
    let positions: [DemoPosition; 8] = [
        ("GM", "总经理", "管理", "9", (40_000, 40_000)),
        ("MGR", "部门经理", "管理", "7", (18_000, 26_000)),
        ("STAFF", "职能专员", "职能", "3", (7_000, 12_000)),
        ("S-REP", "销售专员", "销售", "3", (6_000, 11_000)),
        ("S-LEAD", "销售主管", "销售", "5", (12_000, 16_000)),
        ("OP", "生产操作工", "生产", "2", (5_500, 7_500)),
        ("OP-LEAD", "生产组长", "生产", "4", (8_000, 10_000)),
        ("AGENT", "客服专员", "客服", "3", (6_000, 8_500)),
    ];
    let mut position_ids = Vec::new();
    for (code, title, family, grade, _) in positions {
        let form = hr::org::PositionForm {
            code: code.into(),
            title: title.into(),
            job_family: family.into(),
            grade: grade.into(),
            band: String::new(),
        };
        position_ids.push(hr::org::create_position(&mut tx, &principal, &form).await?);
    }
    // The ladders: representative → lead after a year with a B, operator → team lead after 18
    // months with a B.
    for (from, to, months) in [(3, 4, 12), (5, 6, 18)] {
        let step = hr::careers::StepForm {
            from_position_id: position_ids[from],
            to_position_id: position_ids[to],
            min_months: months,
            min_rating: "B".into(),
            required_course_id: None,
        };
        hr::careers::set_step(&mut tx, &principal, &step).await?;
    }
    tx.commit().await?;

    let mut rng = Lcg(20_260_101);
    let users: Vec<(&str, &str, usize)> = vec![
        ("liu.yang", "刘洋", 2),
        ("chen.jing", "陈静", 1),
        ("zhao.min", "赵敏", 3),
        ("wang.fang", "王芳", 4),
        ("li.qiang", "李强", 5),
        ("he.li", "何丽", 7),
    ];
    let mut made = 0;
    let mut heads: Vec<(usize, usize)> = Vec::new();
    for (d, (code, _, _, _, count)) in departments.iter().enumerate() {
        let mut managers: Vec<i64> = Vec::new();
        for k in 0..*count {
            // The department's first employee manages it (the general manager heads HQ).
            let position = match (*code, k) {
                ("HQ", 0) => 0,
                (_, 0) => 1,
                ("SAL-E" | "SAL-W", k) if k < 3 => 4,
                ("SAL-E" | "SAL-W" | "SAL", _) => 3,
                ("PRD", k) if k < 6 => 6,
                ("PRD", _) => 5,
                ("SVC", _) => 7,
                _ => 2,
            };
            // Each demo user is their department's second employee.
            let linked = if k == 1 { users.iter().find(|(_, _, dep)| *dep == d) } else { None };
            let (name, user_id) = match linked {
                Some((login, name, _)) => (name.to_string(), Some(web::accounts::find_user_id(db, login).await?)),
                None => {
                    let (surname, _) = *rng.pick(SURNAMES);
                    let (given, _) = *rng.pick(GIVEN);
                    (format!("{surname}{given}"), None)
                }
            };
            let (low, high) = positions[position].4;
            let base = low + (rng.next() % ((high - low) / 500 + 1)) * 500;
            // Most joined in earlier years; about one in twelve this year.
            let hire = if rng.next().is_multiple_of(12) && current_month > 1 {
                let month = 1 + rng.next() % u64::from(current_month - 1);
                format!("{year}-{month:02}-{:02}", 1 + rng.next() % 20)
            } else {
                format!("{}-{:02}-{:02}", year - 1 - (rng.next() % 8) as i32, 1 + rng.next() % 12, 1 + rng.next() % 28)
            };
            let form = hr::org::HireForm {
                name,
                id_number: resident_id(&mut rng, "310104"),
                mobile: format!("13{}{:08}", 5 + rng.next() % 5, rng.next() % 100_000_000),
                department_id: department_ids[d],
                position_id: position_ids[position],
                manager_id: managers.first().copied(),
                hire_date: hire,
                contract_kind: if k % 5 == 0 { "open".into() } else { "fixed".into() },
                contract_end: if k % 5 == 0 { String::new() } else { format!("{}-12-31", year + 1 + (k % 3) as i32) },
                base_salary: base.to_string(),
                additional_deductions: ["0", "1000", "2000", "3000"][(rng.next() % 4) as usize].into(),
                target_bonus: (base / 2).to_string(),
                bank_name: "招商银行上海分行".into(),
                bank_account: format!("62258812{:08}", rng.next() % 100_000_000),
                user_id,
                ..Default::default()
            };
            let mut tx = db.begin(Actor::user(admin, "admin", company_id)).await?;
            let id = hr::org::hire(&mut tx, &principal, &form).await?;
            for item in hr::org::ONBOARDING {
                hr::org::complete_onboarding(&mut tx, &principal, id, item).await?;
            }
            tx.commit().await?;
            if k == 0 {
                managers.push(id);
            }
            heads.push((d, position));
            made += 1;
        }
    }
    // The plan: what is there, a little room in sales, and a requisition in each direction.
    let mut cells: std::collections::BTreeMap<(usize, usize), i64> = std::collections::BTreeMap::new();
    for cell in &heads {
        *cells.entry(*cell).or_default() += 1;
    }
    let rows = cells
        .iter()
        .map(|((d, p), n)| hr::planning::PlanLineForm {
            department_id: department_ids[*d],
            position_id: position_ids[*p],
            approved: n + if *p == 3 { 2 } else { 0 },
        })
        .collect();
    let mut tx = db.begin(Actor::user(admin, "admin", company_id)).await?;
    hr::planning::set_plan(&mut tx, &principal, &hr::planning::PlanForm { year, rows }).await?;
    for (d, p, n, reason) in [(4, 3, 2, "华东新客户拓展"), (7, 7, 3, "双十一客服高峰")] {
        let form = hr::planning::RequisitionForm {
            year,
            department_id: department_ids[d],
            position_id: position_ids[p],
            heads: n,
            reason: reason.into(),
        };
        let id = hr::planning::request(&mut tx, &principal, &form).await?;
        if d == 4 {
            hr::planning::decide(&mut tx, &principal, id, true).await?;
        }
    }
    tx.commit().await?;
    // The year's quarterly reviews of everyone employed by the quarter's end, finalised: the
    // quarters gone by this year (in January, last year's fourth).
    let done_quarters = (current_month - 1) / 3;
    let quarters: Vec<(i32, u32)> =
        if done_quarters == 0 { vec![(year - 1, 4)] } else { (1..=done_quarters).map(|q| (year, q)).collect() };
    let staff: Vec<(i64, String, String)> = sqlx::query(
        "SELECT e.id, d.code, e.hire_date FROM hr_employees e JOIN hr_departments d ON d.id = e.department_id WHERE e.company_id = $1 ORDER BY e.id",
    )
    .bind(company_id)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("code")?, r.try_get("hire_date")?)))
    .collect::<std::result::Result<_, sqlx::Error>>()?;
    let mut tx = db.begin(Actor::user(admin, "admin", company_id)).await?;
    for (review_year, review_quarter) in quarters {
        let quarter_end = format!("{review_year}-{:02}-28", review_quarter * 3);
        for (employee, department, _) in staff.iter().filter(|(_, _, hired)| *hired <= quarter_end) {
            let goals = if department.starts_with("SAL") {
                vec![
                    hr::reviews::GoalForm { title: "回款目标".into(), weight: 60, target: "完成率 100%".into() },
                    hr::reviews::GoalForm { title: "新客户数".into(), weight: 40, target: "5 家".into() },
                ]
            } else {
                vec![
                    hr::reviews::GoalForm { title: "工作质量".into(), weight: 70, target: "差错为零".into() },
                    hr::reviews::GoalForm { title: "团队协作".into(), weight: 30, target: "按时交付".into() },
                ]
            };
            let form = hr::reviews::ReviewForm {
                employee_id: *employee,
                cycle: "quarterly".into(),
                period: format!("{review_year}-Q{review_quarter}"),
                goals,
            };
            let id = hr::reviews::create(&mut tx, &principal, &form).await?;
            let scores = vec![55 + (rng.next() % 45) as i64, 55 + (rng.next() % 45) as i64];
            hr::reviews::score(&mut tx, &principal, id, &hr::reviews::ScoresForm { by: "manager".into(), scores })
                .await?;
            hr::reviews::finalise(&mut tx, &principal, id, &hr::reviews::FinaliseForm::default()).await?;
        }
    }
    tx.commit().await?;
    seed_hr_month(db, company_id, &principal, admin, &department_ids).await?;
    Ok(made)
}

/// The demo's year of attendance and its current month in HR: everyone rostered on the day
/// shift on weekdays from the start of the year (or their hire) to the end of this month, a
/// clock record for each rostered day gone by (one day in seven ending at 20:00, so overtime
/// is paid), leave (approved annual leave, a pending unpaid day), the sales course with
/// evaluations, and a job posting with three applications.
async fn seed_hr_month(
    db: &Db,
    company_id: i64,
    principal: &kernel::permission::Principal,
    admin: i64,
    department_ids: &[i64],
) -> Result<()> {
    let today = (db.clock().now() + chrono::Duration::hours(8)).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let new_year = today.with_ordinal(1).unwrap_or(first);
    let month_end = (first + chrono::Duration::days(32)).with_day(1).unwrap_or(today) - chrono::Duration::days(1);
    // (id, number, department, hire date)
    let staff: Vec<(i64, String, i64, String)> =
        sqlx::query("SELECT id, number, department_id, hire_date FROM hr_employees WHERE company_id = $1 ORDER BY id")
            .bind(company_id)
            .fetch_all(db.reader())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("number")?, r.try_get("department_id")?, r.try_get("hire_date")?)))
            .collect::<std::result::Result<_, sqlx::Error>>()?;
    let east: Vec<(i64, String)> = staff
        .iter()
        .filter(|(_, _, department, _)| *department == department_ids[4])
        .map(|(id, number, _, _)| (*id, number.clone()))
        .collect();
    let mut tx = db.begin(Actor::user(admin, "admin", company_id)).await?;
    let shift = hr::attendance::ShiftForm {
        code: "DAY".into(),
        name: "白班".into(),
        starts: "09:00".into(),
        ends: "18:00".into(),
    };
    let shift = hr::attendance::create_shift(&mut tx, principal, &shift).await?;
    let mut csv = String::new();
    for (id, number, _, hired) in &staff {
        let start = chrono::NaiveDate::parse_from_str(hired, "%Y-%m-%d").unwrap_or(new_year).max(new_year);
        let form = hr::attendance::RosterForm {
            employee_id: *id,
            shift_id: shift,
            first_day: start.to_string(),
            last_day: month_end.to_string(),
            weekdays_only: true,
        };
        hr::attendance::roster(&mut tx, principal, &form).await?;
        for day in start.iter_days().take_while(|d| *d < today).filter(|d| d.weekday().number_from_monday() <= 5) {
            let late = (id + i64::from(day.ordinal())) % 7 == 0;
            csv.push_str(&format!("{number},{day},08:5{},{}\n", id % 10, if late { "20:00" } else { "18:05" }));
        }
    }
    if !csv.is_empty() {
        hr::attendance::import_clock(&mut tx, principal, &csv).await?;
    }
    if let (Some((a, _)), Some((b, _))) = (east.get(3), east.get(4)) {
        let leave = |employee: i64, kind: &str, days: i64| hr::attendance::LeaveForm {
            employee_id: employee,
            leave_type: kind.into(),
            first_day: today.to_string(),
            last_day: (today + chrono::Duration::days(days)).to_string(),
            reason: String::new(),
        };
        // On a weekend the requests hold no working day and are refused (a domain refusal, no
        // SQL error, so the transaction goes on); the demo then has no leave this month.
        if let Ok(id) = hr::attendance::request_leave(&mut tx, principal, &leave(*a, "annual", 1)).await {
            hr::attendance::decide_leave(&mut tx, principal, id, true).await?;
        }
        let _ = hr::attendance::request_leave(&mut tx, principal, &leave(*b, "personal", 0)).await;
    }
    let course = hr::training::CourseForm { code: "SAL-101".into(), title: "顾问式销售".into(), hours: 8 };
    let course = hr::training::create_course(&mut tx, principal, &course).await?;
    let session = hr::training::SessionForm {
        starts_on: first.to_string(),
        trainer: "周老师".into(),
        capacity: 20,
        cost: "3200.00".into(),
    };
    let session = hr::training::schedule(&mut tx, principal, course, &session).await?;
    // The year's plan: twelve of the east team on the course within 6,000.00.
    let plan = hr::training::PlanForm {
        year: today.year(),
        department_id: department_ids[4],
        course_id: course,
        heads: 12,
        budget: "6000.00".into(),
    };
    hr::training::plan(&mut tx, principal, &plan).await?;
    let attendees: Vec<i64> = east.iter().take(10).map(|(id, _)| *id).collect();
    hr::training::enrol(&mut tx, principal, session, &attendees).await?;
    for (k, employee) in attendees.iter().take(6).enumerate() {
        let k = k as i64;
        let form = hr::training::EvaluationForm {
            employee_id: *employee,
            attended: true,
            reaction: Some(3 + k % 3),
            pre_score: Some(50 + k * 4),
            post_score: Some(70 + k * 4),
            behaviour: Some(3 + k % 2),
            result: None,
        };
        hr::training::evaluate(&mut tx, principal, session, &form).await?;
    }
    let requisition =
        sqlx::query("SELECT id FROM hr_requisitions WHERE company_id = $1 AND status = 'approved' ORDER BY id LIMIT 1")
            .bind(company_id)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get::<i64, _>("id"))
            .transpose()?;
    if let Some(requisition) = requisition {
        let form = hr::recruiting::PostingForm {
            requisition_id: requisition,
            title: "销售代表（华东）".into(),
            description: "负责华东区大客户开发与维护。".into(),
            keywords: "CRM, 谈判, 英语".into(),
            min_years: 2,
            education: "bachelor".into(),
        };
        let posting = hr::recruiting::create_posting(&mut tx, principal, &form).await?;
        let posting = hr::recruiting::postings(tx.conn(), principal).await?.into_iter().find(|p| p.id == posting);
        if let Some(posting) = posting {
            for (name, mobile, years, education, resume) in [
                ("韩雪", "13912340001", "6", "master", "六年大客户销售，CRM 实施，英语流利，擅长谈判"),
                ("郑浩", "13912340002", "3", "bachelor", "三年渠道销售，熟悉 CRM"),
                ("冯雨", "13912340003", "1", "college", "应届，做过销售实习"),
            ] {
                let form = hr::recruiting::ApplicationForm {
                    name: name.into(),
                    mobile: mobile.into(),
                    years: years.into(),
                    education: education.into(),
                    resume: resume.into(),
                    ..Default::default()
                };
                hr::recruiting::apply(&mut tx, company_id, &posting, &form, None).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_party_is_valid() {
        let mut rng = Lcg(1);
        for i in 0..3000 {
            let form = party_form(&mut rng, i);
            assert!(domain::validate(&form).is_ok(), "party {i} is invalid: {form:?}");
        }
    }
}
