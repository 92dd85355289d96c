//! Paying approved claims to bank cards: payment orders (one per approved claim), batches
//! that finance builds, a second finance user approves and exports as a bank batch file,
//! and the bank's result file that says which orders were paid and which failed. Which step
//! may follow which is decided here ([`OrderState::after`], [`BatchState::after`]); the
//! files' formats are read and written here (`docs/formats/bank-batch.md`); so are the due
//! date of the 15-working-day promise and the reconciliation of every fen. Pure: the caller
//! passes the dates and the rows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarError, Estimate};
use crate::error::InvalidValue;
use crate::i18n::Text;
use crate::money::Fen;
use crate::registry::coded_enum;
use crate::sporadic::PAYMENT_WORKING_DAYS;

/// Claims due within this many working days are listed as at risk.
pub const AT_RISK_WORKING_DAYS: i64 = 3;

coded_enum!(
    /// Where a payment order is. Every change goes through [`OrderState::after`].
    OrderState, "state" {
        AwaitingAccount = "awaiting_account", "待补银行账户", "waiting for a bank account";
        Ready = "ready", "待支付", "ready to pay";
        Batched = "batched", "已编入批次", "in a batch";
        Exported = "exported", "已送银行", "sent to the bank";
        Paid = "paid", "已支付", "paid";
        Failed = "failed", "支付失败", "payment failed";
    }
);

/// What happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    /// A bank account is given (registered, corrected after a failure, or retried as is).
    Account,
    /// Finance puts it in a batch.
    Batch,
    /// Its batch is cancelled before export.
    Unbatch,
    /// Its batch is exported to the bank.
    Export,
    /// The bank paid it.
    Paid,
    /// The bank refused it.
    Fail,
}

impl OrderState {
    /// The state an order moves to, or why it cannot.
    pub fn after(self, action: OrderAction) -> Result<OrderState, InvalidValue> {
        use OrderAction as A;
        use OrderState as S;
        let next = match (self, action) {
            (S::AwaitingAccount | S::Failed | S::Ready, A::Account) => Some(S::Ready),
            (S::Ready, A::Batch) => Some(S::Batched),
            (S::Batched, A::Unbatch) => Some(S::Ready),
            (S::Batched, A::Export) => Some(S::Exported),
            (S::Exported, A::Paid) => Some(S::Paid),
            (S::Exported, A::Fail) => Some(S::Failed),
            _ => None,
        };
        next.ok_or_else(|| {
            InvalidValue::new(
                "state",
                "transition",
                format!("支付指令处于“{}”，不能执行此操作", self.label().zh),
                format!("the payment order is {}; this step is not possible now", self.label().en),
            )
        })
    }

    /// Whether the money is with the claimant or on its way (not to be paid again).
    pub fn is_settled_or_in_flight(self) -> bool {
        matches!(self, OrderState::Batched | OrderState::Exported | OrderState::Paid)
    }
}

coded_enum!(
    /// Where a batch is. Every change goes through [`BatchState::after`].
    BatchState, "state" {
        Built = "built", "待复核", "waiting for approval";
        Approved = "approved", "已复核，待导出", "approved, to export";
        Exported = "exported", "已导出，待银行回盘", "exported, waiting for the bank's result";
        Closed = "closed", "已回盘", "closed: every result is in";
        Cancelled = "cancelled", "已作废", "cancelled";
    }
);

/// What happens to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAction {
    Approve,
    Export,
    /// The last of the bank's results came in.
    Close,
    Cancel,
}

impl BatchState {
    pub fn after(self, action: BatchAction) -> Result<BatchState, InvalidValue> {
        use BatchAction as A;
        use BatchState as S;
        let next = match (self, action) {
            (S::Built, A::Approve) => Some(S::Approved),
            (S::Approved | S::Exported, A::Export) => Some(S::Exported),
            (S::Exported, A::Close) => Some(S::Closed),
            (S::Built | S::Approved, A::Cancel) => Some(S::Cancelled),
            _ => None,
        };
        next.ok_or_else(|| {
            InvalidValue::new(
                "state",
                "transition",
                format!("支付批次处于“{}”，不能执行此操作", self.label().zh),
                format!("the batch is {}; this step is not possible now", self.label().en),
            )
        })
    }
}

