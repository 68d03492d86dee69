//! Translations. Every user-visible string has a key with zh-CN and en text. The platform
//! brings its own table; each module brings one for its pages; [`Messages`] merges them
//! at startup. A message may contain `{0}`, filled with a detail such as the expected
//! check character of a credit code.

use kernel::Lang;
use std::collections::HashMap;

/// (key, 简体中文, English).
pub type MessageTable = &'static [(&'static str, &'static str, &'static str)];

/// All translations of the running app.
#[derive(Debug, Default)]
pub struct Messages {
    map: HashMap<&'static str, (&'static str, &'static str)>,
}

impl Messages {
    pub fn new(tables: &[MessageTable]) -> Self {
        let mut map = HashMap::new();
        for table in tables {
            for (key, zh, en) in table.iter() {
                map.insert(*key, (*zh, *en));
            }
        }
        Self { map }
    }

    /// The text of `key`, or the key itself when a translation is missing (a test checks
    /// that none is).
    pub fn get(&self, lang: Lang, key: &str) -> String {
        match self.map.get(key) {
            Some((zh, en)) => match lang {
                Lang::ZhCn => (*zh).to_string(),
                Lang::En => (*en).to_string(),
            },
            None => key.to_string(),
        }
    }

    /// The text of `key` with `{0}` replaced by `detail`.
    pub fn format(&self, lang: Lang, key: &str, detail: &str) -> String {
        self.get(lang, key).replace("{0}", detail)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Whether some key starts with `prefix` (for keys completed at run time).
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.map.keys().any(|k| k.starts_with(prefix))
    }
}

