-- The format a batch's bank file is written in (yibao_core::payment::BankFormat), chosen
-- when the batch is built: the paying bank's.
ALTER TABLE payment_batches ADD COLUMN format TEXT NOT NULL DEFAULT 'csv';
