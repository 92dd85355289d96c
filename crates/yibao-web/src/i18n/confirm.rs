//! What the portal says before a step that cannot be undone (`pages::shared::confirmed_or_ask`):
//! for each step its title, what will happen in words, and the button that does it.

/// (key, Chinese, English)
pub(super) const UI: &[(&str, &str, &str)] = &[
    ("confirm.back", "返回，不办理", "Go back without doing it"),
    ("confirm.report_lost.title", "确认挂失这张社保卡？", "Report this card lost?"),
    (
        "confirm.report_lost.what",
        "挂失后，这张卡立即停用：医院和药店不能再用它直接结算，挂失不能在网上撤销（卡片找回后可到服务网点解挂）。期间就医请先垫付，再凭挂失证明办理零星报销；补换新卡请到服务网点办理。",
        "Once reported lost, the card stops at once: hospitals and pharmacies can no longer settle with it, and the report cannot be undone online (if the card is found, a service point lifts the report). Until then pay for care and claim it back with the notice; apply for a replacement at a service point.",
    ),
    ("confirm.report_lost.button", "确认挂失", "Report it lost"),
    ("confirm.report_damaged.title", "确认报告这张社保卡损坏？", "Report this card damaged?"),
    (
        "confirm.report_damaged.what",
        "报告损坏后，这张卡不能再直接结算，报告不能在网上撤销。请到服务网点补换新卡；期间就医先垫付，再办理零星报销。",
        "Once reported damaged, the card can no longer settle directly, and the report cannot be undone online. Apply for a new card at a service point; until then pay for care and claim it back.",
    ),
    ("confirm.report_damaged.button", "确认报告损坏", "Report it damaged"),
    ("confirm.disable_account.title", "确认停用这个账号？", "Disable this account?"),
    (
        "confirm.disable_account.what",
        "停用后，这个账号立即不能登录，已登录的网页和接口会话全部退出。它办过的业务和审计记录不受影响；需要时可以重新启用。",
        "Once disabled, the account cannot log in and all its open sessions, in the portal and the API, end at once. What it did and the audit log stay as they are; it can be enabled again.",
    ),
    ("confirm.disable_account.button", "确认停用", "Disable the account"),
    ("confirm.cancel_card.title", "确认注销这张社保卡？", "Cancel this card?"),
    (
        "confirm.cancel_card.what",
        "注销后，这张卡永久停用，不能恢复：不能再直接结算，也不能解挂或激活。本人如仍参保，须重新申请制卡。",
        "Once cancelled, the card stops for good and cannot be restored: it can no longer settle, be found again or be activated. An insured person must apply for a new card.",
    ),
    ("confirm.cancel_card.button", "确认注销", "Cancel the card"),
    ("confirm.revoke_filing.title", "确认撤销这项备案？", "Revoke this filing?"),
    (
        "confirm.revoke_filing.what",
        "撤销后，这项备案立即失效：在备案的就医地不能再直接结算，需要时要重新申请备案。已经结算的费用不受影响。",
        "Once revoked, the filing ends at once: you can no longer settle directly where it was filed for, and must file again if you need it. What was settled already stays as it is.",
    ),
    ("confirm.revoke_filing.button", "确认撤销备案", "Revoke the filing"),
    ("confirm.withdraw_claim.title", "确认撤回这份报销申请？", "Withdraw this claim?"),
    (
        "confirm.withdraw_claim.what",
        "撤回后，这份申请不再受理和审核，不能恢复；已交的材料留档。如仍需报销，请重新提交申请。",
        "Once withdrawn, the claim is no longer handled and cannot be restored; the papers handed in stay on file. To be reimbursed after all, file a new claim.",
    ),
    ("confirm.withdraw_claim.button", "确认撤回申请", "Withdraw the claim"),
    ("confirm.cancel_batch.title", "确认作废这个支付批次？", "Cancel this payment batch?"),
    (
        "confirm.cancel_batch.what",
        "作废后，批次中的每一笔支付退回待支付，可编入新的批次；这个批次不能恢复，已导出的银行文件不得再提交银行。",
        "Once cancelled, every payment of the batch goes back to waiting and may go into a new batch; the batch cannot be restored, and a bank file exported from it must not be sent to the bank.",
    ),
    ("confirm.cancel_batch.button", "确认作废批次", "Cancel the batch"),
    ("confirm.revoke_family.title", "确认取消这位家人的共济授权？", "End this family member's authorisation?"),
    (
        "confirm.revoke_family.what",
        "取消后，这位家人立即不能再用您的个人账户支付（门诊共济），已经支付的不受影响。以后需要时可以重新授权。",
        "Once ended, this family member can no longer pay from your individual account (门诊共济); what was paid stays as it is. You may authorise them again later.",
    ),
    ("confirm.revoke_family.button", "确认取消授权", "End the authorisation"),
    ("confirm.revoke_delegation.title", "确认取消这项委托？", "End this delegation?"),
    (
        "confirm.revoke_delegation.what",
        "取消后，受托人立即不能再替您提交或查看报销申请，已经提交的申请照常办理。",
        "Once ended, your delegate can no longer file or read claims for you; claims already filed go on as before.",
    ),
    ("confirm.revoke_delegation.button", "确认取消委托", "End the delegation"),
];
