//! The demo region's catalog: a few thousand entries with realistic names, national-shaped
//! codes, categories, self-pay-first shares, price ceilings and restrictions, written as the
//! CSV a policy administrator would import (`docs/formats/catalog.md`). It starts with the
//! documented example catalog, so the documented claims adjudicate the same against the
//! demo database. Deterministic: no randomness, the same file every time.

use std::fmt::Write;

/// (generic name, ATC group, category, forms: (form, spec, unit price in fen))
type Drug = (&'static str, &'static str, &'static str, &'static [(&'static str, &'static str, u32)]);

const DRUGS: &[Drug] = &[
    (
        "阿莫西林",
        "J01CA",
        "01",
        &[("胶囊", "0.25g×24粒", 860), ("胶囊", "0.5g×24粒", 1_450), ("颗粒", "0.125g×12袋", 980)],
    ),
    ("头孢呋辛酯", "J01DC", "02", &[("片", "0.25g×12片", 2_350)]),
    ("注射用头孢曲松钠", "J01DD", "01", &[("粉针", "1.0g", 420), ("粉针", "2.0g", 760)]),
    ("左氧氟沙星", "J01MA", "02", &[("片", "0.5g×6片", 1_890), ("注射液", "100ml:0.5g", 1_250)]),
    ("阿奇霉素", "J01FA", "01", &[("片", "0.25g×6片", 1_560), ("注射用", "0.5g", 2_280)]),
    ("氯化钠注射液", "B05XA", "01", &[("注射液", "250ml:2.25g", 350), ("注射液", "500ml:4.5g", 420)]),
    ("葡萄糖注射液", "B05BA", "01", &[("注射液", "250ml:12.5g", 380), ("注射液", "500ml:25g", 450)]),
    ("盐酸二甲双胍", "A10BA", "01", &[("片", "0.5g×48片", 1_020), ("缓释片", "0.5g×30片", 1_680)]),
    ("格列美脲", "A10BB", "02", &[("片", "2mg×30片", 2_640)]),
    ("门冬胰岛素注射液", "A10AB", "02", &[("注射液", "3ml:300单位", 4_880)]),
    ("阿托伐他汀钙", "C10AA", "02", &[("片", "20mg×7片", 1_330)]),
    ("瑞舒伐他汀钙", "C10AA", "02", &[("片", "10mg×28片", 2_100)]),
    ("苯磺酸氨氯地平", "C08CA", "01", &[("片", "5mg×28片", 980)]),
    ("硝苯地平", "C08CA", "01", &[("控释片", "30mg×7片", 3_260)]),
    ("缬沙坦", "C09CA", "02", &[("胶囊", "80mg×14粒", 1_750)]),
    ("酒石酸美托洛尔", "C07AB", "01", &[("片", "25mg×20片", 420), ("缓释片", "47.5mg×7片", 2_030)]),
    ("阿司匹林", "B01AC", "01", &[("肠溶片", "100mg×30片", 1_580)]),
    ("硫酸氢氯吡格雷", "B01AC", "02", &[("片", "75mg×7片", 1_190)]),
    ("华法林钠", "B01AA", "01", &[("片", "2.5mg×60片", 1_320)]),
    ("奥美拉唑", "A02BC", "01", &[("肠溶胶囊", "20mg×14粒", 880), ("注射用", "40mg", 1_460)]),
    ("注射用泮托拉唑钠", "A02BC", "02", &[("粉针", "40mg", 1_880)]),
    ("雷贝拉唑钠", "A02BC", "02", &[("肠溶片", "10mg×14片", 2_560)]),
    ("布洛芬", "M01AE", "01", &[("缓释胶囊", "0.3g×20粒", 1_560), ("片", "0.2g×24片", 620)]),
    ("对乙酰氨基酚", "N02BE", "01", &[("片", "0.5g×12片", 350)]),
    ("双氯芬酸钠", "M01AB", "01", &[("缓释片", "75mg×10片", 1_150)]),
    ("地塞米松磷酸钠注射液", "H02AB", "01", &[("注射液", "1ml:5mg", 120)]),
    ("注射用甲泼尼龙琥珀酸钠", "H02AB", "02", &[("粉针", "40mg", 1_590)]),
    ("硫酸沙丁胺醇", "R03AC", "01", &[("气雾剂", "100μg×200揿", 2_450)]),
    ("吸入用布地奈德混悬液", "R03BA", "02", &[("混悬液", "2ml:1mg", 580)]),
    ("盐酸氨溴索", "R05CB", "02", &[("片", "30mg×20片", 760), ("注射液", "2ml:15mg", 310)]),
    ("氯雷他定", "R06AX", "01", &[("片", "10mg×6片", 1_480)]),
    ("左甲状腺素钠", "H03AA", "01", &[("片", "50μg×100片", 2_920)]),
    ("呋塞米", "C03CA", "01", &[("片", "20mg×100片", 600), ("注射液", "2ml:20mg", 90)]),
    ("螺内酯", "C03DA", "01", &[("片", "20mg×100片", 850)]),
    ("地高辛", "C01AA", "01", &[("片", "0.25mg×100片", 1_200)]),
    ("硝酸甘油", "C01DA", "01", &[("片", "0.5mg×100片", 1_480)]),
    ("单硝酸异山梨酯", "C01DA", "01", &[("缓释片", "40mg×24片", 2_260)]),
    ("低分子量肝素钙注射液", "B01AB", "02", &[("注射液", "0.4ml:4100AXaIU", 2_780)]),
    ("多烯磷脂酰胆碱", "A05BA", "02", &[("胶囊", "228mg×24粒", 4_200)]),
    ("甲钴胺", "B03BA", "02", &[("片", "0.5mg×20片", 2_390)]),
    ("利伐沙班", "B01AF", "02", &[("片", "10mg×10片", 1_670)]),
    ("恩替卡韦", "J05AF", "02", &[("片", "0.5mg×7片", 1_050)]),
    ("磷酸奥司他韦", "J05AH", "02", &[("胶囊", "75mg×10粒", 3_900)]),
    ("利巴韦林", "J05AB", "01", &[("颗粒", "0.1g×18袋", 830)]),
    ("卡马西平", "N03AF", "01", &[("片", "0.1g×100片", 1_560)]),
    ("丙戊酸钠", "N03AG", "01", &[("缓释片", "0.5g×30片", 6_700)]),
    ("艾司唑仑", "N05CD", "01", &[("片", "1mg×20片", 280)]),
    ("盐酸舍曲林", "N06AB", "02", &[("片", "50mg×14片", 4_100)]),
    ("盐酸多奈哌齐", "N06DA", "02", &[("片", "5mg×14片", 3_380)]),
    ("盐酸坦索罗辛", "G04CA", "02", &[("缓释胶囊", "0.2mg×10粒", 3_150)]),
    ("非那雄胺", "G04CB", "02", &[("片", "5mg×10片", 2_850)]),
    ("碳酸钙D3", "A12AX", "02", &[("片", "600mg×30片", 2_680)]),
    ("复合维生素B", "A11EA", "03", &[("片", "100片", 420)]),
    ("人血白蛋白", "B05AA", "02", &[("注射液", "10g(20%50ml)", 38_000)]),
    ("紫杉醇注射液", "L01CD", "02", &[("注射液", "5ml:30mg", 26_500)]),
    ("顺铂注射液", "L01XA", "01", &[("注射液", "2ml:10mg", 1_860)]),
    ("重组人促红素注射液", "B03XA", "02", &[("注射液", "1ml:3000IU", 3_600)]),
];

