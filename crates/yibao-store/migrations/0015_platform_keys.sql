-- An institution may sign with SM2 instead of an HMAC secret: its credential is then its
-- public key (hex SEC1) in `secret`, of kind 'sm2_public_key'.
ALTER TABLE platform_credentials ADD COLUMN kind TEXT NOT NULL DEFAULT 'hmac_secret';
