"""RealtorOS mailer: sends each email once (SES or a local outbox) and reports its fate."""
