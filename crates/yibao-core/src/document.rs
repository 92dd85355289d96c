//! Uploaded documents (a residence permit's scan, a card photo, later a claim's invoices):
//! what is accepted is decided by the file's content, never by its name, and each file is
//! known by the SHA-256 of its bytes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::registry::coded_enum;
use crate::{InvalidValue, Text};

/// The largest file accepted (a phone photo of an invoice is 2–5 MB).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// The kinds of file accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaType {
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
}

impl MediaType {
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Pdf => "application/pdf",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
        }
    }

    pub fn parse(s: &str) -> Option<MediaType> {
        [MediaType::Pdf, MediaType::Jpeg, MediaType::Png].into_iter().find(|m| m.mime() == s)
    }
}

/// A file that passed the checks: its type as read from its bytes, and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    pub media_type: MediaType,
    /// Lower-case hex SHA-256 of the bytes: the file's name in storage.
    pub sha256: String,
    pub size: usize,
}

/// Accepts a PDF, JPEG or PNG of at most [`MAX_DOCUMENT_BYTES`], judged by its content.
pub fn check_file(bytes: &[u8]) -> Result<CheckedFile, InvalidValue> {
    if bytes.is_empty() {
        return Err(InvalidValue::new("file", "empty", "上传的文件是空的", "the uploaded file is empty"));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(InvalidValue::new(
            "file",
            "too_large",
            format!("文件超过 {} MB，请压缩或分页后再上传", MAX_DOCUMENT_BYTES / 1024 / 1024),
            format!("the file is over {} MB; compress or split it", MAX_DOCUMENT_BYTES / 1024 / 1024),
        ));
    }
    let media_type = infer::get(bytes).and_then(|t| MediaType::parse(t.mime_type())).ok_or_else(|| {
        InvalidValue::new(
            "file",
            "type",
            "只接受 PDF、JPEG 或 PNG 文件（按文件内容判断，与文件名无关）",
            "only PDF, JPEG or PNG files are accepted (judged by the content, not the name)",
        )
    })?;
    Ok(CheckedFile { media_type, sha256: hex::encode(Sha256::digest(bytes)), size: bytes.len() })
}

/// A file name as shown and stored: its last path component, printable, at most 120
/// characters; "upload" when nothing is left.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).take(120).collect();
    if clean.trim().is_empty() {
        "upload".to_string()
    } else {
        clean.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";

    #[test]
    fn the_type_comes_from_the_content() {
        assert_eq!(check_file(PNG).unwrap().media_type, MediaType::Png);
        assert_eq!(check_file(JPEG).unwrap().media_type, MediaType::Jpeg);
        assert_eq!(check_file(PDF).unwrap().media_type, MediaType::Pdf);
        // A text file, an executable and an empty file are refused whatever they are called.
        assert_eq!(check_file(b"just text, named scan.pdf").unwrap_err().code, "type");
        assert_eq!(check_file(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff").unwrap_err().code, "type");
        assert_eq!(check_file(b"").unwrap_err().code, "empty");
    }

    #[test]
    fn size_is_limited_and_the_digest_names_the_bytes() {
        let mut big = PDF.to_vec();
        big.resize(MAX_DOCUMENT_BYTES + 1, b' ');
        assert_eq!(check_file(&big).unwrap_err().code, "too_large");
        big.truncate(MAX_DOCUMENT_BYTES);
        assert!(check_file(&big).is_ok());
        let a = check_file(PDF).unwrap();
        assert_eq!(a.sha256, hex::encode(Sha256::digest(PDF)));
        assert_eq!(a.sha256.len(), 64);
        assert_ne!(a.sha256, check_file(PNG).unwrap().sha256);
    }

    #[test]
    fn file_names_lose_their_paths_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\张三\\居住证.jpg"), "居住证.jpg");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\n.pdf"), "ab.pdf");
        assert_eq!(clean_file_name(""), "upload");
    }
}

coded_enum!(
    /// What a document is: one list for everything a person files with (an off-site filing,
    /// a sporadic claim), so a claim's checklist and a filing's proofs name the same things.
    #[derive(PartialOrd, Ord)]
    DocumentKind, "document_kind" {
        ResidencePermit = "residence_permit", "居住证", "residence permit";
        ResidenceCertificate = "residence_certificate", "社区居住证明", "community residence certificate";
        WorkPosting = "work_posting", "单位派驻异地工作证明", "employer's posting certificate";
        ReferralCertificate = "referral_certificate", "转诊证明", "referral certificate";
        EmergencyRecord = "emergency_record", "急诊诊断证明或急诊病历", "emergency diagnosis or record";
        IdCard = "id_card", "居民身份证或户口簿", "resident ID card or household register";
        SocialSecurityCard = "social_security_card", "社会保障卡（正反面复印件）", "social security card (copy of both sides)";
        Invoice = "invoice", "医疗收费专用票据（背面签名）", "special receipts / invoices, signed on the back by the claimant";
        ItemisedList = "itemised_list", "费用明细清单", "itemised expense list";
        DischargeSummary = "discharge_summary", "出院（留观）小结或出院证明", "discharge (observation) summary";
        DiagnosisCertificate = "diagnosis_certificate", "疾病诊断证明书", "diagnosis certificate";
        MedicalRecords = "medical_records", "病历（复印件）", "medical records (copy)";
        ExaminationReports = "examination_reports", "检查检验报告", "examination reports";
        FilingForm = "filing_form", "异地就医备案表", "off-site filing form";
        CardNotice = "card_notice", "社会保障卡挂失或损坏证明", "card loss or damage notice";
        GuarantorCertificate = "guarantor_certificate", "担保人证明", "guarantor certificate";
        SpecialIllnessApproval = "special_illness_approval", "门特（门慢）申请审批表", "approved special / chronic illness application form";
        BankAccount = "bank_account", "本人银行卡（账户）", "the claimant's bank card (account)";
        DelegateId = "delegate_id", "受托人身份证件", "the delegate's own ID";
        UnitLetter = "unit_letter", "单位介绍信", "letter of introduction from the employer unit";
        SurgeryPhotos = "surgery_photos", "手术部位及全身照片", "photos of the operated site and of the whole body";
    }
);

impl DocumentKind {
    /// The proofs an off-site filing is made with.
    pub const FILING: [DocumentKind; 5] = [
        DocumentKind::ResidencePermit,
        DocumentKind::ResidenceCertificate,
        DocumentKind::WorkPosting,
        DocumentKind::ReferralCertificate,
        DocumentKind::EmergencyRecord,
    ];
}
