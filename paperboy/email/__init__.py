"""Email: `compose` turns a digest into a MIME message (pure); `send` delivers the outbox over SMTP."""
