//! The words of contributions (缴费): units' declarations and bills, the months a person has
//! paid.

/// (key, Chinese, English)
pub(super) const UI: &[(&str, &str, &str)] = &[
    ("nav.unit_contributions", "单位缴费", "Contributions"),
    ("nav.my_contributions", "我的缴费", "My contributions"),
    ("contrib.unit_title", "单位医保缴费申报", "The unit's contributions"),
    (
        "contrib.unit_intro",
        "每月申报本单位参保职工的工资，系统按当年缴费基数上下限和费率计算单位和个人应缴金额（精确到分）。未缴清的月份可重新申报；缴清以银行或税务到账为准。",
        "Declare each month's wages of the unit's insured employees; yibao computes the unit's and each employee's part under the year's base limits and rates, to the fen. A month not yet paid may be declared again; a month is paid when the bank's or the tax authority's receipt says so.",
    ),
    ("contrib.arrears", "欠缴月份", "Months unpaid"),
    ("contrib.no_arrears", "没有欠缴", "Nothing unpaid"),
    ("contrib.declare", "申报工资", "Declare wages"),
    ("contrib.month", "所属月份", "Month"),
    ("contrib.employee", "职工", "Employee"),
    ("contrib.wage", "月工资（元）", "Monthly wage (yuan)"),
    ("contrib.submit", "提交申报并计算应缴", "Declare and compute the bill"),
    ("contrib.bills", "缴费单", "Bills"),
    ("contrib.none", "尚无缴费单", "No bills yet"),
    ("contrib.employer_part", "单位缴纳", "Unit's part"),
    ("contrib.employee_part", "个人缴纳", "Employees' part"),
    ("contrib.total", "合计", "Total"),
    ("contrib.state", "状态", "State"),
    ("contrib.paid_on", "缴费日期", "Paid on"),
    ("contrib.state_paid", "已缴清", "paid"),
    ("contrib.state_declared", "已申报，待缴费", "declared, unpaid"),
    ("contrib.lines", "明细", "Lines"),
    ("contrib.base", "缴费基数", "Base"),
    ("contrib.note", "说明", "Note"),
    ("contrib.my_title", "我的医保缴费", "My contributions"),
    (
        "contrib.my_intro",
        "以下是已缴纳医疗保险费的月份。单位职工由单位按月申报缴纳，个人缴纳部分从工资中代扣。",
        "The months your medical insurance contributions were paid. A unit declares and pays each month for its employees; your own part is withheld from your wage.",
    ),
    ("contrib.no_months", "尚无缴费记录", "No contributions recorded yet"),
    ("contrib.amount", "缴费金额（单位+个人）", "Amount (unit and own)"),
    ("contrib.source", "缴费来源", "Paid through"),
    ("contrib.standing", "今天的待遇状态", "Today"),
    ("done.declared", "已申报，缴费单已生成", "Declared: the bill is made"),
];
