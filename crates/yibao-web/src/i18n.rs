//! The portal's words, in Chinese and English. Templates call `ctx.t("key")`; a test checks
//! that every key a template uses exists here.

use yibao_core::Lang;

/// (key, Chinese, English)
pub const UI: &[(&str, &str, &str)] = &[
    ("app.name", "医保报销系统", "yibao medical insurance"),
    ("app.tagline", "基本医疗保险报销系统", "Basic medical insurance reimbursement"),
    ("nav.home", "首页", "Home"),
    ("nav.persons", "参保人", "Insured persons"),
    ("nav.employers", "参保单位", "Employers"),
    ("nav.institutions", "医疗机构", "Institutions"),
    ("nav.policies", "政策", "Policies"),
    ("nav.catalogs", "医保目录", "Catalogs"),
    ("nav.audit", "审计日志", "Audit log"),
    ("nav.accounts", "账号管理", "Accounts"),
    ("nav.me", "我的参保信息", "My insurance"),
    ("nav.api", "API 文档", "API docs"),
    ("nav.logout", "退出登录", "Log out"),
    ("nav.lang_other", "English", "中文"),
    ("login.title", "登录", "Log in"),
    ("login.username", "用户名", "Username"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    ("login.failed", "用户名或密码错误", "wrong username or password"),
    (
        "login.locked",
        "连续登录失败次数过多，账号已临时锁定，请稍后再试",
        "too many failed attempts: the account is locked for a while; try again later",
    ),
    ("login.disabled", "账号已停用，请联系系统管理员", "the account is disabled; contact the system administrator"),
    (
        "login.demo_hint",
        "演示账号见 README（密码 demo2026）",
        "Demo accounts are listed in the README (password demo2026)",
    ),
    ("home.welcome", "欢迎", "Welcome"),
    ("home.role", "角色", "Role"),
    ("home.regions", "管辖区域", "Regions"),
    ("home.persons_count", "登记参保人数", "Registered insured persons"),
    ("home.what_you_can_do", "您可以", "What you can do"),
    ("home.search_persons", "检索参保人", "Search insured persons"),
    ("home.new_person", "登记参保人", "Register an insured person"),
    ("home.view_institutions", "查看定点医疗机构", "See designated institutions"),
    ("home.edit_institutions", "维护医疗机构", "Maintain institutions"),
    ("home.view_audit", "查看审计日志", "Read the audit log"),
    ("home.manage_accounts", "管理账号", "Manage accounts"),
    ("home.view_me", "查看我的参保信息", "See my insurance record"),
    ("persons.title", "参保人", "Insured persons"),
    ("persons.search_placeholder", "姓名或身份证号开头", "Start of a name or ID number"),
    ("persons.search", "检索", "Search"),
    ("persons.region", "参保地", "Insured region"),
    ("persons.all_regions", "全部管辖区域", "All my regions"),
    ("persons.none", "没有符合条件的参保人", "No insured person matches"),
    ("persons.next_page", "下一页", "Next page"),
    ("persons.new", "登记参保人", "Register a person"),
    ("persons.edit", "修改", "Edit"),
    ("persons.history", "变更历史", "History"),
    (
        "persons.masked_note",
        "列表中的身份信息已脱敏；详情页按角色显示",
        "Identity data is masked in lists; the detail page shows it by role",
    ),
    ("field.resident_id", "身份证号码", "Resident ID number"),
    ("field.name", "姓名", "Name"),
    ("field.sex", "性别", "Sex"),
    ("field.birth_date", "出生日期", "Birth date"),
    ("field.scheme", "险种", "Scheme"),
    ("field.enrolment", "参保类型", "Enrolment"),
    ("field.category", "人员类别", "Person category"),
    ("field.insured_region", "参保地（行政区划代码）", "Insured region (division code)"),
    ("field.pooling_region", "统筹区", "Pooling region"),
    ("field.hukou_region", "户籍地（行政区划代码）", "Household registration (division code)"),
    ("field.employer", "参保单位", "Employer unit"),
    ("field.employer_id", "参保单位编号", "Employer unit number"),
    ("field.bank_name", "开户银行", "Bank"),
    ("field.bank_card", "银行卡号", "Bank card number"),
    ("field.phone", "联系电话", "Phone"),
    ("field.status", "参保状态", "Status"),
    ("field.status_from", "状态生效日期", "Status effective from"),
    ("field.version", "版本", "Version"),
    ("field.updated_at", "更新时间", "Updated at"),
    ("field.credit_code", "统一社会信用代码", "Unified social credit code"),
    ("field.region", "所在地区", "Region"),
    ("field.contact_name", "联系人", "Contact"),
    ("field.contact_phone", "联系电话", "Contact phone"),
    ("field.code", "机构编码", "Institution code"),
    ("field.tier", "机构层级", "Tier"),
    ("field.grade", "医院等级", "Grade"),
    ("field.designated", "定点资格", "Designation"),
    ("field.designated_from", "定点起始日期", "Designated from"),
    ("field.designated_to", "定点截止日期", "Designated until"),
    ("field.may_issue_referrals", "可开具转诊证明", "May issue referral certificates"),
    ("field.direct_settlement", "可直接结算", "Direct settlement"),
    ("field.username", "用户名", "Username"),
    ("field.display_name", "姓名", "Display name"),
    ("field.role", "角色", "Role"),
    ("field.scope", "管辖区域", "Regions"),
    ("field.password", "初始密码", "Initial password"),
    ("field.person_id", "关联参保人编号", "Linked insured person number"),
    ("common.view", "查看", "View"),
    ("common.search", "查询", "Search"),
    ("policies.title", "待遇政策", "Benefit policies"),
    (
        "policies.intro",
        "各统筹区、各险种、各年度的待遇政策，所有版本均保留。结算按票据日期所在年度适用的最高版本执行。",
        "Each pooling region's policy per scheme and insurance year; every version is kept. A claim is adjudicated under the highest version in force in the insurance year of its receipt date.",
    ),
    ("policies.year", "年度", "Year"),
    ("policies.version", "版本", "Version"),
    ("policies.effective", "有效期", "In force"),
    ("policies.imported", "导入时间 / 操作人", "Imported / by"),
    ("policies.none", "尚无政策", "No policies yet"),
    ("policies.import", "导入新版本", "Import a new version"),
    (
        "policies.import_hint",
        "上传或粘贴 TOML / JSON 格式的政策文件（格式见 docs/formats/policy.md）。导入前逐项校验，有误则全部列出，不会保存。",
        "Upload or paste a policy in TOML or JSON (see docs/formats/policy.md). It is checked item by item first; if anything is wrong, every problem is listed and nothing is stored.",
    ),
    ("policies.file", "政策文件", "Policy file"),
    ("policies.paste", "或粘贴政策内容", "or paste the policy"),
    ("policies.submit", "校验并导入", "Check and import"),
    ("policies.refused", "政策未导入，请修改以下问题：", "The policy was not imported; please correct:"),
    ("policies.document", "政策原文", "Document as imported"),
    ("catalogs.title", "医保目录", "Medical insurance catalogs"),
    (
        "catalogs.intro",
        "药品、诊疗项目、医疗服务设施和医用耗材目录，按地区、按生效日期管理；每次导入都保留。",
        "Drugs, services, facilities and consumables per region with effective dates; every import is kept.",
    ),
    ("catalogs.search", "编码或名称", "Code or name"),
    ("catalogs.search_hint", "如 阿莫西林 或 XJ01", "e.g. 阿莫西林 or XJ01"),
    ("catalogs.code", "医保编码", "National code"),
    ("catalogs.kind", "类别", "Kind"),
    ("catalogs.category", "甲乙丙", "Category"),
    ("catalogs.selfpay", "先行自付", "Self-pay first"),
    ("catalogs.price_cap", "限价（元）", "Price ceiling (yuan)"),
    ("catalogs.valid", "有效期", "In force"),
    ("catalogs.restriction", "限制", "Restrictions"),
    ("catalogs.import", "导入批次", "Import"),
    ("catalogs.no_entries", "没有找到匹配的目录项", "No matching catalog entries"),
    ("catalogs.imports", "导入记录", "Imports"),
    ("catalogs.file", "文件", "File"),
    ("catalogs.accepted", "已导入行数", "Rows stored"),
    ("catalogs.rejected", "未导入行数", "Rows refused"),
    ("catalogs.upload", "导入目录文件", "Import a catalog file"),
    (
        "catalogs.upload_hint",
        "CSV 或 XLSX，第一行为国家平台字段名（格式见 docs/formats/catalog.md）。合格的行导入，不合格的行逐行说明原因。",
        "CSV or XLSX with the national field names in the first row (see docs/formats/catalog.md). Good rows are stored; each refused row says why.",
    ),
    ("catalogs.submit", "导入", "Import"),
    ("catalogs.report", "目录导入报告", "Catalog import report"),
    ("catalogs.stored", "已导入", "Stored"),
    ("catalogs.nothing_stored", "文件中没有可以导入的行，未保存任何内容。", "No row of the file could be imported; nothing was stored."),
    ("catalogs.rejected_rows", "未导入的行及原因", "Refused rows and why"),
    ("catalogs.line", "行号", "Line"),
    ("catalogs.field", "字段", "Field"),
    ("catalogs.reason", "原因", "Reason"),
    ("catalogs.more_rows", "另有未显示的行（可通过 API 获取全部）：", "More rows not shown (the API returns them all):"),
    ("common.yes", "是", "Yes"),
    ("common.no", "否", "No"),
    ("common.none", "无", "None"),
    ("common.save", "保存", "Save"),
    ("common.cancel", "取消", "Cancel"),
    ("common.back", "返回", "Back"),
    ("common.new", "新增", "New"),
    ("common.details", "详情", "Details"),
    ("common.not_designated", "非定点", "Not designated"),
    ("common.until_further_notice", "长期", "open-ended"),
    ("common.fix_errors", "请修改以下信息后重新提交：", "Please correct the following and submit again:"),
    ("common.saved", "已保存", "Saved"),
    ("common.request_id", "请求编号", "Request id"),
    ("common.error", "出错了", "Something went wrong"),
    ("employers.title", "参保单位", "Employer units"),
    ("employers.new", "登记参保单位", "Register an employer"),
    ("institutions.title", "医疗机构", "Medical institutions"),
    ("institutions.new", "登记医疗机构", "Register an institution"),
    ("institutions.edit", "修改医疗机构", "Edit an institution"),
    ("employers.edit", "修改参保单位", "Edit an employer"),
    ("hint.region", "六位行政区划代码，如 620302", "six-digit division code, e.g. 620302"),
    ("hint.institution_code", "国家医保机构编码，如 H62030200001", "national institution code, e.g. H62030200001"),
    ("hint.scope", "工作人员必填，多个以逗号分隔，如 620300", "staff only; several separated by commas, e.g. 620300"),
    ("hint.person_id", "仅参保人账号填写", "insured persons' accounts only"),
    ("hint.password", "至少 8 位，含字母和数字", "at least 8 characters with letters and digits"),
    ("institutions.intro", "定点医疗机构名单（公开信息）", "Designated institutions (public information)"),
    ("audit.title", "审计日志", "Audit log"),
    (
        "audit.intro",
        "每条变更均记录在哈希链中，可用 yibao audit verify 校验",
        "Every change is recorded in a hash chain; check it with yibao audit verify",
    ),
    ("audit.seq", "序号", "Seq"),
    ("audit.at", "时间", "At"),
    ("audit.actor", "操作人", "Actor"),
    ("audit.action", "操作", "Action"),
    ("audit.entity", "对象", "Entity"),
    ("audit.hash", "哈希", "Hash"),
    ("accounts.title", "账号管理", "Accounts"),
    ("accounts.new", "新建账号", "New account"),
    ("me.title", "我的参保信息", "My insurance record"),
    ("me.no_record", "您的账号未关联参保信息", "Your account has no insurance record"),
];

pub fn t(lang: Lang, key: &str) -> &'static str {
    match UI.iter().find(|(k, _, _)| *k == key) {
        Some((_, zh, en)) => match lang {
            Lang::Zh => zh,
            Lang::En => en,
        },
        None => {
            tracing::warn!(key, "missing UI text");
            "?"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_present() {
        let mut keys: Vec<_> = UI.iter().map(|(k, _, _)| *k).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate UI keys");
        for (k, zh, en) in UI {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
    }

    #[test]
    fn every_key_used_in_templates_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                if !UI.iter().any(|(k, _, _)| *k == key) {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "missing UI keys: {missing:?}");
    }
}