coded_enum!(
    /// Why the bank did not pay an order (the codes of the result file).
    BankFailure, "reason_code" {
        ClosedAccount = "closed_account", "账户已销户", "the account is closed";
        NameMismatch = "name_mismatch", "户名与账号不符", "the name does not match the account";
        NoSuchAccount = "no_such_account", "账号不存在", "no such account";
        Frozen = "frozen", "账户已冻结或止付", "the account is frozen";
        Other = "other", "银行其他原因", "another reason at the bank";
    }
);

impl BankFailure {
    /// What the claimant should do, in their words.
    pub fn what_to_do(self) -> Text {
        match self {
            BankFailure::NameMismatch => Text::new(
                "请提供以参保人本人（或申报单位）名义开立的银行卡，更正收款账户后将在下一批次支付",
                "give a card in the claimant's (or the employer unit's) own name; once the account is corrected it is paid in the next batch",
            ),
            BankFailure::Other => Text::new(
                "请核对收款账户；确认无误后提交即可在下一批次重新支付",
                "check the account; once confirmed it is paid again in the next batch",
            ),
            _ => Text::new(
                "请更正收款银行账户（可在本页填写，或到经办窗口办理），更正后将在下一批次支付",
                "correct the bank account (on this page or at the window); it is then paid in the next batch",
            ),
        }
    }
}

/// When an approved claim's money is due on the card: [`PAYMENT_WORKING_DAYS`] working days
/// after the day it was approved, on the official calendar (provisional where a year's
/// holidays are not yet published).
pub fn due_date(calendar: &Calendar, approved_on: NaiveDate) -> Result<Estimate, CalendarError> {
    calendar.estimate_working_days(approved_on, PAYMENT_WORKING_DAYS)
}

/// How an unpaid order stands against its due date on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Overdue,
    /// Due within [`AT_RISK_WORKING_DAYS`] working days.
    AtRisk,
    OnTime,
}

impl Urgency {
    pub fn of(calendar: &Calendar, due: NaiveDate, today: NaiveDate) -> Urgency {
        if today > due {
            return Urgency::Overdue;
        }
        // Working days from today to the due date; a year without data counts as at risk
        // rather than hiding the order.
        match calendar.working_days_between(today, due) {
            Ok(n) if n > AT_RISK_WORKING_DAYS => Urgency::OnTime,
            _ => Urgency::AtRisk,
        }
    }

    pub fn label(self) -> Text {
        match self {
            Urgency::Overdue => Text::new("已超期", "overdue"),
            Urgency::AtRisk => Text::new(format!("{AT_RISK_WORKING_DAYS} 个工作日内到期"), "due within 3 working days"),
            Urgency::OnTime => Text::new("未到期", "on time"),
        }
    }
}

/// One order in a bank batch file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchLine {
    pub seq: i64,
    pub order_no: String,
    pub account_name: String,
    pub bank_card: String,
    pub bank_name: String,
    pub amount: Fen,
}

coded_enum!(
    /// The bank file formats yibao writes: the paying bank of a region takes one of them
    /// (`docs/formats/bank-batch.md`).
    BankFormat, "format" {
        Csv = "csv", "通用 CSV（UTF-8）", "CSV (UTF-8)";
        FixedGbk = "fixed_gbk", "定长文本（GBK，按字节定宽）", "fixed-width text (GBK, widths in bytes)";
    }
);

/// Widths of the fixed-width format's fields, in bytes.
const FIXED_NAME: usize = 30;
const FIXED_BANK: usize = 40;
const FIXED_NO: usize = 20;
const FIXED_CARD: usize = 19;

/// A bank batch file: a header with the batch number, region, date, record count and
/// control total; one line per order; a trailer repeating the count and total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFile {
    pub batch_no: String,
    pub region: String,
    pub created_on: NaiveDate,
    pub format: BankFormat,
    pub lines: Vec<BatchLine>,
}