/// Diagnosis restrictions (ICD-10 prefixes) of some drugs, as the national catalog's notes.
fn drug_restriction(name: &str) -> &'static str {
    match name {
        "人血白蛋白" => "K74;C;R57",
        "紫杉醇注射液" => "C",
        "重组人促红素注射液" => "N18;D63",
        "硫酸氢氯吡格雷" => "I20;I21;I25;I63",
        "利伐沙班" => "I26;I48;I80;Z96",
        "恩替卡韦" => "B18",
        _ => "",
    }
}

/// (name, category, unit price in fen)
const PATENT_MEDICINES: &[(&str, &str, u32)] = &[
    ("连花清瘟胶囊 0.35g×24粒", "02", 1_460),
    ("复方丹参滴丸 27mg×180丸", "01", 2_580),
    ("注射用血塞通（冻干） 200mg", "02", 2_250),
    ("六味地黄丸 200丸", "01", 1_180),
    ("藿香正气水 10ml×10支", "01", 890),
    ("银黄颗粒 4g×10袋", "01", 1_060),
    ("清开灵注射液 10ml", "02", 560),
    ("参麦注射液 50ml", "02", 3_120),
    ("脑心通胶囊 0.4g×48粒", "02", 4_560),
    ("安宫牛黄丸 3g×1丸", "02", 38_000),
    ("板蓝根颗粒 10g×20袋", "01", 1_250),
    ("阿胶 250g", "03", 98_000),
];