/// The platform's own messages: the shell, login, administration and shared errors.
pub const PLATFORM: MessageTable = &[
    ("app.name", "中枢", "Zhongshu"),
    ("nav.home", "首页", "Home"),
    ("nav.admin", "系统管理", "Administration"),
    ("nav.users", "用户", "Users"),
    ("nav.roles", "角色与权限", "Roles and grants"),
    ("nav.tokens", "API 令牌", "API tokens"),
    ("nav.audit", "审计日志", "Audit log"),
    ("nav.webhooks", "Webhook", "Webhooks"),
    ("nav.logout", "退出", "Sign out"),
    ("nav.company", "公司", "Company"),
    ("nav.language", "语言", "Language"),
    ("home.title", "工作台", "Dashboard"),
    ("home.welcome", "欢迎，{0}", "Welcome, {0}"),
    ("login.title", "登录", "Sign in"),
    ("login.login", "用户名", "Login"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Sign in"),
    ("login.failed", "用户名或密码错误", "Wrong login or password"),
    ("login.throttled", "登录失败次数过多，请 15 分钟后再试", "Too many failed attempts; try again in 15 minutes"),
    ("login.disabled", "该账号已停用", "This account is disabled"),
    ("common.save", "保存", "Save"),
    ("common.create", "新建", "Create"),
    ("common.edit", "编辑", "Edit"),
    ("common.cancel", "取消", "Cancel"),
    ("common.search", "搜索", "Search"),
    ("common.filter", "筛选", "Filter"),
    ("common.export_csv", "导出 CSV", "Export CSV"),
    ("common.next_page", "下一页", "Next page"),
    ("common.first_page", "第一页", "First page"),
    ("common.history", "变更历史", "Change history"),
    ("common.actions", "操作", "Actions"),
    ("common.yes", "是", "Yes"),
    ("common.no", "否", "No"),
    ("common.none", "无", "None"),
    ("common.all", "全部", "All"),
    ("common.saved", "已保存", "Saved"),
    ("vat.exempt", "免税", "Exempt"),
    ("common.created", "已创建", "Created"),
    ("common.sort", "排序", "Sort"),
    ("common.when", "时间", "When"),
    ("common.who", "操作人", "Who"),
    ("common.what", "内容", "What"),
    ("common.status", "状态", "Status"),
    ("common.active", "启用", "Active"),
    ("common.disabled", "停用", "Disabled"),
    ("common.rows", "共 {0} 条", "{0} rows"),
    ("common.from", "从", "From"),
    ("common.until", "至", "Until"),
    ("common.name", "名称", "Name"),
    ("common.code", "代码", "Code"),
    ("common.description", "说明", "Description"),
    ("common.revoke", "撤销", "Revoke"),
    ("common.apply", "应用", "Apply"),
    ("report.print", "打印", "Print"),
    ("report.prepared_by", "编制单位：", "Entity: "),
    ("report.unit", "单位：元", "Unit: CNY"),
    (
        "report.signatures",
        "单位负责人：　　　　　主管会计工作负责人：　　　　　会计机构负责人：　　　　　制表人：",
        "Head of the entity:          Head of accounting:          Chief accountant:          Prepared by: ",
    ),
    ("action.create", "创建", "create"),
    ("action.update", "修改", "update"),
    ("action.delete", "删除", "delete"),
    ("action.read", "查阅", "read"),
    ("action.login", "登录", "login"),
    ("action.state", "状态变更", "state change"),
    ("error.title", "出错了", "Something went wrong"),
    ("error.not_found", "找不到该页面或记录", "Page or record not found"),
    ("error.forbidden", "您没有权限执行此操作（需要 {0}）", "You lack the permission for this ({0} required)"),
    ("error.internal", "服务器内部错误，已记录，请稍后重试", "Internal error; it was logged, please try again later"),
    ("error.unauthenticated", "请先登录", "Please sign in"),
    (
        "error.csrf",
        "表单已过期或来源不明，请刷新页面后重试",
        "The form expired or came from elsewhere; reload the page and try again",
    ),
    (
        "error.stale_version",
        "该记录已被他人修改，请重新打开后再编辑",
        "Someone else changed this record; reopen it and edit again",
    ),
    ("error.conflict", "操作与当前状态冲突：{0}", "The operation conflicts with the current state: {0}"),
    ("error.throttled", "请求过于频繁，请稍后再试", "Too many requests; try again later"),
    ("error.malformed_json", "请求体不是有效的 JSON：{0}", "The request body is not valid JSON: {0}"),
    ("error.malformed_form", "表单数据无效：{0}", "The form data is invalid: {0}"),
    ("error.too_large", "请求体过大", "The request body is too large"),
    ("error.invalid", "输入有误，请检查标出的字段", "Some fields are invalid; see the marked fields"),
    ("error.unknown_filter", "未知的筛选字段：{0}", "Unknown filter field: {0}"),
    ("error.unknown_sort", "不支持按 {0} 排序", "Cannot sort by {0}"),
    ("error.bad_limit", "limit 必须是 1 到 500 之间的整数", "limit must be a whole number from 1 to 500"),
    ("error.bad_cursor", "分页游标无效", "The page cursor is invalid"),
    ("error.required", "必填", "Required"),
    ("error.too_long", "不能超过 {0} 个字符", "At most {0} characters"),
    ("error.period_order", "结束日期早于开始日期：{0}", "The period ends before it starts: {0}"),
    ("error.document.no_lines", "单据至少需要一行", "A document needs at least one line"),
    ("error.document.status", "单据当前状态不允许此操作：{0}", "Not possible in the document's current status: {0}"),
    ("error.document.line", "不是本单据的行：{0}", "Not a line of this document: {0}"),
    (
        "error.credit_code.length",
        "统一社会信用代码应为 18 位（当前 {0} 位）",
        "A unified social credit code has 18 characters ({0} given)",
    ),
    (
        "error.credit_code.character",
        "统一社会信用代码含非法字符 {0}",
        "The credit code contains the invalid character {0}",
    ),
    (
        "error.credit_code.check_digit",
        "统一社会信用代码校验位错误，应为 {0}",
        "The credit code's check character is wrong; it should be {0}",
    ),
    ("error.resident_id.length", "身份证号应为 18 位（当前 {0} 位）", "A resident ID has 18 characters ({0} given)"),
    (
        "error.resident_id.character",
        "身份证号前 17 位必须是数字（发现 {0}）",
        "The first 17 characters of a resident ID are digits ({0} found)",
    ),
    (
        "error.resident_id.birth_date",
        "身份证号中的出生日期 {0} 无效",
        "The birth date {0} in the resident ID is not a real date",
    ),
    (
        "error.resident_id.check_digit",
        "身份证号校验位错误，应为 {0}",
        "The resident ID's check character is wrong; it should be {0}",
    ),
    ("error.mobile.format", "手机号格式不正确：{0}", "Not a mainland mobile number: {0}"),
    ("error.email.format", "邮箱格式不正确：{0}", "Not a valid e-mail address: {0}"),
    ("error.amount.not_a_number", "金额不是数字：{0}", "The amount is not a number: {0}"),
    ("error.amount.too_many_decimals", "金额最多 {0} 位小数", "At most {0} decimals"),
    ("error.amount.too_large", "金额过大", "The amount is too large"),
    ("error.quantity.not_a_number", "数量不是数字：{0}", "The quantity is not a number: {0}"),
    ("error.quantity.too_precise", "数量精度超过 6 位小数：{0}", "More than 6 decimals: {0}"),
    ("error.quantity.too_large", "数量过大", "The quantity is too large"),
    (
        "error.permission.malformed",
        "权限名应为 模块.资源.操作：{0}",
        "A permission is named module.resource.action: {0}",
    ),
    ("error.scope", "范围无效：{0}", "Invalid scope: {0}"),
    ("error.login.taken", "用户名 {0} 已存在", "The login {0} is taken"),
    (
        "error.login.format",
        "用户名只能包含字母、数字、点、下划线和连字符（2–64 位）",
        "A login has 2–64 letters, digits, dots, underscores or dashes",
    ),
    ("error.password.too_short", "密码至少 {0} 位", "A password has at least {0} characters"),
    ("error.role.unknown", "未知角色：{0}", "Unknown role: {0}"),
    ("error.role.taken", "角色代码 {0} 已存在", "The role code {0} is taken"),
    ("error.company.not_allowed", "您无权访问该公司", "You have no access to that company"),
    ("error.url.format", "URL 必须以 http:// 或 https:// 开头", "The URL must start with http:// or https://"),
    (
        "error.database_url.scheme",
        "数据库地址必须以 sqlite: 或 postgres:// 开头：{0}",
        "The database URL must start with sqlite: or postgres://: {0}",
    ),
    ("error.sequence.pattern", "编号格式无效：{0}", "Invalid numbering pattern: {0}"),
    ("error.backup.invalid", "备份文件无效：{0}", "The backup file is invalid: {0}"),
    ("error.date.format", "日期格式应为 YYYY-MM-DD：{0}", "Dates are written YYYY-MM-DD: {0}"),
    ("user.login", "用户名", "Login"),
    ("user.display_name", "姓名", "Name"),
    ("user.email", "邮箱", "E-mail"),
    ("user.password", "密码", "Password"),
    ("user.new_password", "新密码", "New password"),
    ("user.team", "团队", "Team"),
    ("user.department", "部门", "Department"),
    ("user.roles", "角色", "Roles"),
    ("user.is_admin", "管理员", "Administrator"),
    ("user.disable", "停用", "Disable"),
    ("user.enable", "启用", "Enable"),
    ("user.reset_password", "重置密码", "Reset password"),
    ("user.new", "新建用户", "New user"),
    ("role.new", "新建角色", "New role"),
    ("role.grants", "授权", "Grants"),
    ("role.permission", "权限", "Permission"),
    ("role.scope", "数据范围", "Record scope"),
    ("scope.none", "无", "none"),
    ("scope.own", "本人", "own"),
    ("scope.team", "本团队", "team"),
    ("scope.department", "本部门", "department"),
    ("scope.company", "全公司", "company"),
    ("token.name", "令牌名称", "Token name"),
    ("token.prefix", "前缀", "Prefix"),
    ("token.created", "新令牌（只显示这一次，请立即复制）：", "New token (shown this once only; copy it now):"),
    ("token.last_used", "最近使用", "Last used"),
    ("token.revoked", "已撤销", "Revoked"),
    ("token.owner", "所有者", "Owner"),
    ("audit.resource", "资源", "Resource"),
    ("audit.resource_id", "记录", "Record"),
    ("audit.action", "动作", "Action"),
    ("audit.changes", "变更", "Changes"),
    ("audit.user", "用户", "User"),
    ("webhook.url", "地址", "URL"),
    ("webhook.event_types", "事件类型（逗号分隔，* 表示全部）", "Event types (comma separated, * for all)"),
    ("webhook.secret", "签名密钥", "Signing secret"),
    ("webhook.deliveries", "投递记录", "Delivery log"),
    ("webhook.event", "事件", "Event"),
    ("webhook.attempts", "尝试次数", "Attempts"),
    ("webhook.response", "响应", "Response"),
    ("perm.web.user.manage", "管理用户", "Manage users"),
    ("perm.web.role.manage", "管理角色与授权", "Manage roles and grants"),
    ("perm.web.token.manage", "管理所有 API 令牌", "Manage everyone's API tokens"),
    ("perm.web.audit.read", "查阅审计日志", "Read the audit log"),
    ("perm.web.webhook.manage", "管理 Webhook", "Manage webhooks"),
    ("perm.web.company.manage", "管理公司", "Manage companies"),
    ("nav.companies", "公司", "Companies"),
    ("company.legal_name", "法定名称", "Legal name"),
    ("company.short_name", "简称", "Short name"),
    ("company.credit_code", "统一社会信用代码", "Unified social credit code"),
    ("company.base_currency", "本位币", "Base currency"),
    ("company.time_zone", "时区", "Time zone"),
    ("company.new", "新建公司", "New company"),
    ("user.companies", "可访问的公司", "Companies"),
    ("error.company.currency", "不支持的币种：{0}", "Unsupported currency: {0}"),
    ("error.company.time_zone", "不支持的时区：{0}", "Unsupported time zone: {0}"),
    ("error.company.none", "至少选择一家公司", "Choose at least one company"),
];