/// `text` in GBK, space-padded to `width` bytes; an error names the field when it does not
/// fit or has a character GBK lacks.
fn gbk_field(field: &'static str, text: &str, width: usize) -> Result<Vec<u8>, InvalidValue> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    if unmappable {
        return Err(InvalidValue::new(
            field,
            "not_gbk",
            format!("“{text}”含有 GBK 编码不能表示的字符，不能写入定长文件"),
            format!("\"{text}\" has a character GBK cannot encode; it cannot go into the fixed-width file"),
        ));
    }
    if bytes.len() > width {
        return Err(InvalidValue::new(
            field,
            "too_long",
            format!("“{text}”超过定长文件的 {width} 字节"),
            format!("\"{text}\" is longer than the fixed-width file's {width} bytes"),
        ));
    }
    let mut out = bytes.into_owned();
    out.resize(width, b' ');
    Ok(out)
}

/// A non-negative number right-aligned in `width` digits, zero-padded.
fn digits(n: i64, width: usize) -> Vec<u8> {
    format!("{:0width$}", n.max(0)).into_bytes()
}

impl BatchFile {
    pub fn total(&self) -> Fen {
        self.lines.iter().map(|l| l.amount).sum()
    }

    /// The file's bytes in its format. The same batch always gives the same bytes.
    pub fn bytes(&self) -> Result<Vec<u8>, InvalidValue> {
        match self.format {
            BankFormat::Csv => Ok(self.to_csv()),
            BankFormat::FixedGbk => self.to_fixed_gbk(),
        }
    }

    /// The fixed-width format: records of fixed byte lengths (header 58, detail 131, trailer
    /// 24) ending in CRLF, text in GBK padded with spaces, numbers zero-padded, amounts in fen.
    pub fn to_fixed_gbk(&self) -> Result<Vec<u8>, InvalidValue> {
        let count = self.lines.len() as i64;
        let total = self.total().fen();
        let mut out = Vec::with_capacity(60 + 133 * self.lines.len() + 26);
        out.push(b'H');
        out.extend(gbk_field("batch_no", &self.batch_no, FIXED_NO)?);
        out.extend(gbk_field("region", &self.region, 6)?);
        out.extend(self.created_on.format("%Y%m%d").to_string().into_bytes());
        out.extend(digits(count, 8));
        out.extend(digits(total, 15));
        out.extend(b"\r\n");
        for l in &self.lines {
            out.push(b'D');
            out.extend(digits(l.seq, 6));
            out.extend(gbk_field("order_no", &l.order_no, FIXED_NO)?);
            out.extend(gbk_field("account_name", &l.account_name, FIXED_NAME)?);
            out.extend(gbk_field("bank_card", &l.bank_card, FIXED_CARD)?);
            out.extend(gbk_field("bank_name", &l.bank_name, FIXED_BANK)?);
            out.extend(digits(l.amount.fen(), 15));
            out.extend(b"\r\n");
        }
        out.push(b'T');
        out.extend(digits(count, 8));
        out.extend(digits(total, 15));
        out.extend(b"\r\n");
        Ok(out)
    }

    /// The file's bytes (UTF-8 CSV). The same batch always gives the same bytes, so a
    /// second export is the same file, which the bank refuses by its batch number.
    pub fn to_csv(&self) -> Vec<u8> {
        use crate::text::spreadsheet_safe;
        let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        let count = self.lines.len().to_string();
        let total = self.total().to_plain();
        let date = self.created_on.format("%Y-%m-%d").to_string();
        // Writing to a Vec cannot fail; a failed record would show as a short file that
        // the trailer's count exposes.
        let _ = w.write_record(["H", &self.batch_no, &self.region, &date, &count, &total]);
        for l in &self.lines {
            let seq = l.seq.to_string();
            let amount = l.amount.to_plain();
            // The names are the claimant's own words: neutralised, so a spreadsheet shows them.
            let (name, bank) = (spreadsheet_safe(&l.account_name), spreadsheet_safe(&l.bank_name));
            let _ = w.write_record(["D", &seq, &l.order_no, &name, &l.bank_card, &bank, &amount]);
        }
        let _ = w.write_record(["T", &count, &total]);
        w.into_inner().unwrap_or_default()
    }