const MAKERS: &[&str] = &[
    "华北制药",
    "石药集团",
    "齐鲁制药",
    "扬子江药业",
    "恒瑞医药",
    "科伦药业",
    "华润双鹤",
    "辰欣药业",
    "兰州佛慈制药",
    "甘肃扶正药业",
];

/// (name, list type, category, self-pay share, restriction: diagnoses, grades)
type Service = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

const SERVICES: &[Service] = &[
    ("主任医师门诊诊察费", "service", "01", "", "", ""),
    ("副主任医师门诊诊察费", "service", "01", "", "", ""),
    ("急诊诊察费", "service", "01", "", "", ""),
    ("住院诊察费", "service", "01", "", "", ""),
    ("床位费（双人间）", "facility", "02", "0.10", "", ""),
    ("床位费（单人间）", "facility", "03", "", "", ""),
    ("重症监护病房床位费", "facility", "01", "", "", "2;3"),
    ("特级护理", "service", "01", "", "", ""),
    ("Ⅰ级护理", "service", "01", "", "", ""),
    ("Ⅱ级护理", "service", "01", "", "", ""),
    ("Ⅲ级护理", "service", "01", "", "", ""),
    ("静脉输液", "service", "01", "", "", ""),
    ("静脉注射", "service", "01", "", "", ""),
    ("肌肉注射", "service", "01", "", "", ""),
    ("氧气吸入", "service", "01", "", "", ""),
    ("雾化吸入", "service", "01", "", "", ""),
    ("导尿", "service", "01", "", "", ""),
    ("换药（中）", "service", "01", "", "", ""),
    ("清创缝合（小）", "service", "01", "", "", ""),
    ("尿常规检查", "service", "01", "", "", ""),
    ("粪便常规检查", "service", "01", "", "", ""),
    ("肝功能检测", "service", "01", "", "", ""),
    ("肾功能检测", "service", "01", "", "", ""),
    ("血脂四项", "service", "01", "", "", ""),
    ("血糖测定", "service", "01", "", "", ""),
    ("糖化血红蛋白测定", "service", "02", "0.10", "", ""),
    ("凝血四项", "service", "01", "", "", ""),
    ("C反应蛋白测定", "service", "01", "", "", ""),
    ("肌钙蛋白I测定", "service", "01", "", "", ""),
    ("乙型肝炎五项", "service", "01", "", "", ""),
    ("常规心电图检查", "service", "01", "", "", ""),
    ("动态心电图", "service", "02", "0.10", "", ""),
    ("胸部X线摄影", "service", "01", "", "", ""),
    ("腹部彩色多普勒超声", "service", "01", "", "", ""),
    ("心脏彩色多普勒超声", "service", "02", "0.10", "", ""),
    ("头颅CT平扫", "service", "02", "0.10", "", ""),
    ("胸部CT增强扫描", "service", "02", "0.10", "", "2;3"),
    ("电子胃镜检查", "service", "01", "", "", ""),
    ("电子结肠镜检查", "service", "01", "", "", ""),
    ("肺功能检查", "service", "01", "", "", ""),
    ("骨密度测定", "service", "02", "0.20", "M80;M81", ""),
    ("血液透析", "service", "01", "", "N18", ""),
    ("经皮冠状动脉支架置入术", "service", "01", "", "", "2;3"),
    ("冠状动脉造影术", "service", "01", "", "", "2;3"),
    ("阑尾切除术", "service", "01", "", "", ""),
    ("剖宫产术", "service", "01", "", "", ""),
    ("人工全髋关节置换术", "service", "01", "", "", "2;3"),
    ("人工全膝关节置换术", "service", "01", "", "", "2;3"),
    ("白内障超声乳化摘除术", "service", "01", "", "", ""),
    ("全身麻醉", "service", "01", "", "", ""),
    ("椎管内麻醉", "service", "01", "", "", ""),
    ("普通针刺", "service", "01", "", "", ""),
    ("推拿治疗", "service", "01", "", "", ""),
    ("运动疗法", "service", "02", "0.10", "", ""),
    ("高压氧舱治疗", "service", "02", "0.20", "", "2;3"),
    ("健康体检", "service", "03", "", "", ""),
];