    /// The file name finance saves it under.
    pub fn file_name(&self) -> String {
        match self.format {
            BankFormat::Csv => format!("{}.csv", self.batch_no),
            BankFormat::FixedGbk => format!("{}.txt", self.batch_no),
        }
    }
}

/// The bank's answer for one order of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankResult {
    pub seq: i64,
    pub order_no: String,
    pub amount: Fen,
    /// The day the bank paid or refused it.
    pub processed_on: NaiveDate,
    /// Why it was refused, with the bank's words; `None` when paid.
    pub failure: Option<(BankFailure, String)>,
}

/// A bank result file (回盘文件), read and checked against its own header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFile {
    pub batch_no: String,
    pub results: Vec<BankResult>,
}

/// A problem with a result file, at a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileError {
    pub line: u64,
    pub message: Text,
}

impl FileError {
    fn at(line: u64, zh: impl Into<String>, en: impl Into<String>) -> FileError {
        FileError { line, message: Text::new(zh, en) }
    }
}

impl ResultFile {
    /// Reads `H,batch_no,count,total` then `R,seq,order_no,amount,S|F,reason_code,reason,date`
    /// lines. The count and total must agree with the lines; every problem is reported.
    pub fn parse(data: &[u8]) -> Result<ResultFile, Vec<FileError>> {
        let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(data);
        let mut errors = Vec::new();
        let mut header: Option<(String, usize, Fen)> = None;
        let mut results = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, record) in reader.records().enumerate() {
            let line = i as u64 + 1;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    errors.push(FileError::at(line, format!("无法读取：{e}"), format!("cannot be read: {e}")));
                    continue;
                }
            };
            let cell = |n: usize| record.get(n).unwrap_or("");
            match (cell(0), line) {
                ("H", 1) => {
                    let count = cell(2).parse::<usize>();
                    let total = cell(3).parse::<Fen>();
                    match (cell(1), count, total) {
                        (no, Ok(count), Ok(total)) if !no.is_empty() => header = Some((no.to_string(), count, total)),
                        _ => errors.push(FileError::at(
                            line,
                            "首行应为 H,批次号,笔数,总金额",
                            "the first line should be H,batch_no,count,total",
                        )),
                    }
                }
                ("R", l) if l > 1 => match result_line(&record) {
                    Ok(r) => {
                        if !seen.insert(r.seq) {
                            errors.push(FileError::at(
                                line,
                                format!("序号 {} 重复", r.seq),
                                format!("sequence {} appears twice", r.seq),
                            ));
                        }
                        results.push(r);
                    }
                    Err(message) => errors.push(FileError { line, message }),
                },
                _ => errors.push(FileError::at(
                    line,
                    "无法识别的行：首行为 H，其余各行为 R",
                    "unrecognised line: the first is H, the others R",
                )),
            }
        }
        let Some((batch_no, count, total)) = header else {
            if errors.is_empty() {
                errors.push(FileError::at(1, "文件为空", "the file is empty"));
            }
            return Err(errors);
        };
        let sum: Fen = results.iter().map(|r| r.amount).sum();
        if errors.is_empty() && (count != results.len() || total != sum) {
            errors.push(FileError::at(
                1,
                format!(
                    "控制信息不符：首行 {count} 笔、{} 元，明细 {} 笔、{} 元",
                    total.to_plain(),
                    results.len(),
                    sum.to_plain()
                ),
                format!(
                    "control figures disagree: the header says {count} records, {}, the lines {} records, {}",
                    total.to_plain(),
                    results.len(),
                    sum.to_plain()
                ),
            ));
        }
        if errors.is_empty() {
            Ok(ResultFile { batch_no, results })
        } else {
            Err(errors)
        }
    }
}

fn result_line(record: &csv::StringRecord) -> Result<BankResult, Text> {
    let cell = |n: usize| record.get(n).unwrap_or("");
    let seq = cell(1).parse::<i64>().map_err(|_| Text::new("序号无效", "invalid sequence number"))?;
    let order_no = cell(2).to_string();
    if order_no.is_empty() {
        return Err(Text::new("缺少支付指令号", "the order number is missing"));
    }
    let amount = cell(3).parse::<Fen>().map_err(|e| e.message)?;
    let date = NaiveDate::parse_from_str(cell(7), "%Y-%m-%d")
        .map_err(|_| Text::new("处理日期无效，应为 YYYY-MM-DD", "invalid processing date: expected YYYY-MM-DD"))?;
    let failure = match cell(4) {
        "S" => None,
        "F" => Some((BankFailure::parse(cell(5)).map_err(|e| e.message)?, cell(6).to_string())),
        other => {
            return Err(Text::new(
                format!("状态“{other}”无效：S 为成功，F 为失败"),
                format!("status \"{other}\" is invalid: S for paid, F for failed"),
            ))
        }
    };
    Ok(BankResult { seq, order_no, amount, processed_on: date, failure })
}

/// What a payment order pays: an approved claim's fund share, or an approved withdrawal
/// from an individual account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    Claim(i64),
    Withdrawal(i64),
    /// An approved clearing: what the fund owes a designated institution for a period.
    Clearing(i64),
}

impl Subject {
    /// `报销申请 12` / `claim 12`.
    pub fn label(self) -> Text {
        match self {
            Subject::Claim(id) => Text::new(format!("报销申请 {id}"), format!("claim {id}")),
            Subject::Withdrawal(id) => Text::new(format!("个人账户支取 {id}"), format!("account withdrawal {id}")),
            Subject::Clearing(id) => Text::new(format!("机构清算 {id}"), format!("clearing {id}")),
        }
    }
}

/// What reconciliation reads: each figure as the store holds it.
#[derive(Debug, Clone, Default)]
pub struct Books {
    /// What was approved for payment (claims that pay something, withdrawals): the amount.
    pub approved: BTreeMap<Subject, Fen>,
    pub orders: Vec<OrderFigures>,
    pub batches: Vec<BatchFigures>,
    pub items: Vec<ItemFigures>,
}

#[derive(Debug, Clone)]
pub struct OrderFigures {
    pub id: i64,
    pub order_no: String,
    pub subject: Subject,
    pub amount: Fen,
    pub state: OrderState,
}

#[derive(Debug, Clone)]
pub struct BatchFigures {
    pub id: i64,
    pub batch_no: String,
    pub state: BatchState,
    pub count: i64,
    pub total: Fen,
}

#[derive(Debug, Clone)]
pub struct ItemFigures {
    pub batch_id: i64,
    pub order_id: i64,
    pub amount: Fen,
    /// `Some(true)` paid, `Some(false)` failed, `None` no result yet.
    pub paid: Option<bool>,
}

/// The money by where it is, and every place the books disagree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub approved: Fen,
    pub ordered: Fen,
    pub paid: Fen,
    pub in_flight: Fen,
    pub unpaid: Fen,
    pub differences: Vec<Text>,
}