/// (name, category, self-pay share, price ceiling in yuan, specs)
type Consumable = (&'static str, &'static str, &'static str, &'static str, &'static [&'static str]);

const CONSUMABLES: &[Consumable] = &[
    ("一次性使用输液器", "01", "", "", &["带针", "精密过滤"]),
    ("静脉留置针", "01", "", "", &["22G", "24G"]),
    ("一次性使用导尿管", "01", "", "", &["双腔", "三腔"]),
    ("一次性使用吸氧管", "01", "", "", &["鼻导管"]),
    ("医用纱布块", "01", "", "", &["7.5cm×7.5cm"]),
    ("冠状动脉球囊扩张导管", "02", "0.30", "", &["2.5mm", "3.0mm"]),
    ("植入式心脏起搏器", "02", "0.30", "", &["单腔", "双腔"]),
    ("人工髋关节假体", "02", "0.20", "", &["生物型"]),
    ("人工膝关节假体", "02", "0.20", "", &["后稳定型"]),
    ("接骨板", "02", "0.20", "", &["锁定型"]),
    ("可吸收缝合线", "02", "0.10", "", &["2-0", "3-0"]),
    ("一次性使用吻合器", "02", "0.20", "", &["管型"]),
    ("中心静脉导管", "02", "0.10", "", &["双腔"]),
    ("血液透析器", "01", "", "", &["低通量", "高通量"]),
    ("一次性使用无菌手套", "03", "", "", &["7号"]),
    ("医用外科口罩", "03", "", "", &["挂耳式"]),
];

/// The demo catalog as CSV.
pub fn demo_catalog_csv() -> String {
    let example = include_str!("../../../docs/formats/examples/catalog-demo.csv");
    let mut out = String::with_capacity(600_000);
    out.push_str(example);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    // 金昌 lists everything; 兰州 (the off-site treatment region of the demo) about half.
    for (region, every) in [("620300", 1usize), ("620100", 2)] {
        let mut n = 0usize;
        let mut row = |out: &mut String, line: String| {
            if n.is_multiple_of(every) {
                out.push_str(region);
                out.push(',');
                out.push_str(&line);
                out.push('\n');
            }
            n += 1;
        };
        for (d, (name, _, level, forms)) in DRUGS.iter().enumerate() {
            for (f, (form, spec, price)) in forms.iter().enumerate() {
                // Each maker's retail pack and hospital pack (five times the content) have
                // their own codes, as in the national catalog.
                for (m, maker) in MAKERS.iter().enumerate() {
                    for pack in 0..2 {
                        let code = drug_code(d, f, m, pack);
                        let (spec, price) = if pack == 0 {
                            (spec.to_string(), *price)
                        } else {
                            (format!("{spec}×5（医院装）"), price * 5)
                        };
                        let (selfpay, cap) = match *level {
                            "02" => (["0.05", "0.10", "0.15", "0.20"][(d + m) % 4], String::new()),
                            _ => ("", String::new()),
                        };
                        // Some items carry a price ceiling a little above the usual price.
                        let cap = if (d + m) % 5 == 0 { yuan(price + price / 10) } else { cap };
                        let diagnoses = drug_restriction(name);
                        let quantity = if *name == "人血白蛋白" { "10" } else { "" };
                        let mut line = String::new();
                        let _ = write!(
                        line,
                        "{code},{name}{} {spec}（{maker}）,,{level},{selfpay},{cap},2020-01-01,,{diagnoses},,{quantity},,,",
                        if form.contains("注射") || form.contains("粉针") || name.ends_with(form) { "" } else { form }
                    );
                        row(&mut out, line);
                    }
                }
            }
        }
        for (i, (name, level, price)) in PATENT_MEDICINES.iter().enumerate() {
            for (m, maker) in MAKERS.iter().enumerate().skip(i % 3).step_by(2) {
                let code = format!("ZA{:02}AAG{:04}{:04}{:05}", i, m, i * 13 + m, 1_000 + i * 10 + m);
                let selfpay = if *level == "02" { "0.10" } else { "" };
                let cap = if i % 4 == 0 { yuan(price + price / 5) } else { String::new() };
                row(&mut out, format!("{code},{name}（{maker}）,,{level},{selfpay},{cap},2020-01-01,,,,,,,"));
            }
        }
        for (i, (name, kind, level, selfpay, diagnoses, grades)) in SERVICES.iter().enumerate() {
            let code = format!("{:03}{:03}{:09}", 1 + i / 20, 100 + i, 10_000 + i);
            row(&mut out, format!("{code},{name},{kind},{level},{selfpay},,2020-01-01,,{diagnoses},{grades},,,,"));
        }
        for (i, (name, level, selfpay, _, specs)) in CONSUMABLES.iter().enumerate() {
            for (s, spec) in specs.iter().enumerate() {
                for m in 0..12usize {
                    let code = format!(
                        "C{:02}{:02}{:04}{:011}",
                        1 + i % 14,
                        1 + s,
                        1_000 + m,
                        100_000 + i * 1_000 + s * 100 + m
                    );
                    let cap =
                        if *level == "02" && m % 3 == 0 { yuan(200_000 + 50_000 * i as u32) } else { String::new() };
                    row(
                        &mut out,
                        format!("{code},{name}（{spec}）,consumable,{level},{selfpay},{cap},2020-01-01,,,,,,,"),
                    );
                }
            }
        }
    }
    // A catalog revision from 2026: one item moves from category B to A (its history stays).
    let _ =
        writeln!(out, "620300,{},阿托伐他汀钙片 20mg×7片（华北制药）,,01,,,2026-01-01,,,,,,,", drug_code(10, 0, 0, 0));
    out
}

/// A national-shaped 23-character drug code: X, the ATC group, the form, the generic, the
/// spec and the maker.
fn drug_code(d: usize, f: usize, m: usize, pack: usize) -> String {
    let (_, atc, _, forms) = DRUGS[d % DRUGS.len()];
    let form = forms.get(f).map_or("片", |x| x.0);
    format!(
        "X{atc}{}{:03}{}{:03}{:04}{:05}",
        form_letter(form),
        d,
        (b'A' + f as u8) as char,
        f,
        m * 101 + 1,
        d * 97 + m * 2 + pack
    )
}

fn form_letter(form: &str) -> char {
    match form {
        f if f.contains("注射") || f.contains("粉针") => 'E',
        f if f.contains("胶囊") => 'C',
        f if f.contains("颗粒") => 'G',
        _ => 'A',
    }
}

fn yuan(fen: u32) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use yibao_core::catalog::CatalogFile;

    #[test]
    fn the_demo_catalog_reads_without_a_rejected_row() {
        let csv = super::demo_catalog_csv();
        let file = CatalogFile::read(csv.as_bytes()).unwrap();
        assert!(file.rejected.is_empty(), "{:?}", &file.rejected[..file.rejected.len().min(3)]);
        assert!(file.rows.len() >= 2_000, "a few thousand entries, got {}", file.rows.len());
        let mut codes: Vec<(String, String, chrono::NaiveDate)> =
            file.rows.iter().map(|r| (r.region.to_string(), r.entry.code.clone(), r.entry.begin)).collect();
        let n = codes.len();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), n, "no code is listed twice for the same region and date");
    }
}