impl Reconciliation {
    pub fn balances(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Checks that approved claims, orders, batches and bank results agree to the fen: each
/// approved claim has one order for its amount; each batch's count and total are its items';
/// an order is paid exactly once, by a paid item for its amount, and an order's state agrees
/// with its items; and the orders' total is paid + in flight + unpaid.
pub fn reconcile(books: &Books) -> Reconciliation {
    let mut r = Reconciliation { approved: books.approved.values().copied().sum(), ..Default::default() };
    let mut diff = |zh: String, en: String| r.differences.push(Text::new(zh, en));
    let mut by_subject: BTreeMap<Subject, Vec<&OrderFigures>> = BTreeMap::new();
    for o in &books.orders {
        by_subject.entry(o.subject).or_default().push(o);
    }
    for (subject, amount) in &books.approved {
        let what = subject.label();
        match by_subject.get(subject).map(Vec::as_slice) {
            None | Some([]) => diff(
                format!("已核准的{} 没有支付指令（{} 元）", what.zh, amount.to_plain()),
                format!("approved {} has no payment order ({})", what.en, amount.to_plain()),
            ),
            Some([o]) if o.amount != *amount => diff(
                format!(
                    "支付指令 {} 金额 {} 元，与{}核准的 {} 元不符",
                    o.order_no,
                    o.amount.to_plain(),
                    what.zh,
                    amount.to_plain()
                ),
                format!(
                    "order {} is for {}, its {} approved {}",
                    o.order_no,
                    o.amount.to_plain(),
                    what.en,
                    amount.to_plain()
                ),
            ),
            Some([_]) => {}
            Some(many) => diff(
                format!("{} 有 {} 条支付指令", what.zh, many.len()),
                format!("{} has {} payment orders", what.en, many.len()),
            ),
        }
    }
    for o in &books.orders {
        if !books.approved.contains_key(&o.subject) {
            let what = o.subject.label();
            diff(
                format!("支付指令 {} 对应的{} 未核准", o.order_no, what.zh),
                format!("order {}'s {} is not approved", o.order_no, what.en),
            );
        }
    }
    let mut batch_items: BTreeMap<i64, (i64, Fen)> = BTreeMap::new();
    let mut order_items: BTreeMap<i64, Vec<&ItemFigures>> = BTreeMap::new();
    for i in &books.items {
        let e = batch_items.entry(i.batch_id).or_insert((0, Fen::ZERO));
        e.0 += 1;
        e.1 = e.1.saturating_add(i.amount);
        order_items.entry(i.order_id).or_default().push(i);
    }
    for b in &books.batches {
        let (count, total) = batch_items.get(&b.id).copied().unwrap_or((0, Fen::ZERO));
        if b.state != BatchState::Cancelled && (count != b.count || total != b.total) {
            diff(
                format!(
                    "批次 {} 记载 {} 笔 {} 元，明细为 {count} 笔 {} 元",
                    b.batch_no,
                    b.count,
                    b.total.to_plain(),
                    total.to_plain()
                ),
                format!(
                    "batch {} records {} orders, {}; its lines are {count}, {}",
                    b.batch_no,
                    b.count,
                    b.total.to_plain(),
                    total.to_plain()
                ),
            );
        }
    }
    let cancelled: BTreeSet<i64> =
        books.batches.iter().filter(|b| b.state == BatchState::Cancelled).map(|b| b.id).collect();
    for o in &books.orders {
        r.ordered = r.ordered.saturating_add(o.amount);
        let items: Vec<&ItemFigures> = order_items
            .get(&o.id)
            .map(|v| v.iter().copied().filter(|i| !cancelled.contains(&i.batch_id)).collect())
            .unwrap_or_default();
        let paid: Vec<&&ItemFigures> = items.iter().filter(|i| i.paid == Some(true)).collect();
        let pending = items.iter().filter(|i| i.paid.is_none()).count();
        let no = &o.order_no;
        if paid.len() > 1 {
            diff(
                format!("支付指令 {no} 被支付了 {} 次", paid.len()),
                format!("order {no} was paid {} times", paid.len()),
            );
        }
        if let Some(p) = paid.first().filter(|p| p.amount != o.amount) {
            diff(
                format!("支付指令 {no} 实付 {} 元，应付 {} 元", p.amount.to_plain(), o.amount.to_plain()),
                format!("order {no} was paid {}, it is for {}", p.amount.to_plain(), o.amount.to_plain()),
            );
        }
        let consistent = match o.state {
            OrderState::Paid => paid.len() == 1 && pending == 0,
            OrderState::Batched | OrderState::Exported => paid.is_empty() && pending == 1,
            _ => paid.is_empty() && pending == 0,
        };
        if !consistent {
            diff(
                format!("支付指令 {no} 状态为“{}”，与银行回盘记录不符", o.state.label().zh),
                format!("order {no} is {}, which its batch lines contradict", o.state.label().en),
            );
        }
        match o.state {
            OrderState::Paid => r.paid = r.paid.saturating_add(o.amount),
            OrderState::Batched | OrderState::Exported => r.in_flight = r.in_flight.saturating_add(o.amount),
            _ => r.unpaid = r.unpaid.saturating_add(o.amount),
        }
    }
    if r.approved != r.ordered && r.differences.is_empty() {
        r.differences.push(Text::new(
            format!("核准金额 {} 元与支付指令合计 {} 元不符", r.approved.to_plain(), r.ordered.to_plain()),
            format!("approved {} but orders total {}", r.approved.to_plain(), r.ordered.to_plain()),
        ));
    }
    r
}

#[cfg(test)]
mod tests;
